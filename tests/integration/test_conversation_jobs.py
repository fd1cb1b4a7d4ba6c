"""The daily Parquet export (read back with DuckDB) and the price reconciliation job."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import duckdb

from chalicelib.bootstrap import Container
from chalicelib.conversations.pricing import RateLimiter
from tests import conversation_script as script
from tests.conftest import ENGINES
from tests.conversation_stream import deliver_stream
from tests.fakes.twilio_http import RecordedRequest, RecordingHttpClient

pytestmark = ENGINES

DAY = "2025-11-25"


def store(container: Container, *scripts: script.CallScript) -> None:
    for s in scripts:
        for event in s.events():
            container.ledger.store_event(event)
    deliver_stream(container)


def test_a_day_exports_to_a_date_partition_duckdb_can_query(
    container: Container, aws: Any, tmp_path: Path
) -> None:
    store(
        container,
        script.answered_by_owner(n=41),
        script.offered_five_times_then_answered_by_x(n=42),
        script.abandoned_in_queue(n=43),
    )
    key, rows = container.conversation_export.export_one_day(DAY)
    assert key == f"conversations/day={DAY}/conversations.parquet"
    assert rows == 3
    body = aws.client("s3").get_object(
        Bucket=container.settings.conversations.analytics_bucket, Key=key
    )
    local = tmp_path / f"conversations/day={DAY}/conversations.parquet"
    local.parent.mkdir(parents=True)
    local.write_bytes(body["Body"].read())
    with duckdb.connect() as db:
        outcomes = db.execute(
            "SELECT outcome, count(*) FROM read_parquet(?, hive_partitioning = true) "
            "WHERE day = ? GROUP BY outcome ORDER BY outcome",
            [str(tmp_path / "conversations/**/*.parquet"), DAY],
        ).fetchall()
        missed = db.execute(
            "SELECT count(*) FROM (SELECT unnest(offers) AS o FROM read_parquet(?)) "
            "WHERE o.outcome = 'timed_out'",
            [str(local)],
        ).fetchone()
    assert outcomes == [("abandoned_in_queue", 1), ("answered", 2)]
    assert missed == (6,)


def test_scheduled_export_writes_yesterday(container: Container, aws: Any) -> None:
    store(container, script.short_abandon(n=44))
    next_day_ms = script.T0 + 86_400_000
    assert container.conversation_export.export_recent_days(next_day_ms) == [
        (f"conversations/day={DAY}/conversations.parquet", 1)
    ]


def test_the_nightly_export_folds_the_day_into_the_reports_rollup(container: Container) -> None:
    from chalicelib.supervision.reports import build_report, build_report_from_rollups, wanted

    store(
        container,
        script.answered_by_owner(n=46),
        script.offered_five_times_then_answered_by_x(n=47),
        script.abandoned_in_queue(n=48),
    )
    assert container.report_rollups.get(DAY) is None
    container.conversation_export.export_one_day(DAY)
    rollup = container.report_rollups.get(DAY)
    assert rollup is not None
    records = list(container.conversations.day(DAY))
    sl_ms = container.settings.conversations.service_level_seconds * 1000
    tz = container.settings.conversations.report_timezone
    from_records = build_report({DAY: records}, "day", wanted("", ""), sl_ms, tz)
    assert build_report_from_rollups({DAY: rollup}, "day", "", "", sl_ms) == from_records
    assert from_records["totals"]["offered"] == 3
    # Per rep, from the day's parts object.
    from_parts = build_report_from_rollups({DAY: rollup}, "day", "", "agent_x", sl_ms)
    assert from_parts == build_report({DAY: records}, "day", wanted("", "agent_x"), sl_ms, tz)
    # Two objects folded apart (a write cut between them) are no roll-up for a filtered report.
    bucket = container.report_rollups
    bucket._write(bucket.key(DAY, "parts"), {**rollup, "service_level_ms": sl_ms + 1})
    assert bucket.get(DAY, parts=True) is None
    assert bucket.get(DAY, parts=False) == {
        k: v for k, v in rollup.items() if k not in ("teams", "reps")
    }


def price_responder(prices: dict[str, str | None]) -> Any:
    def respond(request: RecordedRequest) -> tuple[int, Any]:
        sid = re.search(r"Calls/(CA[0-9a-f]{32})", request.url).group(1)  # type: ignore[union-attr]
        return 200, {
            "sid": sid,
            "price": prices.get(sid),
            "price_unit": "USD",
            "status": "completed",
        }

    return respond


def test_prices_are_fetched_per_leg_summed_and_not_asked_again(
    container: Container, twilio_http: RecordingHttpClient
) -> None:
    s = script.answered_outbound(n=45)
    store(container, s)
    legs = container.conversations.get(s.call_sid)["legs_unpriced"]  # type: ignore[index]
    assert len(legs) == 2
    twilio_http.respond("GET", r"/Calls/CA", price_responder({legs[0]: "-0.0150", legs[1]: None}))
    no_wait = RateLimiter(1000, sleep=lambda _s: None)
    now_ms = script.T0 + 3_600_000

    first = container.price_reconciler.reconcile_prices(now_ms, no_wait, sleep=lambda _s: None)
    assert (first.priced, first.not_yet) == (1, 1)
    record = container.conversations.get(s.call_sid)
    assert record is not None
    assert record["cost_micros"] == 15_000
    assert record["legs_unpriced"] == [legs[1]]

    twilio_http.respond("GET", r"/Calls/CA", price_responder({legs[1]: "-0.0040"}))
    second = container.price_reconciler.reconcile_prices(now_ms, no_wait, sleep=lambda _s: None)
    assert second.priced == 1
    record = container.conversations.get(s.call_sid)
    assert record is not None
    assert record["cost_micros"] == 19_000
    assert "cost_pending" not in record
    asked = len(twilio_http.calls("GET", "/Calls/"))
    container.price_reconciler.reconcile_prices(now_ms, no_wait, sleep=lambda _s: None)
    assert len(twilio_http.calls("GET", "/Calls/")) == asked


def test_a_failing_price_request_is_retried_then_left_for_the_next_run(
    container: Container, twilio_http: RecordingHttpClient
) -> None:
    s = script.failed_outbound(n=46)
    store(container, s)
    twilio_http.fail("GET", r"/Calls/CA", status=429)
    sleeps: list[float] = []
    report = container.price_reconciler.reconcile_prices(
        script.T0, RateLimiter(1000, sleep=lambda _s: None), sleep=sleeps.append
    )
    assert len(report.failed) == 2
    assert sleeps == [1, 2, 1, 2]  # three tries per leg, backing off
    assert container.conversations.get(s.call_sid)["cost_pending"] == "1"  # type: ignore[index]


def test_rate_limiter_spaces_requests() -> None:
    clock = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(round(seconds, 3))
        clock[0] += seconds

    limiter = RateLimiter(4, clock=lambda: clock[0], sleep=sleep)
    for _ in range(3):
        limiter.wait()
    assert slept == [0.25, 0.25]
