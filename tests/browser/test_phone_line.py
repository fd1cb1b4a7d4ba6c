"""The phone line through the day: the Twilio token is renewed before it expires, and the
page tells the agent when the network drops and recovers by itself when it returns."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import Softphone


def wait_until(page: Any, expression: str, timeout_ms: int = 10_000) -> None:
    """`page.wait_for_function` compiles its predicate in the page, which the pages' CSP refuses
    (no 'unsafe-eval', ops/web_csp.py); `evaluate` runs from DevTools and is not subject to it."""
    waited = 0
    while not page.evaluate(expression):
        assert waited < timeout_ms, f"not true after {timeout_ms} ms: {expression}"
        page.wait_for_timeout(50)
        waited += 50


def signed_in(softphone: Softphone, agent_id: str) -> None:
    softphone.open()
    softphone.sign_in(agent_id)
    expect(softphone.page.locator("#phone-status")).to_have_attribute("data-status", "ready")


def test_the_token_is_renewed_before_it_expires_and_after_it_did(
    softphone: Softphone, demo_agents: list[dict[str, str]]
) -> None:
    page = softphone.page
    signed_in(softphone, demo_agents[10]["agent_id"])
    assert len(softphone.api("GET", r"^/agents/me/token$")) == 1

    # The SDK warns before expiry: the page fetches a new token and hands it to the Device.
    with page.expect_response(lambda r: r.url.endswith("/agents/me/token")) as renewal:
        softphone.fake("window.fakeTwilio.tokenWillExpire()")
    fresh = renewal.value.json()
    assert fresh["identity"] == demo_agents[10]["agent_id"]
    wait_until(page, "window.fakeTwilio.entries('device.updateToken').length === 1")
    assert softphone.twilio_log("device.updateToken")[0]["token"] == fresh["token"]
    expect(page.locator("#phone-status")).to_have_attribute("data-status", "ready")

    # The token expired anyway (laptop asleep): renew, then register again.
    softphone.fake("window.fakeTwilio.tokenExpired()")
    wait_until(page, "window.fakeTwilio.entries('device.register').length === 2")
    assert len(softphone.twilio_log("device.updateToken")) == 2
    assert len(softphone.api("GET", r"^/agents/me/token$")) == 3
    expect(page.locator("#phone-status")).to_have_attribute("data-status", "ready")
    expect(page.locator("[data-banner=phone]")).to_have_count(0)


def test_network_drop_is_shown_and_the_page_recovers_when_it_returns(
    softphone: Softphone, demo_agents: list[dict[str, str]]
) -> None:
    page = softphone.page
    signed_in(softphone, demo_agents[11]["agent_id"])
    page.keyboard.press("Alt+1")
    expect(page.locator("#state")).to_have_attribute("data-state", "available")

    page.context.set_offline(True)
    softphone.fake("window.fakeTwilio.networkLost()")

    expect(page.locator("[data-banner=network]")).to_contain_text("Connection lost")
    expect(page.locator("#phone-status")).to_have_attribute("data-status", "offline")
    expect(page.locator("#idle-title")).to_have_text("Phone not connected")
    page.click("[data-set-state=away]")
    expect(page.locator("[data-banner=state]")).to_contain_text("Could not change your status")
    expect(page.locator("#state")).to_have_attribute("data-state", "available")
    softphone.screenshot("network-lost")
    heartbeats_before = len(softphone.api("POST", r"^/agents/me/heartbeat$"))

    page.context.set_offline(False)

    expect(page.locator("[data-banner=network]")).to_have_count(0)
    expect(page.locator("#phone-status")).to_have_attribute("data-status", "ready")
    assert len(softphone.api("POST", r"^/agents/me/heartbeat$")) > heartbeats_before
    assert len(softphone.twilio_log("device.register")) == 2
    page.click("[data-set-state=away]")
    expect(page.locator("#state")).to_have_attribute("data-state", "away")


def test_the_heartbeat_keeps_the_agent_signed_in_every_15_seconds(
    softphone: Softphone, demo_agents: list[dict[str, str]]
) -> None:
    page = softphone.page
    page.clock.install()
    signed_in(softphone, demo_agents[12]["agent_id"])
    # The page arms its next beat only once the previous answer is read (a setTimeout chain):
    # jumping the clock before that jumps past nothing. The session's answer has been read
    # when the state shows; a heartbeat's when its response is in and the page had a moment.
    expect(page.locator("#state")).to_have_attribute("data-state", "available")
    assert not softphone.api("POST", r"^/agents/me/heartbeat$")
    heartbeat = re.compile(r"/agents/me/heartbeat$")
    with page.expect_response(lambda r: bool(heartbeat.search(r.url)), timeout=15_000):
        page.clock.fast_forward("00:16")
    page.wait_for_timeout(500)
    # Generous real-time waits: on a loaded machine (CI runs other suites beside this one) the
    # page can take seconds to send what the virtual clock has already made due.
    page.clock.fast_forward("00:15")
    softphone.wait_for_api("POST", r"^/agents/me/heartbeat$", 2, timeout=15)
    beats = softphone.api("POST", r"^/agents/me/heartbeat$")
    assert all(b.headers["authorization"].startswith("Bearer ") for b in beats)
    expect(page.locator("[data-banner=network]")).to_have_count(0)


def test_a_busy_server_at_sign_in_is_retried_until_the_agent_is_available(
    softphone: Softphone, demo_agents: list[dict[str, str]]
) -> None:
    page = softphone.page
    page.clock.install()
    refused: list[str] = []

    def busy_once(route: Any) -> None:
        if route.request.method == "POST" and not refused:
            refused.append(route.request.url)
            route.fulfill(
                status=503,
                headers={"Retry-After": "2", "Access-Control-Allow-Origin": "*"},
                content_type="application/json",
                body='{"Code": "ServiceUnavailable", "Message": "try again in a moment"}',
            )
        else:
            route.continue_()

    page.route("**/agents/me/session", busy_once)
    softphone.open()
    softphone.sign_in(demo_agents[13]["agent_id"])
    expect(page.locator("[data-banner=state]")).to_contain_text("retrying", timeout=15_000)
    page.clock.fast_forward("00:06")
    softphone.wait_for_api("POST", r"^/agents/me/session$", 2, timeout=15)
    expect(page.locator("[data-banner=state]")).to_have_count(0, timeout=15_000)
    expect(page.locator("#state")).not_to_have_attribute("data-state", "offline")
    assert len(refused) == 1


def test_a_heartbeat_the_server_has_no_session_for_reopens_it(
    softphone: Softphone, demo_agents: list[dict[str, str]]
) -> None:
    page = softphone.page
    page.clock.install()
    signed_in(softphone, demo_agents[14]["agent_id"])
    # The server lost the agent's session (e.g. swept offline): it answers 409 to a heartbeat.
    answered: list[int] = []

    def no_session(route: Any) -> None:
        answered.append(409)
        route.fulfill(
            status=409,
            headers={"Access-Control-Allow-Origin": "*"},
            content_type="application/json",
            body='{"Code": "Conflict", "Message": "not signed in"}',
        )

    page.route("**/agents/me/heartbeat", no_session)
    page.clock.fast_forward("00:16")
    softphone.wait_for_api("POST", r"^/agents/me/session$", 2, timeout=15)
    assert answered
