"""Wrap-up codes in the page: asked at every wrap-up, required, sent with the call's id."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import Softphone
from tests.browser.test_calls import sign_in_available


def test_an_outbound_call_cannot_be_wrapped_up_without_saying_what_came_of_it(
    softphone: Softphone, demo_agents: list[dict[str, str]]
) -> None:
    page = softphone.page
    sign_in_available(softphone, demo_agents[27]["agent_id"])
    page.fill("#dial-number", "03-5550-7777")
    page.click("#dial-button")
    expect(page.locator("#call-view")).to_be_visible()
    softphone.fake("window.fakeTwilio.answer()")
    softphone.fake("window.fakeTwilio.hangUp()")

    expect(page.locator("#wrapup-view")).to_be_visible()
    codes = page.locator("#wrapup-codes input[type=radio]")
    expect(codes).to_have_count(4)
    assert [codes.nth(i).get_attribute("value") for i in range(4)] == [
        "商談化",
        "不在",
        "折り返し依頼",
        "対象外",
    ]
    page.click("#wrapup-done")
    expect(page.locator("#wrapup-error")).to_have_text("Choose what came of this call.")
    expect(page.locator("#wrapup-view")).to_be_visible()
    assert not softphone.api("POST", r"/wrap-up-code$")

    page.get_by_label("不在").check()
    page.click("#wrapup-done")
    # The stand-in Device placed no real call, so the server has no record of it: the code is
    # retried, then the rep is told it was not kept, and is not held in wrap-up.
    expect(page.locator("[data-banner=wrapup-code]")).to_contain_text("不在", timeout=15_000)
    expect(page.locator("#idle-view")).to_be_visible()
    sent = softphone.api("POST", r"^/conversations/[^/]+/wrap-up-code$")
    assert len(sent) == 4 and all(call.body == {"code": "不在"} for call in sent)
