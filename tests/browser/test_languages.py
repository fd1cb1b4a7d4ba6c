"""Issue 18 e): the softphone, the board, the dashboard, the floor and the reports are Japanese by
default (`lang="ja"`, every label from web/shared/i18n/ja.json), English by the switch, and the
choice is remembered (per user on the softphone). The English texts themselves are what every
other browser test reads, in English (tests/browser/conftest.py: CHOOSE_ENGLISH)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import (
    Softphone,
    Stack,
    save_screenshot,
    sign_in_on_page,
    staff_page,
)
from tests.browser.test_board import agent_token, call_api

CATALOGUES = Path(__file__).resolve().parents[2] / "web" / "shared" / "i18n"
JA = json.loads((CATALOGUES / "ja.json").read_text(encoding="utf-8"))
EN = json.loads((CATALOGUES / "en.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("page_language", ["ja"])
def test_softphone_is_japanese_by_default_and_remembers_english_per_user(
    softphone: Softphone, demo_agents: list[dict[str, str]]
) -> None:
    agent = demo_agents[22]["agent_id"]  # no other browser test uses this agent
    page = softphone.page
    softphone.open()
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.locator("#signin-submit")).to_have_text(JA["common.signIn.submit"])
    expect(page.locator("label[for=signin-user]")).to_have_text(JA["softphone.signIn.agentId"])
    softphone.screenshot("sign-in-ja")
    softphone.sign_in(agent)
    expect(page.locator("#phone-status")).to_have_text(JA["softphone.phone.ready"])
    expect(page.locator("#idle-title")).to_have_text(JA["softphone.idle.title"])
    expect(page.locator('[data-set-state="away"]')).to_have_text(JA["softphone.state.away"])
    expect(page.locator("#followups-title")).to_contain_text(JA["softphone.followups.title"])
    expect(page.locator(".shortcuts dd").first).to_have_text(JA["softphone.keys.acceptDecline"])
    # The call view's live transcript, ready for the next call.
    expect(page.locator("#transcript-empty")).to_have_text(JA["softphone.transcript.waiting"])
    expect(page.locator("#transcript-toggle")).to_have_text(JA["softphone.transcript.hide"])
    softphone.screenshot("softphone-ja")

    page.locator("#app select[data-lang-switch]").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#idle-title")).to_have_text(EN["softphone.idle.title"])
    expect(page.locator("#phone-status")).to_have_text(EN["softphone.phone.ready"])
    expect(page.locator("#transcript-toggle")).to_have_text(EN["softphone.transcript.hide"])
    assert page.evaluate(f"localStorage.getItem('cc.lang:{agent}')") == "en"

    page.reload()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#idle-title")).to_have_text(EN["softphone.idle.title"])


def test_board_is_japanese_by_default_and_switches_to_english(browser: Any, stack: Stack) -> None:
    with staff_page(browser, stack, "/board/", {"width": 1920, "height": 1080}, "ja") as page:
        expect(page.locator("html")).to_have_attribute("lang", "ja")
        expect(page.locator("h1")).to_have_text(JA["board.heading"])
        sign_in_on_page(page, "supervisor")
        expect(page.locator('#state-filter [data-state="available"]')).to_have_text(
            JA["board.state.available"]
        )
        expect(page.locator("section.team").first).to_be_visible()
        save_screenshot(page, "board-ja")
        page.locator("select[data-lang-switch]").select_option("en")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.locator("h1")).to_have_text(EN["board.heading"])
        expect(page.locator('#state-filter [data-state="available"]')).to_have_text(
            EN["board.state.available"]
        )
        page.reload()
        expect(page.locator("h1")).to_have_text(EN["board.heading"])


def test_dashboard_is_japanese_by_default_and_switches_to_english(
    browser: Any, stack: Stack
) -> None:
    with staff_page(browser, stack, "/dashboard/", {"width": 1600, "height": 1000}, "ja") as page:
        expect(page.locator("html")).to_have_attribute("lang", "ja")
        sign_in_on_page(page, "supervisor")
        tiles = page.locator("#tiles .tile span")
        expect(tiles.first).to_have_text(JA["dashboard.tile.offered"])
        expect(page.locator("#teams th").first).to_have_text(JA["dashboard.col.team"])
        save_screenshot(page, "dashboard-ja")
        page.locator("select[data-lang-switch]").select_option("en")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(tiles.first).to_have_text(EN["dashboard.tile.offered"])
        expect(page.locator("#teams th").first).to_have_text(EN["dashboard.col.team"])


def test_floor_is_japanese_by_default_and_switches_to_english(
    browser: Any, stack: Stack, demo_agents: list[dict[str, str]]
) -> None:
    away = demo_agents[29]["agent_id"]  # no other browser test uses agent 29
    token = agent_token(stack, away)
    call_api(stack, "POST", "/agents/me/session", token)
    call_api(stack, "PUT", "/agents/me/status", token, {"state": "away"})
    with staff_page(browser, stack, "/floor/", {"width": 1600, "height": 1000}, "ja") as page:
        expect(page.locator("html")).to_have_attribute("lang", "ja")
        expect(page.locator("h1")).to_have_text(JA["floor.heading"])
        expect(page.locator("#sign-in h2")).to_have_text(JA["common.signIn.supervisor"])
        sign_in_on_page(page, "supervisor")
        expect(page.locator("#teams th").first).to_have_text(JA["floor.col.team"])
        rep = page.locator(f'#reps tr[data-agent="{away}"]')
        expect(rep.locator(".state-away")).to_have_text(JA["floor.state.away"])
        expect(rep.locator('button[data-force="offline"]')).to_have_text(JA["floor.force.offline"])
        save_screenshot(page, "floor-ja")
        page.locator("select[data-lang-switch]").select_option("en")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.locator("h1")).to_have_text(EN["floor.heading"])
        expect(page.locator("#teams th").first).to_have_text(EN["floor.col.team"])
        expect(rep.locator(".state-away")).to_have_text(EN["floor.state.away"])
        expect(rep.locator('button[data-force="offline"]')).to_have_text(EN["floor.force.offline"])
        page.reload()
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.locator("#teams th").first).to_have_text(EN["floor.col.team"])


# A chart's legend and axis titles, as Chart.js holds them.
CHART_LABELS = """(id) => {
  const chart = window.Chart.getChart(document.getElementById(id));
  return { legend: chart.data.datasets.map((d) => d.label), y: chart.options.scales.y.title.text };
}"""


def test_reports_are_japanese_by_default_and_switch_to_english(browser: Any, stack: Stack) -> None:
    with staff_page(browser, stack, "/reports/", {"width": 1600, "height": 1000}, "ja") as page:
        expect(page.locator("html")).to_have_attribute("lang", "ja")
        expect(page.locator("h1")).to_have_text(JA["reports.heading"])
        sign_in_on_page(page, "supervisor")
        expect(page.locator("body[data-rendered]")).to_be_attached()
        expect(page.locator('[data-range="week"]')).to_have_text(JA["reports.range.week"])
        expect(page.locator("#teams th").first).to_have_text(JA["reports.col.team"])
        expect(page.locator('#totals [data-kpi="Answered"]')).to_contain_text(
            JA["reports.kpi.answered"]
        )
        assert page.evaluate(CHART_LABELS, "volume-chart") == {
            "legend": [JA[f"reports.series.{k}"] for k in ("offered", "answered", "abandoned")],
            "y": JA["reports.axis.calls"],
        }
        save_screenshot(page, "reports-ja")
        page.locator("select[data-lang-switch]").select_option("en")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.locator("h1")).to_have_text(EN["reports.heading"])
        expect(page.locator('#totals [data-kpi="Answered"]')).to_contain_text(
            EN["reports.kpi.answered"]
        )
        assert page.evaluate(CHART_LABELS, "rates-chart") == {
            "legend": [EN["reports.series.serviceLevel"], EN["reports.series.abandonment"]],
            "y": EN["reports.axis.percent"],
        }
        page.reload()
        expect(page.locator("h1")).to_have_text(EN["reports.heading"])
