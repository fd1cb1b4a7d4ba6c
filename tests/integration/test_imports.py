"""`python -m ops import-agents / import-customers` against moto."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ops.imports import BadFile, import_agents, import_customers
from tests.conftest import ENGINES

pytestmark = ENGINES

AGENTS = """agent_id,name,team,worker_sid
sato,Sato Haruto,tokyo,WK00000000000000000000000000000001
tanaka,Tanaka Yui,osaka,WK00000000000000000000000000000002
bad id,Broken,tokyo,WK00000000000000000000000000000003
kato,Kato Ren,tokyo,not-a-sid
"""

CUSTOMERS = """phone,customer_id,customer_name,owner_agent_id,team
03-1234-5678,C1,Sakura Foods,sato,tokyo
090-1234-5678,C2,Fuji Motors,tanaka,
not a number,C3,Broken,sato,tokyo
06-6123-4567,C4,Umi Design,ghost,osaka
+81 3 1234 5678,C5,Duplicate,sato,tokyo
06-6123-9999,C6,Wrong Team,sato,osaka
06-6123-1111,C7,Team Only,,osaka
"""


@pytest.fixture
def tables(resources: Any, settings: Any) -> tuple[Any, Any]:
    return resources.Table(settings.routing.agents_table), resources.Table(
        settings.routing.customers_table
    )


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_agents_import_reports_bad_rows_by_line_and_writes_the_rest(
    tmp_path: Path, tables: Any
) -> None:
    agents, _ = tables
    report = import_agents(write(tmp_path, "a.csv", AGENTS), agents)
    assert report.written == 2
    assert [line for line, _ in report.rejected] == [4, 5]
    assert agents.get_item(Key={"agent_id": "sato"})["Item"]["client_identity"] == "sato"


def test_customers_import_normalises_numbers_and_checks_owners(tmp_path: Path, tables: Any) -> None:
    agents, customers = tables
    import_agents(write(tmp_path, "a.csv", AGENTS), agents)
    report = import_customers(write(tmp_path, "c.csv", CUSTOMERS), customers, agents, "JP")
    assert report.written == 3
    rejected = dict(report.rejected)
    assert set(rejected) == {4, 5, 6, 7}
    assert "phone" in rejected[4]
    assert "ghost" in rejected[5]
    assert "appears twice" in rejected[6]
    assert "not owner" in rejected[7]
    item = customers.get_item(Key={"phone": "+819012345678"})["Item"]
    assert item["team"] == "osaka", "team defaults to the owner's team"
    assert customers.get_item(Key={"phone": "+81661231111"})["Item"]["owner_agent_id"] == ""


def test_reimporting_the_same_file_changes_nothing(tmp_path: Path, tables: Any) -> None:
    agents, customers = tables
    import_agents(write(tmp_path, "a.csv", AGENTS), agents)
    path = write(tmp_path, "c.csv", CUSTOMERS)
    import_customers(path, customers, agents, "JP")
    before = sorted(customers.scan()["Items"], key=lambda i: i["phone"])
    again = import_customers(path, customers, agents, "JP")
    assert (again.written, again.unchanged) == (0, 3)
    assert sorted(customers.scan()["Items"], key=lambda i: i["phone"]) == before


def test_a_changed_row_is_rewritten(tmp_path: Path, tables: Any) -> None:
    agents, customers = tables
    import_agents(write(tmp_path, "a.csv", AGENTS), agents)
    import_customers(write(tmp_path, "c.csv", CUSTOMERS), customers, agents, "JP")
    changed = CUSTOMERS.replace("Sakura Foods", "Sakura Foods Holdings")
    report = import_customers(write(tmp_path, "c2.csv", changed), customers, agents, "JP")
    assert (report.written, report.unchanged) == (1, 2)


def test_file_without_required_columns_is_refused(tmp_path: Path, tables: Any) -> None:
    agents, _ = tables
    with pytest.raises(BadFile, match="worker_sid"):
        import_agents(write(tmp_path, "a.csv", "agent_id,name,team\nx,y,z\n"), agents)


def test_large_import_is_written_in_batches(tmp_path: Path, tables: Any) -> None:
    from ops.demo import AGENTS_CSV, CUSTOMERS_CSV

    agents, customers = tables
    assert import_agents(AGENTS_CSV, agents).written == 30
    report = import_customers(CUSTOMERS_CSV, customers, agents, "JP")
    assert (report.written, report.rejected) == (500, [])


def test_a_teams_outbound_number_is_carried_by_each_of_its_agents(
    tmp_path: Path, tables: Any
) -> None:
    agents, _ = tables
    text = """agent_id,name,team,worker_sid,team_caller_id
ito,Ito Mei,osaka,WK00000000000000000000000000000001,06-6123-0000
mori,Mori Sho,osaka,WK00000000000000000000000000000002,
sato,Sato Haruto,tokyo,WK00000000000000000000000000000003,
ueno,Ueno Rin,osaka,WK00000000000000000000000000000004,06-6999-0000
kudo,Kudo Ai,nagoya,WK00000000000000000000000000000005,not a number
"""
    report = import_agents(write(tmp_path, "a.csv", text), agents)
    assert report.written == 3
    rejected = dict(report.rejected)
    assert set(rejected) == {5, 6}
    assert rejected[5] == "team osaka's caller ID is already +81661230000 (line 2)"
    assert rejected[6].startswith("team_caller_id: ")
    items = {i["agent_id"]: i for i in agents.scan()["Items"]}
    assert items["ito"]["team_caller_id"] == items["mori"]["team_caller_id"] == "+81661230000"
    assert "team_caller_id" not in items["sato"]
