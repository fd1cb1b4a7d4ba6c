"""The agent's note and wrap-up code at the end of a call, stored as facts of the call's
conversation.

The code says what came of the call (商談化, 不在, 折り返し依頼, 対象外 by default; the list is
the WRAP_UP_CODES setting), one per call, inbound or outbound; asked again, the latest wins.

Who may write it: the agent who answered the call (or took it by transfer, or placed it, for
an outbound call), or a supervisor. The conversation record says who that was; a call the
record does not know yet is a 404 the page retries (the record is built from callbacks that can
trail the hang-up by a second or two).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from chalicelib.platform.errors import InvalidInput, NotFound

MAX_NOTE_CHARS = 4000
# Offer outcomes that mean the agent was on the call.
_TOOK_THE_CALL = frozenset({"accepted", "completed", "wrapping", "answered", "transferred"})


class NotYourCall(Exception):
    """The agent was not on this call (HTTP 403)."""


def clean_note(text: Any) -> str:
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("text must be a non-empty string")
    note = str(text).strip()
    if len(note) > MAX_NOTE_CHARS:
        raise InvalidInput(f"text is longer than {MAX_NOTE_CHARS} characters")
    return note


def agents_on_call(record: Mapping[str, Any]) -> set[str]:
    # An outbound call's rep (answered or not) and the colleague of an internal call were on it.
    agents = {str(record.get(key) or "") for key in ("answered_by", "dialled_by", "to_agent")}
    for offer in record.get("offers") or []:
        if isinstance(offer, Mapping) and str(offer.get("outcome", "")) in _TOOK_THE_CALL:
            agents.add(str(offer.get("agent_id") or ""))
    agents.discard("")
    return agents


def check_may_note(
    record: Mapping[str, Any] | None, call_sid: str, agent_id: str, is_supervisor: bool
) -> None:
    if record is None:
        raise NotFound(f"no conversation {call_sid} yet")
    if not is_supervisor and agent_id not in agents_on_call(record):
        raise NotYourCall(f"{agent_id} was not on call {call_sid}")


def note_fact(agent_id: str, text: str) -> dict[str, str]:
    """The fact's data as chalicelib.conversations.fold reads it (`note`)."""
    return {"agent_id": agent_id, "note": text}


NO_CODE = "(none)"


def parse_codes(setting: str) -> tuple[str, ...]:
    """The configured codes, in order, each once (commas, ASCII or Japanese, separate them)."""
    codes = (code.strip() for code in setting.replace("、", ",").split(","))
    return tuple(dict.fromkeys(code for code in codes if code))


def clean_code(code: Any, allowed: Sequence[str]) -> str:
    if not isinstance(code, str) or code.strip() not in allowed:
        raise InvalidInput(f"code must be one of {', '.join(allowed)}")
    return code.strip()


def code_fact(agent_id: str, code: str) -> dict[str, str]:
    """The fact's data as chalicelib.conversations.fold reads it (`code`)."""
    return {"agent_id": agent_id, "code": code}


def tally_codes(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """How many calls ended with each code, overall, per team and per rep (who answered it, or
    dialled it), for the report. Counted: the calls somebody took (answered inbound, every
    outbound); `(none)` when no code was given."""
    total: Counter[str] = Counter()
    by_team: dict[str, Counter[str]] = {}
    by_agent: dict[str, Counter[str]] = {}
    for record in records:
        taken = record.get("answered_by") or record.get("direction") == "outbound"
        if not taken and not record.get("wrap_up_code"):
            continue
        code = str(record.get("wrap_up_code") or NO_CODE)
        total[code] += 1
        by_team.setdefault(str(record.get("team") or "-"), Counter())[code] += 1
        rep = str(record.get("answered_by") or record.get("dialled_by") or "-")
        by_agent.setdefault(rep, Counter())[code] += 1
    return {
        "total": dict(total.most_common()),
        "by_team": {team: dict(counts) for team, counts in sorted(by_team.items())},
        "by_agent": {rep: dict(counts) for rep, counts in sorted(by_agent.items())},
    }
