"""Signing in: Cognito from the browser, then the presence session and the phone line."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import LATEST_CLIENT_VERSION, Softphone


def test_agent_signs_in_and_becomes_available_with_a_registered_phone(
    softphone: Softphone, demo_agents: list[dict[str, str]]
) -> None:
    agent = demo_agents[0]["agent_id"]
    page = softphone.page
    softphone.open()
    expect(page.locator("#signin")).to_be_visible()
    softphone.screenshot("sign-in")

    softphone.sign_in(agent)

    expect(page.locator("#agent-name")).to_have_text(agent)
    expect(page.locator("#phone-status")).to_have_attribute("data-status", "ready")
    expect(page.locator("#state")).not_to_have_attribute("data-state", "offline")

    # The agent picks their state with a click or Alt+digit; the server's answer is shown.
    page.click("[data-set-state=break]")
    expect(page.locator("#state")).to_have_attribute("data-state", "break")
    expect(page.locator("#state-label")).to_have_text("On break")
    expect(page.locator("[data-set-state=break]")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#idle-title")).to_have_text("You are on break")
    page.keyboard.press("Alt+1")
    expect(page.locator("#state")).to_have_attribute("data-state", "available")
    expect(page.locator("#state-label")).to_have_text("Available")
    expect(page.locator("#idle-title")).to_have_text("Ready for calls")
    states = [c.body for c in softphone.api("PUT", r"^/agents/me/status$")]
    assert states == [{"state": "break"}, {"state": "available"}]
    # Every API request carried the ID token and the page's version.
    expect(page.locator("[data-banner=network]")).to_have_count(0)
    assert softphone.calls, "the page made no API request"
    for call in softphone.calls:
        assert call.headers.get("authorization", "").startswith("Bearer ey"), call
        assert call.headers.get("x-client-version") == LATEST_CLIENT_VERSION, call
    assert softphone.api("POST", r"^/agents/me/session$")
    # The Device was built with the token the API issued, on the Tokyo edge, and registered.
    token_request = softphone.api("GET", r"^/agents/me/token$")
    assert len(token_request) == 1
    created = softphone.twilio_log("device.new")
    assert len(created) == 1
    assert created[0]["options"]["edge"] == "tokyo"
    assert created[0]["token"].count(".") == 2  # a JWT from the API, not a placeholder
    assert softphone.twilio_log("device.register")
    softphone.screenshot("available")


def test_wrong_password_is_refused_with_a_clear_message(
    softphone: Softphone, demo_agents: list[dict[str, str]]
) -> None:
    page = softphone.page
    softphone.open()
    softphone.sign_in(demo_agents[1]["agent_id"], password="not-the-password")
    expect(page.locator("#signin-error")).to_have_text("Wrong user name or password.")
    expect(page.locator("#app")).to_be_hidden()
    assert not softphone.calls  # nothing reached the API without a token


def test_signing_out_ends_the_presence_session_and_the_phone_line(
    softphone: Softphone, demo_agents: list[dict[str, str]]
) -> None:
    page = softphone.page
    softphone.open()
    softphone.sign_in(demo_agents[15]["agent_id"])
    expect(page.locator("#phone-status")).to_have_attribute("data-status", "ready")

    page.click("#signout")

    expect(page.locator("#signin")).to_be_visible()
    ended = softphone.api("DELETE", r"^/agents/me/session$")
    assert ended and ended[0].headers["authorization"].startswith("Bearer ")
    # A reload does not sign the agent back in: the tokens are gone from the tab.
    page.reload()
    expect(page.locator("#signin")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('cc.session')") is None
