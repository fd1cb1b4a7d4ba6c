"""`python -m ops import-dnc FILE`: the do-not-call list from a CSV of numbers.

The list comes from wherever the company keeps it (the CRM, a complaints log, a spreadsheet), so
numbers arrive in any shape libphonenumber reads: `03-1234-5678`, `+81 3 1234 5678`, full-width
digits, `tel:` URIs. A file with a `phone` column header uses that column; a file without one
(a bare list) uses each row's first cell. A row that is not a number is reported by its line
and skipped; numbers already on the list are not written again, so re-importing a file changes
nothing. Numbers are only ever added: removing one is a deliberate act (docs/softphone.md).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from chalicelib.telephony.phone_numbers import InvalidPhoneNumber, to_e164
from ops.imports import ImportReport, write_items

PHONE_COLUMN = "phone"


def parse_do_not_call(path: Path, default_country: str) -> tuple[list[str], list[tuple[int, str]]]:
    """The file's numbers in E.164 (each once), and the rejected rows by line number."""
    numbers: dict[str, None] = {}
    rejected: list[tuple[int, str]] = []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        column: int | None = None
        for row in reader:
            cells = [cell.strip() for cell in row]
            if not any(cells):
                continue  # blank line
            if column is None:
                names = [cell.lower() for cell in cells]
                if PHONE_COLUMN in names:
                    column = names.index(PHONE_COLUMN)
                    continue
                column = 0
            raw = cells[column] if column < len(cells) else ""
            try:
                numbers[to_e164(raw, default_country)] = None
            except InvalidPhoneNumber as exc:
                rejected.append((reader.line_num, str(exc)))
    return list(numbers), rejected


def import_do_not_call(path: Path, table: Any, default_country: str) -> ImportReport:
    numbers, rejected = parse_do_not_call(path, default_country)
    report = ImportReport(rejected=rejected)
    write_items(table, "phone", [{"phone": number} for number in numbers], report)
    return report
