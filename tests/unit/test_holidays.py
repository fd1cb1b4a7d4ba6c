"""Issue 18 c): Japan's public holidays from a maintained library (jpholiday) for any year, the
company's own closures from configuration, and when those closures run out."""

from __future__ import annotations

import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.escalation.business_hours import (
    InvalidBusinessHours,
    load_calendar,
    parse_calendar,
)

TOKYO = ZoneInfo("Asia/Tokyo")
WEEK = {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}


def noon(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T12:00").replace(tzinfo=TOKYO)


@pytest.mark.parametrize(
    "day",
    [
        "2026-05-06",  # substitute holiday for Constitution Day on a Sunday
        "2026-09-22",  # 国民の休日 between Respect for the Aged Day and the equinox
        "2031-03-21",  # Vernal Equinox Day, far beyond any hand-written list
        "2040-11-23",  # Labour Thanksgiving Day (a Friday)
    ],
)
def test_public_holidays_close_the_company_in_any_year(day: str) -> None:
    calendar = load_calendar()
    assert date.fromisoformat(day).weekday() < 5, "a weekday, closed only as a holiday"
    assert not calendar.is_open(None, noon(day))
    assert not calendar.is_open("tokyo", noon(day)), "teams inherit the company's holidays"


def test_an_ordinary_weekday_long_after_the_old_list_is_open() -> None:
    assert load_calendar().is_open(None, noon("2031-06-10"))


def test_company_closures_are_inclusive_ranges_and_teams_may_replace_them() -> None:
    calendar = parse_calendar(
        {
            "time_zone": "Asia/Tokyo",
            "weekly": WEEK,
            "public_holidays": "JP",
            "closures": [{"from": "2026-08-12", "to": "2026-08-14", "name": "夏季休業"}],
            "teams": {"osaka": {"closures": []}},
        }
    )
    assert calendar.is_open(None, noon("2026-08-11")) is False, "山の日 (public holiday)"
    for day in ("2026-08-12", "2026-08-13", "2026-08-14"):
        assert not calendar.is_open(None, noon(day))
        assert calendar.is_open("osaka", noon(day)), "osaka works through the summer break"
    assert calendar.is_open(None, noon("2026-08-17"))


def test_without_public_holidays_only_closures_count() -> None:
    calendar = parse_calendar({"time_zone": "Asia/Tokyo", "weekly": WEEK})
    assert calendar.is_open(None, noon("2026-05-06"))


def test_closures_end_is_the_last_configured_day() -> None:
    assert load_calendar().closures_end() == date(2028, 1, 3)
    calendar = parse_calendar(
        {
            "time_zone": "Asia/Tokyo",
            "weekly": WEEK,
            "teams": {"osaka": {"closures": [{"from": "2029-05-01", "to": "2029-05-02"}]}},
        }
    )
    assert calendar.closures_end() == date(2029, 5, 2)
    assert parse_calendar({"time_zone": "Asia/Tokyo", "weekly": WEEK}).closures_end() is None


def test_the_old_holidays_list_is_still_read_as_one_day_closures() -> None:
    calendar = parse_calendar(
        {"time_zone": "Asia/Tokyo", "weekly": WEEK, "holidays": ["2026-06-01"]}
    )
    assert not calendar.is_open(None, noon("2026-06-01"))
    assert calendar.closures_end() == date(2026, 6, 1)


@pytest.mark.parametrize(
    "bad",
    [
        {"public_holidays": "US"},
        {"closures": {"from": "2026-01-01"}},
        {"closures": [{"to": "2026-01-01"}]},
        {"closures": [{"from": "2026-01-05", "to": "2026-01-01"}]},
        {"closures": [{"from": "5 Jan"}]},
    ],
)
def test_bad_closures_fail_at_load(bad: dict[str, object]) -> None:
    with pytest.raises(InvalidBusinessHours):
        load_calendar(json.dumps({"time_zone": "Asia/Tokyo", "weekly": WEEK, **bad}))


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)))
def test_weekends_holidays_and_closures_are_never_open(day: date) -> None:
    import jpholiday

    calendar = load_calendar()
    closed = (
        day.weekday() >= 5
        or jpholiday.is_holiday(day)
        or any(c.contains(day) for c in calendar.default.closures)
    )
    assert calendar.is_open(None, noon(day.isoformat())) is not closed
