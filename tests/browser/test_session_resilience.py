"""A sign-in problem never hangs up on a customer.

A 401 on a heartbeat first renews the ID token (REFRESH_TOKEN_AUTH) and retries; a 503 (the API
cannot read the user pool's keys for a moment: chalicelib/api/auth.py) is transient. Neither
destroys the Twilio Device nor signs the agent out while a call is live.
"""

from __future__ import annotations

import json
import re
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import Softphone

HEARTBEAT = re.compile(r"/agents/me/heartbeat$")
CORS = {"Access-Control-Allow-Origin": "*"}
REVOKED = '{"__type": "NotAuthorizedException", "message": "Refresh Token has been revoked"}'


def on_a_live_call(softphone: Softphone, agent_id: str) -> None:
    page = softphone.page
    softphone.open()
    softphone.sign_in(agent_id)
    expect(page.locator("#phone-status")).to_have_attribute("data-status", "ready")
    page.fill("#dial-number", "+81312345678")
    page.click("#dial-button")
    # The page asks GET /calls/dial-check before the Device dials (web/app/dialling.js).
    expect(page.locator("#call-view")).to_be_visible()
    softphone.fake("window.fakeTwilio.answer()")
    expect(page.locator("#call-label")).to_have_text("Outbound call")


def record_cognito(softphone: Softphone) -> list[dict[str, Any]]:
    """The InitiateAuth requests the page sends to the user pool, as sent."""
    sent: list[dict[str, Any]] = []

    def record(request: Any) -> None:
        target = request.headers.get("x-amz-target", "")
        if request.url.startswith(softphone.stack.moto_url) and target.endswith(".InitiateAuth"):
            sent.append(json.loads(request.post_data or "{}"))

    softphone.page.on("request", record)
    return sent


def beat_now(softphone: Softphone) -> None:
    # The page heartbeats at once when the browser says it is back online.
    softphone.fake("window.dispatchEvent(new Event('online'))")


def test_a_401_heartbeat_renews_the_token_and_retries_without_dropping_the_call(
    softphone: Softphone, demo_agents: list[dict[str, str]]
) -> None:
    page = softphone.page
    on_a_live_call(softphone, demo_agents[20]["agent_id"])
    refreshes = record_cognito(softphone)
    refused: list[str] = []

    def expired_once(route: Any) -> None:
        if not refused:
            refused.append(route.request.headers.get("authorization", ""))
            route.fulfill(status=401, headers=CORS, content_type="application/json", body="{}")
        else:
            route.continue_()

    page.route(HEARTBEAT, expired_once)
    beats_before = len(softphone.api("POST", r"^/agents/me/heartbeat$"))
    beat_now(softphone)

    softphone.wait_for_api("POST", r"^/agents/me/heartbeat$", beats_before + 2, timeout=10)
    retried = softphone.api("POST", r"^/agents/me/heartbeat$")[-1]
    assert [r["AuthFlow"] for r in refreshes] == ["REFRESH_TOKEN_AUTH"]
    # The retry carries the renewed token, not the refused one.
    assert retried.headers["authorization"].startswith("Bearer ey")
    assert retried.headers["authorization"] != refused[0]
    expect(page.locator("#call-view")).to_be_visible()
    expect(page.locator("#signin")).to_be_hidden()
    assert not softphone.twilio_log("device.destroy")
    assert not softphone.twilio_log("call.disconnect")


def test_a_503_heartbeat_is_retried_and_neither_signs_out_nor_hangs_up(
    softphone: Softphone, demo_agents: list[dict[str, str]]
) -> None:
    page = softphone.page
    on_a_live_call(softphone, demo_agents[21]["agent_id"])
    refreshes = record_cognito(softphone)
    unavailable = {"on": True}

    def keys_down(route: Any) -> None:
        if unavailable["on"]:
            route.fulfill(
                status=503,
                headers=CORS,
                content_type="application/json",
                body='{"Code": "ServiceUnavailable", "Message": "cannot verify the sign-in"}',
            )
        else:
            route.continue_()

    page.route(HEARTBEAT, keys_down)
    beat_now(softphone)

    expect(page.locator("[data-banner=auth]")).to_contain_text("briefly unavailable")
    expect(page.locator("#call-view")).to_be_visible()
    expect(page.locator("#signin")).to_be_hidden()
    assert not refreshes  # a 503 says nothing about the token
    assert not softphone.twilio_log("device.destroy")
    assert page.evaluate("sessionStorage.getItem('cc.session')") is not None

    unavailable["on"] = False
    beat_now(softphone)
    expect(page.locator("[data-banner=auth]")).to_have_count(0)
    expect(page.locator("#call-view")).to_be_visible()
    assert not softphone.twilio_log("device.destroy")


def test_a_sign_in_that_cannot_be_renewed_keeps_the_call_until_it_ends(
    softphone: Softphone, demo_agents: list[dict[str, str]]
) -> None:
    """Cognito refuses the refresh token (revoked): the agent finishes the call, then signs in."""
    page = softphone.page
    on_a_live_call(softphone, demo_agents[22]["agent_id"])
    page.route(
        HEARTBEAT,
        lambda route: route.fulfill(
            status=401, headers=CORS, content_type="application/json", body="{}"
        ),
    )
    page.route(
        re.compile(re.escape(softphone.stack.moto_url) + r"/?$"),
        lambda route: (
            route.fulfill(
                status=400,
                headers=CORS,
                content_type="application/x-amz-json-1.1",
                body=REVOKED,
            )
            if "REFRESH_TOKEN_AUTH" in (route.request.post_data or "")
            else route.continue_()
        ),
    )
    beat_now(softphone)

    expect(page.locator("[data-banner=auth]")).to_contain_text("Finish this call")
    expect(page.locator("#call-view")).to_be_visible()
    assert not softphone.twilio_log("device.destroy")

    # The caller hangs up: the agent still gets their wrap-up (sign-out waits until it is done).
    softphone.fake("window.fakeTwilio.hangUp()")
    expect(page.locator("#wrapup-view")).to_be_visible()
    assert not softphone.twilio_log("device.destroy")
