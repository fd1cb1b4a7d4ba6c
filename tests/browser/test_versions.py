"""Client and server stay in step: an outdated page is told so, and reloads itself when safe.

The stack serves client versions MIN_CLIENT_VERSION..LATEST_CLIENT_VERSION (conftest); a test
"deploys" a new page by changing the version its config.js announces, as `ops web-deploy` does.
"""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import LATEST_CLIENT_VERSION, MIN_CLIENT_VERSION, Softphone


def test_a_client_too_old_is_refused_with_a_clear_message_then_reloads_into_the_new_one(
    softphone: Softphone, demo_agents: list[dict[str, str]]
) -> None:
    page = softphone.page
    softphone.client_version = "0.9.0"
    softphone.open()
    softphone.sign_in(demo_agents[8]["agent_id"])

    expect(page.locator("#blocked")).to_be_visible()
    expect(page.locator("#blocked-title")).to_have_text("This softphone is out of date")
    expect(page.locator("#blocked-message")).to_contain_text("0.9.0")
    expect(page.locator("#blocked-message")).to_contain_text(MIN_CLIENT_VERSION)
    refused = softphone.api("POST", r"^/agents/me/session$")
    assert refused and refused[0].headers["x-client-version"] == "0.9.0"
    assert not softphone.twilio_log("device.register")  # no half-working phone
    softphone.screenshot("client-too-old")

    # The new page is deployed; the refused one reloads itself and the agent is still signed in.
    softphone.client_version = LATEST_CLIENT_VERSION
    page.click("#blocked-reload")
    expect(page.locator("html")).to_have_attribute("data-client-version", LATEST_CLIENT_VERSION)
    expect(page.locator("#blocked")).to_be_hidden()
    expect(page.locator("#agent-name")).to_have_text(demo_agents[8]["agent_id"])
    expect(page.locator("#phone-status")).to_have_attribute("data-status", "ready")


def test_an_outdated_client_waits_for_the_call_and_wrap_up_to_end_before_reloading(
    softphone: Softphone, demo_agents: list[dict[str, str]]
) -> None:
    page = softphone.page
    softphone.client_version = "1.1.0"
    softphone.open()
    softphone.sign_in(demo_agents[9]["agent_id"])
    banner = page.locator("[data-banner=version]")
    expect(banner).to_contain_text(f"A new version of the softphone ({LATEST_CLIENT_VERSION})")
    expect(page.locator("#phone-status")).to_have_attribute("data-status", "ready")
    # Straight away a call comes in, and the new version is deployed while the agent talks.
    softphone.fake("window.fakeTwilio.incoming({from: '+81312345678'})")
    page.keyboard.press("Enter")
    expect(page.locator("#call-view")).to_be_visible()
    softphone.screenshot("update-banner")
    softphone.client_version = LATEST_CLIENT_VERSION
    page.evaluate("window.stillTheSamePage = true")

    page.wait_for_timeout(2500)  # the idle reload would have happened by now
    assert page.evaluate("window.stillTheSamePage") is True
    softphone.fake("window.fakeTwilio.hangUp()")
    expect(page.locator("#wrapup-view")).to_be_visible()
    page.wait_for_timeout(2500)
    assert page.evaluate("window.stillTheSamePage") is True  # not in the middle of a note

    page.get_by_label("対象外").check()
    page.click("#wrapup-done")

    # The fake call has no conversation on the server: the wrap-up code is retried for ~6 s
    # (web/app/wrapup_codes.js) before the wrap-up ends and the page reloads.
    expect(page.locator("html")).to_have_attribute(
        "data-client-version", LATEST_CLIENT_VERSION, timeout=20_000
    )
    assert page.evaluate("window.stillTheSamePage") is None
    expect(page.locator("[data-banner=version]")).to_have_count(0)
    expect(page.locator("#agent-name")).to_have_text(demo_agents[9]["agent_id"])
