"""`python -m ops bench reports-page`: a month of 600k conversations drawn by the reports page
in headless Chromium (issue 19: "must render in the page in under 5 s on this machine").

Prints, for the synthetic month of ops/benchmarks/conversations.py (300 agents, 600k records):
- the server's side: `build_report` over the month (chalicelib/supervision/reports.py), by day;
- the answer's size;
- the page's side: web/reports/ served on 127.0.0.1, its GET /reports answered with that JSON
  (Playwright's route), from the click on "Show" to the tables and the four Chart.js charts
  drawn (the page's `body[data-rendered]`), and the draw alone (`window.reportRendered.ms`).
A script that prints figures, not a timed assertion.
"""

from __future__ import annotations

import argparse
import http.server
import json
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

WEB = Path(__file__).resolve().parents[2] / "web"
CHROMIUM = "/usr/bin/chromium"
DAY_MS = 86_400_000


def month_report(count: int, seed: int) -> tuple[dict[str, Any], float, float]:
    from datetime import UTC, datetime

    from chalicelib.supervision.reports import build_report
    from ops.benchmarks.conversations import synthetic_records

    records = synthetic_records(count, seed)
    by_day: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        by_day[datetime.fromtimestamp(r["started_ms"] / 1000, UTC).date().isoformat()].append(r)
    started, cpu = time.perf_counter(), time.process_time()
    report = build_report(by_day, "day", lambda r: True, 20_000, "Asia/Tokyo")
    took, took_cpu = time.perf_counter() - started, time.process_time() - cpu
    days = sorted(by_day)
    return {"from": days[0], "to": days[-1], "team": None, "agent": None, **report}, took, took_cpu


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, directory=str(WEB), **kwargs)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve_web() -> tuple[http.server.ThreadingHTTPServer, str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def time_page(body: str, runs: int) -> list[tuple[float, float]]:
    from playwright.sync_api import sync_playwright

    server, url = serve_web()
    api = "http://127.0.0.1:9"  # never reached: the route below answers
    config = f"window.CC_CONFIG = Object.freeze({{apiBaseUrl: {json.dumps(api)}}});"
    timings = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
            )
            for _ in range(runs):
                page = browser.new_page(viewport={"width": 1600, "height": 1000})
                page.route(
                    "**/config.js", lambda r: r.fulfill(body=config, content_type="text/javascript")
                )
                page.route(
                    f"{api}/reports**",
                    lambda r: r.fulfill(
                        body=body,
                        content_type="application/json",
                        headers={"Access-Control-Allow-Origin": "*"},
                    ),
                )
                page.goto(f"{url}/reports/index.html?manual=1")
                page.wait_for_function("() => typeof window.renderReport === 'function'")
                page.fill("input[name=from]", "2025-11-01")
                page.fill("input[name=to]", "2025-11-30")
                started = time.perf_counter()
                page.click("form#query button[type=submit]")
                page.wait_for_function("() => document.body.dataset.rendered", timeout=60_000)
                whole = time.perf_counter() - started
                draw = float(page.evaluate("() => window.reportRendered.ms")) / 1000
                charts = int(page.evaluate("() => window.reportRendered.charts"))
                if charts != 4:
                    raise RuntimeError(f"the page drew {charts} charts, not 4")
                timings.append((whole, draw))
                page.close()
            browser.close()
    finally:
        server.shutdown()
    return timings


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops bench reports-page")
    parser.add_argument("--records", type=int, default=600_000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    report, server_s, server_cpu = month_report(args.records, args.seed)
    body = json.dumps(report, separators=(",", ":"))
    print(f"reports page, {args.records:,} conversations over {len(report['periods'])} days")
    print(
        f"  server: build_report {server_s:.2f} s wall, {server_cpu:.2f} s CPU "
        f"(by day, {len(report['by_agent'])} reps)"
    )
    print(f"  answer: {len(body) / 1e6:.2f} MB of JSON (uncompressed)")
    for i, (whole, draw) in enumerate(time_page(body, args.runs), 1):
        print(f"  page run {i}: click -> drawn {whole:.2f} s (draw alone {draw:.2f} s, 4 charts)")
    return 0
