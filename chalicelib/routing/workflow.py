"""The TaskRouter workflow, generated from code so it is reviewed and versioned with the app.

Each escalation stage is one filter selected by the task's `stage` attribute; updating that
attribute (Step Functions does, on its timeline) makes TaskRouter re-evaluate the task against
the workflow. Inside each filter the targets widen by themselves on longer timeouts: that is the
backstop that keeps a caller moving if Step Functions is down. A target's timeout counts from
the task's age, not from the moment it entered the target: target k of a filter ends when the
task is as old as the timeouts of targets 0..k together
(https://www.twilio.com/docs/taskrouter/task-evaluation).
https://www.twilio.com/docs/taskrouter/workflow-configuration

Skipping at once: `skip_if: workers.available == 0` counts the workers of the target's
TaskQueue, not the workers its expression selects ("These variables are scoped to the Workers in
the TaskQueue associated with the currently processing routing step",
https://www.twilio.com/docs/taskrouter/worker-presence). So a stage that must skip when its
people are away gets a queue of exactly those people:
- the team stage targets the team's own TaskQueue (`team == "<team>"`, created by
  `python -m ops provision` for every team of the agents directory), with no expression;
- the owner stage targets the owner by Known Agent Routing (`known_worker_friendly_name`: the
  worker's friendly name is the agent id,
  https://www.twilio.com/docs/taskrouter/workflow-configuration/known-agent-routing) on the
  everyone queue (the known worker must be in the target's queue, error 40152), skipped with
  `1==1`: skip_if is evaluated only when no reservation is created at once as the task enters
  the step (worker-presence), so `1==1` skips exactly when the owner cannot be offered the call
  now (away, on a break, or on another call).
A team with no TaskQueue yet (added to the directory after the last provision) has no filter of
its own: its callers go from the owner to everyone. `python -m ops doctor` says so; provision
again to give it its queue and filters.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from hashlib import md5
from typing import Any

from chalicelib.platform.settings import Settings
from chalicelib.routing.plan import Stage

OWNER_TARGET = "task.owner_agent_id == worker.agent_id"
TEAM_TARGET = "task.team == worker.team"
NOBODY_AVAILABLE = "workers.available == 0"
# Skip unless a reservation is created at once (worker-presence: "1==1 ... can be used to skip
# the routing step if no Workers are available that match").
NOBODY_MATCHES_NOW = "1==1"
KNOWN_OWNER = "task.owner_agent_id"  # the task attribute holding the owner's worker friendly name
EVERYONE_TARGET_WORKERS = "1==1"
# What a team name may hold: it is written inside a quoted TaskRouter expression.
TEAM_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\- ]{0,62}$")


def team_queue_name(team: str) -> str:
    """The TaskQueue friendly name of a team (TaskQueue names are at most 64 characters)."""
    return f"team {team}"


def team_target_workers(team: str) -> str:
    """The TaskQueue's target workers: exactly the team's workers (worker attribute `team`)."""
    return f'team == "{team}"'


def placeholder_queue_sid(team: str) -> str:
    """A stable stand-in sid for a team's queue where no Twilio account assigns one (the local
    stack, the rehearsal, the reviewed infra/taskrouter-workflow.json)."""
    return "WQ" + md5(f"team:{team}".encode()).hexdigest()  # noqa: S324 - an id, not security


def valid_team(team: str) -> bool:
    return bool(TEAM_NAME.match(team))


@dataclass(frozen=True)
class TeamQueues:
    """Team -> TaskQueue sid, as provisioned. Teams that cannot be quoted safely are refused."""

    sids: tuple[tuple[str, str], ...] = field(default=())

    @classmethod
    def of(cls, sids: Mapping[str, str]) -> TeamQueues:
        bad = sorted(team for team in sids if not valid_team(team))
        if bad:
            raise ValueError(f"team names TaskRouter expressions cannot hold: {bad}")
        return cls(tuple(sorted(sids.items())))

    @classmethod
    def placeholders(cls, teams: Iterable[str]) -> TeamQueues:
        return cls.of({team: placeholder_queue_sid(team) for team in teams if team})

    def teams(self) -> list[str]:
        return [team for team, _ in self.sids]

    def queue_expressions(self) -> dict[str, str]:
        """Queue sid -> target workers expression, for checks and for the stand-in."""
        return {sid: team_target_workers(team) for team, sid in self.sids}


def _owner_target(settings: Settings) -> dict[str, Any]:
    return {
        "queue": settings.routing.queue_sid_everyone,
        "known_worker_friendly_name": KNOWN_OWNER,
        "skip_if": NOBODY_MATCHES_NOW,
        "timeout": settings.routing.backstop_owner_seconds,
    }


def _team_target(queue_sid: str, settings: Settings) -> dict[str, Any]:
    # No expression: the queue holds exactly the team, so workers.available counts the team.
    return {
        "queue": queue_sid,
        "skip_if": NOBODY_AVAILABLE,
        "timeout": settings.routing.backstop_team_seconds,
    }


def _stage(stage: Stage, team: str | None = None) -> str:
    expression = f"stage == '{stage.value}'"
    return expression if team is None else f"{expression} AND team == '{team}'"


def workflow_definition(settings: Settings, teams: TeamQueues | None = None) -> dict[str, Any]:
    teams = teams or TeamQueues()

    def everyone() -> dict[str, Any]:
        # A new dict for each target: one shared object would tie the filters together.
        return {"queue": settings.routing.queue_sid_everyone}

    per_team_owner = [
        {
            "filter_friendly_name": f"{Stage.OWNER.value} {team}",
            "expression": _stage(Stage.OWNER, team),
            "targets": [_owner_target(settings), _team_target(sid, settings), everyone()],
        }
        for team, sid in teams.sids
    ]
    per_team = [
        {
            "filter_friendly_name": f"{Stage.TEAM.value} {team}",
            "expression": _stage(Stage.TEAM, team),
            "targets": [_team_target(sid, settings), everyone()],
        }
        for team, sid in teams.sids
    ]
    return {
        "task_routing": {
            "filters": [
                # First: a transfer task carries a `stage` too (for the conversation record).
                *transfer_filters(settings),
                *per_team_owner,
                {
                    # A customer whose team has no queue: the owner, then everyone.
                    "filter_friendly_name": Stage.OWNER.value,
                    "expression": _stage(Stage.OWNER),
                    "targets": [_owner_target(settings), everyone()],
                },
                *per_team,
                {
                    "filter_friendly_name": Stage.TEAM.value,
                    "expression": _stage(Stage.TEAM),
                    "targets": [everyone()],
                },
                {
                    "filter_friendly_name": Stage.EVERYONE.value,
                    "expression": _stage(Stage.EVERYONE),
                    "targets": [everyone()],
                },
                *follow_up_filters(settings),
            ],
            # Anything unexpected (a degraded plan, a stage we do not know) goes to everyone.
            "default_filter": everyone(),
        }
    }


def workflow_json(settings: Settings, teams: TeamQueues | None = None) -> str:
    return json.dumps(workflow_definition(settings, teams), indent=2, sort_keys=True) + "\n"


def queue_expressions(settings: Settings, teams: TeamQueues) -> dict[str, str]:
    """Every queue the workflow names -> its target workers expression."""
    return {
        settings.routing.queue_sid_everyone: EVERYONE_TARGET_WORKERS,
        **teams.queue_expressions(),
    }


def skip_problems(definition: Mapping[str, Any], queues: Mapping[str, str]) -> list[str]:
    """Targets whose skip_if cannot mean "nobody here can take the call".

    `workers.*` in skip_if counts the workers of the target's queue (worker-presence), so a
    target that reads it must not narrow the queue with an expression or a known worker; and
    every queue a target names must be one we know (with its target workers expression).
    """
    problems: list[str] = []
    routing = definition.get("task_routing", {})
    for workflow_filter in routing.get("filters", []):
        name = workflow_filter.get("filter_friendly_name", "?")
        for index, target in enumerate(workflow_filter.get("targets", [])):
            where = f"filter {name!r} target {index}"
            if target.get("queue") not in queues:
                problems.append(f"{where}: queue {target.get('queue')!r} is not provisioned")
            skip_if = str(target.get("skip_if", ""))
            if "workers." not in skip_if:
                continue
            expression = str(target.get("expression", "")).strip()
            if expression and expression != EVERYONE_TARGET_WORKERS:
                problems.append(
                    f"{where}: skip_if {skip_if!r} counts queue "
                    f"{queues.get(target.get('queue'), '?')!r}, not {expression!r}"
                )
            if "known_worker_sid" in target or "known_worker_friendly_name" in target:
                problems.append(
                    f"{where}: skip_if {skip_if!r} counts the queue, not the known worker"
                )
    return problems


# --- follow-ups (issue 4) ---
FOLLOW_UP = "type IN ['voicemail', 'callback']"


def follow_up_filters(settings: Settings) -> list[dict[str, Any]]:
    """Voicemails and callbacks carry no `stage` (no timeline), so the stage filters pass them by.

    Not urgent, so no skip_if: they wait for the owner, then the team, then anyone, and stay
    queued (followup_task_timeout_seconds) until someone takes them. One filter per kind of
    customer so an unknown caller's voicemail does not wait for an owner it does not have.
    Timeouts count from the task's age: the team's turn ends when the follow-up is
    followup_owner_seconds + followup_team_seconds old.
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
