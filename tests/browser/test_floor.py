"""The supervisors' floor page (issue 19): callers waiting and reps on calls drawn from the live
conversations, then listen -> whisper -> barge -> leave on a live call from the page, and a rep
put away.

Runs against the session's local stack (tests/browser/conftest.py): the call is played to it as
Twilio's signed callbacks (voice, TaskRouter, conference), and the Participants API requests the
monitoring makes reach the stack's fake Twilio REST server, where the test reads them.
"""

from __future__ import annotations

import time
from typing import Any

from playwright.sync_api import expect

from chalicelib.platform.settings import LOCAL_AUTH_TOKEN
from chalicelib.platform.signatures import callback_url
from chalicelib.telephony import webhooks
from ops.webhooks import post_signed
from tests.browser.conftest import Stack, save_screenshot, sign_in_on_page, staff_page
from tests.browser.test_board import agent_token, call_api
from tests.conversation_script import CallScript

SUPERVISOR = "supervisor"
PATHS = {
    "voice": webhooks.VOICE_STATUS,
    "taskrouter": webhooks.TASKROUTER_EVENTS,
    "conference": webhooks.CONFERENCE_STATUS,
}


def play(stack: Stack, script: CallScript) -> None:
    for kind, form, query in script.callbacks:
        status, body = post_signed(
            callback_url(stack.api_url + PATHS[kind], query), form, LOCAL_AUTH_TOKEN
        )
        assert status in (200, 204), body


def test_floor_shows_the_live_calls_and_a_supervisor_listens_whispers_barges(
    browser: Any, stack: Stack, demo_agents: list[dict[str, str]]
) -> None:
    rep = demo_agents[20]["agent_id"]  # no other browser test uses agents 20 and 21
    idle = demo_agents[21]["agent_id"]
    now_ms = int(time.time() * 1000)
    talking = CallScript(n=7301, t0=now_ms - 120_000, owner=rep, caller="+81312347301")
    talking.leg("ringing", 0).task("task.created", 1)
    talking.offer(rep, 1, 6, "accepted")
    talking.conference("conference-start", 6)
    talking.conference("participant-join", 6, talking.call_sid, ParticipantLabel="customer")
    talking.conference("participant-join", 6, talking.agent_leg_sid(1))
    waiting = CallScript(n=7302, t0=now_ms - 100_000, caller="+81312347302")
    waiting.leg("ringing", 0).task("task.created", 1)
    for script in (talking, waiting):
        play(stack, script)
    idle_token = agent_token(stack, idle)
    call_api(stack, "POST", "/agents/me/session", idle_token)
    call_api(stack, "PUT", "/agents/me/status", idle_token, {"state": "available"})

    with staff_page(browser, stack, "/floor/") as page:
        sign_in_on_page(page, SUPERVISOR)
        call_row = page.locator(f'#calls tr[data-conversation="{talking.call_sid}"]')
        expect(call_row).to_contain_text(rep)
        wait_row = page.locator(f'#waiting tr[data-conversation="{waiting.call_sid}"]')
        expect(wait_row).to_be_visible()
        expect(page.locator('#alerts li[data-kind="longest_wait"]')).to_be_visible()
        expect(page.locator("#teams tbody tr").first).to_be_visible()

        participants = f"/Conferences/{talking.conference_sid}/Participants"
        # The participant's label in the path, its colon as sent or percent-encoded.
        label = f"supervisor(:|%3[Aa]){SUPERVISOR}"

        call_row.locator('button[data-mode="listen"]').click()
        [joined] = stack.twilio.fake.wait_seen("POST", participants + r"\.json$")
        assert joined.form["To"] == f"client:{SUPERVISOR}"
        assert (joined.form["Muted"], joined.form["Beep"]) == ("true", "false")
        expect(call_row.locator('button[data-mode="listen"]')).to_have_attribute(
            "aria-pressed", "true"
        )

        call_row.locator('button[data-mode="whisper"]').click()
        [whisper] = stack.twilio.fake.wait_seen("POST", f"{participants}/{label}\\.json$")
        assert whisper.form["Coaching"] == "true"
        assert whisper.form["CallSidToCoach"] == talking.agent_leg_sid(1)
        rep_token = agent_token(stack, rep)
        state = call_api(stack, "GET", f"/conversations/{talking.call_sid}/monitoring", rep_token)
        assert state["supervisors"] == [{"agent_id": SUPERVISOR, "mode": "whisper"}]

        call_row.locator('button[data-mode="barge"]').click()
        expect(call_row.locator('button[data-mode="barge"]')).to_have_attribute(
            "aria-pressed", "true"
        )
        updates = stack.twilio.fake.seen("POST", f"{participants}/{label}\\.json$")
        assert (updates[-1].form["Coaching"], updates[-1].form["Muted"]) == ("false", "false")
        state = call_api(stack, "GET", f"/conversations/{talking.call_sid}/monitoring", rep_token)
        assert state["supervisors"] == [{"agent_id": SUPERVISOR, "mode": "barge"}]
        save_screenshot(page, "floor")

        call_row.locator('button[data-mode="leave"]').click()
        stack.twilio.fake.wait_seen("DELETE", f"{participants}/{label}\\.json$")

        # Put a rep away from the floor. Their softphone (played here) heartbeats every 15 s: the
        # steps above can outlast the 45 s after which a silent rep is away, disconnected, and
        # the next heartbeat would reconnect them to where they were.
        assert call_api(stack, "POST", "/agents/me/heartbeat", idle_token)["state"] == "available"
        rep_row = page.locator(f'#reps tr[data-agent="{idle}"]')
        rep_row.locator('button[data-force="away"]').click()
        expect(page.locator("#action")).to_contain_text("done")
        assert call_api(stack, "POST", "/agents/me/heartbeat", idle_token)["state"] == "away"


def test_the_reps_softphone_shows_a_supervisor_listening_whispering_and_joined(
    softphone: Any, stack: Stack, demo_agents: list[dict[str, str]]
) -> None:
    from email.utils import format_datetime

    from tests.browser.test_calls import answer, ring, sign_in_available

    agent = demo_agents[23]  # no other browser test uses agent 23
    sign_in_available(softphone, agent["agent_id"])
    offer = ring(softphone, stack, agent)
    answer(softphone, stack, offer)

    # Twilio's callbacks of the call: the customer's leg, the rep's leg, both joining the
    # conference (what the conference instruction makes Twilio send).
    def stamp() -> str:
        from datetime import UTC, datetime

        return format_datetime(datetime.now(UTC), usegmt=True).replace("GMT", "+0000")

    context = {"conversation": offer.customer_call, "task": offer.task_sid}
    legs = [
        ({"CallSid": offer.customer_call, "To": "+81300000000", "From": "+81312340000"}, {}),
        (
            {
                "CallSid": offer.agent_call,
                "To": f"client:{agent['agent_id']}",
                "From": "+81300000000",
                "Direction": "outbound-api",
            },
            {**context, "agent": agent["agent_id"]},
        ),
    ]
    for form, query in legs:
        full = {
            "AccountSid": "AC" + "0" * 32,
            "CallStatus": "in-progress",
            "Direction": "inbound",
            "Timestamp": stamp(),
            "SequenceNumber": "1",
            **form,
        }
        status, body = post_signed(
            callback_url(stack.api_url + webhooks.VOICE_STATUS, query), full, LOCAL_AUTH_TOKEN
        )
        assert status in (200, 204), body
    for seq, leg in enumerate((offer.customer_call, offer.agent_call)):
        form = {
            "AccountSid": "AC" + "0" * 32,
            "ConferenceSid": offer.conference_sid,
            "FriendlyName": f"task-{offer.task_sid}",
            "StatusCallbackEvent": "participant-join",
            "SequenceNumber": str(seq),
            "Timestamp": stamp(),
            "CallSid": leg,
        }
        status, body = post_signed(
            callback_url(stack.api_url + webhooks.CONFERENCE_STATUS, context),
            form,
            LOCAL_AUTH_TOKEN,
        )
        assert status in (200, 204), body

    boss = agent_token(stack, SUPERVISOR)
    path = f"/supervisor/calls/{offer.customer_call}/monitor"
    line = softphone.page.locator("#call-supervisor")
    expect(line).to_be_hidden()
    call_api(stack, "POST", path, boss, {"mode": "listen"})
    expect(line).to_contain_text("is listening")
    call_api(stack, "POST", path, boss, {"mode": "whisper"})
    expect(line).to_contain_text("whispering to you")
    call_api(stack, "POST", path, boss, {"mode": "barge"})
    expect(line).to_contain_text("has joined the call")
    softphone.screenshot("softphone-supervisor-joined")
    call_api(stack, "DELETE", path, boss)
    expect(line).to_be_hidden()
