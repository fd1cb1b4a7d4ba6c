"""The TaskRouter workflow, generated from code so it is reviewed and versioned with the app.

Each escalation stage is one filter selected by the task's `stage` attribute; updating that
attribute (Step Functions does, on its timeline) makes TaskRouter re-evaluate the task against
the workflow. Inside each filter the targets widen by themselves on longer timeouts: that is the
backstop that keeps a caller moving if Step Functions is down.
https://www.twilio.com/docs/taskrouter/workflow-configuration
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.config import Settings
from chalicelib.routing import Stage

OWNER_TARGET = "task.owner_agent_id == worker.agent_id"
TEAM_TARGET = "task.team == worker.team"
NOBODY_AVAILABLE = "workers.available == 0"


def _target(queue_sid: str, expression: str | None, timeout: int | None) -> dict[str, Any]:
    target: dict[str, Any] = {"queue": queue_sid}
    if expression:
        target["expression"] = expression
        # Skip a target at once when nobody in it can take the call.
        target["skip_if"] = NOBODY_AVAILABLE
    if timeout is not None:
        target["timeout"] = timeout
    return target


def workflow_definition(settings: Settings) -> dict[str, Any]:
    queue = settings.queue_sid_everyone
    owner = _target(queue, OWNER_TARGET, settings.backstop_owner_seconds)
    team = _target(queue, TEAM_TARGET, settings.backstop_team_seconds)
    everyone = _target(queue, None, None)
    return {
        "task_routing": {
            "filters": [
                {
                    "filter_friendly_name": Stage.OWNER.value,
                    "expression": f"stage == '{Stage.OWNER.value}'",
                    "targets": [owner, team, everyone],
                },
                {
                    "filter_friendly_name": Stage.TEAM.value,
                    "expression": f"stage == '{Stage.TEAM.value}'",
                    "targets": [team, everyone],
                },
                {
                    "filter_friendly_name": Stage.EVERYONE.value,
                    "expression": f"stage == '{Stage.EVERYONE.value}'",
                    "targets": [everyone],
                },
            ],
            # Anything unexpected (a degraded plan, a stage we do not know) goes to everyone.
            "default_filter": {"queue": queue},
        }
    }


def workflow_json(settings: Settings) -> str:
    return json.dumps(workflow_definition(settings), indent=2, sort_keys=True) + "\n"
