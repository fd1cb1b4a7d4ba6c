"""The escalation timeline end to end: TaskRouter events -> Step Functions (moto, really
executing) -> our Lambda steps -> TaskRouter REST calls, asserted in order."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import TwilioPoster
from tests.data import ACCOUNT_SID, put_presence, sid
from tests.fakes.taskrouter import FakeTaskRouter
from tests.fakes.twilio_http import RecordingHttpClient
from tests.integration.escalation.harness import (
    StepInvocations,
    executions,
    history,
    wait_for_execution,
    wait_until_waiting_in_stage,
)

EVENTS = "/twilio/taskrouter/events"
TASK = sid("WT", 7)
CALL = sid("CA", 7)


def attributes(stage: str = "owner") -> dict[str, Any]:
    return {
        "type": "inbound_call",
        "call_sid": CALL,
        "caller": "+81312345678",
        "customer_id": "C1",
        "customer_name": "Sakura Foods",
        "owner_agent_id": "owner",
        "team": "tokyo",
        "stage": stage,
        "initial_stage": stage,
    }


def event(kind: str, n: int, attrs: dict[str, Any] | None = None) -> dict[str, str]:
    return {
        "Sid": sid("EV", n),
        "AccountSid": ACCOUNT_SID,
        "WorkspaceSid": "WS" + "b" * 32,
        "EventType": kind,
        "ResourceType": "task" if kind.startswith("task") else "reservation",
        "ResourceSid": TASK,
        "TaskSid": TASK,
        "Timestamp": "1764000000",
        "TaskAttributes": json.dumps(attrs or attributes()),
    }


@pytest.fixture
def taskrouter(twilio_http: RecordingHttpClient) -> FakeTaskRouter:
    return FakeTaskRouter(twilio_http)


@pytest.fixture
def team_online(resources: Any, settings: Any) -> None:
    put_presence(resources, settings, "owner", "available")
    put_presence(resources, settings, "mate", "available")


def execution_arn(state_machine_arn: str) -> str:
    return state_machine_arn.replace(":stateMachine:", ":execution:") + ":" + TASK


def stages_written(taskrouter: FakeTaskRouter) -> list[str]:
    return [w["stage"] for w in taskrouter.writes_to(TASK)]


def task_requests(http: RecordingHttpClient) -> list[tuple[str, str]]:
    return [(r.method, r.path.rsplit("/", 1)[-1]) for r in http.requests if TASK in r.url]


def test_owner_answers_at_once_nothing_is_widened(
    twilio: TwilioPoster,
    taskrouter: FakeTaskRouter,
    team_online: None,
    aws: Any,
    state_machine_arn: str,
    steps: StepInvocations,
    twilio_http: RecordingHttpClient,
) -> None:
    taskrouter.add(TASK, attributes("owner"))
    assert twilio.post(EVENTS, event("task.created", 1)).status_code == 200
    wait_until_waiting_in_stage(aws, execution_arn(state_machine_arn))
    taskrouter.set_status(TASK, "assigned")
    assert twilio.post(EVENTS, event("reservation.accepted", 2)).status_code == 200
    result = wait_for_execution(aws, execution_arn(state_machine_arn))
    assert result["status"] == "ABORTED", "the timeline is stopped when the owner accepts"
    assert stages_written(taskrouter) == []
    assert all(method == "GET" for method, _ in task_requests(twilio_http))
    assert taskrouter.redirects == []


def test_owner_away_rings_team_first_then_stops_on_accept(
    twilio: TwilioPoster,
    taskrouter: FakeTaskRouter,
    resources: Any,
    settings: Any,
    aws: Any,
    state_machine_arn: str,
    steps: StepInvocations,
    twilio_http: RecordingHttpClient,
) -> None:
    put_presence(resources, settings, "owner", "away")
    put_presence(resources, settings, "mate", "available")
    taskrouter.add(TASK, attributes("owner"))
    twilio.post(EVENTS, event("task.created", 1))
    steps_deadline_wait(steps, 1)
    assert stages_written(taskrouter) == ["team"], "the owner stage is skipped at once"
    request = next(r for r in twilio_http.requests if r.method == "POST" and TASK in r.url)
    assert request.headers.get("If-Match") == "0", "written only if the task did not move on"
    taskrouter.set_status(TASK, "assigned")
    twilio.post(EVENTS, event("reservation.accepted", 2))
    assert wait_for_execution(aws, execution_arn(state_machine_arn))["status"] == "ABORTED"
    assert stages_written(taskrouter) == ["team"]
    assert task_requests(twilio_http) == [("GET", TASK), ("POST", TASK)]


def test_nobody_answers_the_caller_is_offered_the_fallback(
    twilio: TwilioPoster,
    taskrouter: FakeTaskRouter,
    team_online: None,
    aws: Any,
    state_machine_arn: str,
    steps: StepInvocations,
    twilio_http: RecordingHttpClient,
    settings: Any,
) -> None:
    taskrouter.add(TASK, attributes("owner"))
    twilio.post(EVENTS, event("task.created", 1))
    result = wait_for_execution(aws, execution_arn(state_machine_arn))
    assert result["status"] == "SUCCEEDED"
    assert stages_written(taskrouter) == ["team", "everyone", "fallback"]
    assert all(w.status == "pending" for w in taskrouter.writes)
    assert taskrouter.redirects == [(CALL, settings.url("/twilio/voice/fallback"))]
    assert history(aws, execution_arn(state_machine_arn)) == [
        "StartStage",
        "Owner",
        "Route",
        "WaitInStage",
        "NextStage",
        "Team",
        "Route",
        "WaitInStage",
        "NextStage",
        "Everyone",
        "Route",
        "WaitInStage",
        "NextStage",
        "Fallback",
        "Route",
        "FallbackOffered",
    ]
    # In order: read, (owner: nothing to write), read+write team, everyone, fallback; redirect.
    methods = [(r.method, "Calls" if "/Calls/" in r.url else "Task") for r in twilio_http.requests]
    assert methods == [
        ("GET", "Task"),
        ("GET", "Task"),
        ("POST", "Task"),
        ("GET", "Task"),
        ("POST", "Task"),
        ("GET", "Task"),
        ("POST", "Task"),
        ("POST", "Calls"),
    ]


def test_caller_hangs_up_during_team_stage_no_further_updates(
    twilio: TwilioPoster,
    taskrouter: FakeTaskRouter,
    resources: Any,
    settings: Any,
    aws: Any,
    state_machine_arn: str,
    steps: StepInvocations,
) -> None:
    put_presence(resources, settings, "owner", "away")
    put_presence(resources, settings, "mate", "available")
    taskrouter.add(TASK, attributes("owner"))
    twilio.post(EVENTS, event("task.created", 1))
    steps_deadline_wait(steps, 1)
    taskrouter.set_status(TASK, "canceled")
    twilio.post(EVENTS, event("task.canceled", 2))
    assert wait_for_execution(aws, execution_arn(state_machine_arn))["status"] == "ABORTED"
    assert stages_written(taskrouter) == ["team"]
    assert taskrouter.redirects == []


def test_a_step_after_the_task_ended_is_a_no_op_even_if_the_stop_was_lost(
    twilio: TwilioPoster,
    taskrouter: FakeTaskRouter,
    team_online: None,
    aws: Any,
    state_machine_arn: str,
    steps: StepInvocations,
) -> None:
    taskrouter.add(TASK, attributes("owner"))
    twilio.post(EVENTS, event("task.created", 1))
    steps_deadline_wait(steps, 1)
    # The hang-up happens but its event never reaches us: the next step must see it itself.
    taskrouter.set_status(TASK, "canceled")
    result = wait_for_execution(aws, execution_arn(state_machine_arn))
    assert result["status"] == "SUCCEEDED"
    assert history(aws, execution_arn(state_machine_arn))[-1] == "TaskEnded"
    assert stages_written(taskrouter) == []
    assert taskrouter.redirects == []


def test_duplicate_task_created_starts_one_timeline(
    twilio: TwilioPoster,
    taskrouter: FakeTaskRouter,
    team_online: None,
    aws: Any,
    state_machine_arn: str,
    steps: StepInvocations,
) -> None:
    taskrouter.add(TASK, attributes("owner"))
    for n in (1, 2, 3):
        assert twilio.post(EVENTS, event("task.created", n)).status_code == 200
    assert len(executions(aws, state_machine_arn)) == 1
    taskrouter.set_status(TASK, "canceled")
    twilio.post(EVENTS, event("task.canceled", 4))
    wait_for_execution(aws, execution_arn(state_machine_arn))
    # Late duplicate after the timeline ended: still no second execution.
    assert twilio.post(EVENTS, event("task.created", 5)).status_code == 200
    assert len(executions(aws, state_machine_arn)) == 1


def test_a_lost_task_created_is_recovered_by_the_next_event_of_the_waiting_task(
    twilio: TwilioPoster,
    taskrouter: FakeTaskRouter,
    team_online: None,
    aws: Any,
    state_machine_arn: str,
    steps: StepInvocations,
) -> None:
    """TaskRouter documents no retry of event callbacks (taskrouter/api/event/reference): if
    task.created never arrives, the task's next event while it waits starts its timeline, once."""
    taskrouter.add(TASK, attributes("owner"))
    waiting = {**event("workflow.timeout", 1), "TaskAssignmentStatus": "pending"}
    assert twilio.post(EVENTS, waiting).status_code == 200
    assert len(executions(aws, state_machine_arn)) == 1
    again = {**event("reservation.timeout", 2), "TaskAssignmentStatus": "pending"}
    assert twilio.post(EVENTS, again).status_code == 200
    assert len(executions(aws, state_machine_arn)) == 1
    # An event of a task nobody waits on any more starts nothing.
    taskrouter.add(sid("WT", 9), attributes("owner"))
    over = {
        **event("reservation.timeout", 3),
        "TaskSid": sid("WT", 9),
        "ResourceSid": sid("WT", 9),
        "TaskAssignmentStatus": "canceled",
    }
    assert twilio.post(EVENTS, over).status_code == 200
    assert len(executions(aws, state_machine_arn)) == 1


def test_step_functions_down_the_call_still_widens_by_the_backstop(
    twilio: TwilioPoster,
    taskrouter: FakeTaskRouter,
    container: Any,
    aws: Any,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    from tests.conftest import make_settings

    broken = "arn:aws:states:ap-northeast-1:123456789012:stateMachine:does-not-exist"
    container.settings = make_settings(escalation_state_machine_arn=broken)
    container.__dict__.pop("escalation_timelines", None)
    taskrouter.add(TASK, attributes("owner"))
    response = twilio.post(EVENTS, event("task.created", 1))
    assert response.status_code == 200, "TaskRouter is not made to retry for our timeline"
    assert '"EscalationTimelineFailed"' in capsys.readouterr().out
    assert any(
        getattr(r, "task_sid", None) == TASK for r in caplog.records if r.levelname == "ERROR"
    )
    from chalicelib.routing.workflow import TeamQueues, workflow_definition

    teams = TeamQueues.of({"tokyo": "WQ" + "c" * 32})
    filters = workflow_definition(container.settings, teams)["task_routing"]["filters"]
    [owner_filter] = [f for f in filters if f["filter_friendly_name"] == "owner tokyo"]
    backstop = [t.get("timeout") for t in owner_filter["targets"]]
    escalation = container.settings.escalation
    assert backstop[0] > escalation.escalation_owner_seconds
    # Target timeouts count from the task's age (taskrouter/task-evaluation): the team's turn
    # ends when the task is as old as both backstops together.
    assert backstop[0] + backstop[1] > escalation.escalation_owner_seconds + (
        escalation.escalation_team_seconds
    )


def test_a_failing_step_fails_the_execution_not_the_call(
    twilio: TwilioPoster,
    taskrouter: FakeTaskRouter,
    team_online: None,
    aws: Any,
    state_machine_arn: str,
    steps: StepInvocations,
) -> None:
    from chalicelib.platform.errors import TelephonyUnavailable

    steps.fail_with = TelephonyUnavailable("twilio down")
    taskrouter.add(TASK, attributes("owner"))
    twilio.post(EVENTS, event("task.created", 1))
    result = wait_for_execution(aws, execution_arn(state_machine_arn))
    assert result["status"] == "FAILED"
    assert len(steps.calls) == 3, "retried twice, then left to the workflow backstop"
    assert stages_written(taskrouter) == []


def steps_deadline_wait(steps: StepInvocations, count: int, timeout: float = 10.0) -> None:
    """Wait until `count` steps have run (the first one runs at once)."""
    import time

    deadline = time.monotonic() + timeout
    while len(steps.calls) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)  # let the step's REST calls finish
    assert len(steps.calls) >= count
