"""CSV imports of the agent directory and the CRM-owner mapping.

A bad row is reported with its line number and skipped; good rows are written in batches; an
item that is already stored exactly as the file says is not written again, so re-importing the
same file changes nothing (and costs reads, not writes).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chalicelib.softphone.caller_id import TEAM_CALLER_ID
from chalicelib.telephony.phone_numbers import InvalidPhoneNumber, to_e164

AGENT_COLUMNS = ("agent_id", "name", "team", "worker_sid")
CUSTOMER_COLUMNS = ("phone", "customer_id", "customer_name", "owner_agent_id", "team")
WORKER_SID = re.compile(r"^WK[0-9a-fA-F]{32}$")
AGENT_ID = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
BATCH_GET_LIMIT = 100


@dataclass
class ImportReport:
    written: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)

    def summary(self, what: str) -> str:
        lines = [
            f"{what}: {self.written} written, {self.unchanged} unchanged, "
            f"{len(self.rejected)} rejected"
        ]
        lines += [f"  line {line}: {reason}" for line, reason in self.rejected]
        return "\n".join(lines)


class BadFile(ValueError):
    """The file cannot be imported at all (missing columns)."""


def _rows(
    path: Path, columns: tuple[str, ...], optional: tuple[str, ...] = ()
) -> Iterator[tuple[int, dict[str, str]]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise BadFile(f"{path}: missing columns {', '.join(missing)}")
        for row in reader:
            # Line numbers as a spreadsheet shows them: the header is line 1.
            yield reader.line_num, {k: (row.get(k) or "").strip() for k in columns + optional}


def parse_agents(
    path: Path, default_country: str = "JP"
) -> tuple[list[dict[str, str]], list[tuple[int, str]]]:
    """The agents, each carrying its team's outbound number (`team_caller_id`, optional: on any
    one row of the team, or on several that agree), and the rejected rows."""
    items: dict[str, dict[str, str]] = {}
    rejected: list[tuple[int, str]] = []
    team_numbers: dict[str, tuple[str, int]] = {}
    for line, row in _rows(path, AGENT_COLUMNS, (TEAM_CALLER_ID,)):
        caller_id = row.pop(TEAM_CALLER_ID)
        problem = None
        if caller_id:
            try:
                caller_id = to_e164(caller_id, default_country)
            except InvalidPhoneNumber as exc:
                rejected.append((line, f"team_caller_id: {exc}"))
                continue
            known, first = team_numbers.get(row["team"], (caller_id, line))
            if known != caller_id:
                rejected.append(
                    (line, f"team {row['team']}'s caller ID is already {known} (line {first})")
                )
                continue
        if not AGENT_ID.match(row["agent_id"]):
            problem = f"agent_id {row['agent_id']!r} is not a valid identifier"
        elif not row["name"] or not row["team"]:
            problem = "name and team are required"
        elif not WORKER_SID.match(row["worker_sid"]):
            problem = f"worker_sid {row['worker_sid']!r} is not a TaskRouter worker sid (WK...)"
        elif row["agent_id"] in items:
            problem = f"agent_id {row['agent_id']} appears twice in the file"
        if problem:
            rejected.append((line, problem))
            continue
        items[row["agent_id"]] = {**row, "client_identity": row["agent_id"]}
        if caller_id:
            team_numbers.setdefault(row["team"], (caller_id, line))
    for item in items.values():
        if item["team"] in team_numbers:
            item[TEAM_CALLER_ID] = team_numbers[item["team"]][0]
    return list(items.values()), rejected


def parse_customers(
    path: Path, agents: dict[str, dict[str, Any]], default_country: str
) -> tuple[list[dict[str, str]], list[tuple[int, str]]]:
    """Validate customer rows against the agent directory (`agents` by agent_id)."""
    items: dict[str, dict[str, str]] = {}
    rejected: list[tuple[int, str]] = []
    for line, row in _rows(path, CUSTOMER_COLUMNS):
        try:
            phone = to_e164(row["phone"], default_country)
        except InvalidPhoneNumber as exc:
            rejected.append((line, f"phone: {exc}"))
            continue
        owner = row["owner_agent_id"]
        team = row["team"]
        problem = None
        if not row["customer_id"]:
            problem = "customer_id is required"
        elif owner and owner not in agents:
            problem = f"owner {owner!r} is not a known agent"
        elif owner and team and team != agents[owner]["team"]:
            problem = f"team {team!r} is not owner {owner}'s team {agents[owner]['team']!r}"
        elif not owner and not team:
            problem = "a customer needs an owner or a team"
        elif phone in items:
            problem = f"phone {phone} appears twice in the file"
        if problem:
            rejected.append((line, problem))
            continue
        items[phone] = {
            "phone": phone,
            "customer_id": row["customer_id"],
            "customer_name": row["customer_name"],
            "owner_agent_id": owner,
            "team": team or str(agents[owner]["team"]),
        }
    return list(items.values()), rejected


def _existing(table: Any, key: str, keys: list[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    client = table.meta.client
    for start in range(0, len(keys), BATCH_GET_LIMIT):
        request: dict[str, Any] = {
            table.name: {"Keys": [{key: k} for k in keys[start : start + BATCH_GET_LIMIT]]}
        }
        while request:
            page = client.batch_get_item(RequestItems=request)
            for item in page["Responses"].get(table.name, []):
                found[str(item[key])] = item
            request = page.get("UnprocessedKeys") or {}
    return found


def write_items(
    table: Any, key: str, items: Iterable[dict[str, str]], report: ImportReport
) -> None:
    items = list(items)
    stored = _existing(table, key, [i[key] for i in items])
    changed = [i for i in items if stored.get(i[key]) != i]
    report.unchanged += len(items) - len(changed)
    with table.batch_writer(overwrite_by_pkeys=[key]) as batch:
        for item in changed:
            batch.put_item(Item=item)
    report.written += len(changed)


def import_agents(path: Path, agents_table: Any, default_country: str = "JP") -> ImportReport:
    items, rejected = parse_agents(path, default_country)
    report = ImportReport(rejected=rejected)
    write_items(agents_table, "agent_id", items, report)
    return report


def load_agents(agents_table: Any) -> dict[str, dict[str, Any]]:
    agents: dict[str, dict[str, Any]] = {}
    kwargs: dict[str, Any] = {}
    while True:
        page = agents_table.scan(**kwargs)
        agents.update({str(i["agent_id"]): i for i in page.get("Items", [])})
        if "LastEvaluatedKey" not in page:
            return agents
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def import_customers(
    path: Path, customers_table: Any, agents_table: Any, default_country: str
) -> ImportReport:
    items, rejected = parse_customers(path, load_agents(agents_table), default_country)
    report = ImportReport(rejected=rejected)
    write_items(customers_table, "phone", items, report)
    return report
