"""Which of our numbers a customer sees: the rep's team's own number, else the company's."""

from __future__ import annotations

from chalicelib.softphone.caller_id import Team, choose_caller_id, team_of

COMPANY = "+81300000000"


def test_a_team_with_its_own_number_calls_from_it() -> None:
    assert choose_caller_id(Team("osaka", "+81661230000"), COMPANY) == "+81661230000"


def test_a_team_without_one_or_an_unknown_rep_calls_from_the_company_number() -> None:
    assert choose_caller_id(Team("tokyo"), COMPANY) == COMPANY
    assert choose_caller_id(None, COMPANY) == COMPANY


def test_the_team_is_read_from_the_agent_directory_item() -> None:
    item = {"agent_id": "ito", "team": "osaka", "team_caller_id": "+81661230000"}
    assert team_of(item) == Team("osaka", "+81661230000")
    assert team_of({"agent_id": "sato", "team": "tokyo"}) == Team("tokyo", "")
    assert team_of(None) is None
