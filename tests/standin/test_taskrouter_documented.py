"""The stand-in's TaskRouter skips and times out targets as Twilio documents it.

- `skip_if` variables "are scoped to the Workers in the TaskQueue associated with the currently
  processing routing step", and skip_if "will only be evaluated if a Task cannot be assigned to
  a Worker immediately" (https://www.twilio.com/docs/taskrouter/worker-presence).
- "the queue timeout will be based on the current age of the Task": target k of a filter times
  out when the task is as old as the timeouts of targets 0..k together
  (https://www.twilio.com/docs/taskrouter/task-evaluation).
- Known Agent Routing targets the one worker a task attribute names
  (https://www.twilio.com/docs/taskrouter/workflow-configuration/known-agent-routing).

No app here: a recorder answers TaskRouter's callbacks (the assignment with no instruction, so
a reservation stays pending and shows whom TaskRouter picked).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import pytest

from ops.standin.clock import Scheduler
from ops.standin.engine import Activity, Standin, TwilioAccount
from ops.standin.population import AgentProfile, Population
from ops.standin.transport import Reply
from ops.standin.truth import GroundTruth

BASE = "https://app.example.test/api"
AC, WS, WW = "AC" + "1" * 32, "WS" + "2" * 32, "WW" + "3" * 32
WQ, WQA = "WQ" + "4" * 32, "WQ" + "a" * 32
OFFLINE, AVAILABLE = "WA" + "0" * 32, "WA" + "1" * 32
START = 1_736_900_000.0
QUEUES = {WQ: "1==1", WQA: 'team == "a"'}
AGENTS = [("sato", "a"), ("ito", "a"), ("mori", "b")]
ROUTES = frozenset({"/twilio/taskrouter/events", "/twilio/taskrouter/assignment"})


class Recorder:
    public_base_url = BASE

    def __init__(self) -> None:
        self.events: list[dict[str, str]] = []

    def post(self, url: str, form: Mapping[str, str]) -> Reply:
        if urlsplit(url).path.endswith("/events"):
            self.events.append(dict(form))
        return Reply(204, "", 1.0)

    def call_json(self, method: str, path: str, token: str, body: Any = None) -> Reply:
        return Reply(404, "", 0.0)

    def of(self, event_type: str) -> list[dict[str, str]]:
        return [e for e in self.events if e["EventType"] == event_type]


def build(*filters: dict[str, Any]) -> tuple[Standin, Recorder]:
    recorder = Recorder()
    account = TwilioAccount(
        AC,
        "token",
        WS,
        WW,
        {"task_routing": {"filters": list(filters), "default_filter": {"queue": WQ}}},
        dict(QUEUES),
        "+81300000000",
        (Activity(OFFLINE, "Offline", False), Activity(AVAILABLE, "Available", True)),
    )
    profiles = [
        AgentProfile(agent_id, team, f"WK{n:032x}", miss_rate=0.0, away_after_miss=0.0)
        for n, (agent_id, team) in enumerate(AGENTS, start=1)
    ]
    population = Population(profiles, seed=1)
    standin = Standin(
        account, recorder, Scheduler(start=START), population, GroundTruth(), ROUTES, seed=1
    )
    population.standin = standin
    for profile in profiles:
        standin.add_worker(
            profile.worker_sid,
            profile.agent_id,
            {"agent_id": profile.agent_id, "team": profile.team},
            "Offline",
        )
    return standin, recorder


def available(standin: Standin, *agent_ids: str) -> None:
    for agent_id in agent_ids:
        standin.set_activity(standin.worker_by_agent(agent_id).sid, AVAILABLE)
    standin.clock.run()


def task(standin: Standin, **attributes: Any) -> str:
    sid = standin.create_task({"stage": "owner", "team": "a", **attributes}).sid
    return sid


def run_until(standin: Standin, seconds: float) -> None:
    """Run the clock until `seconds` after the last task was created."""
    created = max((t.created for t in standin.tasks.values()), default=START)
    standin.clock.run(until=created + seconds)


def offered(standin: Standin, task_sid: str) -> list[str]:
    return [
        standin.workers[r.worker_sid].name
        for r in standin.reservations.values()
        if r.task_sid == task_sid
    ]


def when(standin: Standin, recorder: Recorder, event_type: str, task_sid: str) -> list[float]:
    """The task's age at each event of this type (its events carry their time in ms)."""
    created = standin.tasks[task_sid].created
    return [
        round(float(e["TimestampMs"]) / 1000 - created, 2)
        for e in recorder.of(event_type)
        if e.get("TaskSid") == task_sid
    ]


def narrow_filter(queue: str, expression: str | None) -> dict[str, Any]:
    first: dict[str, Any] = {"queue": queue, "skip_if": "workers.available == 0", "timeout": 30}
    if expression:
        first["expression"] = expression
    return {
        "filter_friendly_name": "owner",
        "expression": "stage == 'owner'",
        "targets": [first, {"queue": WQ}],
    }


def test_skip_if_counts_the_targets_queue_not_the_workers_its_expression_selects() -> None:
    """Team a is away, mori (team b) is available: on the shared queue the team target does
    not skip (the queue has an available worker) and holds the task for its 30 s."""
    standin, recorder = build(narrow_filter(WQ, "task.team == worker.team"))
    available(standin, "mori")
    sid = task(standin)
    run_until(standin, 29)
    assert when(standin, recorder, "workflow.skipped", sid) == []
    assert offered(standin, sid) == []
    run_until(standin, 31)
    assert when(standin, recorder, "workflow.timeout", sid) == [30.0]
    assert offered(standin, sid) == ["mori"]


def test_a_target_on_the_teams_own_queue_skips_at_once_when_the_team_is_away() -> None:
    standin, recorder = build(narrow_filter(WQA, None))
    available(standin, "mori")
    sid = task(standin)
    run_until(standin, 1)
    assert when(standin, recorder, "workflow.skipped", sid) == [0.0]
    assert offered(standin, sid) == ["mori"]


def test_skip_if_is_not_evaluated_when_a_reservation_is_created_at_once() -> None:
    always = {
        "filter_friendly_name": "owner",
        "expression": "stage == 'owner'",
        "targets": [{"queue": WQA, "skip_if": "1==1", "timeout": 30}, {"queue": WQ}],
    }
    standin, recorder = build(always)
    available(standin, "ito", "mori")
    sid = task(standin)
    run_until(standin, 1)
    assert when(standin, recorder, "workflow.skipped", sid) == []
    assert offered(standin, sid) == ["ito"]


def owner_filter() -> dict[str, Any]:
    return {
        "filter_friendly_name": "owner",
        "expression": "stage == 'owner'",
        "targets": [
            {
                "queue": WQ,
                "known_worker_friendly_name": "task.owner_agent_id",
                "skip_if": "1==1",
                "timeout": 30,
            },
            {"queue": WQA, "skip_if": "workers.available == 0", "timeout": 60},
            {"queue": WQ},
        ],
    }


def test_a_known_worker_target_offers_that_worker_only_and_skips_when_they_cannot_take_it() -> None:
    standin, recorder = build(owner_filter())
    available(standin, "sato", "ito", "mori")
    # sato has been idle longest, but the task names ito.
    first = task(standin, owner_agent_id="ito")
    run_until(standin, 1)
    assert offered(standin, first) == ["ito"]
    # ito now holds a reservation: the next task naming ito skips at once to team a (sato).
    second = task(standin, owner_agent_id="ito")
    run_until(standin, 2)
    assert when(standin, recorder, "workflow.skipped", second) == [0.0]
    assert offered(standin, second) == ["sato"]


def test_target_timeouts_count_from_the_tasks_age_not_from_entering_the_target() -> None:
    """Re-evaluated at age 50 into a filter whose first target has a 60 s timeout, the task
    leaves it at age 60, ten seconds later (task-evaluation); the second target at age 60+60."""
    waiting = {
        "filter_friendly_name": "waiting",
        "expression": "stage == 'waiting'",
        "targets": [{"queue": WQA}],
    }
    widening = {
        "filter_friendly_name": "team",
        "expression": "stage == 'team'",
        "targets": [{"queue": WQA, "timeout": 60}, {"queue": WQA, "timeout": 60}, {"queue": WQ}],
    }
    standin, recorder = build(waiting, widening)
    sid = task(standin, stage="waiting")
    run_until(standin, 50)
    standin.update_task_attributes(sid, {"stage": "team", "team": "a"})
    run_until(standin, 200)
    assert when(standin, recorder, "workflow.timeout", sid) == [60.0, 120.0]


def test_the_apps_workflow_skips_an_away_team_at_once_in_the_stand_in() -> None:
    """The generated workflow on the stand-in (queues as provision makes them): owner away and
    team away, the caller reaches everyone at once."""
    from chalicelib.routing.workflow import TeamQueues, queue_expressions, workflow_definition
    from tests.conftest import make_settings

    settings = make_settings(queue_sid_everyone=WQ)
    teams = TeamQueues.of({"a": WQA})
    standin, recorder = build()
    account = standin.account
    standin.account = TwilioAccount(
        account.account_sid,
        account.auth_token,
        account.workspace_sid,
        account.workflow_sid,
        json.loads(json.dumps(workflow_definition(settings, teams))),
        queue_expressions(settings, teams),
        account.company_number,
        account.activities,
    )
    available(standin, "mori")
    sid = task(standin, owner_agent_id="sato")
    run_until(standin, 1)
    assert when(standin, recorder, "workflow.skipped", sid) == [0.0, 0.0]
    assert offered(standin, sid) == ["mori"]


def test_a_task_timeout_beyond_two_weeks_is_refused_as_twilio_does() -> None:
    """Timeout "can be up to a maximum of 2 weeks (1,209,600 seconds)"
    (https://www.twilio.com/docs/taskrouter/api/task, Create a Task)."""
    from twilio.base.exceptions import TwilioRestException
    from twilio.rest import Client

    from ops.standin.rest import Rest
    from ops.standin.server import InProcessTwilioHttp

    standin, _ = build()
    client = Client(AC, "token", http_client=InProcessTwilioHttp(Rest(standin)))
    tasks = client.taskrouter.v1.workspaces(WS).tasks
    longest = tasks.create(workflow_sid=WW, attributes="{}", timeout=1_209_600)
    assert longest.timeout == 1_209_600
    with pytest.raises(TwilioRestException) as refused:
        tasks.create(workflow_sid=WW, attributes="{}", timeout=1_209_601)
    assert refused.value.status == 400
