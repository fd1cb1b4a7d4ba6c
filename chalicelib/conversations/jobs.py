"""Use cases over many conversation records: today's KPI feed and the daily export."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from chalicelib.conversations.kpis import compute
from chalicelib.conversations.search import live_counts, local_day
from chalicelib.platform.observability import count, logger

if TYPE_CHECKING:
    from chalicelib.conversations.store import ConversationTable


class KpiFeed:
    """Today's KPIs for the dashboard's wall screen."""

    def __init__(
        self,
        conversations: ConversationTable,
        timezone: str,
        service_level_ms: int,
        cache_seconds: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._conversations = conversations
        self._timezone = timezone
        self._service_level_ms = service_level_ms
        self._cache_seconds = cache_seconds
        self._monotonic = monotonic
        # day -> (computed at monotonic s, feed): the dashboard polls; a container answers from
        # here for kpi_cache_seconds instead of re-reading the whole day every time.
        self._cache: dict[str, tuple[float, dict[str, Any]]] = {}

    def today_kpis(self, now_ms: int) -> dict[str, Any]:
        day = local_day(now_ms, self._timezone)
        cached = self._cache.get(day)
        if cached and self._monotonic() - cached[0] < self._cache_seconds:
            return cached[1]
        records = list(self._conversations.day(day))
        feed = {
            "day": day,
            "timezone": self._timezone,
            "generated_ms": now_ms,
            "live": live_counts(records),
            **compute(records, self._service_level_ms, self._timezone),
        }
        # Per-customer detail is for the report, not a wall screen.
        feed.pop("by_customer", None)
        self._cache.clear()
        self._cache[day] = (self._monotonic(), feed)
        return feed


class DayRollups(Protocol):
    """The reports' per-day roll-ups (chalicelib/supervision/reports.py DayRollupWriter)."""

    def write(self, day: str, records: Iterable[Mapping[str, Any]]) -> int: ...


class DailyExport:
    """A local day's conversation records as one Parquet object in the analytics bucket, and
    the same records folded into the day's report roll-up (one read of the day for both)."""

    def __init__(
        self,
        conversations: ConversationTable,
        s3: Any,
        bucket: str,
        timezone: str,
        rollups: DayRollups | None = None,
    ) -> None:
        self._conversations = conversations
        self._s3 = s3
        self._bucket = bucket
        self._timezone = timezone
        self._rollups = rollups

    def export_recent_days(
        self, now_ms: int, days: tuple[int, ...] = (1,)
    ) -> list[tuple[str, int]]:
        """Export the local days `days` before today (1 = yesterday); (key, rows) per day."""
        today = datetime.fromtimestamp(now_ms / 1000, ZoneInfo(self._timezone))
        return [
            self.export_one_day((today.date() - timedelta(days=back)).isoformat()) for back in days
        ]

    def export_one_day(self, day: str) -> tuple[str, int]:
        from chalicelib.conversations.export import export_day

        date.fromisoformat(day)  # a bad day fails here, not as an odd S3 key
        records = list(self._conversations.day(day))
        key, rows = export_day(records, day, self._s3, self._bucket)
        count("ConversationsExported", rows)
        logger.info("conversations exported", day=day, rows=rows, key=key)
        if self._rollups is not None:
            reps = self._rollups.write(day, records)
            logger.info("report roll-up written", day=day, reps=reps)
        return key, rows
