"""A supervisor forces a rep's state: away (out of rotation, still signed in) or signed out.

The same presence transitions the rep's own softphone and `python -m ops sign-out` make
(chalicelib.presence.service: `choose` away, `sign_out`), so presence, the board and the
TaskRouter mirror (the worker's activity) follow the usual path. A rep on a call cannot be put
away (the transition table refuses it: 409); signing them out ends their session whatever they
are doing, as the ops command does.
"""

from __future__ import annotations

from typing import Any, Protocol

from chalicelib.platform.errors import InvalidInput, NotFound
from chalicelib.platform.observability import count, logger
from chalicelib.presence.domain import AgentState, Presence

FORCED = ("away", "offline")


class Presences(Protocol):
    def choose(self, agent_id: str, state: str) -> Presence: ...
    def sign_out(self, agent_id: str) -> Presence | None: ...


class Agents(Protocol):
    def get(self, agent_id: str) -> dict[str, Any] | None: ...


def force_state(
    presence: Presences, agents: Agents, supervisor_id: str, agent_id: str, state: str
) -> dict[str, Any]:
    if state not in FORCED:
        raise InvalidInput(f"state must be one of: {', '.join(FORCED)}")
    if agents.get(agent_id) is None:
        raise NotFound(f"no agent {agent_id}")
    after = (
        presence.choose(agent_id, AgentState.AWAY.value)
        if state == "away"
        else presence.sign_out(agent_id)
    )
    count(f"SupervisorForced_{state}")
    logger.info(
        "state forced by supervisor", agent_id=agent_id, supervisor=supervisor_id, state=state
    )
    return {
        "agent_id": agent_id,
        "state": after.state.value if after else AgentState.OFFLINE.value,
        "forced_by": supervisor_id,
    }
