"""`make run`'s moto server answers the escalation steps' Lambda invokes as Lambda does.

The state machine is the real one (infra/escalation.asl.json) on moto with executions running;
the steps behind the functions are recording fakes here, so each Lambda behaviour the state
machine relies on can be asserted alone (tests/integration/test_local_stack.py runs the real
steps on the real server).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ops.escalation import FUNCTIONS, LocalSteps, create_local_state_machine, deployed_name
from ops.moto_server import route_lambda_invokes
from tests.conftest import make_settings

TASK_SID = "WT" + "a" * 32
CALL_SID = "CA" + "b" * 32
ENTER_STAGE = deployed_name("test", FUNCTIONS["EscalationEnterStageArn"])
FALLBACK = deployed_name("test", FUNCTIONS["EscalationFallbackArn"])


class TelephonyUnavailable(Exception):
    """Named as the app's own error, which the state machine's Retry lists."""


class RecordingStep:
    """A step that fails `failures` times with TelephonyUnavailable, then reports the task
    ended (so the execution ends at once); remembers every event and context it got."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.calls: list[tuple[dict[str, Any], Any]] = []

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.calls.append((event, context))
        if len(self.calls) <= self.failures:
            raise TelephonyUnavailable("twilio answered 503")
        return {"live": False, "stage": event["stage"], "wait_seconds": 0, "reason": "ended"}


@pytest.fixture
def aws() -> Iterator[Any]:
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield boto3.session.Session(region_name="ap-northeast-1")


@pytest.fixture
def enter_stage() -> RecordingStep:
    return RecordingStep(failures=1)


@pytest.fixture
def routed(enter_stage: RecordingStep) -> Iterator[LocalSteps]:
    """moto's Lambda answering the steps' functions, as `python -m ops.moto_server` has it."""
    steps = LocalSteps({ENTER_STAGE: enter_stage, FALLBACK: RecordingStep()}, "ap-northeast-1")
    restore = route_lambda_invokes(steps)
    try:
        yield steps
    finally:
        restore()


def _finished(aws: Any, execution_arn: str) -> dict[str, Any]:
    client = aws.client("stepfunctions")
    deadline = time.monotonic() + 15
    while True:
        description: dict[str, Any] = client.describe_execution(executionArn=execution_arn)
        if description["status"] != "RUNNING" or time.monotonic() > deadline:
            return description
        time.sleep(0.05)


def test_a_failing_step_is_retried_by_its_error_type_then_its_result_routes_the_timeline(
    aws: Any, routed: LocalSteps, enter_stage: RecordingStep
) -> None:
    sfn = aws.client("stepfunctions")
    machine = create_local_state_machine(aws, make_settings())
    started = sfn.start_execution(
        stateMachineArn=machine,
        name=TASK_SID,
        input=json.dumps({"task_sid": TASK_SID, "call_sid": CALL_SID, "start_stage": "owner"}),
    )

    assert _finished(aws, started["executionArn"])["status"] == "SUCCEEDED"
    events = sfn.get_execution_history(executionArn=started["executionArn"])["events"]
    failed = [
        e["lambdaFunctionFailedEventDetails"] for e in events if e["type"] == "LambdaFunctionFailed"
    ]
    assert [f["error"] for f in failed] == ["TelephonyUnavailable"]
    cause = json.loads(failed[0]["cause"])
    assert cause["errorType"] == "TelephonyUnavailable"
    assert cause["errorMessage"] == "twilio answered 503"
    assert cause["stackTrace"]
    succeeded = [e for e in events if e["type"] == "LambdaFunctionSucceeded"]
    assert (
        json.loads(succeeded[0]["lambdaFunctionSucceededEventDetails"]["output"])["live"] is False
    )
    entered = [
        e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e
    ]
    assert entered == ["StartStage", "Owner", "Route", "TaskEnded"]
    # The step got the state's Parameters, and a Lambda context naming its function.
    assert [event for event, _ in enter_stage.calls] == [
        {"task_sid": TASK_SID, "call_sid": CALL_SID, "stage": "owner"}
    ] * 2
    assert enter_stage.calls[0][1].function_name == ENTER_STAGE
    assert routed.invocations[ENTER_STAGE] == 2


def test_invoke_by_name_or_qualified_arn_reaches_the_step_and_other_functions_stay_moto_s(
    aws: Any, routed: LocalSteps, enter_stage: RecordingStep
) -> None:
    client = aws.client("lambda")
    arn = f"arn:aws:lambda:ap-northeast-1:123456789012:function:{ENTER_STAGE}"
    event = {"task_sid": TASK_SID, "call_sid": CALL_SID, "stage": "team"}

    first = client.invoke(FunctionName=ENTER_STAGE, Payload=json.dumps(event))
    assert first["FunctionError"] == "Unhandled"
    assert json.loads(first["Payload"].read())["errorType"] == "TelephonyUnavailable"
    second = client.invoke(FunctionName=arn + ":$LATEST", Payload=json.dumps(event))
    assert "FunctionError" not in second
    assert json.loads(second["Payload"].read())["stage"] == "team"

    # A function that is not one of the steps is moto's: one that does not exist is refused.
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.invoke(FunctionName=deployed_name("test", "elsewhere"), Payload=b"{}")
    assert routed.function(deployed_name("prod", "escalation_enter_stage")) is None
