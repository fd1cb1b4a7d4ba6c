"""When the phones are staffed: weekly opening hours, public holidays and the company's own
closures, per team, in a time zone.

A call outside hours hears a message and goes straight to the fallback (voicemail or callback)
instead of waiting in a queue nobody is watching. Hours are configuration, not code: the bundled
`business_hours.json` is the default, and the `BUSINESS_HOURS` setting (the same JSON) replaces
it per stage without a deploy of new code. Teams may override the time zone, the week or the
holidays; anything a team does not say comes from the company default.

    {"time_zone": "Asia/Tokyo",
     "weekly": {"mon": [["09:00", "18:00"]], ..., "sat": [], "sun": []},
     "public_holidays": "JP",
     "closures": [{"from": "2026-12-29", "to": "2027-01-03", "name": "年末年始休業"}, ...],
     "teams": {"osaka": {"weekly": {"sat": [["10:00", "15:00"]]}, "closures": [...]}}}

A day's periods may not cross midnight; a late shift is two periods on two days.
Japan's public holidays ("JP", the only country offered) come from the `jpholiday` library, which
computes them for any year from the Act on National Holidays, substitute holidays and the
equinoxes included, so nobody maintains a list that runs out. `closures` are the company's own
days off (year-end, a move), `from`/`to` inclusive; they do run out, and `ops doctor` warns 90
days before the last one (`closures_end`). `holidays` (a list of dates) is still read, as
one-day closures.
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


PUBLIC_HOLIDAY_COUNTRIES = ("JP",)


@dataclass(frozen=True)
class Closure:
    first: date
    last: date
    name: str = ""

    def contains(self, day: date) -> bool:
        return self.first <= day <= self.last


def is_public_holiday(country: str, day: date) -> bool:
    if country != "JP":
        return False
    import jpholiday  # small, pure Python; only loaded by the calls that ask

    return bool(jpholiday.is_holiday(day))


@dataclass(frozen=True)
class Schedule:
    """One team's (or the company's) week, public holidays, closures and time zone."""

    time_zone: ZoneInfo
    weekly: tuple[tuple[Period, ...], ...]  # indexed by date.weekday(): Monday is 0
    closures: tuple[Closure, ...] = ()
    public_holidays: str = ""  # a country of PUBLIC_HOLIDAY_COUNTRIES, or "" for none

    def is_closed_on(self, day: date) -> bool:
        return any(c.contains(day) for c in self.closures) or is_public_holiday(
            self.public_holidays, day
        )

    def is_open(self, at: datetime) -> bool:
        if at.tzinfo is None:
            raise ValueError("business hours need an aware datetime")
        local = at.astimezone(self.time_zone)
        if self.is_closed_on(local.date()):
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

    def closures_end(self) -> date | None:
        """The last day any configured closure covers (None: no closures configured)."""
        schedules = (self.default, *self.teams.values())
        days = [c.last for schedule in schedules for c in schedule.closures]
        return max(days) if days else None


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


def _holidays(raw: Any) -> tuple[Closure, ...]:
    try:
        days = sorted({date.fromisoformat(str(day)) for day in raw or ()})
    except ValueError as exc:
        raise InvalidBusinessHours(f"holidays must be YYYY-MM-DD dates: {exc}") from exc
    return tuple(Closure(day, day) for day in days)


def _closures(raw: Any) -> tuple[Closure, ...]:
    if not isinstance(raw, list):
        raise InvalidBusinessHours("closures must be a list of {from, to, name}")
    closures = []
    for entry in raw:
        if not isinstance(entry, dict) or "from" not in entry:
            raise InvalidBusinessHours(f"closure {entry!r} needs `from` (and `to`, `name`)")
        try:
            first = date.fromisoformat(str(entry["from"]))
            last = date.fromisoformat(str(entry.get("to", entry["from"])))
        except ValueError as exc:
            raise InvalidBusinessHours(f"closure dates must be YYYY-MM-DD: {exc}") from exc
        if last < first:
            raise InvalidBusinessHours(f"closure {entry!r} ends before it starts")
        closures.append(Closure(first, last, str(entry.get("name", ""))))
    return tuple(closures)


def _public_holidays(raw: Any) -> str:
    country = str(raw or "")
    if country and country not in PUBLIC_HOLIDAY_COUNTRIES:
        raise InvalidBusinessHours(
            f"public_holidays {country!r} is not offered; use one of {PUBLIC_HOLIDAY_COUNTRIES}"
        )
    return country


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
        closures=_closures(raw.get("closures", [])) + _holidays(raw.get("holidays"))
        if "closures" in raw or "holidays" in raw
        else (base.closures if base else ()),
        public_holidays=_public_holidays(raw["public_holidays"])
        if "public_holidays" in raw
        else (base.public_holidays if base else ""),
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
