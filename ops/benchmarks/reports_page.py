"""`python -m ops bench reports-page`: a month of ~600k conversations (31 local days of ~19.4k)
from the click on "Show" in the reports page to its tables and Chart.js charts drawn, with the
server's answer computed from the days' roll-ups (issue 19: "a month of 600k conversations must
render in the page in under 5 s on this machine").

1. The synthetic month of ops/benchmarks/conversations.py (300 reps, 30 teams) split into
   Tokyo days, each folded into its roll-up and stored on moto's S3 by the nightly job's code
   (chalicelib/supervision/reports.py DayRollupWriter, store.RollupBucket): time per day, sizes.
2. An HTTP server on 127.0.0.1 answers the page's GET /reports with `Reports.report` (the view's
   one call) over that bucket; each request gets a new `Reports`, as a cold Lambda container
   would (nothing cached: every day read from the bucket and decoded). Server time per request.
3. web/reports/ in headless Chromium asks it for the month: click -> drawn (the page's
   `body[data-rendered]`), which holds the request, the server's answer and the draw; the draw
   alone (`window.reportRendered.ms`).
Runs: the month without a filter, one team, one rep; and the month ending today (today's ~19.4k
records folded live, in memory here: the DynamoDB read of today is not in the figure).
`--check` also computes the month with build_report over the records (the old path, ~50 s) and
says whether the answers are identical. A script that prints figures, not a timed assertion.
"""

from __future__ import annotations

import argparse
import gc
import http.server
import json
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

WEB = Path(__file__).resolve().parents[2] / "web"
CHROMIUM = "/usr/bin/chromium"
TIMEZONE = "Asia/Tokyo"
SL_MS = 20_000
BUCKET = "bench-analytics"


class MonthRecords:
    """The conversations table's day-index, for today's live fold."""

    def __init__(self, by_day: dict[str, list[dict[str, Any]]]) -> None:
        self.by_day = by_day

    def day(self, day: str) -> Iterator[dict[str, Any]]:
        return iter(self.by_day.get(day, []))


def month_by_day(count: int, seed: int) -> dict[str, list[dict[str, Any]]]:
    from chalicelib.conversations.search import local_day
    from ops.benchmarks.conversations import synthetic_records

    by_day: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in synthetic_records(count, seed):
        by_day[local_day(r["started_ms"], TIMEZONE)].append(r)
    return dict(sorted(by_day.items()))


def store_rollups(by_day: dict[str, list[dict[str, Any]]], bucket: Any, s3: Any) -> None:
    from chalicelib.supervision.reports import DayRollupWriter

    writer = DayRollupWriter(bucket, TIMEZONE, SL_MS)
    took = []
    for day, records in by_day.items():
        started = time.perf_counter()
        writer.write(day, records)
        took.append(time.perf_counter() - started)
    sizes = {
        view: [
            s3.head_object(Bucket=BUCKET, Key=bucket.key(day, view))["ContentLength"]
            for day in by_day
        ]
        for view in ("all", "parts")
    }
    print(
        f"  nightly fold + store: {sum(took) / len(took):.2f} s per day "
        f"(max {max(took):.2f} s), objects per day: all.json.gz "
        f"{sum(sizes['all']) / len(by_day) / 1e6:.2f} MB, parts.json.gz "
        f"{sum(sizes['parts']) / len(by_day) / 1e6:.2f} MB"
    )


class ReportsServer:
    """GET /reports as the API answers it (without the sign-in): a new Reports per request."""

    def __init__(self, by_day: dict[str, list[dict[str, Any]]], bucket: Any) -> None:
        self.records = MonthRecords(by_day)
        self.bucket = bucket
        self.today = date.today()
        self.server_s: list[float] = []
        self.sizes: list[int] = []

    def answer(self, query: str) -> bytes:
        from chalicelib.supervision.reports import Reports

        started = time.perf_counter()
        reports = Reports(self.records, self.bucket, TIMEZONE, SL_MS, lambda: self.today)
        body = json.dumps(
            reports.report(dict(parse_qsl(query))), ensure_ascii=False, separators=(",", ":")
        ).encode()
        self.server_s.append(time.perf_counter() - started)
        self.sizes.append(len(body))
        return body

    def serve(self) -> tuple[http.server.ThreadingHTTPServer, str]:
        bench = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, directory=str(WEB), **kwargs)

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path != "/reports":
                    super().do_GET()
                    return
                body = bench.answer(url.query)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server, f"http://127.0.0.1:{server.server_address[1]}"


def time_page(
    url: str, runs: list[tuple[str, str, str, str, str]]
) -> list[tuple[str, float, float]]:
    """(label, from, to, team, agent) per run -> (label, click -> drawn s, draw alone s)."""
    from playwright.sync_api import sync_playwright

    config = f"window.CC_CONFIG = Object.freeze({{apiBaseUrl: {json.dumps(url)}}});"
    timings = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        for label, first, last, team, agent in runs:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.route(
                "**/config.js", lambda r: r.fulfill(body=config, content_type="text/javascript")
            )
            page.goto(f"{url}/reports/index.html?manual=1")
            page.wait_for_function("() => typeof window.renderReport === 'function'")
            page.fill("input[name=from]", first)
            page.fill("input[name=to]", last)
            page.fill("input[name=team]", team)
            page.fill("input[name=agent]", agent)
            started = time.perf_counter()
            page.click("form#query button[type=submit]")
            page.wait_for_function("() => document.body.dataset.rendered", timeout=120_000)
            whole = time.perf_counter() - started
            draw = float(page.evaluate("() => window.reportRendered.ms")) / 1000
            charts = int(page.evaluate("() => window.reportRendered.charts"))
            if charts != 4:
                raise RuntimeError(f"the page drew {charts} charts, not 4")
            timings.append((label, whole, draw))
            page.close()
        browser.close()
    return timings


def check_identical(by_day: dict[str, list[dict[str, Any]]], bucket: Any) -> None:
    from chalicelib.supervision.reports import (
        build_report,
        build_report_from_rollups,
        wanted,
    )

    started = time.perf_counter()
    from_records = build_report(by_day, "day", wanted("", ""), SL_MS, TIMEZONE)
    took = time.perf_counter() - started
    rollups = {day: bucket.get(day, parts=False) for day in by_day}
    from_rollups = build_report_from_rollups(rollups, "day", "", "", SL_MS)
    same = json.dumps(from_records, sort_keys=True) == json.dumps(from_rollups, sort_keys=True)
    print(f"  check: build_report over the records {took:.2f} s; identical answers: {same}")


def main(argv: list[str]) -> int:
    import boto3
    from moto import mock_aws

    from chalicelib.supervision.store import RollupBucket

    parser = argparse.ArgumentParser(prog="python -m ops bench reports-page")
    parser.add_argument("--records", type=int, default=600_000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--check", action="store_true", help="compare with build_report")
    args = parser.parse_args(argv)

    by_day = month_by_day(args.records, args.seed)
    # The month's 600k records live in this process only to be folded (a Lambda answering
    # GET /reports holds none): out of the collector's sight, or every full collection during a
    # request walks them too (a 3-4 s pause now and then, seen before this line was added).
    gc.freeze()
    days = list(by_day)
    sizes = [len(r) for r in by_day.values()]
    print(
        f"reports page, {args.records:,} conversations over {len(days)} local days "
        f"({days[0]} to {days[-1]}, {min(sizes):,} to {max(sizes):,} a day, "
        f"mean {sum(sizes) / len(sizes):,.0f})"
    )
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        bucket = RollupBucket(s3, BUCKET)
        store_rollups(by_day, bucket, s3)
        if args.check:
            check_identical(by_day, bucket)
        reports = ReportsServer(by_day, bucket)
        # The month is over: every day read from its roll-up.
        reports.today = date.fromisoformat(days[-1]) + timedelta(days=1)
        server, url = reports.serve()
        try:
            month = ("month", days[0], days[-1], "", "")
            runs = [month] * args.runs + [
                ("team07", days[0], days[-1], "team07", ""),
                ("agent042", days[0], days[-1], "", "agent042"),
            ]
            timings = time_page(url, runs)
            for (label, whole, draw), server_s, size in zip(
                timings, reports.server_s, reports.sizes, strict=True
            ):
                print(
                    f"  {label:>9}: click -> drawn {whole:.2f} s (server {server_s:.2f} s, "
                    f"answer {size / 1e6:.2f} MB, draw alone {draw:.2f} s, 4 charts)"
                )
            # Today is the month's last full day: its records folded live, the days before it
            # from their roll-ups (the day after, barely begun in the synthetic month, live too).
            reports.today = date.fromisoformat(days[-2])
            reports.server_s.clear()
            reports.sizes.clear()
            (_, whole, draw), server_s = time_page(url, [month])[0], reports.server_s[0]
            print(
                f"  with today live ({len(by_day[days[-2]]):,} records): click -> drawn "
                f"{whole:.2f} s (server {server_s:.2f} s, draw alone {draw:.2f} s)"
            )
        finally:
            server.shutdown()
    return 0
