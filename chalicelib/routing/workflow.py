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

from chalicelib.platform.settings import Settings
from chalicelib.routing.plan import Stage

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
    queue = settings.routing.queue_sid_everyone
    owner = _target(queue, OWNER_TARGET, settings.routing.backstop_owner_seconds)
    team = _target(queue, TEAM_TARGET, settings.routing.backstop_team_seconds)
    everyone = _target(queue, None, None)
    return {
        "task_routing": {
            "filters": [
                # First: a transfer task carries a `stage` too (for the conversation record).
                *transfer_filters(settings),
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
                *follow_up_filters(settings),
            ],
            # Anything unexpected (a degraded plan, a stage we do not know) goes to everyone.
            "default_filter": {"queue": queue},
        }
    }


def workflow_json(settings: Settings) -> str:
    return json.dumps(workflow_definition(settings), indent=2, sort_keys=True) + "\n"


# --- follow-ups (issue 4) ---
FOLLOW_UP = "type IN ['voicemail', 'callback']"


def follow_up_filters(settings: Settings) -> list[dict[str, Any]]:
    """Voicemails and callbacks carry no `stage` (no timeline), so the stage filters pass them by.

    Not urgent, so no skip_if: they wait for the owner, then the team, then anyone, and stay
    queued (followup_task_timeout_seconds) until someone takes them. One filter per kind of
    customer so an unknown caller's voicemail does not wait for an owner it does not have.
    """
    queue = settings.routing.queue_sid_everyone
    owner = {
        "queue": queue,
        "expression": OWNER_TARGET,
        "timeout": settings.routing.followup_owner_seconds,
    }
    team = {
        "queue": queue,
        "expression": TEAM_TARGET,
        "timeout": settings.routing.followup_team_seconds,
    }
    everyone = {"queue": queue}
    return [
        {
            "filter_friendly_name": "follow_up_owner",
            "expression": f"{FOLLOW_UP} AND owner_agent_id != ''",
            "targets": [owner, team, everyone],
        },
        {
            "filter_friendly_name": "follow_up_team",
            "expression": f"{FOLLOW_UP} AND team != ''",
            "targets": [team, everyone],
        },
    ]


# --- softphone transfers (issue 7) ---
TRANSFER_TO_AGENT_TARGET = "task.transfer_to_agent == worker.agent_id"
TRANSFER_TO_TEAM_TARGET = "task.transfer_to_team == worker.team"


def transfer_filters(settings: Settings) -> list[dict[str, Any]]:
    """A transfer reaches exactly whom the agent named: that colleague, or that team.

    One target each, with no `skip_if` and no `timeout`: a target that is skipped or times out
    moves the task on, and after a filter's last target TaskRouter moves it to the default
    filter (everyone). The transfer task's own timeout (`TRANSFER_TIMEOUT_SECONDS`) ends the
    wait instead: TaskRouter cancels it, and the agent still has the customer.
    """
    queue = settings.routing.queue_sid_everyone
    return [
        {
            "filter_friendly_name": "transfer_to_agent",
            "expression": "type == 'transfer' AND transfer_to_agent != ''",
            "targets": [{"queue": queue, "expression": TRANSFER_TO_AGENT_TARGET}],
        },
        {
            "filter_friendly_name": "transfer_to_team",
            "expression": "type == 'transfer' AND transfer_to_team != ''",
            "targets": [{"queue": queue, "expression": TRANSFER_TO_TEAM_TARGET}],
        },
    ]
