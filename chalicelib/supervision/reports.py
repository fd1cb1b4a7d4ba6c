"""Reports for supervisors: a range of days by day, week or month, per team and per rep.

Every figure is chalicelib.conversations.kpis.compute's (the dashboard's and `ops report`'s
definitions: offered, answered, abandoned, service level, ASA, AHT, owner reach, cost per
customer, outbound connect rate), and the wrap-up codes are chalicelib.softphone.wrap_up's
tally (overall, per team, per rep).

A day that is over is read as its roll-up (chalicelib/supervision/rollup.py: per team and rep
sums, written by the nightly export job, or here on first use of a day that has none); today
is folded live from the conversations table's day-index on every request. `build_report` is the
same report computed from the records themselves: the definition the roll-ups must match
(tests/unit/test_report_rollups.py, and `python -m ops bench reports-page --check` at 600k).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any, Protocol

from chalicelib.conversations.kpis import compute
from chalicelib.platform.errors import InvalidInput, StorageUnavailable
from chalicelib.platform.observability import logger
from chalicelib.softphone.wrap_up import tally_codes
from chalicelib.supervision.rollup import Sums, fold_day, is_current, parts_of

GRANULARITIES = ("day", "week", "month")
MAX_REPORT_DAYS = 31
# Past days' roll-ups kept per container (a month and a bit).
MAX_CACHED_DAYS = 40
# Days this close to today may still be rewritten (late prices: the nightly job re-folds the
# day before yesterday too), so they are read from the bucket each time, not kept.
SETTLED_AFTER_DAYS = 3
# Days read from the bucket at once.
FETCHERS = 8


class DayRecords(Protocol):
    def day(self, day: str) -> Iterator[dict[str, Any]]: ...


class DayRollups(Protocol):
    def get(self, day: str, parts: bool = True) -> dict[str, Any] | None: ...

    def put(self, day: str, rollup: Mapping[str, Any]) -> None: ...


def period_of(day: str, granularity: str) -> str:
    """The period a local day belongs to: the day, its ISO week's Monday, or its month."""
    d = date.fromisoformat(day)
    if granularity == "week":
        return (d - timedelta(days=d.weekday())).isoformat()
    if granularity == "month":
        return d.strftime("%Y-%m")
    return day


def report_range(params: Mapping[str, str], today: date) -> tuple[list[str], str, str, str]:
    """GET /reports?from=&to=&team=&agent=&by= (or `last=N` days to today): the local days, the
    granularity, the filters."""
    try:
        if params.get("last"):
            # The last N days up to today in the report's time zone (the page's presets: its
            # browser may be in another zone).
            first, last = today - timedelta(days=int(params["last"]) - 1), today
        else:
            first = date.fromisoformat(params["from"]) if params.get("from") else today
            last = date.fromisoformat(params["to"]) if params.get("to") else first
    except ValueError as exc:
        raise InvalidInput("from and to are dates like 2025-11-01; last a number of days") from exc
    if last < first:
        raise InvalidInput("`to` is before `from`")
    count = (last - first).days + 1
    if count > MAX_REPORT_DAYS:
        raise InvalidInput(f"ask for {MAX_REPORT_DAYS} days at most")
    granularity = params.get("by") or "day"
    if granularity not in GRANULARITIES:
        raise InvalidInput(f"by must be one of: {', '.join(GRANULARITIES)}")
    days = [(first + timedelta(days=i)).isoformat() for i in range(count)]
    return days, granularity, str(params.get("team") or ""), str(params.get("agent") or "")


def wanted(team: str, agent: str) -> Callable[[Mapping[str, Any]], bool]:
    def keep(r: Mapping[str, Any]) -> bool:
        if team and r.get("team") != team:
            return False
        return not agent or r.get("answered_by") == agent

    return keep


def build_report(
    records_by_day: Mapping[str, list[dict[str, Any]]],
    granularity: str,
    keep: Callable[[Mapping[str, Any]], bool],
    service_level_ms: int,
    timezone: str,
) -> dict[str, Any]:
    """The report over the days' records; pure."""
    periods: dict[str, list[Mapping[str, Any]]] = {}
    everything: list[Mapping[str, Any]] = []
    for day in sorted(records_by_day):
        kept = [r for r in records_by_day[day] if keep(r)]
        periods.setdefault(period_of(day, granularity), []).extend(kept)
        everything.extend(kept)
    whole = compute(everything, service_level_ms, timezone)
    return {
        "granularity": granularity,
        "service_level_threshold_ms": service_level_ms,
        "conversations": len(everything),
        "totals": whole["totals"],
        "by_team": whole["by_team"],
        "by_agent": whole["by_agent"],
        "cost_per_customer": whole["by_customer"],
        "outbound": whole["outbound"],
        "wrap_up_codes": tally_codes(everything),
        "periods": [
            {"period": name, **_period(records, service_level_ms, timezone)}
            for name, records in periods.items()
        ],
    }


def _period(records: Iterable[Mapping[str, Any]], sl_ms: int, timezone: str) -> dict[str, Any]:
    kpis = compute(records, sl_ms, timezone)
    return {"totals": kpis["totals"], "by_team": kpis["by_team"]}


def build_report_from_rollups(
    rollups_by_day: Mapping[str, Mapping[str, Any]],
    granularity: str,
    team: str,
    agent: str,
    service_level_ms: int,
) -> dict[str, Any]:
    """build_report's answer from the days' roll-ups (one per day, rollup.fold_day); pure."""
    parts = {day: parts_of(rollup, team, agent) for day, rollup in rollups_by_day.items()}
    return build_report_from_parts(parts, granularity, service_level_ms)


def build_report_from_parts(
    parts_by_day: Mapping[str, list[Mapping[str, Any]]], granularity: str, service_level_ms: int
) -> dict[str, Any]:
    """The report from each day's stored parts already chosen for the filters."""
    whole = Sums()
    periods: dict[str, Sums] = {}
    for day in sorted(parts_by_day):
        period = periods.setdefault(period_of(day, granularity), Sums())
        for part in parts_by_day[day]:
            whole.add(part)
            period.add_totals(part)
    period_rows = []
    for name, sums in periods.items():
        totals, by_team = sums.totals_and_teams()
        period_rows.append({"period": name, "totals": totals, "by_team": by_team})
    return {
        "granularity": granularity,
        "service_level_threshold_ms": service_level_ms,
        **whole.figures(),
        "periods": period_rows,
    }


class Reports:
    def __init__(
        self,
        conversations: DayRecords,
        rollups: DayRollups,
        timezone: str,
        service_level_ms: int,
        today: Callable[[], date],
    ) -> None:
        self._conversations = conversations
        self._rollups = rollups
        self._timezone = timezone
        self._service_level_ms = service_level_ms
        self._today = today
        self._days: dict[tuple[str, bool], dict[str, Any]] = {}
        self._lock = threading.Lock()

    def rollup(self, day: str, today: date, parts: bool = True) -> dict[str, Any]:
        """A past day's roll-up: from the container, the bucket, or folded now and stored when
        the bucket has none (or an outdated one). Without `parts`, only the whole day's view
        may be read (a report without a filter)."""
        cached = self._days.get((day, parts)) or self._days.get((day, True))
        if cached is not None:
            return cached
        rollup = self._rollups.get(day, parts)
        if rollup is None or not is_current(rollup, self._service_level_ms, self._timezone):
            rollup = fold_day(
                self._conversations.day(day), day, self._service_level_ms, self._timezone
            )
            try:
                self._rollups.put(day, rollup)
            except StorageUnavailable as exc:
                # The report is answered all the same; the next request folds the day again.
                logger.warning("report roll-up not stored", day=day, error=str(exc))
        if day <= (today - timedelta(days=SETTLED_AFTER_DAYS)).isoformat():
            with self._lock:
                if len(self._days) >= MAX_CACHED_DAYS:
                    self._days.pop(min(self._days))
                self._days[(day, parts)] = rollup
        return rollup

    def _parts(self, day: str, today: date, team: str, agent: str) -> list[Mapping[str, Any]]:
        if day >= today.isoformat():
            # Today (not over): its records as they are now, only those the filters keep.
            live = Sums()
            keep = wanted(team, agent)
            for record in self._conversations.day(day):
                if keep(record):
                    live.add_record(record, self._service_level_ms)
            return [live.stored()]
        return parts_of(self.rollup(day, today, bool(team or agent)), team, agent)

    def report(self, params: Mapping[str, str]) -> dict[str, Any]:
        today = self._today()
        days, granularity, team, agent = report_range(params, today)
        # The days' objects are fetched side by side: S3 answers each in tens of ms.
        with ThreadPoolExecutor(max_workers=FETCHERS) as pool:
            parts = list(pool.map(lambda d: self._parts(d, today, team, agent), days))
        report = build_report_from_parts(
            dict(zip(days, parts, strict=True)), granularity, self._service_level_ms
        )
        return {
            "from": days[0],
            "to": days[-1],
            "team": team or None,
            "agent": agent or None,
            **report,
        }


class DayRollupWriter:
    """The nightly job's side: fold a finished day's records and store its roll-up."""

    def __init__(self, rollups: DayRollups, timezone: str, service_level_ms: int) -> None:
        self._rollups = rollups
        self._timezone = timezone
        self._service_level_ms = service_level_ms

    def write(self, day: str, records: Iterable[Mapping[str, Any]]) -> int:
        rollup = fold_day(records, day, self._service_level_ms, self._timezone)
        self._rollups.put(day, rollup)
        return len(rollup["reps"])
