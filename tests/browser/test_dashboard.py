"""The KPI dashboard: signed-in staff see today's calls, drawn from GET /kpis/today."""

from __future__ import annotations

import time
from typing import Any

from playwright.sync_api import expect

from chalicelib.platform.settings import ConversationSettings
from tests.browser.conftest import (
    Stack,
    play_callbacks,
    save_screenshot,
    sign_in_on_page,
    staff_page,
)
from tests.conversation_script import CallScript


def test_dashboard_shows_todays_offered_answered_and_missed_offers(
    browser: Any, stack: Stack, demo_agents: list[dict[str, str]]
) -> None:
    now_ms = int(time.time() * 1000)
    answered = CallScript(n=7001, t0=now_ms - 300_000, owner="dash_a")
    answered.leg("ringing", 0).task("task.created", 1)
    answered.offer("dash_a", 1, 21, "timeout")
    answered.offer("dash_x", 22, 25, "accepted")
    answered.leg("completed", 120, duration=120)
    abandoned = CallScript(n=7002, t0=now_ms - 200_000)
    abandoned.leg("ringing", 0).task("task.created", 1)
    abandoned.leg("completed", 30, duration=30).task("task.canceled", 30)
    play_callbacks(stack, answered)
    play_callbacks(stack, abandoned)
    # An outbound call dash_o placed from the softphone (its leg, and the customer's leg the
    # Participants API rang, whose callback URL names the conversation and the rep).
    outbound = CallScript(n=7003, t0=now_ms - 100_000)
    rep_leg = outbound.call_sid
    dialled = {"agent": "dash_o", "conversation": rep_leg, "dialled_by": "dash_o"}
    customer = "CA" + "7003".rjust(32, "c")
    number = "+81312345678"
    for status, at in (("in-progress", 5), ("completed", 65)):
        outbound.leg(
            status,
            at,
            call_sid=customer,
            from_="+81300000000",
            to=number,
            direction="outbound-api",
            duration=60,
            query=dialled,
        )
    outbound.leg("completed", 66, from_="client:dash_o", to=number, duration=66)
    play_callbacks(stack, outbound)
    # The feed is cached per container for KPI_CACHE_SECONDS: a page an earlier test opened on
    # this stack (test_csp signs in on the dashboard) may have filled it just before these calls.
    time.sleep(ConversationSettings.model_fields["kpi_cache_seconds"].default + 1)

    with staff_page(browser, stack, "/dashboard/") as page:
        expect(page.locator("#sign-in")).to_be_visible()
        with page.expect_response(lambda r: "/kpis/today" in r.url and r.status == 200) as answer:
            sign_in_on_page(page, demo_agents[0]["agent_id"])
        # Other browser tests place calls on the same stack today: compare with the feed itself.
        totals = answer.value.json()["totals"]
        assert totals["offered"] >= 2 and totals["answered"] >= 1 and totals["abandoned"] >= 1

        tiles = page.locator("#tiles .tile")
        expect(tiles.filter(has_text="Offered").locator("strong")).to_have_text(
            str(totals["offered"])
        )
        expect(tiles.filter(has_text="Answered").locator("strong")).to_have_text(
            str(totals["answered"])
        )
        rate = f"{totals['abandonment_rate'] * 100:.1f}%"
        expect(tiles.filter(has_text="Abandonment").locator("strong")).to_have_text(rate)
        missed_row = page.locator("#missed tbody tr", has_text="dash_a")
        expect(missed_row.locator("td").nth(1)).to_have_text("1")  # one reservation timed out
        expect(page.locator("#hourly svg rect.offered").first).to_be_attached()
        outbound_row = page.locator("#outbound tbody tr", has_text="dash_o")
        expect(outbound_row.locator("td").nth(1)).to_have_text("1")  # attempts
        expect(outbound_row.locator("td").nth(2)).to_have_text("1")  # connected
        expect(outbound_row.locator("td").nth(3)).to_have_text("100.0%")
        save_screenshot(page, "dashboard")
