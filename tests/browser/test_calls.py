"""Calls in the softphone: ringing, answering, hold, mute, keypad, transfer, hang-up, wrap-up,
declining, missing and dialling out.

The far end of each call is the fake `Twilio.Device` (fake_twilio.js); what the API asks Twilio
to do is recorded by the fake REST API (twilio_rest.py). TaskRouter's part is played by the
test: it reserves the task for the agent (the browser rings), then records the accepted
reservation and the conference once the agent answers, as TaskRouter does.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

from playwright.sync_api import expect

from chalicelib.platform.settings import LOCAL_AUTH_TOKEN
from ops.webhooks import post_signed
from tests.browser.conftest import Softphone, Stack, customer_owned_by


def new_sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


def e164(phone: str) -> str:
    return "+81" + phone.replace("-", "").lstrip("0")


@dataclass(frozen=True)
class Offer:
    agent: dict[str, str]
    customer: dict[str, str]
    task_sid: str
    conference_sid: str
    customer_call: str
    agent_call: str
    reservation_sid: str
    transfer_from: str = ""
    stage: str = "owner"  # the stage the call was offered in (the escalation widens it)

    def attributes(self) -> dict[str, Any]:
        if self.transfer_from:
            # chalicelib.softphone.calls.transfer_task_attributes: the conference is named from
            # the start.
            return {
                "type": "transfer",
                "call_sid": self.customer_call,
                "caller": e164(self.customer["phone"]),
                "customer_id": self.customer["customer_id"],
                "customer_name": self.customer["customer_name"],
                "customer_owner_agent_id": self.customer["owner_agent_id"],
                "customer_team": self.customer["team"],
                "initial_stage": "owner",
                "stage": "owner",
                "owner_agent_id": self.agent["agent_id"],
                "team": self.agent["team"],
                "conference": {
                    "sid": self.conference_sid,
                    "name": f"task-{self.task_sid}",
                    "participants": {"customer": self.customer_call},
                },
                "transfer": {
                    "mode": "cold",
                    "from_agent_id": self.transfer_from,
                    "from_task_sid": new_sid("WT"),
                    "to_agent_id": self.agent["agent_id"],
                    "to_team": "",
                },
            }
        return {
            "type": "inbound_call",
            "call_sid": self.customer_call,
            "caller": e164(self.customer["phone"]),
            "customer_id": self.customer["customer_id"],
            "customer_name": self.customer["customer_name"],
            "owner_agent_id": self.customer["owner_agent_id"],
            "team": self.customer["team"],
            "stage": self.stage,
            "initial_stage": "owner",
            "routing_degraded": False,
        }

    def connected_attributes(self) -> dict[str, Any]:
        if self.transfer_from:
            return self.attributes()
        return {
            **self.attributes(),
            "worker_call_sid": self.agent_call,
            "conference": {
                "sid": self.conference_sid,
                "participants": {"customer": self.customer_call, "worker": self.agent_call},
            },
        }


def taskrouter_event(
    stack: Stack, offer: Offer, event_type: str, attributes: dict[str, Any]
) -> None:
    """TaskRouter's event callback, signed as Twilio signs it, to the stack's API."""
    now_ms = int(time.time() * 1000)
    status, body = post_signed(
        f"{stack.api_url}/twilio/taskrouter/events",
        {
            "Sid": new_sid("EV"),
            "EventType": event_type,
            "AccountSid": "AC" + "0" * 32,
            "WorkspaceSid": "WS" + "0" * 32,
            "ResourceType": "reservation",
            "ResourceSid": offer.reservation_sid,
            "ReservationSid": offer.reservation_sid,
            "TaskSid": offer.task_sid,
            "WorkerSid": offer.agent["worker_sid"],
            "WorkerName": offer.agent["agent_id"],
            "Timestamp": str(now_ms // 1000),
            "TimestampMs": str(now_ms),
            "TaskAttributes": json.dumps(attributes),
            "WorkerAttributes": json.dumps(
                {"agent_id": offer.agent["agent_id"], "team": offer.agent["team"]}
            ),
        },
        LOCAL_AUTH_TOKEN,
    )
    assert status == 200, body


def sign_in_available(softphone: Softphone, agent_id: str, query: str = "") -> None:
    softphone.open(query)
    softphone.sign_in(agent_id)
    expect(softphone.page.locator("#phone-status")).to_have_attribute("data-status", "ready")
    # Signing in keeps a state the agent chose earlier (the demo data has some on break).
    softphone.page.keyboard.press("Alt+1")
    expect(softphone.page.locator("#state")).to_have_attribute("data-state", "available")


def ring(
    softphone: Softphone,
    stack: Stack,
    agent: dict[str, str],
    transfer_from: str = "",
    customer: dict[str, str] | None = None,
    stage: str = "owner",
) -> Offer:
    """TaskRouter reserves a call (from the agent's own customer unless told) for the agent;
    the agent's browser rings with the caller's number, as Twilio's incoming call has it."""
    offer = Offer(
        agent=agent,
        customer=customer or customer_owned_by(agent["agent_id"]),
        transfer_from=transfer_from,
        stage=stage,
        task_sid=new_sid("WT"),
        conference_sid=new_sid("CF"),
        customer_call=new_sid("CA"),
        agent_call=new_sid("CA"),
        reservation_sid=new_sid("WR"),
    )
    stack.twilio.fake.offer_call(agent["worker_sid"], offer.task_sid, offer.attributes())
    taskrouter_event(stack, offer, "reservation.created", offer.attributes())
    softphone.fake(
        "(args) => window.fakeTwilio.incoming(args)",
        {"from": e164(offer.customer["phone"]), "callSid": offer.agent_call},
    )
    expect(softphone.page.locator("#incoming-view")).to_be_visible()
    return offer


def answer(softphone: Softphone, stack: Stack, offer: Offer, key: str = "Enter") -> None:
    """The agent answers; TaskRouter accepts the reservation and connects the conference."""
    stack.twilio.fake.give_call(
        offer.agent["worker_sid"],
        offer.task_sid,
        offer.conference_sid,
        offer.connected_attributes(),
    )
    taskrouter_event(stack, offer, "reservation.accepted", offer.connected_attributes())
    softphone.page.keyboard.press(key)
    expect(softphone.page.locator("#call-view")).to_be_visible()
    expect(softphone.page.locator("#call-name")).to_have_text(offer.customer["customer_name"])
    # The name comes with the call itself; the conference arrives later from the API (GET
    # /agents/me/call). Until it has, hold and transfer are disabled and Alt+T does nothing,
    # so a test that pressed it at once raced the fetch (CI lost that race once).
    expect(softphone.page.locator("#transfer-toggle")).to_be_enabled()


def test_incoming_call_is_unmissable_then_held_muted_and_wrapped_up(
    softphone: Softphone, stack: Stack, demo_agents: list[dict[str, str]]
) -> None:
    agent = demo_agents[2]
    page = softphone.page
    sign_in_available(softphone, agent["agent_id"])

    offer = ring(softphone, stack, agent)

    # While it rings: who is calling and why it came to this agent, from the reservation.
    caller = e164(offer.customer["phone"])
    name = offer.customer["customer_name"]
    expect(page.locator("#incoming-name")).to_have_text(name)
    expect(page.locator("#incoming-number")).to_have_text(caller)
    expect(page.locator("#incoming-reason")).to_have_text("You own this customer")
    expect(page.locator("#incoming-owner")).to_have_text(agent["agent_id"])
    expect(page.locator("#incoming-team")).to_have_text(offer.customer["team"])
    expect(page.locator("#incoming-history li").first).not_to_have_text("Looking up the caller…")
    expect(page.locator("#incoming-history li").first).not_to_have_text("Loading…")
    # The call ringing now already has a conversation record: it is not shown as history.
    expect(
        page.locator(f"#incoming-history [data-conversation='{offer.customer_call}']")
    ).to_have_count(0)
    expect(page.locator("#state")).to_have_attribute("data-state", "ringing")
    expect(page.locator("body")).to_have_class("is-ringing")
    expect(page.locator("#accept")).to_be_focused()
    # The title flashes between the caller and the page's own name: wait for the caller's turn.
    expect(page).to_have_title(re.compile(re.escape(f"Call: {name}")))
    notes = page.evaluate("window.shownNotifications")
    assert notes and notes[-1]["title"] == "Incoming call"
    assert notes[-1]["body"] == f"{name} ({caller}) — You own this customer"
    assert page.evaluate("window.fakeTwilio.device.audio.incoming()") is False  # our ring only
    assert softphone.api("GET", r"^/agents/me/call$")
    history = softphone.api("GET", r"^/conversations\?customer=")
    assert history and history[0].path.startswith(
        f"/conversations?customer={offer.customer['customer_id']}&limit=6"
    )
    softphone.screenshot("incoming-call")

    answer(softphone, stack, offer)

    assert softphone.twilio_log("call.accept")
    expect(page.locator("#state")).to_have_attribute("data-state", "on_call")
    expect(page.locator("body")).not_to_have_class("is-ringing")
    assert "Call:" not in page.title()
    assert page.evaluate("window.shownNotifications.at(-1).closed")
    expect(page.locator("#call-number")).to_have_text(caller)
    expect(page.locator("#call-reason")).to_have_text(
        f"You own this customer · team: {offer.customer['team']}"
    )
    expect(page.locator("#call-timer")).not_to_have_text("0:00", timeout=3000)

    # Hold: the API puts the customer's conference leg on hold.
    page.click("#hold")
    expect(page.locator("#call-label")).to_have_text("Customer on hold")
    held = stack.twilio.fake.seen(
        "POST", rf"/Conferences/{offer.conference_sid}/Participants/{offer.customer_call}\.json"
    )
    assert held and held[-1].form["Hold"] == "true"
    assert softphone.api("POST", rf"^/calls/{offer.conference_sid}/hold$")
    softphone.screenshot("on-hold")
    page.keyboard.press("Alt+h")
    expect(page.locator("#call-label")).to_have_text("On a call")
    resumed = stack.twilio.fake.seen(
        "POST", rf"/Conferences/{offer.conference_sid}/Participants/{offer.customer_call}\.json"
    )
    assert resumed[-1].form["Hold"] == "false"

    # Mute (in the browser) and the keypad (DTMF through the SDK).
    page.keyboard.press("Alt+m")
    expect(page.locator("#mute")).to_have_attribute("aria-pressed", "true")
    assert softphone.twilio_log("call.mute")[-1]["muted"] is True
    page.keyboard.press("Alt+k")
    expect(page.locator("#keypad")).to_be_visible()
    page.click("[data-digit='1']")
    page.keyboard.press("#")
    expect(page.locator("#keypad-sent")).to_have_text("1#")
    assert [e["digits"] for e in softphone.twilio_log("call.sendDigits")] == ["1", "#"]
    softphone.screenshot("in-call")

    # Hang up ends the conference for the customer too, then wrap-up.
    page.keyboard.press("Alt+x")
    expect(page.locator("#wrapup-view")).to_be_visible()
    # TaskRouter moves the reservation to wrap-up when the conference ends.
    taskrouter_event(stack, offer, "reservation.wrapup", offer.connected_attributes())
    assert softphone.api("POST", rf"^/calls/{offer.conference_sid}/hangup$")
    ended = stack.twilio.fake.seen("POST", rf"/Conferences/{offer.conference_sid}\.json$")
    assert ended and ended[-1].form["Status"] == "completed"
    assert softphone.twilio_log("call.disconnect")
    expect(page.locator("#state")).to_have_attribute("data-state", "wrap_up")
    expect(page.locator("#wrapup-note")).to_be_focused()
    page.fill("#wrapup-note", "Wants the spring catalogue; call back Friday.")
    page.get_by_label("商談化").check()  # what came of the call (WRAP_UP_CODES)
    softphone.screenshot("wrap-up")
    page.keyboard.press("Control+Enter")

    expect(page.locator("#idle-view")).to_be_visible()
    expect(page.locator("#state")).to_have_attribute("data-state", "available")
    note = softphone.api("POST", rf"^/conversations/{offer.customer_call}/note$")
    assert note and note[-1].body == {"text": "Wants the spring catalogue; call back Friday."}
    code = softphone.api("POST", rf"^/conversations/{offer.customer_call}/wrap-up-code$")
    assert code and code[-1].body == {"code": "商談化"}
    status = softphone.api("PUT", r"^/agents/me/status$")
    assert status and status[-1].body == {"state": "available"}
    # The call is now among the agent's recent calls (the last 7 days, theirs by `agent=me`).
    recent_asks = softphone.api("GET", r"^/conversations\?agent=me&limit=10&from=\d+$")
    assert recent_asks
    week_ago_ms = int(recent_asks[-1].path.rsplit("=", 1)[1])
    assert abs(time.time() * 1000 - 7 * 86_400_000 - week_ago_ms) < 600_000
    recent = page.locator("#recent-list")
    expect(recent).to_contain_text(offer.customer["customer_name"])
    expect(recent).to_contain_text(f"with {agent['agent_id']}")
    softphone.screenshot("after-call")


def test_warm_transfer_to_a_named_colleague_then_hand_over(
    softphone: Softphone, stack: Stack, demo_agents: list[dict[str, str]]
) -> None:
    agent = demo_agents[3]
    colleague = next(a for a in demo_agents if a["team"] != agent["team"])
    page = softphone.page
    sign_in_available(softphone, agent["agent_id"])
    offer = ring(softphone, stack, agent)
    answer(softphone, stack, offer)

    page.keyboard.press("Alt+t")
    expect(page.locator("#transfer")).to_be_visible()
    expect(page.locator(f"#transfer-target option[value='{colleague['agent_id']}']")).to_have_count(
        1
    )
    expect(page.locator(f"#transfer-target option[value='{agent['agent_id']}']")).to_have_count(0)
    page.select_option("#transfer-target", colleague["agent_id"])
    softphone.screenshot("transfer")
    page.click("#transfer-start")

    expect(page.locator("#warm-transfer")).to_be_visible()
    expect(page.locator("#call-label")).to_have_text("Warm transfer: customer on hold")
    request = softphone.api("POST", rf"^/calls/{offer.conference_sid}/transfer$")
    assert request[-1].body == {"to_agent": colleague["agent_id"], "mode": "warm"}
    held = stack.twilio.fake.seen("POST", rf"/Participants/{offer.customer_call}\.json")
    assert held[-1].form["Hold"] == "true"
    created = stack.twilio.fake.seen("POST", r"/Workspaces/WS\w+/Tasks$")
    assert created and colleague["agent_id"] in created[-1].form["Attributes"]
    assert not softphone.twilio_log("call.disconnect")  # warm: still talking to the colleague

    page.click("#warm-complete")
    expect(page.locator("#wrapup-view")).to_be_visible()
    expect(page.locator("#wrapup-summary")).to_contain_text("transferred")
    assert softphone.api("POST", rf"^/calls/{offer.conference_sid}/transfer/complete$")
    completed = stack.twilio.fake.seen("POST", rf"/Tasks/{offer.task_sid}$")
    assert completed and completed[-1].form["AssignmentStatus"] == "completed"
    # Handing over must not end the customer's call.
    assert not stack.twilio.fake.seen("POST", rf"/Conferences/{offer.conference_sid}\.json$")


def test_a_warm_transfer_called_off_brings_the_customer_back(
    softphone: Softphone, stack: Stack, demo_agents: list[dict[str, str]]
) -> None:
    agent = demo_agents[16]  # no other browser test uses agents 16 and 17
    colleague = next(a for a in demo_agents if a["team"] != agent["team"])
    page = softphone.page
    sign_in_available(softphone, agent["agent_id"])
    offer = ring(softphone, stack, agent)
    answer(softphone, stack, offer)
    page.keyboard.press("Alt+t")
    page.select_option("#transfer-target", colleague["agent_id"])
    page.click("#transfer-start")
    expect(page.locator("#warm-transfer")).to_be_visible()
    created = stack.twilio.fake.wait_seen("POST", r"/Workspaces/WS\w+/Tasks$")
    (transfer_task,) = [
        sid
        for sid, task in stack.twilio.fake.tasks.items()
        if task.attributes.get("transfer", {}).get("from_task_sid") == offer.task_sid
    ]
    assert created

    page.click("#warm-cancel")

    expect(page.locator("#warm-transfer")).to_be_hidden()
    expect(page.locator("#call-label")).to_have_text("On a call")
    expect(page.locator("#call-notice")).to_have_text(
        re.compile(r"^Transfer to .+ canceled: you are back with the customer\.$")
    )
    expect(page.locator("#hold")).to_be_enabled()
    expect(page.locator("#transfer-toggle")).to_be_enabled()
    cancel = softphone.api("POST", rf"^/calls/{offer.conference_sid}/transfer/cancel$")
    assert cancel[-1].body == {"transfer_task_sid": transfer_task}
    withdrawn = stack.twilio.fake.seen("POST", rf"/Tasks/{transfer_task}$")
    assert withdrawn[-1].form == {"AssignmentStatus": "canceled", "Reason": "transfer canceled"}
    resumed = stack.twilio.fake.seen("POST", rf"/Participants/{offer.customer_call}\.json")
    assert resumed[-1].form["Hold"] == "false"
    # The agent is still on the call: nothing ended, nobody left.
    assert not softphone.twilio_log("call.disconnect")
    assert not stack.twilio.fake.seen("POST", rf"/Tasks/{offer.task_sid}$")
    assert not stack.twilio.fake.seen("DELETE", rf"/Conferences/{offer.conference_sid}/")
    expect(page.locator("#state")).to_have_attribute("data-state", "on_call")


def test_a_call_widened_to_the_team_rings_with_the_owner_and_why(
    softphone: Softphone, stack: Stack, demo_agents: list[dict[str, str]]
) -> None:
    agent, owner = demo_agents[17], demo_agents[16]  # teammates (osaka-sales)
    assert agent["team"] == owner["team"]
    customer = customer_owned_by(owner["agent_id"])
    page = softphone.page
    sign_in_available(softphone, agent["agent_id"])

    ring(softphone, stack, agent, customer=customer, stage="team")

    expect(page.locator("#incoming-name")).to_have_text(customer["customer_name"])
    expect(page.locator("#incoming-reason")).to_have_text(
        f"The owner is busy: offered to {customer['team']}"
    )
    expect(page.locator("#incoming-owner")).to_have_text(owner["agent_id"])
    expect(page.locator("#incoming-team")).to_have_text(customer["team"])
    page.keyboard.press("Escape")
    expect(page.locator("#idle-view")).to_be_visible()


def test_cold_transfer_to_a_team_hands_over_at_once(
    softphone: Softphone, stack: Stack, demo_agents: list[dict[str, str]]
) -> None:
    agent = demo_agents[4]
    page = softphone.page
    sign_in_available(softphone, agent["agent_id"])
    offer = ring(softphone, stack, agent)
    answer(softphone, stack, offer)

    page.keyboard.press("Alt+t")
    page.check("input[name=target-kind][value=team]")
    expect(page.locator("#transfer-target option[value='support']")).to_have_count(1)
    page.select_option("#transfer-target", "support")
    page.check("input[name=transfer-mode][value=cold]")
    page.click("#transfer-start")

    expect(page.locator("#wrapup-view")).to_be_visible()
    request = softphone.api("POST", rf"^/calls/{offer.conference_sid}/transfer$")
    assert request[-1].body == {"to_team": "support", "mode": "cold"}
    left = stack.twilio.fake.seen("DELETE", rf"/Participants/{offer.agent_call}\.json")
    assert left, "the agent's leg was not taken out of the conference"
    assert softphone.twilio_log("call.disconnect")


def test_a_cold_transfer_arrives_with_who_sent_it_and_the_customer_is_taken_off_hold(
    softphone: Softphone, stack: Stack, demo_agents: list[dict[str, str]]
) -> None:
    agent, sender = demo_agents[13], demo_agents[14]
    page = softphone.page
    sign_in_available(softphone, agent["agent_id"])
    offer = ring(
        softphone,
        stack,
        agent,
        transfer_from=sender["agent_id"],
        customer=customer_owned_by(sender["agent_id"]),
    )
    answer(softphone, stack, offer)

    expect(page.locator("#call-number")).to_have_text(e164(offer.customer["phone"]))
    expect(page.locator("#call-reason")).to_contain_text(
        f"Transferred to you by {sender['agent_id']}"
    )
    softphone.wait_for_api("POST", rf"^/calls/{offer.conference_sid}/resume$", 1)
    resumed = stack.twilio.fake.wait_seen("POST", rf"/Participants/{offer.customer_call}\.json")
    assert resumed and resumed[-1].form["Hold"] == "false"
    expect(page.locator("#call-label")).to_have_text("On a call")
    expect(page.locator("#hold")).to_be_enabled()


def test_declining_with_escape_and_a_caller_who_gives_up(
    softphone: Softphone, stack: Stack, demo_agents: list[dict[str, str]]
) -> None:
    agent = demo_agents[5]
    page = softphone.page
    sign_in_available(softphone, agent["agent_id"])

    ring(softphone, stack, agent)
    page.keyboard.press("Escape")
    expect(page.locator("#idle-view")).to_be_visible()
    assert softphone.twilio_log("call.reject")
    expect(page.locator("#state")).to_have_attribute("data-state", "available")
    assert "Call:" not in page.title()

    offer = ring(softphone, stack, agent)
    softphone.fake("window.fakeTwilio.cancel()")
    expect(page.locator("#idle-view")).to_be_visible()
    # The number as the floor reads it (national format, issue 18), as the CRM writes it.
    expect(page.locator("#idle-hint")).to_contain_text(
        f"Missed call from {offer.customer['phone']}"
    )
    expect(page.locator("body")).not_to_have_class("is-ringing")


def test_choosing_away_while_it_rings_declines_and_the_server_takes_it(
    softphone: Softphone, stack: Stack, demo_agents: list[dict[str, str]]
) -> None:
    agent = demo_agents[6]
    page = softphone.page
    sign_in_available(softphone, agent["agent_id"])

    ring(softphone, stack, agent)
    expect(page.locator('[data-set-state="available"]')).to_be_disabled()
    page.locator('[data-set-state="away"]').click()
    expect(page.locator("#idle-view")).to_be_visible()
    assert softphone.twilio_log("call.reject")
    expect(page.locator("#state")).to_have_attribute("data-state", "away")
    # The server took it from ringing (a 409 would have left a banner and the call ringing).
    softphone.wait_for_api("PUT", r"^/agents/me/status$", 2)
    expect(page.locator("body")).not_to_have_class("is-ringing")


def test_a_crm_link_opens_ready_to_dial_and_the_call_goes_out(
    softphone: Softphone, demo_agents: list[dict[str, str]]
) -> None:
    agent = demo_agents[6]
    page = softphone.page
    sign_in_available(softphone, agent["agent_id"], query="?call=%2B81312345678")
    expect(page.locator("#dial-number")).to_have_value("+81312345678")
    expect(page.locator("#dial-number")).to_be_focused()

    page.click("#dial-button")

    expect(page.locator("#call-view")).to_be_visible()
    assert softphone.twilio_log("device.connect")[-1]["params"] == {"To": "+81312345678"}
    expect(page.locator("#call-label")).to_have_text("Calling…")
    softphone.fake("window.fakeTwilio.answer()")
    expect(page.locator("#call-label")).to_have_text("Outbound call")
    # Shown as the floor reads it: national format for a Japanese number (issue 18).
    expect(page.locator("#call-name")).to_have_text("03-1234-5678")
    # A direct dial has no conference: hold and transfer are not offered.
    expect(page.locator("#hold")).to_be_disabled()
    expect(page.locator("#transfer-toggle")).to_be_disabled()
    expect(page.locator("#mute")).to_be_enabled()
    softphone.fake("window.fakeTwilio.hangUp()")
    expect(page.locator("#wrapup-view")).to_be_visible()
    expect(page.locator("#wrapup-summary")).to_contain_text("Outbound call")


def test_a_number_that_is_not_one_is_not_dialled(
    softphone: Softphone, demo_agents: list[dict[str, str]]
) -> None:
    page = softphone.page
    sign_in_available(softphone, demo_agents[7]["agent_id"])
    page.fill("#dial-number", "call me maybe")
    page.click("#dial-button")
    expect(page.locator("#dial-error")).to_contain_text("Enter a phone number")
    assert not softphone.twilio_log("device.connect")
