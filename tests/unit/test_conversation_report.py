"""The operator report: terminal table and a self-contained HTML file with real charts."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from email.utils import format_datetime

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.conversations.events import rfc2822_ms
from chalicelib.conversations.fold import FoldPolicy, fold
from ops.report import Period, build
from tests import conversation_script as script


def test_report_has_the_kpis_and_three_inline_svg_charts_with_nothing_fetched() -> None:
    records = [
        fold(s.call_sid, s.events(), FoldPolicy())
        for s in (
            script.answered_by_owner(n=51),
            script.offered_five_times_then_answered_by_x(n=52),
            script.abandoned_in_queue(n=53),
            script.short_abandon(n=54),
        )
    ]
    text, html, kpis = build(records, Period(date(2025, 11, 25), date(2025, 11, 25)), 20_000)
    assert "Offered" in text and "Abandonment rate" in text
    assert "33.3%" in text  # 1 abandoned of 3 offered
    assert "agent_a 5" in text
    assert html.count("<svg") == 3
    assert "<script" not in html
    assert not re.search(r"(src|href)=[\"']?https?:", html), "the report must load nothing"
    assert kpis["totals"]["short_abandons"] == 1


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)))
def test_twilio_timestamps_parse_to_epoch_ms(moment: datetime) -> None:
    moment = moment.replace(microsecond=0, tzinfo=UTC)
    text = format_datetime(moment)
    assert rfc2822_ms(text) == int(moment.timestamp()) * 1000
    one_digit_day = text.replace(", 0", ", ")
    assert rfc2822_ms(one_digit_day) == int(moment.timestamp()) * 1000
