"""Internal calls in the softphone (issue 17): a rep calls a colleague by name or agent id
(`To=agent:<id>`, no dial check), and the colleague's page shows the call TaskRouter never
offered, from `client:<identity>`, as an internal call from that colleague.

The TwiML App's part (placing the call, putting both reps on it) is the server's and is tested
in tests/app; here the fake `Twilio.Device` (fake_twilio.js) plays Twilio's side of the calls.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Softphone
from tests.browser.test_calls import sign_in_available


def short_name(agent: dict[str, str]) -> str:
    """The name as a rep types it: without the reading in brackets (佐藤 陽翔)."""
    return agent["name"].split("（")[0]


def ring_from(softphone: Softphone, caller: dict[str, str]) -> None:
    """The server rings this rep's Device from the calling rep's browser (Participants API)."""
    softphone.fake("(from) => window.fakeTwilio.incoming({ from })", f"client:{caller['agent_id']}")


def test_a_rep_calls_a_colleague_by_name_without_the_dial_check(
    softphone: Softphone, demo_agents: list[dict[str, str]]
) -> None:
    rep, colleague = demo_agents[29], demo_agents[28]
    page = softphone.page
    sign_in_available(softphone, rep["agent_id"])
    # The suggestions are the colleagues (by agent id, labelled with the name), not oneself.
    page.focus("#colleague-name")
    options = page.locator(f'#colleague-options option[value="{colleague["agent_id"]}"]')
    expect(options).to_have_count(1)
    expect(page.locator(f'#colleague-options option[value="{rep["agent_id"]}"]')).to_have_count(0)

    page.fill("#colleague-name", short_name(colleague))
    page.click("#colleague-call")

    expect(page.locator("#call-view")).to_be_visible()
    assert softphone.twilio_log("device.connect")[-1]["params"] == {
        "To": f"agent:{colleague['agent_id']}"
    }
    assert not softphone.api("GET", r"^/calls/dial-check")
    expect(page.locator("#call-name")).to_have_text(colleague["name"])
    expect(page.locator("#call-reason")).to_have_text(f"Internal call to {colleague['name']}")
    softphone.fake("window.fakeTwilio.answer()")
    expect(page.locator("#call-label")).to_have_text("Internal call")
    expect(page.locator("#hold")).to_be_disabled()
    expect(page.locator("#transfer-toggle")).to_be_disabled()

    softphone.fake("window.fakeTwilio.hangUp()")
    expect(page.locator("#wrapup-view")).to_be_visible()
    expect(page.locator("#wrapup-name")).to_have_text(colleague["name"])
    expect(page.locator("#wrapup-summary")).to_contain_text("Internal call")
    # The caller's leg names the conversation: the caller notes it as after any call.
    expect(page.locator("#wrapup-note")).to_be_visible()


def test_a_colleague_is_found_by_agent_id_and_an_unknown_one_is_not_called(
    softphone: Softphone, demo_agents: list[dict[str, str]]
) -> None:
    rep, colleague = demo_agents[27], demo_agents[26]
    page = softphone.page
    sign_in_available(softphone, rep["agent_id"])
    page.fill("#colleague-name", "nobody.here")
    page.click("#colleague-call")
    expect(page.locator("#colleague-error")).to_contain_text('No colleague "nobody.here"')
    assert not softphone.twilio_log("device.connect")
    expect(page.locator("#idle-view")).to_be_visible()

    page.fill("#colleague-name", colleague["agent_id"])
    page.click("#colleague-call")
    expect(page.locator("#call-name")).to_have_text(colleague["name"])
    assert softphone.twilio_log("device.connect")[-1]["params"] == {
        "To": f"agent:{colleague['agent_id']}"
    }
    expect(page.locator("#colleague-error")).to_have_text("")


def test_an_internal_call_rings_as_from_the_colleague_is_answered_and_wrapped_up(
    softphone: Softphone, demo_agents: list[dict[str, str]]
) -> None:
    callee, caller = demo_agents[25], demo_agents[24]
    page = softphone.page
    sign_in_available(softphone, callee["agent_id"])
    ring_from(softphone, caller)

    expect(page.locator("#incoming-view")).to_be_visible()
    expect(page.locator("#incoming-name")).to_have_text(caller["name"])
    expect(page.locator("#incoming-reason")).to_have_text(f"Internal call from {caller['name']}")
    expect(page.locator("#incoming-number")).to_have_text("")
    # Not a TaskRouter offer: nothing to look up, no customer history.
    assert not softphone.api("GET", r"^/agents/me/call$")
    assert not softphone.api("GET", r"^/conversations\?customer=")

    page.keyboard.press("Enter")
    expect(page.locator("#call-view")).to_be_visible()
    expect(page.locator("#call-label")).to_have_text("Internal call")
    expect(page.locator("#call-name")).to_have_text(caller["name"])
    softphone.fake("window.fakeTwilio.hangUp()")

    expect(page.locator("#wrapup-view")).to_be_visible()
    expect(page.locator("#wrapup-summary")).to_contain_text("Internal call")
    expect(page.locator("#wrapup-summary")).to_contain_text("Your colleague, who called, notes")
    # The callee's page does not know the conversation (the caller's leg names it): no note,
    # no code, and saving only makes them available again.
    expect(page.locator("#wrapup-note")).to_be_hidden()
    expect(page.locator("#wrapup-codes")).to_be_hidden()
    page.click("#wrapup-done")
    expect(page.locator("#idle-view")).to_be_visible()
    expect(page.locator("#state")).to_have_attribute("data-state", "available")
    assert not softphone.api("POST", r"^/conversations/.*/(note|wrap-up-code)$")
    assert not softphone.api("GET", r"^/agents/me/call$")


def test_an_internal_call_can_be_declined(
    softphone: Softphone, demo_agents: list[dict[str, str]]
) -> None:
    # Agent 23 may still be on test_floor's live call (one stack per session): 19 is free here.
    callee, caller = demo_agents[19], demo_agents[22]
    page = softphone.page
    sign_in_available(softphone, callee["agent_id"])
    ring_from(softphone, caller)
    expect(page.locator("#incoming-name")).to_have_text(caller["name"])
    page.click("#reject")
    expect(page.locator("#idle-view")).to_be_visible()
    assert softphone.twilio_log("call.reject")


@pytest.mark.parametrize("page_language", ["ja"])
def test_an_internal_call_reads_in_japanese(
    softphone: Softphone, demo_agents: list[dict[str, str]]
) -> None:
    callee, caller = demo_agents[21], demo_agents[20]
    page = softphone.page
    sign_in_available(softphone, callee["agent_id"])
    expect(page.locator("label[for=colleague-name]")).to_have_text("同僚に発信")
    ring_from(softphone, caller)
    expect(page.locator("#incoming-reason")).to_have_text(f"{caller['name']}さんからの内線通話")
    page.click("#accept")
    expect(page.locator("#call-label")).to_have_text("内線通話")


def test_a_reservation_from_a_client_identity_is_still_an_offer(
    softphone: Softphone, demo_agents: list[dict[str, str]]
) -> None:
    """A call that names its TaskRouter task is an offer, whatever its From: looked up as one."""
    agent = demo_agents[19]
    page = softphone.page
    sign_in_available(softphone, agent["agent_id"])
    softphone.fake(
        "() => window.fakeTwilio.incoming({ from: 'client:someone', customParameters: {"
        " task_sid: 'WT' + '0'.repeat(32) } })"
    )
    expect(page.locator("#incoming-view")).to_be_visible()
    softphone.wait_for_api("GET", r"^/agents/me/call$", 1)
    expect(page.locator("#incoming-reason")).not_to_contain_text("Internal call")
    page.click("#reject")
    expect(page.locator("#idle-view")).to_be_visible()
