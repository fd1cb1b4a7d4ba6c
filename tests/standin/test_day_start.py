"""Which day a rehearsal rehearses: a working day, whatever day it is run on."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from ops.standin.harness import TOKYO, day_start, working_day_from


@pytest.mark.parametrize(
    ("run_on", "rehearsed"),
    [
        (date(2026, 12, 4), date(2026, 12, 4)),  # a Friday: that day
        (date(2026, 12, 5), date(2026, 12, 7)),  # a Saturday: the Monday after
        (date(2026, 11, 23), date(2026, 11, 24)),  # a public holiday (Monday): the Tuesday
        (date(2026, 12, 29), date(2027, 1, 4)),  # the year-end closing, then a Sunday
    ],
)
def test_the_default_day_is_the_first_working_day_from_today(run_on: date, rehearsed: date) -> None:
    assert working_day_from(run_on) == rehearsed


def test_a_team_calendar_that_closes_early_is_not_a_full_working_day() -> None:
    half_days = '{"time_zone": "Asia/Tokyo", "weekly": {"mon": [["09:00", "12:00"]], '
    half_days += '"tue": [["09:00", "18:00"]]}}'
    assert working_day_from(date(2026, 12, 7), half_days) == date(2026, 12, 8)


def test_a_given_date_starts_at_nine_in_tokyo() -> None:
    assert datetime.fromtimestamp(day_start("2026-12-07"), TOKYO) == datetime(
        2026, 12, 7, 9, tzinfo=TOKYO
    )
