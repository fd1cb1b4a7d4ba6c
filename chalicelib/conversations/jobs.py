"""Use cases over many conversation records: today's KPI feed and the daily export."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from chalicelib.conversations.kpis import compute
from chalicelib.conversations.search import live_counts, local_day
from chalicelib.platform.observability import count, logger

if TYPE_CHECKING:
    from chalicelib.bootstrap import Container

# day -> (computed at monotonic s, feed): the dashboard polls; a container answers from here
# for kpi_cache_seconds instead of re-reading the whole day every time.
_FEED_CACHE: dict[str, tuple[float, dict[str, Any]]] = {}


def today_kpis(container: Container, now_ms: int) -> dict[str, Any]:
    s = container.settings
    day = local_day(now_ms, s.report_timezone)
    cached = _FEED_CACHE.get(day)
    if cached and time.monotonic() - cached[0] < s.kpi_cache_seconds:
        return cached[1]
    records = list(container.conversations.day(day))
    feed = {
        "day": day,
        "timezone": s.report_timezone,
        "generated_ms": now_ms,
        "live": live_counts(records),
        **compute(records, s.service_level_seconds * 1000, s.report_timezone),
    }
    # Per-customer detail is for the report, not a wall screen.
    feed.pop("by_customer", None)
    _FEED_CACHE.clear()
    _FEED_CACHE[day] = (time.monotonic(), feed)
    return feed


def export_recent_days(
    container: Container, now_ms: int, days: tuple[int, ...] = (1,)
) -> list[tuple[str, int]]:
    """Export the local days `days` before today (1 = yesterday); returns (key, rows) per day."""
    today = datetime.fromtimestamp(now_ms / 1000, ZoneInfo(container.settings.report_timezone))
    return [
        export_one_day(container, (today.date() - timedelta(days=back)).isoformat())
        for back in days
    ]


def export_one_day(container: Container, day: str) -> tuple[str, int]:
    from chalicelib.conversations.export import export_day

    date.fromisoformat(day)  # a bad day fails here, not as an odd S3 key
    s3 = container.boto_session.client("s3")
    key, rows = export_day(
        container.conversations.day(day), day, s3, container.settings.analytics_bucket
    )
    count("ConversationsExported", rows)
    logger.info("conversations exported", day=day, rows=rows, key=key)
    return key, rows
