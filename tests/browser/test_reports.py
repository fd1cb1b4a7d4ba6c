"""The reports page (issue 19, item 5): GET /reports drawn with the vendored Chart.js, and the
CSV download."""

from __future__ import annotations

import json
import time
import urllib.error
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import ROOT, Stack, save_screenshot, sign_in_on_page, staff_page
from tests.browser.test_board import agent_token, call_api
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
    # The rep gives the call a wrap-up code (the record can trail the callbacks: 404 until then).
    token = agent_token(stack, rep)
    path = f"/conversations/{answered.call_sid}/wrap-up-code"
    for _ in range(40):
        try:
            call_api(stack, "POST", path, token, {"code": "折り返し依頼"})
            break
        except urllib.error.HTTPError as exc:
            if exc.code != 404:
                raise
            time.sleep(0.25)
    supervisor = agent_token(stack, "supervisor")
    for _ in range(40):  # the code reaches the conversation record through its stream
        codes = call_api(stack, "GET", "/reports?last=1", supervisor)["wrap_up_codes"]
        if codes["by_agent"].get(rep, {}).get("折り返し依頼"):
            break
        time.sleep(0.25)
    assert codes["by_agent"][rep] == {"折り返し依頼": 1}

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
        # Wrap-up codes per rep: the code's column holds this rep's call.
        header = page.locator("#wrap-up thead th").all_inner_texts()
        assert "折り返し依頼" in header
        rep_row = page.locator("#wrap-up tbody tr", has_text=rep)
        cells = rep_row.locator("td").all_inner_texts()
        assert cells[:2] == ["Rep", rep] and cells[header.index("折り返し依頼")] == "1"
        save_screenshot(page, "reports")
        with page.expect_download() as download:
            page.click("#csv")
        text = Path(download.value.path()).read_text(encoding="utf-8")
        assert text.startswith("kind,name,offered,answered")
        assert f"rep,{rep}," in text
        head = text.splitlines()[0].split(",")
        rep_line = next(line for line in text.splitlines() if line.startswith(f"rep,{rep},"))
        assert rep_line.split(",")[head.index("wrap_up:折り返し依頼")] == "1"
