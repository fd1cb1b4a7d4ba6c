"""Who may read a conversation: pure rules over its record, tested without AWS.

A rep reads the conversations they took part in (answered, took by transfer, placed), those of
customers they own, and the call ringing them now; a supervisor reads everything. The listing
(`GET /conversations`) is narrowed the same way: a rep lists their own calls only, because the
filtered indexes do not carry what would prove the rest (owner, offers).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Offer outcomes that mean the agent was on the call (chalicelib.softphone.wrap_up) or is being
# offered it now (the fold's "ringing").
_ON_THE_CALL = frozenset({"accepted", "completed", "wrapping", "answered", "transferred"})
_BEING_OFFERED = frozenset({"ringing"})


class NotYours(Exception):
    """The rep may not read this (HTTP 403)."""


def readers(record: Mapping[str, Any]) -> set[str]:
    """The reps (besides supervisors) who may read this conversation."""
    agents = {str(record.get("answered_by") or ""), str(record.get("owner_agent_id") or "")}
    for offer in record.get("offers") or []:
        if not isinstance(offer, Mapping):
            continue
        if str(offer.get("outcome", "")) in _ON_THE_CALL | _BEING_OFFERED:
            agents.add(str(offer.get("agent_id") or ""))
    agents.discard("")
    return agents


def check_may_read(
    record: Mapping[str, Any], conversation_id: str, agent_id: str, is_supervisor: bool
) -> None:
    if not is_supervisor and agent_id not in readers(record):
        raise NotYours(f"{agent_id} may not read conversation {conversation_id}")


def scoped_search(params: Mapping[str, str], agent_id: str, is_supervisor: bool) -> dict[str, str]:
    """The listing's query parameters as this staff member may ask them.

    `agent=me` means the caller. A rep's listing is their own calls: no `agent` means theirs, and
    another agent, a customer or a team is refused (they may open single conversations of the
    customers they own, `GET /conversations/{id}`).
    """
    scoped = dict(params)
    if scoped.get("agent") == "me":
        scoped["agent"] = agent_id
    if is_supervisor:
        return scoped
    for name in ("customer", "team"):
        if scoped.get(name):
            raise NotYours(f"only supervisors list conversations by {name}")
    if scoped.get("agent", agent_id) != agent_id:
        raise NotYours("reps list their own conversations only")
    scoped["agent"] = agent_id
    return scoped
