"""POST /twilio/taskrouter/events: parsing, signatures, and fan-out to subscribers."""

from __future__ import annotations

import json

import pytest

from chalicelib.telephony.taskrouter_events import TaskRouterEvent, dispatch
from tests.conftest import TwilioPoster
from tests.data import ACCOUNT_SID, sid

PATH = "/twilio/taskrouter/events"


def event_form(event_type: str = "task.created", **overrides: str) -> dict[str, str]:
    form = {
        "Sid": sid("EV", 1),
        "AccountSid": ACCOUNT_SID,
        "WorkspaceSid": "WS" + "b" * 32,
        "EventType": event_type,
        "ResourceType": "Task",
        "ResourceSid": sid("WT", 1),
        "TaskSid": sid("WT", 1),
        "Timestamp": "1764000000",
        "TimestampMs": "1764000000123",
        "TaskAttributes": json.dumps({"call_sid": sid("CA", 1), "stage": "owner"}),
        "EventDescription": "Task created (contains personal data)",
    }
    form.update(overrides)
    return form


def test_event_is_accepted_and_parsed(twilio: TwilioPoster) -> None:
    response = twilio.post(PATH, event_form())
    assert response.status_code == 200


def test_event_parses_lowercase_resource_and_keeps_the_raw_form() -> None:
    event = TaskRouterEvent.from_form(event_form())
    assert event.resource_type == "task"
    assert event.occurred_ms == 1764000000123
    assert event.task_attributes["stage"] == "owner"
    assert event.raw["EventDescription"].startswith("Task created")


def test_unsigned_event_is_403(twilio: TwilioPoster) -> None:
    assert twilio.post(PATH, event_form(), signature=None).status_code == 403


@pytest.mark.parametrize(
    ("change", "problem"), [({"Sid": "x"}, "Sid"), ({"TaskAttributes": "{"}, "TaskAttributes")]
)
def test_malformed_event_is_400(twilio: TwilioPoster, change: dict[str, str], problem: str) -> None:
    response = twilio.post(PATH, event_form(**change))
    assert response.status_code == 400
    assert problem in response.body.decode()


def test_one_failing_subscriber_does_not_starve_the_others() -> None:
    seen: list[str] = []

    def broken(event: TaskRouterEvent) -> None:
        raise RuntimeError("boom")

    def healthy(event: TaskRouterEvent) -> None:
        seen.append(event.event_type)

    failed = dispatch(TaskRouterEvent.from_form(event_form()), [broken, healthy])
    assert seen == ["task.created"]
    assert failed == [broken.__qualname__]
