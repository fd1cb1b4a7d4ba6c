"""TaskRouter events turned into presence events: which agent an event names, and when."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from chalicelib.presence.domain import Event
from chalicelib.presence.events import PresenceEvents
from chalicelib.telephony.taskrouter_events import TaskRouterEvent
from tests.data import ACCOUNT_SID, sid

NOW_MS = 1_764_000_000_000


class FakeAgents:
    """The agent directory; counts its scans, which the worker index must keep rare."""

    def __init__(self, *agents: dict[str, Any]) -> None:
        self.agents = list(agents)
        self.scans = 0

    def all(self) -> Iterator[dict[str, Any]]:
        self.scans += 1
        yield from self.agents


class FakePresence:
    def __init__(self) -> None:
        self.applied: list[tuple[str, Event, int, str]] = []

    def apply_external(self, agent_id: str, event: Event, at_ms: int, task_sid: str = "") -> None:
        self.applied.append((agent_id, event, at_ms, task_sid))


def reservation(
    event_type: str, worker: int = 1, attributes: dict[str, Any] | None = None, **form: str
) -> TaskRouterEvent:
    return TaskRouterEvent.from_form(
        {
            "Sid": sid("EV", 1),
            "AccountSid": ACCOUNT_SID,
            "EventType": event_type,
            "ResourceType": "Reservation",
            "TaskSid": sid("WT", 1),
            "WorkerSid": sid("WK", worker),
            "WorkerAttributes": json.dumps(attributes or {}),
            **form,
        }
    )


def service(agents: FakeAgents) -> tuple[PresenceEvents, FakePresence]:
    presence = FakePresence()
    return PresenceEvents(agents, presence, lambda: NOW_MS), presence


def test_the_worker_attribute_names_the_agent_without_reading_the_directory() -> None:
    agents = FakeAgents()
    events, presence = service(agents)
    events.update_presence(reservation("reservation.accepted", attributes={"agent_id": "sato"}))
    assert presence.applied == [("sato", Event.ACCEPTED, NOW_MS, sid("WT", 1))]
    assert agents.scans == 0


def test_a_worker_without_agent_id_is_found_by_its_sid_and_the_index_is_kept() -> None:
    agents = FakeAgents({"agent_id": "sato", "worker_sid": sid("WK", 1)}, {"agent_id": "kato"})
    events, presence = service(agents)
    events.update_presence(reservation("reservation.created", TimestampMs=str(NOW_MS - 5)))
    events.update_presence(reservation("reservation.accepted"))
    assert [(a, e, at) for a, e, at, _ in presence.applied] == [
        ("sato", Event.OFFERED, NOW_MS - 5),
        ("sato", Event.ACCEPTED, NOW_MS),
    ]
    assert agents.scans == 1


def test_an_unknown_worker_moves_nobody_and_does_not_rescan_at_once() -> None:
    agents = FakeAgents({"agent_id": "sato", "worker_sid": sid("WK", 1)})
    events, presence = service(agents)
    events.update_presence(reservation("reservation.created", worker=2))
    events.update_presence(reservation("reservation.created", worker=2))
    assert presence.applied == []
    assert agents.scans == 1


def test_events_presence_does_not_follow_are_ignored() -> None:
    agents = FakeAgents({"agent_id": "sato", "worker_sid": sid("WK", 1)})
    events, presence = service(agents)
    events.update_presence(reservation("worker.activity.update"))
    assert presence.applied == []
    assert agents.scans == 0
