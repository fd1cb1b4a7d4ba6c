"""TaskRouter's reservation and task events, turned into presence events.

Subscribed in `chalicelib/api/taskrouter.py`. TaskRouter retries and reorders its callbacks;
`PresenceService.apply_external` ignores anything older than what the agent already went
through (Twilio's event timestamp against the agent's watermark), so a duplicate or a late
event never overwrites a newer state.
https://www.twilio.com/docs/taskrouter/api/event/reference
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from chalicelib.platform.observability import count, logger
from chalicelib.presence.domain import Event
from chalicelib.telephony.taskrouter_events import TaskRouterEvent

EVENTS: dict[str, Event] = {
    "reservation.created": Event.OFFERED,
    "reservation.accepted": Event.ACCEPTED,
    "reservation.wrapup": Event.CALL_ENDED,
    "reservation.completed": Event.CALL_ENDED,
    "task.wrapup": Event.CALL_ENDED,
    "task.completed": Event.CALL_ENDED,
    "reservation.timeout": Event.MISSED,
    "reservation.rejected": Event.WITHDRAWN,
    "reservation.canceled": Event.WITHDRAWN,
    "reservation.rescinded": Event.WITHDRAWN,
}

# How old the worker sid -> agent id index may get before it is read again.
WORKER_INDEX_SECONDS = 300.0


class Agents(Protocol):
    """The agent directory (`chalicelib.routing.store.AgentDirectory`)."""

    def all(self) -> Iterable[Mapping[str, Any]]: ...


class PresenceUpdates(Protocol):
    """The presence service (`chalicelib.presence.service.PresenceService`)."""

    def apply_external(
        self, agent_id: str, event: Event, at_ms: int, task_sid: str = ""
    ) -> object: ...


class PresenceEvents:
    """Moves the agent a TaskRouter event names along the presence transition table."""

    def __init__(self, agents: Agents, presence: PresenceUpdates, clock: Callable[[], int]) -> None:
        self._agents = agents
        self._presence = presence
        self._clock = clock
        # worker sid -> agent id, from the agent directory, for events whose worker has no
        # `agent_id` attribute. One instance per cold start (the Container caches it), so the
        # index is refreshed at most every WORKER_INDEX_SECONDS per Lambda container.
        self._worker_index: dict[str, str] = {}
        self._worker_index_at: float | None = None

    def _agent_for_worker(self, worker_sid: str) -> str | None:
        at = self._worker_index_at
        age = float("inf") if at is None else time.monotonic() - at
        # An unknown worker may be a new hire: look again, but not on every event.
        if age > WORKER_INDEX_SECONDS or (worker_sid not in self._worker_index and age > 30):
            self._worker_index = {
                str(a["worker_sid"]): str(a["agent_id"])
                for a in self._agents.all()
                if a.get("worker_sid")
            }
            self._worker_index_at = time.monotonic()
        return self._worker_index.get(worker_sid)

    def agent_of(self, event: TaskRouterEvent) -> str | None:
        agent_id = event.worker_attributes.get("agent_id")
        if isinstance(agent_id, str) and agent_id:
            return agent_id
        if event.worker_sid:
            return self._agent_for_worker(event.worker_sid)
        return None

    def update_presence(self, event: TaskRouterEvent) -> None:
        """EVENT_SUBSCRIBERS entry: move the reserved worker's agent along the transition table."""
        presence_event = EVENTS.get(event.event_type)
        if presence_event is None:
            return
        agent_id = self.agent_of(event)
        if agent_id is None:
            # task.* events name a worker only once one is assigned; nothing to move otherwise.
            if event.resource_type == "reservation":
                count("PresenceEventUnmatched")
                logger.warning(
                    "taskrouter event names no known agent",
                    event_type=event.event_type,
                    task_sid=event.task_sid or None,
                )
            return
        at_ms = event.occurred_ms or self._clock()
        self._presence.apply_external(agent_id, presence_event, at_ms, event.task_sid)
