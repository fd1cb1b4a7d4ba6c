"""Starting and stopping a call's escalation timeline in Step Functions.

One execution per TaskRouter task, named after the task sid: Step Functions refuses a second
execution with the same name on the same state machine (a Standard execution name stays taken
for 90 days), so a retried or duplicated `task.created` cannot start two timelines.
https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.platform.errors import ContactCenterError


class TimelineUnavailable(ContactCenterError):
    """Step Functions failed; the workflow's backstop timeouts still widen the call."""


class EscalationTimelines:
    def __init__(self, client: Any, state_machine_arn: str) -> None:
        self._client = client
        self._state_machine_arn = state_machine_arn

    def execution_arn(self, task_sid: str) -> str:
        # arn:aws:states:<region>:<account>:stateMachine:<name> -> ...:execution:<name>:<task>
        return self._state_machine_arn.replace(":stateMachine:", ":execution:", 1) + ":" + task_sid

    def start(self, task_sid: str, execution_input: dict[str, Any]) -> bool:
        """Start the task's timeline; False if it was already started (a repeated event)."""
        try:
            self._client.start_execution(
                stateMachineArn=self._state_machine_arn,
                name=task_sid,
                input=json.dumps(execution_input, separators=(",", ":")),
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ExecutionAlreadyExists":
                return False
            raise TimelineUnavailable(f"start timeline {task_sid} failed: {exc}") from exc
        except BotoCoreError as exc:
            raise TimelineUnavailable(f"start timeline {task_sid} failed: {exc}") from exc
        return True

    def stop(self, task_sid: str, cause: str) -> bool:
        """Stop the task's timeline; False if there was none running (never started or over)."""
        try:
            description = self._client.describe_execution(executionArn=self.execution_arn(task_sid))
            if description.get("status") != "RUNNING":
                return False
            self._client.stop_execution(
                executionArn=self.execution_arn(task_sid), error="TaskEnded", cause=cause[:200]
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ExecutionDoesNotExist":
                return False
            raise TimelineUnavailable(f"stop timeline {task_sid} failed: {exc}") from exc
        except BotoCoreError as exc:
            raise TimelineUnavailable(f"stop timeline {task_sid} failed: {exc}") from exc
        return True
