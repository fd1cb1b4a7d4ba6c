"""`python -m ops import-dnc FILE`: the do-not-call list, on moto and dynalite."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ops.do_not_call import import_do_not_call, parse_do_not_call
from tests.conftest import ENGINES

pytestmark = ENGINES

# Numbers as they come out of a CRM export and a complaints spreadsheet.
WITH_HEADER = """customer,phone,note
Sakura Foods,03-1234-5678,asked not to be called
Fuji Motors,+81 90 1234 5678,
Umi Design,０６－６１２３－４５６７,full-width
Broken,not a number,
Short,12,

London office,+44 20 7946 0958,foreign numbers can be listed too
Sakura again,tel:+81-3-1234-5678,same number as line 2
"""
BARE_LIST = "0312345678\n09012345678\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "dnc.csv"
    path.write_text(text, encoding="utf-8")
    return path


def stored(table: Any) -> set[str]:
    return {item["phone"] for item in table.scan()["Items"]}


@pytest.fixture
def table(resources: Any, settings: Any) -> Any:
    return resources.Table(settings.softphone.do_not_call_table)


def test_bad_rows_are_reported_by_line_and_the_rest_are_listed_in_e164(
    tmp_path: Path, table: Any
) -> None:
    report = import_do_not_call(write(tmp_path, WITH_HEADER), table, "JP")
    assert [line for line, _ in report.rejected] == [5, 6]
    assert "not a number" in report.rejected[0][1]
    assert stored(table) == {"+81312345678", "+819012345678", "+81661234567", "+442079460958"}
    assert (report.written, report.unchanged) == (4, 0)


def test_re_importing_writes_nothing(tmp_path: Path, table: Any) -> None:
    path = write(tmp_path, WITH_HEADER)
    import_do_not_call(path, table, "JP")
    again = import_do_not_call(path, table, "JP")
    assert (again.written, again.unchanged, len(again.rejected)) == (0, 4, 2)
    # A second file with a number already listed (in another format) adds only the new one.
    more = import_do_not_call(write(tmp_path, "phone\n+81-3-1234-5678\n0311112222\n"), table, "JP")
    assert (more.written, more.unchanged) == (1, 1)


def test_a_bare_list_without_a_header_is_read_from_its_first_column(tmp_path: Path) -> None:
    numbers, rejected = parse_do_not_call(write(tmp_path, BARE_LIST), "JP")
    assert (numbers, rejected) == (["+81312345678", "+819012345678"], [])
