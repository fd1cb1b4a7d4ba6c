"""TaskRouter's reservation and task events, turned into presence events.

Subscribed in `chalicelib/api/taskrouter.py`. TaskRouter retries and reorders its callbacks;
`PresenceService.apply_external` ignores anything older than what the agent already went
through (Twilio's event timestamp against the agent's watermark), so a duplicate or a late
event never overwrites a newer state.
https://www.twilio.com/docs/taskrouter/api/event/reference
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from chalicelib.platform.observability import count, logger
from chalicelib.presence.domain import Event
from chalicelib.telephony.taskrouter_events import TaskRouterEvent

if TYPE_CHECKING:
    from chalicelib.bootstrap import Container

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

# worker sid -> agent id, from the agent directory, for events whose worker has no `agent_id`
# attribute. Refreshed at most every WORKER_INDEX_SECONDS per container.
WORKER_INDEX_SECONDS = 300.0
_worker_index: dict[str, str] = {}
_worker_index_at: float | None = None


def _agent_for_worker(worker_sid: str, container: Container) -> str | None:
    global _worker_index, _worker_index_at
    age = float("inf") if _worker_index_at is None else time.monotonic() - _worker_index_at
    # An unknown worker may be a new hire: look again, but not on every event.
    if age > WORKER_INDEX_SECONDS or (worker_sid not in _worker_index and age > 30):
        _worker_index = {
            str(a["worker_sid"]): str(a["agent_id"])
            for a in container.agents.all()
            if a.get("worker_sid")
        }
        _worker_index_at = time.monotonic()
    return _worker_index.get(worker_sid)


def agent_of(event: TaskRouterEvent, container: Container) -> str | None:
    agent_id = event.worker_attributes.get("agent_id")
    if isinstance(agent_id, str) and agent_id:
        return agent_id
    if event.worker_sid:
        return _agent_for_worker(event.worker_sid, container)
    return None


def update_presence(event: TaskRouterEvent, container: Container) -> None:
    """EVENT_SUBSCRIBERS entry: move the reserved worker's agent along the transition table."""
    presence_event = EVENTS.get(event.event_type)
    if presence_event is None:
        return
    agent_id = agent_of(event, container)
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
    at_ms = event.occurred_ms or container.clock()
    container.presence.apply_external(agent_id, presence_event, at_ms, event.task_sid)
