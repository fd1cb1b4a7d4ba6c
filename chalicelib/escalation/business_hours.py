"""When the phones are staffed: weekly opening hours and holidays, per team, in a time zone.

A call outside hours hears a message and goes straight to the fallback (voicemail or callback)
instead of waiting in a queue nobody is watching. Hours are configuration, not code: the bundled
`business_hours.json` is the default, and the `BUSINESS_HOURS` setting (the same JSON) replaces
it per stage without a deploy of new code. Teams may override the time zone, the week or the
holidays; anything a team does not say comes from the company default.

    {"time_zone": "Asia/Tokyo",
     "weekly": {"mon": [["09:00", "18:00"]], ..., "sat": [], "sun": []},
     "holidays": ["2026-01-01", ...],
     "teams": {"osaka": {"weekly": {"sat": [["10:00", "15:00"]]}, "holidays": [...]}}}

A day's periods may not cross midnight; a late shift is two periods on two days.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_FILE = Path(__file__).resolve().parent / "business_hours.json"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class InvalidBusinessHours(ValueError):
    """The business-hours configuration cannot be used."""


@dataclass(frozen=True)
class Period:
    opens: time
    closes: time

    def contains(self, moment: time) -> bool:
        return self.opens <= moment < self.closes


@dataclass(frozen=True)
class Schedule:
    """One team's (or the company's) week, holidays and time zone."""

    time_zone: ZoneInfo
    weekly: tuple[tuple[Period, ...], ...]  # indexed by date.weekday(): Monday is 0
    holidays: frozenset[date] = field(default_factory=frozenset)

    def is_open(self, at: datetime) -> bool:
        if at.tzinfo is None:
            raise ValueError("business hours need an aware datetime")
        local = at.astimezone(self.time_zone)
        if local.date() in self.holidays:
            return False
        moment = local.time().replace(tzinfo=None)
        return any(p.contains(moment) for p in self.weekly[local.weekday()])


@dataclass(frozen=True)
class BusinessCalendar:
    default: Schedule
    teams: Mapping[str, Schedule] = field(default_factory=dict)

    def schedule_for(self, team: str | None) -> Schedule:
        return self.teams.get(team or "", self.default)

    def is_open(self, team: str | None, at: datetime) -> bool:
        return self.schedule_for(team).is_open(at)


def _time(text: Any) -> time:
    if text == "24:00":
        return time.max
    try:
        return time.fromisoformat(str(text))
    except ValueError as exc:
        raise InvalidBusinessHours(f"{text!r} is not a time (HH:MM)") from exc


def _week(raw: Any, base: tuple[tuple[Period, ...], ...] | None) -> tuple[tuple[Period, ...], ...]:
    if not isinstance(raw, dict):
        raise InvalidBusinessHours("weekly must be an object of weekday -> [[open, close], ...]")
    unknown = set(raw) - set(WEEKDAYS)
    if unknown:
        raise InvalidBusinessHours(f"unknown weekdays {sorted(unknown)}; use {list(WEEKDAYS)}")
    days: list[tuple[Period, ...]] = []
    for index, name in enumerate(WEEKDAYS):
        if name not in raw:
            days.append(base[index] if base else ())
            continue
        periods = []
        for pair in raw[name]:
            if not isinstance(pair, list | tuple) or len(pair) != 2:
                raise InvalidBusinessHours(f"{name}: each period is [open, close]")
            period = Period(_time(pair[0]), _time(pair[1]))
            if period.closes <= period.opens:
                raise InvalidBusinessHours(f"{name}: {pair} closes before it opens")
            periods.append(period)
        days.append(tuple(periods))
    return tuple(days)


def _zone(name: Any) -> ZoneInfo:
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidBusinessHours(f"unknown time zone {name!r}") from exc


def _holidays(raw: Any) -> frozenset[date]:
    try:
        return frozenset(date.fromisoformat(str(day)) for day in raw or ())
    except ValueError as exc:
        raise InvalidBusinessHours(f"holidays must be YYYY-MM-DD dates: {exc}") from exc


def _schedule(raw: Mapping[str, Any], base: Schedule | None) -> Schedule:
    zone = _zone(raw["time_zone"]) if "time_zone" in raw else None
    if zone is None and base is None:
        raise InvalidBusinessHours("time_zone is required")
    weekly_raw = raw.get("weekly")
    if weekly_raw is None and base is None:
        raise InvalidBusinessHours("weekly is required")
    return Schedule(
        time_zone=zone or base.time_zone,  # type: ignore[union-attr]
        weekly=_week(weekly_raw, base.weekly if base else None)
        if weekly_raw is not None
        else base.weekly,  # type: ignore[union-attr]
        holidays=_holidays(raw["holidays"])
        if "holidays" in raw
        else (base.holidays if base else frozenset()),
    )


def parse_calendar(raw: Mapping[str, Any]) -> BusinessCalendar:
    default = _schedule(raw, None)
    teams = {str(team): _schedule(spec, default) for team, spec in raw.get("teams", {}).items()}
    return BusinessCalendar(default=default, teams=teams)


def around_the_clock(time_zone: str = "Asia/Tokyo") -> str:
    """A `BUSINESS_HOURS` value that is open every hour of every day (demos, tests)."""
    return json.dumps(
        {"time_zone": time_zone, "weekly": {day: [["00:00", "24:00"]] for day in WEEKDAYS}}
    )


@lru_cache(maxsize=4)
def load_calendar(override_json: str = "") -> BusinessCalendar:
    """The calendar from the `BUSINESS_HOURS` setting, or the bundled default; parsed once."""
    text = override_json or DEFAULT_FILE.read_text(encoding="utf-8")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidBusinessHours(f"business hours are not valid JSON: {exc}") from exc
    return parse_calendar(raw)
