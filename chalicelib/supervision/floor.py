"""The supervisors' live floor: callers waiting, reps on calls, each team's day, alerts.

Viewers never read DynamoDB themselves, as for the presence board (chalicelib/presence/board.py,
docs/presence.md). Each Lambda container keeps one floor snapshot and rebuilds it at most once
per `floor_refresh_seconds` whoever asks, from
- the conversations not ended (one Query of the sparse live-index: a few hundred items),
- the presence board's own snapshot (shared with the boards, rebuilt once per its interval),
- today's KPIs per team (the dashboard's feed, cached `kpi_cache_seconds` per container),
and renders the reply once per snapshot. So the cost per viewer is one API request; DynamoDB
sees one Query per container per interval however many supervisors watch.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from chalicelib.platform.errors import StorageUnavailable
from chalicelib.platform.observability import count


@dataclass(frozen=True)
class Thresholds:
    longest_wait_seconds: int
    service_level: float
    abandonment: float


def floor_view(
    live: Iterable[Mapping[str, Any]],
    agents: Iterable[list[Any]],
    agent_fields: list[str],
    by_team: Mapping[str, Mapping[str, Any]],
    now_ms: int,
    thresholds: Thresholds,
) -> dict[str, Any]:
    """The floor from its three sources; pure."""
    waiting: list[dict[str, Any]] = []
    on_calls: list[dict[str, Any]] = []
    for r in live:
        started = int(r.get("started_ms") or 0)
        answered = int(r.get("answered_ms") or 0)
        base = {
            "conversation_id": r.get("conversation_id"),
            "direction": r.get("direction", "inbound"),
            "customer_id": r.get("customer_id") or None,
            "customer_name": r.get("customer_name") or None,
            "owner_agent_id": r.get("owner_agent_id") or None,
            "team": r.get("team") or None,
            "stage": r.get("stage_reached") or None,
        }
        if answered and r.get("answered_by"):
            on_calls.append(
                {
                    **base,
                    "agent_id": r.get("answered_by"),
                    "talk_seconds": max(0, (now_ms - answered) // 1000),
                }
            )
        elif r.get("direction", "inbound") != "outbound":
            since = int(r.get("queued_ms") or started)
            waiting.append({**base, "wait_seconds": max(0, (now_ms - since) // 1000)})
    waiting.sort(key=lambda w: -w["wait_seconds"])
    on_calls.sort(key=lambda c: -c["talk_seconds"])
    index = {name: i for i, name in enumerate(agent_fields)}
    reps = [
        {name: row[i] for name, i in index.items()}
        for row in sorted(agents, key=lambda r: (r[index["team"]], r[index["name"]]))
    ]
    teams = {
        name: {
            "offered": k.get("offered", 0),
            "answered": k.get("answered", 0),
            "abandoned": k.get("abandoned", 0),
            "service_level": k.get("service_level"),
            "abandonment_rate": k.get("abandonment_rate"),
            "waiting": sum(1 for w in waiting if w["team"] == name),
        }
        for name, k in sorted(by_team.items())
    }
    return {
        "server_ms": now_ms,
        "waiting": waiting,
        "on_calls": on_calls,
        "agents": reps,
        "teams": teams,
        "alerts": alerts(waiting, teams, thresholds),
        "thresholds": {
            "longest_wait_seconds": thresholds.longest_wait_seconds,
            "service_level": thresholds.service_level,
            "abandonment": thresholds.abandonment,
        },
    }


def alerts(
    waiting: list[dict[str, Any]], teams: Mapping[str, Mapping[str, Any]], t: Thresholds
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if waiting and waiting[0]["wait_seconds"] >= t.longest_wait_seconds:
        w = waiting[0]
        found.append(
            {
                "kind": "longest_wait",
                "team": w["team"],
                "value": w["wait_seconds"],
                "threshold": t.longest_wait_seconds,
                "conversation_id": w["conversation_id"],
            }
        )
    for name, k in teams.items():
        sl, ab = k.get("service_level"), k.get("abandonment_rate")
        if sl is not None and sl < t.service_level:
            found.append(
                {"kind": "service_level", "team": name, "value": sl, "threshold": t.service_level}
            )
        if ab is not None and ab > t.abandonment:
            found.append(
                {"kind": "abandonment", "team": name, "value": ab, "threshold": t.abandonment}
            )
    return found


class LiveConversations(Protocol):
    def live(self, since_ms: int) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class FloorSnapshot:
    built_ms: int
    reply: str


class FloorCache:
    """One floor per container, rebuilt at most once per `refresh_ms` whoever asks."""

    def __init__(
        self,
        conversations: LiveConversations,
        board: Callable[[], Any],
        team_kpis: Callable[[int], Mapping[str, Mapping[str, Any]]],
        thresholds: Thresholds,
        live_ms: int,
        refresh_ms: int,
        clock: Callable[[], int],
    ) -> None:
        self._conversations = conversations
        self._board = board
        self._team_kpis = team_kpis
        self._thresholds = thresholds
        self._live_ms = live_ms
        self._refresh_ms = refresh_ms
        self._clock = clock
        self._snapshot: FloorSnapshot | None = None
        self._fresh_until = 0
        self._lock = threading.Lock()
        self.builds = 0

    def snapshot(self) -> FloorSnapshot:
        seen = self._snapshot
        if seen is not None and self._clock() < self._fresh_until:
            return seen
        with self._lock:
            if self._snapshot is not seen and self._snapshot is not None:
                return self._snapshot  # built by another viewer while we waited
            built = self._build()
            self._fresh_until = self._clock() + self._refresh_ms
            self._snapshot = built
            return built

    def _build(self) -> FloorSnapshot:
        now = self._clock()
        live = self._conversations.live(now - self._live_ms)
        board = self._board().feed(None)
        try:
            teams = self._team_kpis(now)
        except StorageUnavailable:
            teams = {}  # the day's figures wait; the live part of the floor still shows
        view = floor_view(live, board["agents"], board["fields"], teams, now, self._thresholds)
        self.builds += 1
        count("SupervisorFloorBuilt")
        return FloorSnapshot(now, json.dumps(view, ensure_ascii=False, separators=(",", ":")))
