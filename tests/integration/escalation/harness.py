"""Running the real escalation state machine on moto, with its Lambda steps run in-process.

moto executes state machines (`execute_state_machine`), but its Lambda only runs handler code
in Docker. The state machine's Lambda invocations are routed, at moto's Lambda backend, to our
step handlers (the same functions Chalice deploys), by function name.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from chalicelib.api.escalation import (
    ENTER_STAGE_FUNCTION,
    FALLBACK_FUNCTION,
    enter_stage,
    offer_fallback,
)
from tests.conftest import make_settings

HANDLERS = {ENTER_STAGE_FUNCTION: enter_stage, FALLBACK_FUNCTION: offer_fallback}
# Every stage lasts a second: Wait states are real time on moto.
FAST_TIMELINE = {
    "escalation_owner_seconds": 1,
    "escalation_team_seconds": 1,
    "escalation_everyone_seconds": 1,
    "agent_ring_seconds": 5,
}


class StepInvocations:
    """Routes moto Lambda invokes to our handlers and remembers which ran, with what."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fail_with: Exception | None = None

    def invoke(self, function_name: str, body: Any, response_headers: dict[str, str]) -> bytes:
        name = function_name.rsplit(":", 1)[-1]
        handler = next(h for suffix, h in HANDLERS.items() if name.endswith(suffix))
        event = json.loads(body) if isinstance(body, str | bytes) and body else (body or {})
        self.calls.append((name, event))
        try:
            if self.fail_with is not None:
                raise self.fail_with
            result = handler(event, None)
        except Exception as exc:  # noqa: BLE001 - reported the way Lambda reports it
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({"errorType": type(exc).__name__, "errorMessage": str(exc)}).encode()
        return json.dumps(result).encode()


@pytest.fixture
def steps(monkeypatch: pytest.MonkeyPatch) -> StepInvocations:
    from moto.awslambda.models import LambdaBackend

    router = StepInvocations()

    def invoke(
        self: Any,
        function_name: str,
        qualifier: str | None,
        body: Any,
        headers: Any,
        response_headers: dict[str, str],
    ) -> bytes:
        return router.invoke(function_name, body, response_headers)

    monkeypatch.setattr(LambdaBackend, "invoke", invoke)
    return router


@pytest.fixture
def aws() -> Iterator[Any]:
    """moto with state machines really executing."""
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield boto3.session.Session(region_name="ap-northeast-1")


@pytest.fixture
def state_machine_arn(aws: Any) -> str:
    from ops.escalation import create_local_state_machine

    return create_local_state_machine(aws, make_settings())


@pytest.fixture
def settings(state_machine_arn: str) -> Any:
    return make_settings(escalation_state_machine_arn=state_machine_arn, **FAST_TIMELINE)


def wait_for_execution(aws: Any, execution_arn: str, timeout: float = 15.0) -> dict[str, Any]:
    client = aws.client("stepfunctions")
    deadline = time.monotonic() + timeout
    while True:
        description: dict[str, Any] = client.describe_execution(executionArn=execution_arn)
        if description["status"] != "RUNNING" or time.monotonic() > deadline:
            return description
        time.sleep(0.05)


def wait_until_waiting_in_stage(aws: Any, execution_arn: str, timeout: float = 5.0) -> None:
    """Wait until the execution has run its first stage's step and waits out the stage.

    moto cannot stop an execution cleanly while a Task state is mid-invocation: the stop races
    the Lambda result on moto's worker thread and the execution ends FAILED ("'dict' object has
    no attribute 'region'") instead of ABORTED. In real use an agent's accept comes seconds
    after the task is created, long after the step ran, so tests wait for the same.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if "WaitInStage" in history(aws, execution_arn):
            return
        time.sleep(0.02)
    raise AssertionError(f"{execution_arn} never reached its first wait")


def executions(aws: Any, state_machine_arn: str) -> list[dict[str, Any]]:
    client = aws.client("stepfunctions")
    result: list[dict[str, Any]] = client.list_executions(stateMachineArn=state_machine_arn)[
        "executions"
    ]
    return result


def history(aws: Any, execution_arn: str) -> list[str]:
    """The states entered, in order, as the execution history shows them."""
    events = aws.client("stepfunctions").get_execution_history(executionArn=execution_arn)["events"]
    return [
        e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e
    ]
