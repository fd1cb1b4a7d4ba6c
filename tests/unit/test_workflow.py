"""The generated TaskRouter workflow: stages that skip at once on Twilio, as Twilio counts.

`skip_if: workers.available == 0` counts the workers of the target's TaskQueue, "scoped to the
Workers in the TaskQueue associated with the currently processing routing step"
(https://www.twilio.com/docs/taskrouter/worker-presence); a target that narrows its queue with
an expression skips only when the whole queue is away. These tests hold the generated workflow
(and the committed infra/taskrouter-workflow.json) to that.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib.routing.workflow import (
    NOBODY_AVAILABLE,
    TEAM_TARGET,
    TeamQueues,
    placeholder_queue_sid,
    queue_expressions,
    skip_problems,
    team_target_workers,
    workflow_definition,
    workflow_json,
)
from ops.provision import DEMO_AGENTS, directory_teams, read_agents
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parents[2]
TEAMS = TeamQueues.of({"tokyo-sales": "WQ" + "1" * 32, "support": "WQ" + "2" * 32})


def by_name(definition: dict[str, object]) -> dict[str, dict[str, object]]:
    routing = definition["task_routing"]
    assert isinstance(routing, dict)
    return {f["filter_friendly_name"]: f for f in routing["filters"]}


def test_each_team_stage_targets_the_teams_own_queue_and_the_owner_by_name() -> None:
    settings = make_settings(backstop_owner_seconds=30, backstop_team_seconds=90)
    filters = by_name(workflow_definition(settings, TEAMS))
    everyone = settings.routing.queue_sid_everyone
    owner, team, last = filters["owner tokyo-sales"]["targets"]  # type: ignore[misc]
    assert filters["owner tokyo-sales"]["expression"] == (
        "stage == 'owner' AND team == 'tokyo-sales'"
    )
    # Known Agent Routing: the worker whose friendly name (= agent id) the task names.
    assert owner == {
        "queue": everyone,
        "known_worker_friendly_name": "task.owner_agent_id",
        "skip_if": "1==1",
        "timeout": 30,
    }
    assert team == {"queue": "WQ" + "1" * 32, "skip_if": NOBODY_AVAILABLE, "timeout": 90}
    assert last == {"queue": everyone}
    assert filters["team support"]["targets"] == [
        {"queue": "WQ" + "2" * 32, "skip_if": NOBODY_AVAILABLE, "timeout": 90},
        {"queue": everyone},
    ]


def test_a_team_without_a_queue_goes_from_the_owner_to_everyone() -> None:
    settings = make_settings()
    definition = workflow_definition(settings, TEAMS)
    names = list(by_name(definition))
    # The per-team filters come first; the generic ones catch teams provision never saw.
    assert names.index("owner tokyo-sales") < names.index("owner")
    assert names.index("team support") < names.index("team")
    everyone = {"queue": settings.routing.queue_sid_everyone}
    assert by_name(definition)["owner"]["targets"][-1] == everyone  # type: ignore[index]
    assert by_name(definition)["team"]["targets"] == [everyone]


def test_no_target_pairs_skip_if_with_an_expression_narrower_than_its_queue() -> None:
    settings = make_settings()
    teams = directory_teams(read_agents(DEMO_AGENTS))
    assert teams.teams(), "the demo directory has teams"
    queues = queue_expressions(settings, teams)
    assert skip_problems(workflow_definition(settings, teams), queues) == []
    committed = json.loads((ROOT / "infra" / "taskrouter-workflow.json").read_text())
    assert skip_problems(committed, queues) == []


def test_the_skip_check_catches_the_old_shared_queue_team_target() -> None:
    """The fault this guards against: the team target on the everyone queue, narrowed by an
    expression, with skip_if (it would skip only when the whole floor is away)."""
    settings = make_settings()
    definition = workflow_definition(settings, TEAMS)
    team_filter = by_name(definition)["team support"]
    team_filter["targets"][0] = {  # type: ignore[index]
        "queue": settings.routing.queue_sid_everyone,
        "expression": TEAM_TARGET,
        "skip_if": NOBODY_AVAILABLE,
    }
    problems = skip_problems(definition, queue_expressions(settings, TEAMS))
    assert len(problems) == 1 and "'team support' target 0" in problems[0]
    # A known worker with workers.* is as wrong: it counts the queue, not that worker.
    owner = by_name(definition)["owner support"]["targets"][0]  # type: ignore[index]
    owner["skip_if"] = NOBODY_AVAILABLE
    assert len(skip_problems(definition, queue_expressions(settings, TEAMS))) == 2


def test_a_queue_the_workflow_names_must_be_provisioned() -> None:
    settings = make_settings()
    definition = workflow_definition(settings, TEAMS)
    without_support = TeamQueues.of({"tokyo-sales": "WQ" + "1" * 32})
    problems = skip_problems(definition, queue_expressions(settings, without_support))
    assert problems and all("WQ" + "2" * 32 in p for p in problems)


def test_team_queues_select_exactly_the_team_and_refuse_names_an_expression_cannot_hold() -> None:
    assert team_target_workers("tokyo-sales") == 'team == "tokyo-sales"'
    assert placeholder_queue_sid("support").startswith("WQ")
    assert len(placeholder_queue_sid("support")) == 34
    with pytest.raises(ValueError, match="cannot hold"):
        TeamQueues.of({"o'brien": "WQ1"})


def test_workflow_in_infra_is_the_generated_one() -> None:
    from ops.stage import local_defaults

    committed = (ROOT / "infra" / "taskrouter-workflow.json").read_text()
    teams = directory_teams(read_agents(DEMO_AGENTS))
    assert committed == workflow_json(local_defaults(), teams), (
        "regenerate with `python -m ops workflow --write`"
    )
