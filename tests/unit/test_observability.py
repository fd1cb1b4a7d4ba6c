"""Call outcome metrics from TaskRouter events, and the log keys taken from Twilio forms."""

from __future__ import annotations

import json

import pytest

from chalicelib.conversations.call_metrics import CALLS_TIMED_OUT_IN_QUEUE, outcome_metric
from chalicelib.platform import observability
from chalicelib.telephony.taskrouter_events import TaskRouterEvent
from tests.data import sid
from tests.fakes.log_capture import captured_logs


def event(event_type: str, kind: str = "inbound_call", **extra: str) -> TaskRouterEvent:
    form = {
        "Sid": sid("EV", 1),
        "EventType": event_type,
        "AccountSid": sid("AC", 1),
        "TaskSid": sid("WT", 1),
        "TaskAttributes": json.dumps({"type": kind, "call_sid": sid("CA", 1)}),
        **extra,
    }
    return TaskRouterEvent.from_form(form)


@pytest.mark.parametrize(
    ("event_type", "extra", "expected"),
    [
        ("task.created", {}, observability.CALLS_OFFERED),
        ("reservation.accepted", {}, observability.CALLS_ANSWERED),
        ("task.canceled", {"TaskCanceledReason": "hangup"}, observability.CALLS_ABANDONED),
        ("task.canceled", {"TaskCanceledReason": "Task TTL Exceeded"}, CALLS_TIMED_OUT_IN_QUEUE),
        ("reservation.created", {}, None),
        ("task.completed", {}, None),
    ],
)
def test_inbound_call_events_count_as_offered_answered_abandoned(
    event_type: str, extra: dict[str, str], expected: str | None
) -> None:
    assert outcome_metric(event(event_type, **extra)) == expected


@pytest.mark.parametrize("kind", ["voicemail", "callback", "transfer"])
def test_follow_ups_are_not_callers_waiting(kind: str) -> None:
    assert outcome_metric(event("task.created", kind=kind)) is None
    assert outcome_metric(event("task.canceled", kind=kind)) is None


def test_twilio_form_binds_call_task_and_agent() -> None:
    with captured_logs() as logs:
        observability.bind_twilio_form(
            {
                "TaskSid": sid("WT", 2),
                "TaskAttributes": json.dumps({"call_sid": sid("CA", 2)}),
                "WorkerAttributes": json.dumps({"agent_id": "sato"}),
            }
        )
        observability.logger.info("probe")
        observability.clear_call_keys()
        observability.logger.info("probe after")
    first, second = logs.records()
    assert (first["call_sid"], first["task_sid"], first["agent_id"]) == (
        sid("CA", 2),
        sid("WT", 2),
        "sato",
    )
    assert not {"call_sid", "task_sid", "agent_id"} & set(second)


def test_garbled_attributes_do_not_break_logging() -> None:
    with captured_logs() as logs:
        observability.bind_twilio_form({"CallSid": sid("CA", 3), "TaskAttributes": "{not json"})
        observability.logger.info("probe")
        observability.clear_call_keys()
    (line,) = logs.records()
    assert line["call_sid"] == sid("CA", 3)


def test_tracer_is_disabled_in_tests() -> None:
    assert observability.tracer().disabled


def test_disabled_metrics_do_not_pile_up_and_print(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Powertools keeps the set when disabled and prints it at 100 values regardless.
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    for _ in range(150):
        with observability.invocation("test"):
            observability.count("SomethingCounted")
    assert observability.metrics.metric_set == {}
    assert "_aws" not in capsys.readouterr().out
