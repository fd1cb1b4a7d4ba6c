"""Wrap-up codes: the configured list, the fold keeping the latest, and the report's tally."""

from __future__ import annotations

from datetime import date

import pytest

from chalicelib.conversations.fold import FoldPolicy, fold
from chalicelib.platform.errors import InvalidInput
from chalicelib.softphone.wrap_up import clean_code, parse_codes, tally_codes
from ops.report import Period, build
from tests import conversation_script as script

DEFAULT = ("商談化", "不在", "折り返し依頼", "対象外")


def test_the_list_is_read_in_order_each_code_once() -> None:
    assert parse_codes("商談化,不在,折り返し依頼,対象外") == DEFAULT
    assert parse_codes(" 受注、失注 , 受注,, ") == ("受注", "失注")


def test_only_a_listed_code_is_accepted() -> None:
    assert clean_code(" 不在 ", DEFAULT) == "不在"
    for bad in ("受注", "", None, 1):
        with pytest.raises(InvalidInput):
            clean_code(bad, DEFAULT)


def coded(call: script.CallScript, *codes: str) -> dict[str, object]:
    for i, code in enumerate(codes):
        call.fact("wrap_up_code", 130 + i, agent_id="owner", code=code)
    return fold(call.call_sid, call.events(), FoldPolicy())


def test_the_record_keeps_the_latest_code() -> None:
    assert coded(script.answered_by_owner(n=61), "不在", "商談化")["wrap_up_code"] == "商談化"
    assert coded(script.answered_by_owner(n=62))["wrap_up_code"] == ""


def test_the_report_counts_codes_of_the_calls_taken_overall_and_by_team() -> None:
    records = [
        coded(script.answered_by_owner(n=63), "商談化"),
        coded(script.answered_by_owner(n=64), "商談化"),
        coded(script.answered_outbound(n=65), "不在"),
        coded(script.answered_by_owner(n=66)),  # the rep gave none
        coded(script.abandoned_in_queue(n=67)),  # nobody took it: no wrap-up
    ]
    codes = tally_codes(records)
    assert codes["total"] == {"商談化": 2, "不在": 1, "(none)": 1}
    assert codes["by_team"]["tokyo"] == {"商談化": 2, "(none)": 1}
    text, html, kpis = build(records, Period(date(2025, 11, 25), date(2025, 11, 25)), 20_000)
    assert kpis["wrap_up_codes"] == codes
    assert "Wrap-up codes (calls taken)" in text
    assert "商談化" in text and "50.0%" in text
    assert "<h2>Wrap-up codes</h2>" in html
    assert html.rstrip().endswith("</body></html>")
