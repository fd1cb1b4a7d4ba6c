"""The reports page (issue 19, item 5): GET /reports drawn with the vendored Chart.js, and the
CSV download."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import ROOT, Stack, save_screenshot, sign_in_on_page, staff_page
from tests.browser.test_floor import play
from tests.conversation_script import CallScript

WEB = ROOT / "web"


def test_vendored_chart_library_is_the_version_pinned_in_package_lock() -> None:
    lock = json.loads((WEB / "package-lock.json").read_text())
    pinned = lock["packages"]["node_modules/chart.js"]["version"]
    declared = json.loads((WEB / "package.json").read_text())["dependencies"]["chart.js"]
    manifest = json.loads((WEB / "vendor" / "manifest.json").read_text())
    assert declared == pinned == manifest["chart.js"]["version"]
    assert (
        f'src="../vendor/{manifest["chart.js"]["file"]}"'
        in (WEB / "reports" / "index.html").read_text()
    )


def test_reports_page_draws_the_week_with_chart_js_and_downloads_csv(
    browser: Any, stack: Stack, demo_agents: list[dict[str, str]]
) -> None:
    rep = demo_agents[22]["agent_id"]  # no other browser test uses agent 22
    now_ms = int(time.time() * 1000)
    answered = CallScript(n=7401, t0=now_ms - 3_600_000, owner=rep, caller="+81312347401")
    answered.leg("ringing", 0).task("task.created", 1)
    answered.offer(rep, 1, 6, "accepted")
    answered.leg("completed", 90, duration=90)
    play(stack, answered)

    with staff_page(browser, stack, "/reports/") as page:
        sign_in_on_page(page, "supervisor")
        expect(page.locator("body[data-rendered]")).to_be_attached()
        version = json.loads((WEB / "vendor" / "manifest.json").read_text())["chart.js"]["version"]
        assert page.evaluate("() => window.Chart.version") == version
        drawn = page.evaluate(
            "() => [...document.querySelectorAll('canvas')]"
            ".map((c) => Boolean(window.Chart.getChart(c)))"
        )
        assert drawn == [True, True, True, True]
        expect(page.locator('#totals [data-kpi="Answered"] b')).not_to_have_text("0")
        expect(page.locator("#reps tbody")).to_contain_text(rep)
        save_screenshot(page, "reports")
        with page.expect_download() as download:
            page.click("#csv")
        text = Path(download.value.path()).read_text(encoding="utf-8")
        assert text.startswith("kind,name,offered,answered")
        assert f"rep,{rep}," in text
