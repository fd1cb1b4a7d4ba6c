"""Reports for supervisors: a range of days by day, week or month, per team and per rep.

Every figure is chalicelib.conversations.kpis.compute's (the dashboard's and `ops report`'s
definitions: offered, answered, abandoned, service level, ASA, AHT, owner reach, cost per
customer), computed over each period's conversation records and over the whole range. Wrap-up:
the product records a free-text wrap-up note, not codes, so the report counts answered calls
with and without a note.

The records are read per local day from the conversations table (day-index). A range is at most
MAX_REPORT_DAYS; past days are kept per container (they no longer change once the price job is
done), so a page switching between day, week and month reads each day once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, timedelta
from typing import Any, Protocol

from chalicelib.conversations.kpis import compute
from chalicelib.platform.errors import InvalidInput

GRANULARITIES = ("day", "week", "month")
MAX_REPORT_DAYS = 31
# Past days kept per container (a month and a bit).
MAX_CACHED_DAYS = 40


class DayRecords(Protocol):
    def day(self, day: str) -> Iterator[dict[str, Any]]: ...


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
        "wrap_up": wrap_up_counts(everything),
        "periods": [
            {"period": name, **_period(records, service_level_ms, timezone)}
            for name, records in periods.items()
        ],
    }


def _period(records: Iterable[Mapping[str, Any]], sl_ms: int, timezone: str) -> dict[str, Any]:
    kpis = compute(records, sl_ms, timezone)
    return {"totals": kpis["totals"], "by_team": kpis["by_team"]}


def wrap_up_counts(records: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    answered = [r for r in records if r.get("outcome") == "answered"]
    noted = sum(1 for r in answered if r.get("wrap_up_note"))
    return {"answered": len(answered), "with_note": noted, "without_note": len(answered) - noted}


class Reports:
    def __init__(
        self,
        conversations: DayRecords,
        timezone: str,
        service_level_ms: int,
        today: Callable[[], date],
    ) -> None:
        self._conversations = conversations
        self._timezone = timezone
        self._service_level_ms = service_level_ms
        self._today = today
        self._days: dict[str, list[dict[str, Any]]] = {}

    def _records(self, day: str, today: str) -> list[dict[str, Any]]:
        cached = self._days.get(day)
        if cached is not None:
            return cached
        records = list(self._conversations.day(day))
        if day < today:  # today still changes: read it every time
            if len(self._days) >= MAX_CACHED_DAYS:
                self._days.pop(min(self._days))
            self._days[day] = records
        return records

    def report(self, params: Mapping[str, str]) -> dict[str, Any]:
        today = self._today()
        days, granularity, team, agent = report_range(params, today)
        by_day = {d: self._records(d, today.isoformat()) for d in days}
        report = build_report(
            by_day, granularity, wanted(team, agent), self._service_level_ms, self._timezone
        )
        return {
            "from": days[0],
            "to": days[-1],
            "team": team or None,
            "agent": agent or None,
            **report,
        }
