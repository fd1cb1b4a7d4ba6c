"""The Step Functions stand-in runs the app's real escalation definition on a virtual clock.

The Task states are played by recording fakes here (the app's steps are exercised end to end in
test_rehearsal_e2e.py); what is tested is the interpreter: the path through the real
infra/escalation.asl.json, the waits it takes, Retry, stopping, and the API at the botocore
boundary the app's adapter uses.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from chalicelib.escalation.timelines import EscalationTimelines, TimelineUnavailable
from ops.standin.clock import Scheduler
from ops.standin.stepfunctions import (
    DefinitionNotSupported,
    StateMachines,
    TaskError,
    validate,
)

DEFINITION = Path(__file__).resolve().parents[2] / "infra" / "escalation.asl.json"
ARN = "arn:aws:states:ap-northeast-1:000000000000:stateMachine:escalation"
ENTER = "arn:aws:lambda:ap-northeast-1:000000000000:function:escalation_enter_stage"
FALLBACK = "arn:aws:lambda:ap-northeast-1:000000000000:function:escalation_fallback"
TASK = "WT" + "a" * 32


class Steps:
    """Plays the two step functions: each stage waits `waits[stage]`; `live` until `ended`."""

    def __init__(self, clock: Scheduler, waits: dict[str, int], failures: int = 0) -> None:
        self.clock = clock
        self.waits = waits
        self.calls: list[tuple[float, str, dict[str, Any]]] = []
        self.ended = False
        self.failures = failures

    def __call__(self, resource: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((self.clock.now(), resource, payload))
        if self.failures:
            self.failures -= 1
            raise TaskError("StorageUnavailable", "presence table throttled")
        stage = payload["stage"]
        return {"live": not self.ended, "stage": stage, "wait_seconds": self.waits.get(stage, 0)}


def machines(clock: Scheduler, steps: Steps, down: Any = None) -> StateMachines:
    sfn = StateMachines(clock, steps, unavailable=down)
    sfn.create_state_machine(
        ARN,
        DEFINITION.read_text(encoding="utf-8"),
        {"EscalationEnterStageArn": ENTER, "EscalationFallbackArn": FALLBACK},
    )
    return sfn


def start(sfn: StateMachines, stage: str) -> str:
    return sfn.start_execution(
        ARN, TASK, json.dumps({"task_sid": TASK, "call_sid": "CA1", "start_stage": stage})
    ).arn


def test_the_real_definition_walks_owner_team_everyone_then_fallback_on_the_virtual_clock() -> None:
    clock = Scheduler(start=1000.0)
    steps = Steps(clock, {"owner": 20, "team": 40, "everyone": 90})
    sfn = machines(clock, steps)
    arn = start(sfn, "owner")
    clock.run()
    timeline = [(when - 1000.0, payload["stage"]) for when, _, payload in steps.calls]
    assert timeline == [(0, "owner"), (20, "team"), (60, "everyone"), (150, "fallback")]
    assert steps.calls[-1][1] == FALLBACK
    assert sfn.executions[arn].status == "SUCCEEDED"
    assert sfn.executions[arn].state == "FallbackOffered"


def test_a_step_reporting_the_task_ended_succeeds_at_task_ended() -> None:
    clock = Scheduler(start=0.0)
    steps = Steps(clock, {"team": 40})
    sfn = machines(clock, steps)
    arn = start(sfn, "team")
    clock.run(until=10)
    steps.ended = True
    clock.run()
    assert [p["stage"] for _, _, p in steps.calls] == ["team", "everyone"]
    assert sfn.executions[arn].state == "TaskEnded"
    assert sfn.executions[arn].status == "SUCCEEDED"


def test_a_stopped_execution_never_runs_its_next_state() -> None:
    clock = Scheduler(start=0.0)
    steps = Steps(clock, {"owner": 20})
    sfn = machines(clock, steps)
    arn = start(sfn, "owner")
    clock.run(until=5)
    sfn.stop_execution(arn, "TaskEnded", "reservation.accepted")
    clock.run()
    assert len(steps.calls) == 1
    assert sfn.executions[arn].status == "ABORTED"


def test_a_task_error_named_in_retry_is_retried_with_backoff_then_fails_the_execution() -> None:
    clock = Scheduler(start=0.0)
    steps = Steps(clock, {"owner": 20}, failures=5)
    sfn = machines(clock, steps)
    arn = start(sfn, "owner")
    clock.run()
    # MaxAttempts 2, IntervalSeconds 1, BackoffRate 2: attempts at 0, 1 and 3 seconds.
    assert [when for when, _, _ in steps.calls] == [0.0, 1.0, 3.0]
    assert sfn.executions[arn].status == "FAILED"
    assert sfn.executions[arn].error == "StorageUnavailable"


def test_a_retried_step_that_then_succeeds_goes_on() -> None:
    clock = Scheduler(start=0.0)
    steps = Steps(clock, {"everyone": 90}, failures=1)
    sfn = machines(clock, steps)
    arn = start(sfn, "everyone")
    clock.run()
    assert sfn.executions[arn].state == "FallbackOffered"


def test_unsupported_language_features_are_refused_not_skipped() -> None:
    with pytest.raises(DefinitionNotSupported):
        validate({"StartAt": "M", "States": {"M": {"Type": "Map", "End": True}}})
    with pytest.raises(DefinitionNotSupported):
        validate(
            {
                "StartAt": "C",
                "States": {
                    "C": {
                        "Type": "Choice",
                        "Choices": [{"Variable": "$.a", "StringMatches": "x*", "Next": "S"}],
                    },
                    "S": {"Type": "Succeed"},
                },
            }
        )


@pytest.fixture
def sfn_client(aws: Any) -> Any:
    return boto3.session.Session(region_name="ap-northeast-1")


def test_the_app_adapter_starts_once_and_stops_through_botocore(sfn_client: Any) -> None:
    clock = Scheduler(start=0.0)
    sfn = machines(clock, Steps(clock, {"owner": 20}))
    sfn.install(sfn_client)
    timelines = EscalationTimelines(sfn_client.client("stepfunctions"), ARN)
    assert timelines.start(TASK, {"task_sid": TASK, "call_sid": "CA1", "start_stage": "owner"})
    assert not timelines.start(TASK, {"task_sid": TASK, "call_sid": "CA1", "start_stage": "owner"})
    clock.run(until=5)
    assert timelines.stop(TASK, "task.canceled")
    assert not timelines.stop(TASK, "task.canceled")
    assert not timelines.stop("WT" + "b" * 32, "task.canceled")


def test_an_outage_window_refuses_calls_as_a_service_error(sfn_client: Any) -> None:
    clock = Scheduler(start=0.0)
    sfn = machines(clock, Steps(clock, {}), down=lambda now: 10 <= now < 20)
    sfn.install(sfn_client)
    timelines = EscalationTimelines(sfn_client.client("stepfunctions"), ARN)
    clock.at(15, lambda: None)  # the fast clock moves from one action to the next
    clock.at(25, lambda: None)
    clock.run(until=15)
    with pytest.raises(TimelineUnavailable):
        timelines.start(TASK, {"task_sid": TASK, "call_sid": "CA1", "start_stage": "owner"})
    assert sfn.counters["Refused:StartExecution"] == 1
    clock.run(until=25)
    assert timelines.start(TASK, {"task_sid": TASK, "call_sid": "CA1", "start_stage": "owner"})
