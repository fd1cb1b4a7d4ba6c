"""Outbound guard rails in the page: a refused number is explained and never dialled."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import Softphone, Stack
from tests.browser.test_calls import sign_in_available


def test_a_premium_rate_number_is_explained_in_the_page_and_never_dialled(
    softphone: Softphone, demo_agents: list[dict[str, str]]
) -> None:
    page = softphone.page
    sign_in_available(softphone, demo_agents[28]["agent_id"])
    page.fill("#dial-number", "0990-123-456")
    page.click("#dial-button")
    expect(page.locator("#dial-error")).to_have_text("有料情報サービスの番号には発信できません。")
    assert not softphone.twilio_log("device.connect")
    expect(page.locator("#idle-view")).to_be_visible()


def test_a_do_not_call_number_from_a_crm_link_is_refused_before_dialling(
    softphone: Softphone, stack: Stack, demo_agents: list[dict[str, str]]
) -> None:
    table = stack.dynamodb().Table("cc-local-do-not-call")
    table.put_item(Item={"phone": "+81355501234"})
    try:
        page = softphone.page
        sign_in_available(softphone, demo_agents[28]["agent_id"], query="?call=03-5550-1234")
        page.click("#dial-button")
        expect(page.locator("#dial-error")).to_contain_text("発信禁止リスト")
        assert not softphone.twilio_log("device.connect")
        [check] = softphone.api("GET", r"^/calls/dial-check\?")
        assert check.path.endswith("number=0355501234")
        # An allowed number goes on to the Device.
        page.fill("#dial-number", "03-5550-9999")
        page.click("#dial-button")
        expect(page.locator("#call-view")).to_be_visible()
        assert softphone.twilio_log("device.connect")[-1]["params"] == {"To": "0355509999"}
    finally:
        table.delete_item(Key={"phone": "+81355501234"})
