"""Sign demo agents in on the local stack: calls have someone to ring, the board shows a floor."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalicelib.presence.domain import AgentState, Presence, Reason
from chalicelib.presence.store import item_from_presence
from ops.imports import load_agents

# The rest of each team, in turn: a floor with a bit of everything on the board.
OTHER_STATES = (AgentState.BREAK, AgentState.AWAY, AgentState.OFFLINE)
DEMO_HEARTBEAT_AHEAD_MS = 8 * 3600_000


def seed_demo_presence(presence_table: Any, agents_table: Any, share_available: float = 0.6) -> int:
    """Every demo agent gets a presence item in the app's format; `share_available` of each
    team is available.

    Demo agents have no softphone sending heartbeats: their last heartbeat is dated
    DEMO_HEARTBEAT_AHEAD_MS ahead so the lost-heartbeat timer leaves them alone during a demo
    (an agent who signs in for real from the softphone gets real heartbeats).
    """
    agents = sorted(load_agents(agents_table).values(), key=lambda a: (a["team"], a["agent_id"]))
    by_team: dict[str, list[dict[str, Any]]] = {}
    for agent in agents:
        by_team.setdefault(str(agent["team"]), []).append(agent)
    now = int(datetime.now(UTC).timestamp() * 1000)
    available = 0
    with presence_table.batch_writer() as batch:
        for members in by_team.values():
            cutoff = round(len(members) * share_available)
            for n, agent in enumerate(members):
                state = AgentState.AVAILABLE
                if n >= cutoff:
                    state = OTHER_STATES[(n - cutoff) % len(OTHER_STATES)]
                available += state == AgentState.AVAILABLE
                signed_in = state != AgentState.OFFLINE
                presence = Presence(
                    agent_id=str(agent["agent_id"]),
                    team=str(agent["team"]),
                    state=state,
                    reason=(Reason.SIGNED_IN if state == AgentState.AVAILABLE else Reason.MANUAL)
                    if signed_in
                    else Reason.SIGNED_OUT,
                    since_ms=now - 60_000 * (n + 1),
                    version=1,
                    last_seen_ms=now + DEMO_HEARTBEAT_AHEAD_MS if signed_in else 0,
                    name=str(agent.get("name", "")),
                    worker_sid=str(agent.get("worker_sid", "")),
                )
                batch.put_item(Item=item_from_presence(presence, now))
    return available
