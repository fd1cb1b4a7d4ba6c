"""Which of our numbers a customer sees when a rep calls them.

A team may have its own outbound number (its region's area code, or the number its customers
know), kept with the team's data: the `team_caller_id` column of the agents file, stored on each
of the team's agents in the directory (`python -m ops import-agents`). A team without one, or a
rep the directory does not know, calls from the company number. `python -m ops doctor` checks
that every team's number is one of the Twilio account's: a `<Dial callerId>` from a client leg
must be a number of the account or a verified one, else Twilio answers warning 13214
(https://www.twilio.com/docs/errors/13214) and the call does not go out with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

TEAM_CALLER_ID = "team_caller_id"


@dataclass(frozen=True)
class Team:
    name: str
    caller_id: str = ""  # E.164; empty: the team calls from the company number


def team_of(agent: Mapping[str, Any] | None) -> Team | None:
    """The agent's team as the directory records it (None for an agent it does not know)."""
    if agent is None:
        return None
    return Team(str(agent.get("team") or ""), str(agent.get(TEAM_CALLER_ID) or ""))


def choose_caller_id(team: Team | None, company_number: str) -> str:
    """The team's own outbound number if it has one, else the company number."""
    if team is not None and team.caller_id:
        return team.caller_id
    return company_number
