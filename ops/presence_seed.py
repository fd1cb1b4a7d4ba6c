"""Sign demo agents in on the local stack so calls have someone to ring."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ops.imports import load_agents


def seed_demo_presence(presence_table: Any, agents_table: Any, share_available: float = 0.6) -> int:
    """Every demo agent gets a presence item; `share_available` of each team is available."""
    agents = sorted(load_agents(agents_table).values(), key=lambda a: (a["team"], a["agent_id"]))
    by_team: dict[str, list[dict[str, Any]]] = {}
    for agent in agents:
        by_team.setdefault(str(agent["team"]), []).append(agent)
    now = datetime.now(UTC).isoformat()
    available = 0
    with presence_table.batch_writer() as batch:
        for members in by_team.values():
            cutoff = round(len(members) * share_available)
            for n, agent in enumerate(members):
                state = "available" if n < cutoff else "offline"
                available += state == "available"
                batch.put_item(
                    Item={
                        "agent_id": agent["agent_id"],
                        "team": agent["team"],
                        "state": state,
                        "since": now,
                        "version": 1,
                    }
                )
    return available
