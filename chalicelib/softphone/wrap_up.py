"""The agent's note at the end of a call, stored as a fact of the call's conversation.

Who may write it: the agent who answered the call (or took it by transfer, or placed it, for
an outbound call), or a supervisor. The conversation record says who that was; a call the
record does not know yet is a 404 the page retries (the record is built from callbacks that can
trail the hang-up by a second or two).
"""

from __future__ import annotations

from collections.abc import Mapping
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
    agents = {str(record.get("answered_by") or "")}
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
