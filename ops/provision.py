"""`python -m ops provision --stage S`: the Twilio side of a stage, created or corrected.

TaskRouter workspace (event callback), activities, the everyone queue and one queue per team of
the agents directory (so a team stage's skip_if counts that team: chalicelib/routing/workflow.py),
the workflow generated for those teams (assignment callback), the phone numbers' voice, fallback
and status URLs, the TwiML App the softphone dials out through, and the API key that signs access
tokens.
Everything is found by name, compared with what the stage needs and only then written, so a
second run changes nothing. The resulting sids go where the app reads them: SSM parameters
under /contact-center/<stage> (named after the settings fields) and, for the API key, the
stage's Twilio secret.

The same code makes the plan and applies it: a dry run records the changes it would make, then
(on confirmation) a second pass makes them, re-reading Twilio as it goes.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from chalicelib.platform.settings import Settings
from chalicelib.routing.workflow import (
    TeamQueues,
    team_queue_name,
    team_target_workers,
    valid_team,
    workflow_definition,
)
from chalicelib.telephony import webhooks

NEW = "(new)"  # the sid of something a dry run would create


class ProvisionError(RuntimeError):
    """Twilio is in a state provisioning will not fix by itself; the message says what to do."""


class Store(Protocol):
    secret_name: str

    def parameters(self) -> dict[str, str]: ...
    def put_parameter(self, name: str, value: str) -> None: ...
    def secret(self) -> dict[str, Any]: ...
    def put_secret(self, value: dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class ActivitySpec:
    name: str
    available: bool
    setting: str


# The states presence mirrors into TaskRouter (chalicelib/platform/settings.py, presence block) and
# the
# wrap-up activity the conference instruction sets (post_work_activity_sid).
ACTIVITIES = (
    ActivitySpec("Offline", False, "activity_sid_offline"),
    ActivitySpec("Available", True, "activity_sid_available"),
    ActivitySpec("Away", False, "activity_sid_away"),
    ActivitySpec("Break", False, "activity_sid_break"),
    ActivitySpec("Outbound call", False, "activity_sid_outbound"),
    ActivitySpec("Wrap-up", False, "post_work_activity_sid"),
)
QUEUE_NAME = "everyone"
QUEUE_TARGET_WORKERS = "1==1"
DEMO_AGENTS = Path(__file__).parent / "demo_data" / "agents.csv"


@dataclass(frozen=True)
class Change:
    action: str  # create, update, store
    target: str
    detail: str = ""

    def __str__(self) -> str:
        mark = {"create": "+", "update": "~", "store": ">"}.get(self.action, "*")
        return f"{mark} {self.action} {self.target}" + (f": {self.detail}" if self.detail else "")


@dataclass
class Outcome:
    changes: list[Change] = field(default_factory=list)
    parameters: dict[str, str] = field(default_factory=dict)
    workers: dict[str, str] = field(default_factory=dict)  # agent_id -> worker sid


@dataclass(frozen=True)
class Agent:
    """One row of the agents file: a TaskRouter worker per agent, routed on these attributes."""

    agent_id: str
    team: str

    def attributes(self) -> dict[str, str]:
        # The workflow targets worker.agent_id and worker.team; the assignment reaches the
        # softphone at client:<agent_id> (chalicelib/routing/assignment.py).
        return {"agent_id": self.agent_id, "team": self.team}


def names(stage: str) -> dict[str, str]:
    return {
        "workspace": f"contact-center-{stage}",
        "workflow": "contact-center",
        "twiml_app": f"contact-center-{stage}-softphone",
        "api_key": f"contact-center-{stage}-voice-tokens",
    }


def _current(resource: Any, name: str) -> Any:
    value = getattr(resource, name, None)
    return "" if value is None else value  # Twilio answers null for an empty field


def _differences(current: Any, wanted: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in wanted.items() if _current(current, k) != v}


def _describe(current: Any, changed: dict[str, Any]) -> str:
    return ", ".join(
        f"{k} {_current(current, k)!r} -> {v!r}" for k, v in changed.items() if k != "configuration"
    ) or ", ".join(changed)


class Provisioner:
    def __init__(
        self,
        client: Any,
        store: Store,
        settings: Settings,
        numbers: list[str],
        apply: bool,
        agents: list[Agent] | None = None,
        teams: list[str] | None = None,
    ) -> None:
        self.agents = agents or []
        # The teams that get a queue: the directory's (the agents table), and the agents file's.
        self.teams = sorted(set(teams or ()) | {a.team for a in self.agents if a.team})
        self.client = client
        self.store = store
        self.settings = settings
        self.numbers = numbers
        self.apply = apply
        self.outcome = Outcome()
        self.names = names(settings.stage)

    def _change(self, action: str, target: str, detail: str, write: Callable[[], Any]) -> Any:
        self.outcome.changes.append(Change(action, target, detail))
        return write() if self.apply else None

    def run(self) -> Outcome:
        workspace_sid = self._workspace()
        activities = self._activities(workspace_sid)
        self._workspace_activities(workspace_sid, activities)
        queue_sid = self._queue(workspace_sid, QUEUE_NAME, QUEUE_TARGET_WORKERS)
        team_queues = TeamQueues.of(
            {
                team: self._queue(workspace_sid, team_queue_name(team), team_target_workers(team))
                for team in self.teams
            }
        )
        workflow_sid = self._workflow(workspace_sid, queue_sid, team_queues)
        self._workers(workspace_sid, activities)
        for number in self.numbers:
            self._number(number)
        twiml_app_sid = self._twiml_app()
        self._api_key()
        self._store_parameters(
            {
                "twilio_account_sid": self.client.account_sid,
                "twilio_workspace_sid": workspace_sid,
                "twilio_workflow_sid": workflow_sid,
                "queue_sid_everyone": queue_sid,
                "twilio_twiml_app_sid": twiml_app_sid,
                **{spec.setting: activities[spec.name] for spec in ACTIVITIES},
            }
        )
        return self.outcome

    # --- TaskRouter ---------------------------------------------------------------------

    def _taskrouter(self) -> Any:
        return self.client.taskrouter.v1

    def _workspace(self) -> str:
        name = self.names["workspace"]
        wanted = {"event_callback_url": self.settings.url(webhooks.TASKROUTER_EVENTS)}
        found = self._taskrouter().workspaces.list(friendly_name=name)
        if not found:
            created = self._change(
                "create",
                f"TaskRouter workspace {name!r}",
                f"events -> {wanted['event_callback_url']}",
                lambda: self._taskrouter().workspaces.create(
                    friendly_name=name, event_callback_url=wanted["event_callback_url"]
                ),
            )
            return str(created.sid) if created else NEW
        workspace = found[0]
        changed = _differences(workspace, wanted)
        if changed:
            self._change(
                "update",
                f"TaskRouter workspace {name!r}",
                _describe(workspace, changed),
                lambda: self._taskrouter().workspaces(workspace.sid).update(**changed),
            )
        return str(workspace.sid)

    def _activities(self, workspace_sid: str) -> dict[str, str]:
        existing: dict[str, Any] = {}
        if workspace_sid != NEW:
            for activity in self._taskrouter().workspaces(workspace_sid).activities.list():
                existing[activity.friendly_name] = activity
        sids: dict[str, str] = {}
        for spec in ACTIVITIES:
            activity = existing.get(spec.name)
            if activity is None:
                created = self._change(
                    "create",
                    f"activity {spec.name!r}",
                    "available" if spec.available else "unavailable",
                    lambda spec=spec: (
                        self._taskrouter()
                        .workspaces(workspace_sid)
                        .activities.create(friendly_name=spec.name, available=spec.available)
                    ),
                )
                sids[spec.name] = str(created.sid) if created else NEW
            elif bool(activity.available) != spec.available:
                # TaskRouter cannot change an activity's availability after creation.
                raise ProvisionError(
                    f"activity {spec.name!r} in workspace {self.names['workspace']!r} is "
                    f"{'available' if activity.available else 'unavailable'} but must be "
                    f"{'available' if spec.available else 'unavailable'}: rename or delete it "
                    "in the Twilio console (TaskRouter > Activities), then run provision again"
                )
            else:
                sids[spec.name] = str(activity.sid)
        return sids

    def _workspace_activities(self, workspace_sid: str, activities: dict[str, str]) -> None:
        """New workers start Offline; a worker whose reservation times out becomes Away."""
        wanted = {
            "default_activity_sid": activities["Offline"],
            "timeout_activity_sid": activities["Away"],
        }
        current = (
            None if workspace_sid == NEW else self._taskrouter().workspaces(workspace_sid).fetch()
        )
        changed = _differences(current, wanted) if current is not None else wanted
        if changed:
            self._change(
                "update",
                f"TaskRouter workspace {self.names['workspace']!r}",
                "default activity Offline, reservation timeout activity Away",
                lambda: self._taskrouter().workspaces(workspace_sid).update(**changed),
            )

    def _queue(self, workspace_sid: str, name: str, target_workers: str) -> str:
        wanted = {"target_workers": target_workers}
        found = (
            []
            if workspace_sid == NEW
            else self._taskrouter().workspaces(workspace_sid).task_queues.list(friendly_name=name)
        )
        if not found:
            created = self._change(
                "create",
                f"task queue {name!r}",
                f"workers {target_workers}",
                lambda: (
                    self._taskrouter()
                    .workspaces(workspace_sid)
                    .task_queues.create(friendly_name=name, target_workers=target_workers)
                ),
            )
            return str(created.sid) if created else NEW
        queue = found[0]
        changed = _differences(queue, wanted)
        if changed:
            self._change(
                "update",
                f"task queue {name!r}",
                _describe(queue, changed),
                lambda: (
                    self._taskrouter()
                    .workspaces(workspace_sid)
                    .task_queues(queue.sid)
                    .update(**changed)
                ),
            )
        return str(queue.sid)

    def _workflow(self, workspace_sid: str, queue_sid: str, teams: TeamQueues) -> str:
        definition = workflow_definition(
            self.settings.with_values(
                queue_sid_everyone=queue_sid, twilio_workspace_sid=workspace_sid
            ),
            teams,
        )
        name = self.names["workflow"]
        wanted: dict[str, Any] = {
            "assignment_callback_url": self.settings.url(webhooks.TASKROUTER_ASSIGNMENT),
            "task_reservation_timeout": self.settings.routing.agent_ring_seconds,
        }
        configuration = json.dumps(definition, sort_keys=True)
        found = (
            []
            if workspace_sid == NEW
            else self._taskrouter().workspaces(workspace_sid).workflows.list(friendly_name=name)
        )
        if not found:
            created = self._change(
                "create",
                f"workflow {name!r}",
                "from chalicelib/routing/workflow.py, "
                f"assignment -> {wanted['assignment_callback_url']}",
                lambda: (
                    self._taskrouter()
                    .workspaces(workspace_sid)
                    .workflows.create(friendly_name=name, configuration=configuration, **wanted)
                ),
            )
            return str(created.sid) if created else NEW
        workflow = found[0]
        changed = _differences(workflow, wanted)
        if json.loads(workflow.configuration or "{}") != definition:
            changed["configuration"] = configuration
        if changed:
            detail = _describe(workflow, changed)
            if "configuration" in changed:
                detail = "routing configuration differs from the app's" + (
                    f"; {detail}" if set(changed) != {"configuration"} else ""
                )
            self._change(
                "update",
                f"workflow {name!r}",
                detail,
                lambda: (
                    self._taskrouter()
                    .workspaces(workspace_sid)
                    .workflows(workflow.sid)
                    .update(**changed)
                ),
            )
        return str(workflow.sid)

    def _workers(self, workspace_sid: str, activities: dict[str, str]) -> None:
        if not self.agents:
            return
        existing: dict[str, Any] = {}
        if workspace_sid != NEW:
            for worker in self._taskrouter().workspaces(workspace_sid).workers.list():
                existing[worker.friendly_name] = worker
        for agent in self.agents:
            worker = existing.get(agent.agent_id)
            wanted = agent.attributes()
            if worker is None:
                created = self._change(
                    "create",
                    f"worker {agent.agent_id!r}",
                    f"team {agent.team}, Offline",
                    lambda agent=agent: (
                        self._taskrouter()
                        .workspaces(workspace_sid)
                        .workers.create(
                            friendly_name=agent.agent_id,
                            attributes=json.dumps(agent.attributes(), sort_keys=True),
                            activity_sid=activities["Offline"],
                        )
                    ),
                )
                self.outcome.workers[agent.agent_id] = str(created.sid) if created else NEW
                continue
            current = json.loads(worker.attributes or "{}")
            if {k: current.get(k) for k in wanted} != wanted:
                merged = json.dumps({**current, **wanted}, sort_keys=True)
                self._change(
                    "update",
                    f"worker {agent.agent_id!r}",
                    f"attributes {', '.join(f'{k}={v}' for k, v in wanted.items())}",
                    lambda worker=worker, merged=merged: (
                        self._taskrouter()
                        .workspaces(workspace_sid)
                        .workers(worker.sid)
                        .update(attributes=merged)
                    ),
                )
            self.outcome.workers[agent.agent_id] = str(worker.sid)

    # --- Voice ----------------------------------------------------------------------------

    def _account(self) -> Any:
        return self.client.api.v2010.account

    def _number(self, number: str) -> None:
        wanted = number_configuration(self.settings)
        found = self._account().incoming_phone_numbers.list(phone_number=number)
        if not found:
            raise ProvisionError(
                f"phone number {number} is not in Twilio account {self.client.account_sid}: "
                "buy or port it there first (Console > Phone Numbers), or pass the right --number"
            )
        phone = found[0]
        changed = _differences(phone, wanted)
        if changed:
            self._change(
                "update",
                f"phone number {number}",
                _describe(phone, changed),
                lambda: self._account().incoming_phone_numbers(phone.sid).update(**changed),
            )

    def _twiml_app(self) -> str:
        name = self.names["twiml_app"]
        # The softphone's own leg reports its end: the outbound conversation is keyed by it.
        wanted = {
            "voice_url": self.settings.url(webhooks.OUTBOUND),
            "voice_method": "POST",
            "status_callback": self.settings.url(webhooks.VOICE_STATUS),
            "status_callback_method": "POST",
        }
        found = self._account().applications.list(friendly_name=name)
        if not found:
            created = self._change(
                "create",
                f"TwiML App {name!r}",
                f"outbound calls -> {wanted['voice_url']}",
                lambda: self._account().applications.create(friendly_name=name, **wanted),
            )
            return str(created.sid) if created else NEW
        app = found[0]
        changed = _differences(app, wanted)
        if changed:
            self._change(
                "update",
                f"TwiML App {name!r}",
                _describe(app, changed),
                lambda: self._account().applications(app.sid).update(**changed),
            )
        return str(app.sid)

    def _api_key(self) -> None:
        from twilio.base.exceptions import TwilioRestException

        secret = self.store.secret()
        key_sid = str(secret.get("api_key_sid") or "")
        if key_sid and secret.get("api_key_secret"):
            try:
                self._account().keys(key_sid).fetch()
                return
            except TwilioRestException as exc:
                if exc.status != 404:
                    raise
        name = self.names["api_key"]

        def create_and_store() -> None:
            key = self._account().new_keys.create(friendly_name=name)
            self.store.put_secret({**secret, "api_key_sid": key.sid, "api_key_secret": key.secret})

        self._change(
            "create",
            f"API key {name!r}",
            f"for softphone access tokens, stored in secret {self.store.secret_name}",
            create_and_store,
        )

    # --- where the app reads the sids ---------------------------------------------------------

    def _store_parameters(self, wanted: dict[str, str]) -> None:
        current = self.store.parameters()
        for name, value in wanted.items():
            if value == NEW:
                self.outcome.changes.append(Change("store", f"SSM parameter {name}", "new sid"))
            elif current.get(name) != value:
                self._change(
                    "store",
                    f"SSM parameter {name}",
                    value,
                    lambda name=name, value=value: self.store.put_parameter(name, value),
                )
            self.outcome.parameters[name] = value


def number_configuration(settings: Settings) -> dict[str, str]:
    """How every phone number of the stage must be set up (doctor checks the same)."""
    return {
        "voice_url": settings.url(webhooks.INCOMING),
        "voice_method": "POST",
        "voice_fallback_url": settings.url(webhooks.FALLBACK),
        "voice_fallback_method": "POST",
        "status_callback": settings.url(webhooks.VOICE_STATUS),
        "status_callback_method": "POST",
        # A number with a TwiML App ignores its voice URL: it must have none.
        "voice_application_sid": "",
    }


def provision(
    client: Any,
    store: Store,
    settings: Settings,
    numbers: list[str],
    confirm: Callable[[list[Change]], bool],
    say: Callable[[str], None] = print,
    agents: list[Agent] | None = None,
    teams: list[str] | None = None,
) -> int:
    """Show the plan, apply it if `confirm` agrees; 0 when the stage is (now) as it should be."""
    return provision_outcome(client, store, settings, numbers, confirm, say, agents, teams)[0]


def provision_outcome(
    client: Any,
    store: Store,
    settings: Settings,
    numbers: list[str],
    confirm: Callable[[list[Change]], bool],
    say: Callable[[str], None] = print,
    agents: list[Agent] | None = None,
    teams: list[str] | None = None,
) -> tuple[int, Outcome | None]:
    bad = sorted({t for t in (teams or []) + [a.team for a in agents or []] if not valid_team(t)})
    if bad:
        say(
            f"cannot provision: team names {bad} cannot be written in a TaskRouter expression "
            "(letters, digits, space, '.', '_' and '-' only): rename them in the agents directory"
        )
        return 2, None
    try:
        plan = Provisioner(
            client, store, settings, numbers, apply=False, agents=agents, teams=teams
        ).run()
    except ProvisionError as exc:
        say(f"cannot provision: {exc}")
        return 2, None
    if not plan.changes:
        say(f"stage {settings.stage}: Twilio is already set up; nothing to change")
        return 0, plan
    say(f"stage {settings.stage}: {len(plan.changes)} change(s) to make in Twilio and AWS:")
    for change in plan.changes:
        say(f"  {change}")
    if not confirm(plan.changes):
        say("nothing changed")
        return 1, None
    done = Provisioner(
        client, store, settings, numbers, apply=True, agents=agents, teams=teams
    ).run()
    say(f"applied {len(done.changes)} change(s).")
    if any(c.action == "store" for c in done.changes):
        say(
            "the app reads these settings at cold start (within 5 minutes for new containers): "
            "redeploy or wait before testing a call"
        )
    return 0, done


def directory_teams(agents: list[Agent]) -> TeamQueues:
    """The directory's teams on placeholder queue sids (the reviewed workflow file, local)."""
    return TeamQueues.placeholders(sorted({a.team for a in agents if a.team}))


def table_teams(table: Any) -> list[str]:
    """The teams of the deployed agents table: every team there gets its TaskQueue."""
    from chalicelib.routing.store import AgentDirectory

    return sorted({str(item.get("team") or "") for item in AgentDirectory(table).all()} - {""})


def read_agents(path: Path) -> list[Agent]:
    """agent_id,name,team[,worker_sid] (the import-agents file)."""
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            Agent(row["agent_id"].strip(), row["team"].strip())
            for row in csv.DictReader(handle)
            if row.get("agent_id", "").strip()
        ]


def write_worker_sids(path: Path, workers: dict[str, str]) -> Path:
    """The agents file with each agent's worker sid filled in, ready for `ops import-agents`."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
    # The team's outbound number rides along when the file has one (docs/softphone.md).
    extra = ["team_caller_id"] if "team_caller_id" in (reader.fieldnames or []) else []
    out = path.with_suffix(".workers.csv")
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(
            handle, fieldnames=["agent_id", "name", "team", "worker_sid", *extra]
        )
        writer.writeheader()
        for row in rows:
            agent_id = row.get("agent_id", "").strip()
            if agent_id:
                writer.writerow(
                    {
                        "agent_id": agent_id,
                        "name": row.get("name", ""),
                        "team": row.get("team", ""),
                        "worker_sid": workers.get(agent_id, row.get("worker_sid", "")),
                        **{name: row.get(name, "") for name in extra},
                    }
                )
    return out


def run_for_stage(
    stage: str, numbers: list[str], assume_yes: bool, agents_file: str | None = None
) -> int:
    """The `provision` command: credentials from the stage's secret, settings from its stack."""
    import boto3
    from twilio.rest import Client

    from ops.deployed import StageStore, deployed_settings

    session = boto3.session.Session()
    store = StageStore(session, stage)
    credentials = store.secret()
    if not credentials.get("account_sid") or not credentials.get("auth_token"):
        print(
            f"secret {store.secret_name} has no Twilio account_sid/auth_token yet: put them "
            "first (docs/deploy.md, step 4)"
        )
        return 2
    settings = deployed_settings(session, stage)
    client = Client(credentials["account_sid"], credentials["auth_token"])

    def ask(changes: list[Change]) -> bool:
        return input(f"apply these {len(changes)} change(s)? [y/N] ").strip().lower() == "y"

    agents = read_agents(Path(agents_file)) if agents_file else None
    # A team added to the directory gets its queue and filters here: provision again after
    # adding one (the doctor warns until then; its callers go from the owner to everyone).
    from chalicelib.platform.errors import StorageUnavailable

    try:
        teams = table_teams(session.resource("dynamodb").Table(settings.routing.agents_table))
    except StorageUnavailable as exc:
        print(f"the agents directory cannot be read for its teams ({exc}): deploy the stack first")
        return 2
    code, outcome = provision_outcome(
        client,
        store,
        settings,
        numbers or [settings.telephony.company_number],
        (lambda _: True) if assume_yes else ask,
        agents=agents,
        teams=teams,
    )
    if not credentials.get("rest_api_key_sid"):
        print(
            "note: the app calls Twilio's REST API with the auth token; give it a restricted "
            "API key (docs/deploy.md, 'The REST client's API key')"
        )
    if agents_file and outcome is not None and code == 0:
        out = write_worker_sids(Path(agents_file), outcome.workers)
        print(f"worker sids written to {out}: python -m ops import-agents {out} --stage {stage}")
    return code
