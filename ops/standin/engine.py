"""The stand-in's engine: Twilio's side of calls, conferences, recordings and TaskRouter.

One object holds the state Twilio would hold (workers, activities, tasks, reservations, calls,
conferences, recordings) and moves it forward on a virtual clock (clock.Scheduler). It talks to
the app the way Twilio does:
- synchronous requests whose answer steers the call: the incoming-call webhook and every TwiML
  fetch (Redirect, Gather/Record/Enqueue actions), and TaskRouter's assignment callback;
- asynchronous callbacks: call status, conference status, recording status, TaskRouter events,
  each with chaos applied (duplicates, delays that reorder them, first attempts that fail).
The app's REST calls land in `ops/standin/rest.py`, which changes this same state.

State is guarded by one re-entrant lock, never held while a request to the app is in flight (the
app may call back into the REST API while we wait for its answer).

Modelling choices where Twilio's documentation is silent are marked "assumption:".
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urljoin

from ops.standin import payloads
from ops.standin.clock import Scheduler
from ops.standin.expressions import evaluate
from ops.standin.transport import Reply, Transport
from ops.standin.truth import CallTruth, GroundTruth, Offer, TransferTruth

# Paths of the app Twilio is configured to call (phone number, workspace, workflow).
INCOMING_PATH = "/twilio/voice/incoming"
VOICE_STATUS_PATH = "/twilio/voice/status"
VOICE_FALLBACK_PATH = "/twilio/voice/fallback"
EVENTS_PATH = "/twilio/taskrouter/events"
ASSIGNMENT_PATH = "/twilio/taskrouter/assignment"

ACTIVE_CALL = {"queued", "ringing", "in-progress"}


def activity_sid(name: str) -> str:
    return "WA" + hashlib.md5(name.encode()).hexdigest()  # noqa: S324 - an id, not security


@dataclass
class Activity:
    sid: str
    name: str
    available: bool


@dataclass
class Worker:
    sid: str
    name: str
    attributes: dict[str, Any]
    activity_sid: str
    activity_since: float
    idle_since: float
    reservation_sid: str | None = None
    task_sid: str | None = None
    date_created: float = 0.0

    @property
    def agent_id(self) -> str:
        return str(self.attributes.get("agent_id") or self.name)


@dataclass
class Task:
    sid: str
    attributes: dict[str, Any]
    priority: int
    timeout: int
    created: float
    workflow_sid: str
    channel: str = "voice"
    status: str = "pending"  # pending, reserved, assigned, wrapping, completed, canceled
    targets: list[dict[str, Any]] = field(default_factory=list)
    filter_name: str = ""
    target_index: int = 0
    target_expired: bool = False
    on_default: bool = False
    queue_sid: str = ""
    queue_entered: float = 0.0
    generation: int = 0  # bumped on every re-route: stale target timers are ignored
    excluded: set[str] = field(default_factory=set)
    reservations: list[str] = field(default_factory=list)
    reason: str = ""
    call_sid: str = ""
    worker_sid: str = ""
    updated: float = 0.0

    def etag(self) -> str:
        """The task's version, as the ETag header carries it. Twilio's is opaque; a digest of
        what an update can change moves whenever the task does (assumption: an A-B-A change
        gives A's tag back, where Twilio's counter would not)."""
        state = json.dumps([self.status, self.attributes, self.priority], sort_keys=True)
        return hashlib.sha256(state.encode()).hexdigest()[:16]


@dataclass
class Reservation:
    sid: str
    task_sid: str
    worker_sid: str
    created: float
    status: str = (
        "pending"  # pending accepted rejected timeout canceled rescinded wrapping completed
    )
    agent_call_sid: str = ""
    instruction: dict[str, Any] = field(default_factory=dict)


@dataclass
class Call:
    sid: str
    from_: str
    to: str
    direction: str
    created: float
    role: str  # customer or agent
    status: str = "queued"
    answered_at: float | None = None
    ended_at: float | None = None
    status_callback: str = ""
    status_events: frozenset[str] = frozenset({"completed"})
    sequence: int = 0
    verbs: list[ET.Element] = field(default_factory=list)
    doc_url: str = ""
    task_sid: str = ""
    enqueue_action: str = ""
    dial_action: str = ""  # <Dial action>: requested when the leg leaves its conference
    enqueued_at: float | None = None
    conference_sid: str = ""
    reservation_sid: str = ""
    worker_sid: str = ""
    parent_call_sid: str = ""
    plan: CallerPlan | None = None
    generation: int = 0  # bumped when the call's TwiML is replaced (redirect)


@dataclass
class Participant:
    call_sid: str
    label: str
    end_on_exit: bool
    muted: bool = False
    hold: bool = False
    joined: float = 0.0
    status: str = "connected"
    # A participant that joined with its own <Conference statusCallback> gets its own events
    # there (assumption: Twilio's docs do not say how two participants' callbacks combine).
    callback: str = ""
    events: frozenset[str] = frozenset()
    hold_since: float | None = None
    left_at: float | None = None


@dataclass
class Conference:
    sid: str
    friendly_name: str
    created: float
    region: str
    status: str = "init"  # init, in-progress, completed
    participants: dict[str, Participant] = field(default_factory=dict)
    callback: str = ""
    events: frozenset[str] = frozenset()
    sequence: int = 0
    record: bool = False
    recording_channels: int = 2
    recording_callback: str = ""
    recording_events: frozenset[str] = frozenset({"completed"})
    recording_sid: str = ""
    started: float | None = None
    ended: float | None = None
    task_sid: str = ""
    # Bumped when a transfer changes how the conversation ends: older end timers are void.
    end_generation: int = 0
    transfer_tasks: list[str] = field(default_factory=list)


@dataclass
class TransferPlan:
    """How the people on a transferred call go on (decided by the population, not by Twilio)."""

    call_sid: str
    conference_sid: str
    consult_seconds: float  # warm: the two agents talk this long before the first one leaves
    remaining_seconds: float  # the customer talks this long with the colleague
    customer_hangs_up_first: bool = True


@dataclass
class Recording:
    sid: str
    created: float
    start: float
    duration: int
    channels: int
    source: str
    status: str = "completed"
    call_sid: str = ""
    conference_sid: str = ""
    deleted: bool = False


@dataclass
class CallerPlan:
    """What one caller will do. Decided up front from the seed, so a run can be repeated."""

    caller: str
    patience: float  # seconds from placing the call until they give up waiting
    talk_seconds: float
    hangs_up_first: bool = True
    digits: str = ""  # what they key in at a <Gather> ("" = nothing)
    voicemail_seconds: float = 20.0
    answers_callback: bool = True
    customer_id: str = ""
    owner_agent_id: str = ""
    team: str = ""
    scenario: str = ""
    transfer_to: str = ""  # the agent should transfer the call to this agent (if supported)


# The fallback menu's key for a callback (chalicelib/escalation/prompts.json), which callers hear.
CALLBACK_KEY = "2"


class Agents(Protocol):
    """How the people behind the softphones behave (ops/standin/population.py)."""

    def answer_delay(self, agent_id: str, now: float) -> float | None:
        """Seconds until the agent picks up an offer; None if they miss it."""

    def wrap_up_seconds(self, agent_id: str) -> float: ...

    def after_wrap_up(self, agent_id: str, now: float) -> str | None:
        """The activity name the agent picks when the wrap-up ends (None: the app decides)."""

    def completes_tasks(self) -> bool:
        """True if the agents' softphone completes its wrapped tasks (a TaskRouter SDK);
        False when the app does it (our web softphone has none: the presence mirror does)."""

    def missed(self, agent_id: str, now: float) -> None: ...

    def answered(self, agent_id: str, call_sid: str, conference_sid: str, now: float) -> None:
        """The agent is talking to the caller (they may decide to transfer the call)."""

    def transfer_joined(
        self, agent_id: str, call_sid: str, conference_sid: str, transfer: TransferTruth
    ) -> None:
        """A colleague's leg joined the customer's conference by transfer."""

    def transfer_unanswered(
        self, call_sid: str, conference_sid: str, transfer: TransferTruth
    ) -> None:
        """Nobody took the transfer (its task was canceled)."""


@dataclass
class Chaos:
    """Twilio's delivery is at-least-once and unordered; these knobs make it so, reproducibly."""

    duplicate: float = 0.0  # share of callbacks delivered twice
    reorder: float = 0.0  # share of callbacks delayed by up to `max_delay` seconds
    fail_once: float = 0.0  # share of requests whose first attempt fails to connect
    # Share of conferences the caller joins before the agent. Twilio does not promise an order,
    # and channel 1 of a dual-channel recording is whoever joined first.
    customer_first: float = 0.0
    max_delay: float = 8.0
    seed: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed ^ 0x5EED)
        # Its own stream, so the knob leaves every other chaos decision of a seed as it was.
        self.join_rng = random.Random(self.seed ^ 0x701E)

    def caller_joins_first(self) -> bool:
        return bool(self.customer_first) and self.join_rng.random() < self.customer_first


@dataclass
class RouteStats:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)


class Stats:
    def __init__(self) -> None:
        self.routes: dict[str, RouteStats] = defaultdict(RouteStats)
        self.counters: Counter[str] = Counter()
        self.lock = threading.Lock()

    def record(self, path: str, reply: Reply) -> None:
        with self.lock:
            route = self.routes[path]
            route.latencies_ms.append(reply.elapsed_ms)
            route.statuses[reply.status] += 1

    def count(self, name: str, value: int = 1) -> None:
        with self.lock:
            self.counters[name] += value

    def errors_by_route(self) -> dict[str, dict[int, int]]:
        return {
            path: {s: n for s, n in r.statuses.items() if not 200 <= s < 300}
            for path, r in sorted(self.routes.items())
            if any(not 200 <= s < 300 for s in r.statuses)
        }

    def latency_percentiles(self) -> tuple[float, float, int]:
        values = sorted(v for r in self.routes.values() for v in r.latencies_ms)
        if not values:
            return 0.0, 0.0, 0

        def pct(p: float) -> float:
            return values[min(len(values) - 1, int(p * len(values)))]

        return pct(0.50), pct(0.99), len(values)


@dataclass(frozen=True)
class TwilioAccount:
    """What Twilio is configured with for our app."""

    account_sid: str
    auth_token: str
    workspace_sid: str
    workflow_sid: str
    workflow: dict[str, Any]
    queues: dict[str, str]  # queue sid -> target workers expression
    company_number: str
    activities: tuple[Activity, ...]
    reservation_timeout: int = 120
    # Workspace TimeoutActivitySid: where a worker goes when a reservation times out (None: stays).
    timeout_activity_sid: str | None = None
    workspace_name: str = "contact-center"


class Standin:
    def __init__(
        self,
        account: TwilioAccount,
        transport: Transport,
        scheduler: Scheduler,
        agents: Agents,
        truth: GroundTruth,
        app_routes: frozenset[str],
        chaos: Chaos | None = None,
        seed: int = 0,
        callback_latency: float = 0.05,
    ) -> None:
        self.account = account
        self.transport = transport
        self.clock = scheduler
        self.agents = agents
        self.truth = truth
        self.app_routes = app_routes
        self.chaos = chaos or Chaos()
        self.stats = Stats()
        self.lock = threading.RLock()
        self._rng = random.Random(seed)
        self._callback_latency = callback_latency
        self.activities = {a.sid: a for a in account.activities}
        self.workers: dict[str, Worker] = {}
        self.tasks: dict[str, Task] = {}
        self.reservations: dict[str, Reservation] = {}
        self.calls: dict[str, Call] = {}
        self.conferences: dict[str, Conference] = {}
        self.recordings: dict[str, Recording] = {}
        self.listeners: list[Callable[[str, dict[str, Any]], None]] = []
        self.transfer_plans: dict[str, TransferPlan] = {}  # transfer task sid -> plan

    # ---- ids, urls, time -------------------------------------------------------------------

    def sid(self, prefix: str) -> str:
        with self.lock:
            return prefix + f"{self._rng.getrandbits(128):032x}"

    def now(self) -> float:
        return self.clock.now()

    def app_url(self, path: str) -> str | None:
        """The URL Twilio is configured with for one of the app's routes, if the app has it."""
        if path not in self.app_routes:
            return None
        return self.transport.public_base_url + path

    def route_of(self, url: str) -> str:
        base = self.transport.public_base_url
        return url[len(base) :].split("?")[0] if url.startswith(base) else _path(url)

    def activity_by_name(self, name: str) -> Activity:
        for activity in self.activities.values():
            if activity.name.lower() == name.lower():
                return activity
        raise KeyError(name)

    def _emit(self, what: str, **data: Any) -> None:
        for listener in self.listeners:
            listener(what, data)

    # ---- delivery --------------------------------------------------------------------------

    def request(self, url: str, form: dict[str, str]) -> Reply:
        """A synchronous webhook (TwiML or assignment): Twilio waits for the answer.

        Twilio retries once when the connection fails (connection override `rc` defaults to 1,
        retry policy `ct`); chaos makes a share of first attempts fail that way.
        """
        if self.chaos.fail_once and self.chaos.rng.random() < self.chaos.fail_once:
            self.stats.count("ChaosFirstAttemptFailed")
            self.stats.count("TwilioRetries")
        reply = self.transport.post(url, form)
        if reply.status == 0:
            self.stats.count("TwilioRetries")
            reply = self.transport.post(url, form)
        self.stats.record(self.route_of(url), reply)
        return reply

    def callback(self, url: str, form: dict[str, str], retry_5xx: bool = False) -> None:
        """An asynchronous callback: sent a little later, maybe twice, maybe out of order."""
        delay = self._callback_latency
        if self.chaos.reorder and self.chaos.rng.random() < self.chaos.reorder:
            delay += self.chaos.rng.uniform(0.5, self.chaos.max_delay)
            self.stats.count("ChaosDelayed")
        self.stats.count("CallbacksSent")
        self.clock.after(delay, self._deliver, url, form, 1, retry_5xx)
        if self.chaos.duplicate and self.chaos.rng.random() < self.chaos.duplicate:
            self.stats.count("ChaosDuplicated")
            self.clock.after(
                delay + self.chaos.rng.uniform(0.0, 3.0), self._deliver, url, form, 1, retry_5xx
            )

    def _deliver(self, url: str, form: dict[str, str], attempt: int, retry_5xx: bool) -> None:
        if attempt == 1 and self.chaos.fail_once and self.chaos.rng.random() < self.chaos.fail_once:
            # The first attempt never reached the app (connection failure): Twilio retries.
            self.stats.count("ChaosFirstAttemptFailed")
            self.stats.count("TwilioRetries")
            self.clock.after(1.0, self._deliver, url, form, 2, retry_5xx)
            return
        reply = self.transport.post(url, form)
        self.stats.record(self.route_of(url), reply)
        if reply.status == 0 and attempt == 1:
            self.stats.count("TwilioRetries")
            self.clock.after(1.0, self._deliver, url, form, 2, retry_5xx)
        elif reply.status >= 500 and retry_5xx and attempt < 3:
            # assumption: TaskRouter retries an event callback answered with 5xx (the app
            # answers 503 precisely so that it is retried); we give it three attempts.
            self.stats.count("TwilioRetries")
            self.clock.after(2.0 * attempt, self._deliver, url, form, attempt + 1, retry_5xx)
        elif not 200 <= reply.status < 300:
            self.stats.count("CallbacksLost")
            self.stats.count(f"CallbacksLost:{self.route_of(url)}")

    # ---- TaskRouter: events ----------------------------------------------------------------

    def _task_fields(self, task: Task) -> dict[str, str]:
        return {
            "TaskSid": task.sid,
            "TaskAttributes": json.dumps(task.attributes, ensure_ascii=False),
            "TaskAge": str(int(self.now() - task.created)),
            "TaskPriority": str(task.priority),
            "TaskAssignmentStatus": task.status,
            "TaskChannelUniqueName": task.channel,
            "TaskQueueSid": task.queue_sid,
            "TaskQueueName": "Everyone",
            "TaskDateCreated": str(int(task.created)),
            "WorkflowSid": task.workflow_sid,
            "WorkflowName": "contact-center",
        }

    def _worker_fields(self, worker: Worker) -> dict[str, str]:
        activity = self.activities[worker.activity_sid]
        return {
            "WorkerSid": worker.sid,
            "WorkerName": worker.name,
            "WorkerAttributes": json.dumps(worker.attributes, ensure_ascii=False),
            "WorkerActivitySid": activity.sid,
            "WorkerActivityName": activity.name,
        }

    def event(
        self,
        event_type: str,
        resource_type: str,
        resource_sid: str,
        description: str,
        task: Task | None = None,
        worker: Worker | None = None,
        reservation: Reservation | None = None,
        extra: dict[str, str] | None = None,
    ) -> None:
        data: dict[str, str] = {}
        if task is not None:
            data.update(self._task_fields(task))
        if worker is not None:
            data.update(self._worker_fields(worker))
        if reservation is not None:
            data["ReservationSid"] = reservation.sid
        data.update(extra or {})
        form = payloads.taskrouter_event(
            event_sid=self.sid("EV"),
            event_type=event_type,
            account_sid=self.account.account_sid,
            workspace_sid=self.account.workspace_sid,
            workspace_name=self.account.workspace_name,
            resource_type=resource_type,
            resource_sid=resource_sid,
            timestamp=self.now(),
            description=description,
            data=data,
        )
        self._emit("taskrouter_event", form=form)
        url = self.app_url(EVENTS_PATH)
        if url:
            self.callback(url, form, retry_5xx=True)

    # ---- TaskRouter: workers ---------------------------------------------------------------

    def add_worker(self, sid: str, name: str, attributes: dict[str, Any], activity: str) -> Worker:
        with self.lock:
            now = self.now()
            worker = Worker(
                sid=sid,
                name=name,
                attributes=attributes,
                activity_sid=self.activity_by_name(activity).sid,
                activity_since=now,
                idle_since=now,
                date_created=now,
            )
            self.workers[sid] = worker
            return worker

    def worker_by_agent(self, agent_id: str) -> Worker:
        for worker in self.workers.values():
            if worker.agent_id == agent_id:
                return worker
        raise KeyError(agent_id)

    def recording_parties(self, recording_sid: str) -> tuple[str, str, str] | None:
        """Who is on a conference recording: whether the "customer" or the "agent" joined
        first (channel 1), the caller's call sid, and the answering agent's id. None for a
        recording that is not of a caller-and-agent conference (a voicemail)."""
        with self.lock:
            recording = self.recordings.get(recording_sid)
            conference = self.conferences.get(recording.conference_sid) if recording else None
            joined = list(conference.participants.values()) if conference else []
            customer = next((p for p in joined if p.label == "customer"), None)
            agent = next((p for p in joined if p.label == "worker"), None)
            agent_call = self.calls.get(agent.call_sid) if agent else None
            worker = self.workers.get(agent_call.worker_sid) if agent_call else None
            if customer is None or worker is None:
                return None
            first = "customer" if joined[0] is customer else "agent"
            return first, customer.call_sid, worker.agent_id

    def set_activity(self, worker_sid: str, activity_sid: str) -> Worker:
        """A worker's activity changes (TaskRouter JS SDK, REST, or TaskRouter itself)."""
        with self.lock:
            worker = self.workers[worker_sid]
            if activity_sid not in self.activities:
                raise KeyError(activity_sid)
            if worker.activity_sid == activity_sid:
                return worker
            previous = self.activities[worker.activity_sid]
            now = self.now()
            in_previous = now - worker.activity_since
            worker.activity_sid = activity_sid
            worker.activity_since = now
            if self.activities[activity_sid].available:
                worker.idle_since = now
            self.event(
                "worker.activity.update",
                "worker",
                worker.sid,
                f"Worker {worker.name} updated to {self.activities[activity_sid].name} Activity",
                worker=worker,
                extra={
                    "WorkerPreviousActivitySid": previous.sid,
                    "WorkerPreviousActivityName": previous.name,
                    "WorkerTimeInPreviousActivity": str(int(in_previous)),
                    "WorkerTimeInPreviousActivityMs": str(int(in_previous * 1000)),
                },
            )
            self._emit("activity", worker=worker)
        self.clock.after(0, self.assign)
        return worker

    def set_worker_attributes(self, worker_sid: str, attributes: dict[str, Any]) -> Worker:
        with self.lock:
            worker = self.workers[worker_sid]
            worker.attributes = attributes
            self.event(
                "worker.attributes.update",
                "worker",
                worker.sid,
                f"Worker {worker.name} attributes updated",
                worker=worker,
            )
        self.clock.after(0, self.assign)
        return worker

    # ---- TaskRouter: tasks and the workflow ------------------------------------------------

    def create_task(
        self,
        attributes: dict[str, Any],
        priority: int = 0,
        timeout: int = 86400,
        call_sid: str = "",
        channel: str = "voice",
    ) -> Task:
        with self.lock:
            now = self.now()
            task = Task(
                sid=self.sid("WT"),
                attributes=attributes,
                priority=priority,
                timeout=timeout,
                created=now,
                updated=now,
                workflow_sid=self.account.workflow_sid,
                call_sid=call_sid,
                channel=channel,
            )
            self.tasks[task.sid] = task
            self.event("task.created", "task", task.sid, "Task created", task=task)
            self._route(task)
            self.clock.after(timeout, self._task_ttl, task.sid)
        self.clock.after(0, self.assign)
        return task

    def _route(self, task: Task) -> None:
        """Evaluate the workflow: the first matching filter, from its first target."""
        routing = self.account.workflow["task_routing"]
        task.generation += 1
        task.target_expired = False
        for workflow_filter in routing.get("filters", []):
            if evaluate(workflow_filter["expression"], task.attributes):
                task.filter_name = workflow_filter.get("filter_friendly_name", "")
                task.targets = list(workflow_filter["targets"])
                task.on_default = False
                self._enter_target(task, 0)
                return
        self._enter_default(task)

    def _enter_default(self, task: Task) -> None:
        default = self.account.workflow["task_routing"].get("default_filter")
        task.filter_name = "Default Filter"
        task.targets = [default] if default else []
        task.on_default = True
        if task.targets:
            self._enter_target(task, 0)
        else:
            self.cancel_task(task.sid, "no workflow target")

    def workers_available(self, task: Task, target: dict[str, Any]) -> int:
        """`workers.available` in skip_if: workers of the target with an available activity.
        assumption: counted by activity (not by free capacity)."""
        return sum(
            1
            for w in self.workers.values()
            if self.activities[w.activity_sid].available and self._matches(task, target, w)
        )

    def _matches(self, task: Task, target: dict[str, Any], worker: Worker) -> bool:
        queue_expression = self.account.queues.get(target["queue"], "1==1")
        if not evaluate(queue_expression, task.attributes, worker.attributes, bare="worker"):
            return False
        expression = target.get("expression")
        return not expression or evaluate(expression, task.attributes, worker.attributes)

    def _enter_target(self, task: Task, index: int) -> None:
        while index < len(task.targets):
            target = task.targets[index]
            skip_if = target.get("skip_if")
            available = self.workers_available(task, target) if skip_if else 0
            if skip_if and evaluate(skip_if, task.attributes, workers_available=available):
                self.event(
                    "workflow.skipped",
                    "task",
                    task.sid,
                    f"Task skipped target {index} of {task.filter_name}",
                    task=task,
                    extra={
                        "WorkflowFilterName": task.filter_name,
                        "WorkflowFilterTarget": str(index),
                    },
                )
                index += 1
                continue
            break
        if index >= len(task.targets):
            if not task.on_default:
                self._enter_default(task)
            return
        target = task.targets[index]
        task.target_index = index
        task.target_expired = False
        previous_queue = task.queue_sid
        task.queue_sid = target["queue"]
        self.event(
            "workflow.target-matched",
            "task",
            task.sid,
            f"Task matched target {index} of filter {task.filter_name}",
            task=task,
            extra={
                "WorkflowFilterName": task.filter_name,
                "WorkflowFilterTargetExpression": target.get("expression", ""),
            },
        )
        if previous_queue != task.queue_sid:
            task.queue_entered = self.now()
            self.event("task-queue.entered", "task", task.sid, "Task entered queue", task=task)
        if "timeout" in target:
            self.clock.after(
                float(target["timeout"]), self._target_timeout, task.sid, task.generation, index
            )

    def _target_timeout(self, task_sid: str, generation: int, index: int) -> None:
        with self.lock:
            task = self.tasks[task_sid]
            if task.generation != generation or task.target_index != index:
                return
            if task.status == "reserved":
                task.target_expired = True  # moves on if this reservation does not end in a match
                return
            if task.status != "pending":
                return
            self.event(
                "workflow.timeout", "task", task.sid, f"Task timed out of target {index}", task=task
            )
            self._enter_target(task, index + 1)
        self.clock.after(0, self.assign)

    def _task_ttl(self, task_sid: str) -> None:
        with self.lock:
            task = self.tasks[task_sid]
            if task.status in {"pending", "reserved"}:
                self.cancel_task(task_sid, "Task TTL Exceeded")

    def update_task_attributes(self, task_sid: str, attributes: dict[str, Any]) -> Task:
        """New attributes: TaskRouter re-evaluates a pending task against the workflow.
        assumption: a task with a pending reservation keeps it and is re-evaluated if it ends."""
        with self.lock:
            task = self.tasks[task_sid]
            task.attributes = attributes
            task.updated = self.now()
            self.event("task.updated", "task", task.sid, "Task attributes updated", task=task)
            if task.status == "pending":
                self._route(task)
            elif task.status == "reserved":
                task.target_expired = True
                task.generation += 1
        self.clock.after(0, self.assign)
        return task

    def cancel_task(self, task_sid: str, reason: str) -> Task:
        """Cancel a pending or reserved task; its call (if still queued) leaves the queue."""
        with self.lock:
            task = self.tasks[task_sid]
            if task.status not in {"pending", "reserved"}:
                return task
            for reservation_sid in task.reservations:
                reservation = self.reservations[reservation_sid]
                if reservation.status == "pending":
                    self._end_reservation(reservation, "canceled")
            task.status = "canceled"
            task.reason = reason
            task.updated = self.now()
            self.event(
                "task.canceled",
                "task",
                task.sid,
                f"Task canceled: {reason}",
                task=task,
                extra={"TaskCanceledReason": reason},
            )
            call = self.calls.get(task.call_sid)
            leave_queue = (
                call is not None and call.status in ACTIVE_CALL and call.task_sid == task.sid
            )
            plan = self.transfer_plans.get(task.sid)
            transfer = self._transfer_truth(task.sid) if plan else None
        if plan is not None and transfer is not None:
            self._transfer_unanswered(plan, transfer)
        if leave_queue and call is not None and reason != "hangup":
            self.clock.after(0, self._leave_queue, call.sid, "leave")
        return task

    def complete_task(self, task_sid: str, reason: str = "") -> Task:
        with self.lock:
            task = self.tasks[task_sid]
            if task.status not in {"assigned", "wrapping"}:
                return task
            if task.status == "assigned" and task.worker_sid in self.workers:
                # Completed while the call goes on (the agent handed it over): the agent's own
                # wrap-up follows, then whatever they meant to do next (a break, going home).
                agent_id = self.workers[task.worker_sid].agent_id
                self.clock.after(
                    self.agents.wrap_up_seconds(agent_id), self._agent_wraps_up, task.sid
                )
            task.status = "completed"
            task.reason = reason
            task.updated = self.now()
            worker = self.workers.get(task.worker_sid)
            for reservation_sid in task.reservations:
                reservation = self.reservations[reservation_sid]
                if reservation.status in {"accepted", "wrapping"}:
                    reservation.status = "completed"
                    self.event(
                        "reservation.completed",
                        "reservation",
                        reservation.sid,
                        "Reservation completed",
                        task=task,
                        worker=worker,
                        reservation=reservation,
                    )
            self.event(
                "task.completed",
                "task",
                task.sid,
                "Task completed",
                task=task,
                worker=worker,
                extra={"TaskCompletedReason": reason},
            )
            if worker is not None and worker.task_sid == task.sid:
                worker.task_sid = None
                worker.idle_since = self.now()
        self.clock.after(0, self.assign)
        return task

    def wrap_task(self, task_sid: str) -> None:
        with self.lock:
            task = self.tasks[task_sid]
            if task.status != "assigned":
                return
            task.status = "wrapping"
            task.updated = self.now()
            worker = self.workers.get(task.worker_sid)
            for reservation_sid in task.reservations:
                reservation = self.reservations[reservation_sid]
                if reservation.status == "accepted":
                    reservation.status = "wrapping"
                    self.event(
                        "reservation.wrapup",
                        "reservation",
                        reservation.sid,
                        "Reservation wrapping",
                        task=task,
                        worker=worker,
                        reservation=reservation,
                    )
            self.event("task.wrapup", "task", task.sid, "Task wrapping", task=task, worker=worker)

    # ---- TaskRouter: assignment ------------------------------------------------------------

    def _eligible(self, task: Task, worker: Worker) -> bool:
        return (
            worker.reservation_sid is None
            and worker.task_sid is None
            and worker.sid not in task.excluded
            and self.activities[worker.activity_sid].available
            and bool(task.targets)
            and self._matches(task, task.targets[task.target_index], worker)
        )

    def assign(self) -> None:
        """Offer pending tasks (priority, then age) to the longest-idle matching worker."""
        offers: list[Reservation] = []
        with self.lock:
            free = [
                w
                for w in self.workers.values()
                if w.reservation_sid is None
                and w.task_sid is None
                and self.activities[w.activity_sid].available
            ]
            if not free:
                return
            pending = sorted(
                (t for t in self.tasks.values() if t.status == "pending" and t.targets),
                key=lambda t: (-t.priority, t.created),
            )
            for task in pending:
                candidates = [w for w in free if self._eligible(task, w)]
                if not candidates:
                    continue
                worker = min(candidates, key=lambda w: (w.idle_since, w.sid))
                free.remove(worker)
                offers.append(self._reserve(task, worker))
                if not free:
                    break
        for reservation in offers:
            self.clock.after(0, self._assignment_callback, reservation.sid)

    def _reserve(self, task: Task, worker: Worker) -> Reservation:
        reservation = Reservation(
            sid=self.sid("WR"), task_sid=task.sid, worker_sid=worker.sid, created=self.now()
        )
        self.reservations[reservation.sid] = reservation
        task.reservations.append(reservation.sid)
        task.status = "reserved"
        worker.reservation_sid = reservation.sid
        self.event(
            "reservation.created",
            "reservation",
            reservation.sid,
            f"Reservation created for Worker {worker.name}",
            task=task,
            worker=worker,
            reservation=reservation,
        )
        self.clock.after(
            self.account.reservation_timeout, self._reservation_timeout, reservation.sid
        )
        truth = self.truth.get(task.call_sid)
        if truth is not None:
            truth.offers.append(Offer(agent_id=worker.agent_id, at=self.now()))
        transfer = self._transfer_truth(task.sid)
        if transfer is not None:
            transfer.offered_to.append(worker.agent_id)
        return reservation

    def _assignment_callback(self, reservation_sid: str) -> None:
        with self.lock:
            reservation = self.reservations[reservation_sid]
            if reservation.status != "pending":
                return
            task = self.tasks[reservation.task_sid]
            worker = self.workers[reservation.worker_sid]
            form = payloads.assignment_callback(
                account_sid=self.account.account_sid,
                workspace_sid=self.account.workspace_sid,
                workflow_sid=task.workflow_sid,
                task_queue_sid=task.queue_sid,
                task_sid=task.sid,
                reservation_sid=reservation.sid,
                worker_sid=worker.sid,
                task_age=int(self.now() - task.created),
                task_priority=task.priority,
                task_attributes=task.attributes,
                worker_attributes=worker.attributes,
            )
        url = self.app_url(ASSIGNMENT_PATH)
        if url is None:
            return
        reply = self.request(url, form)
        if not 200 <= reply.status < 300:
            # The reservation stays pending until it times out (the app could still accept it).
            self.stats.count("AssignmentCallbackFailed")
            return
        try:
            instruction = json.loads(reply.body) if reply.body.strip() else {}
        except json.JSONDecodeError:
            self.stats.count("AssignmentCallbackBadJson")
            return
        self.apply_instruction(reservation_sid, instruction)

    def apply_instruction(self, reservation_sid: str, instruction: dict[str, Any]) -> None:
        kind = str(instruction.get("instruction", ""))
        if kind == "conference":
            self._conference_instruction(reservation_sid, instruction)
        elif kind == "call":
            self._call_instruction(reservation_sid, instruction)
        elif kind == "accept":
            self.accept_reservation(reservation_sid)
        elif kind == "reject":
            self.reject_reservation(reservation_sid, instruction.get("activity_sid"))
        elif kind:
            self.stats.count(f"UnsupportedInstruction:{kind}")

    def accept_reservation(self, reservation_sid: str) -> None:
        with self.lock:
            reservation = self.reservations[reservation_sid]
            if reservation.status != "pending":
                return
            task = self.tasks[reservation.task_sid]
            worker = self.workers[reservation.worker_sid]
            reservation.status = "accepted"
            task.status = "assigned"
            task.worker_sid = worker.sid
            task.updated = self.now()
            worker.reservation_sid = None
            worker.task_sid = task.sid
            self.event(
                "reservation.accepted",
                "reservation",
                reservation.sid,
                f"Reservation accepted by Worker {worker.name}",
                task=task,
                worker=worker,
                reservation=reservation,
            )

    def reject_reservation(self, reservation_sid: str, activity: str | None = None) -> None:
        with self.lock:
            reservation = self.reservations[reservation_sid]
            if reservation.status != "pending":
                return
            self._end_reservation(reservation, "rejected")
            if activity:
                self.set_activity(reservation.worker_sid, activity)
        self.clock.after(0, self.assign)

    def _reservation_timeout(self, reservation_sid: str) -> None:
        with self.lock:
            reservation = self.reservations[reservation_sid]
            if reservation.status != "pending":
                return
            self._end_reservation(reservation, "timeout")
            agent_call = self.calls.get(reservation.agent_call_sid)
            if agent_call is not None and agent_call.status in ACTIVE_CALL:
                self._end_call(agent_call, "no-answer")
            if self.account.timeout_activity_sid:
                self.set_activity(reservation.worker_sid, self.account.timeout_activity_sid)
        self.clock.after(0, self.assign)

    def _end_reservation(self, reservation: Reservation, status: str) -> None:
        """A pending reservation ends without a match; the task goes back to pending."""
        task = self.tasks[reservation.task_sid]
        worker = self.workers[reservation.worker_sid]
        reservation.status = status
        worker.reservation_sid = None
        task.excluded.add(worker.sid)
        self.event(
            f"reservation.{status}",
            "reservation",
            reservation.sid,
            f"Reservation {status} for Worker {worker.name}",
            task=task,
            worker=worker,
            reservation=reservation,
        )
        truth = self.truth.get(task.call_sid)
        if truth is not None:
            for offer in reversed(truth.offers):
                if offer.agent_id == worker.agent_id and offer.outcome == "ringing":
                    offer.outcome = "canceled" if status == "canceled" else "missed"
                    break
        if status in {"timeout", "rejected"}:
            self.agents.missed(worker.agent_id, self.now())
        agent_call = self.calls.get(reservation.agent_call_sid)
        if status == "canceled" and agent_call is not None and agent_call.status in ACTIVE_CALL:
            self._end_call(agent_call, "canceled")
        if task.status == "reserved":
            task.status = "pending"
            if task.target_expired:
                self._enter_target(task, task.target_index + 1)

    # ---- Voice: the conference instruction -------------------------------------------------

    def _conference_instruction(self, reservation_sid: str, instruction: dict[str, Any]) -> None:
        with self.lock:
            reservation = self.reservations[reservation_sid]
            if reservation.status != "pending":
                return
            task = self.tasks[reservation.task_sid]
            customer = self.calls.get(task.call_sid)
            if customer is None or customer.status not in ACTIVE_CALL:
                self.stats.count("ConferenceInstructionCallGone")  # Twilio error 40144
                return
            worker = self.workers[reservation.worker_sid]
            reservation.instruction = instruction
            agent = Call(
                sid=self.sid("CA"),
                from_=str(instruction.get("from") or customer.from_),
                to=str(instruction.get("to") or worker.attributes.get("contact_uri") or ""),
                direction="outbound-api",
                created=self.now(),
                role="agent",
                status_callback=str(instruction.get("status_callback") or ""),
                status_events=_events(instruction.get("status_callback_event"), "completed"),
                reservation_sid=reservation.sid,
                worker_sid=worker.sid,
                parent_call_sid=customer.sid,
            )
            self.calls[agent.sid] = agent
            reservation.agent_call_sid = agent.sid
            self._call_progress(agent, "initiated")
            agent.status = "ringing"
            self._call_progress(agent, "ringing")
            ring_timeout = float(instruction.get("timeout", 60))
            delay = self.agents.answer_delay(worker.agent_id, self.now())
        if delay is not None and delay < ring_timeout:
            self.clock.after(delay, self._agent_answers, reservation_sid)
        else:
            self.clock.after(ring_timeout, self._agent_no_answer, reservation_sid)

    def _agent_no_answer(self, reservation_sid: str) -> None:
        """The agent's leg rang out. assumption: TaskRouter times the reservation out."""
        with self.lock:
            reservation = self.reservations[reservation_sid]
            agent_call = self.calls.get(reservation.agent_call_sid)
            if agent_call is not None and agent_call.status in ACTIVE_CALL:
                self._end_call(agent_call, "no-answer")
            if reservation.status == "pending":
                self._end_reservation(reservation, "timeout")
                if self.account.timeout_activity_sid:
                    self.set_activity(reservation.worker_sid, self.account.timeout_activity_sid)
        self.clock.after(0, self.assign)

    def _agent_answers(self, reservation_sid: str) -> None:
        with self.lock:
            reservation = self.reservations[reservation_sid]
            agent_call = self.calls[reservation.agent_call_sid]
            task = self.tasks[reservation.task_sid]
            customer = self.calls.get(task.call_sid)
            if reservation.status != "pending" or agent_call.status not in ACTIVE_CALL:
                return
            if customer is None or customer.status not in ACTIVE_CALL:
                self._end_call(agent_call, "completed")
                return
            instruction = reservation.instruction
            now = self.now()
            agent_call.status = "in-progress"
            agent_call.answered_at = now
            self._call_progress(agent_call, "answered")
            self.accept_reservation(reservation_sid)
            conference = Conference(
                sid=self.sid("CF"),
                friendly_name=task.sid,
                created=now,
                region=str(instruction.get("region", "us1")),
                callback=str(instruction.get("conference_status_callback") or ""),
                events=_events(instruction.get("conference_status_callback_event"), ""),
                record=instruction.get("conference_record") in {"record-from-start", "true", True},
                recording_channels=2 if instruction.get("recording_channels") == "dual" else 1,
                recording_callback=str(
                    instruction.get("conference_recording_status_callback") or ""
                ),
                recording_events=_events(
                    instruction.get("conference_recording_status_callback_event"), "completed"
                ),
                task_sid=task.sid,
            )
            self.conferences[conference.sid] = conference
            # The caller leaves the queue for the conference.
            customer.conference_sid = conference.sid
            customer.task_sid = task.sid
            joins = [
                (agent_call, "worker", bool(instruction.get("end_conference_on_exit"))),
                (
                    customer,
                    "customer",
                    bool(instruction.get("end_conference_on_customer_exit")),
                ),
            ]
            if self.chaos.caller_joins_first():
                joins.reverse()
            for call, label, end_on_exit in joins:
                self._join(conference, call, label, end_on_exit)
            # TaskRouter writes the conference it made into the task (the softphone's call
            # control reads it back): `conference.sid`, its participants, `worker_call_sid`.
            task.attributes = {
                **task.attributes,
                "worker_call_sid": agent_call.sid,
                "conference": {
                    "sid": conference.sid,
                    "participants": {"worker": agent_call.sid, "customer": customer.sid},
                },
            }
            truth = self.truth.get(customer.sid)
            plan = customer.plan
            if truth is not None:
                worker = self.workers[reservation.worker_sid]
                truth.answered_by = worker.agent_id
                truth.answered_at = now
                truth.wait_seconds = round(now - (truth.enqueued_at or truth.placed_at), 3)
                truth.recorded = conference.record
                for offer in reversed(truth.offers):
                    if offer.agent_id == worker.agent_id and offer.outcome == "ringing":
                        offer.outcome = "answered"
                        break
            talk = plan.talk_seconds if plan else 60.0
            customer_ends = plan.hangs_up_first if plan else True
            agent_id = self.workers[reservation.worker_sid].agent_id
        self.clock.after(talk, self._hang_up_conversation, conference.sid, customer_ends, 0)
        self.agents.answered(agent_id, customer.sid, conference.sid, self.now())

    def _join(
        self,
        conference: Conference,
        call: Call,
        label: str,
        end_on_exit: bool,
        callback: str = "",
        events: frozenset[str] = frozenset(),
    ) -> None:
        now = self.now()
        participant = Participant(
            call.sid, label, end_on_exit, joined=now, callback=callback, events=events
        )
        conference.participants[call.sid] = participant
        if conference.status == "init":
            conference.status = "in-progress"
            conference.started = now
            self._conference_event(conference, "conference-start")
            if conference.record:
                conference.recording_sid = self.sid("RE")
        self._conference_event(conference, "participant-join", call.sid, participant)

    def _conference_event(
        self,
        conference: Conference,
        event: str,
        call_sid: str = "",
        participant: Participant | None = None,
        extra: dict[str, str] | None = None,
    ) -> None:
        short = event.removeprefix("participant-").removeprefix("conference-")
        # statusCallbackEvent names the pair: `hold` covers hold and unhold, `mute` unmute.
        short = {"unhold": "hold", "unmute": "mute"}.get(short, short)
        url, wanted = conference.callback, conference.events
        if participant is not None and participant.callback:
            url, wanted = participant.callback, participant.events
        sequence = conference.sequence
        conference.sequence += 1
        if not url or (wanted and short not in wanted and event not in wanted):
            return
        form = payloads.conference_callback(
            account_sid=self.account.account_sid,
            conference_sid=conference.sid,
            friendly_name=conference.friendly_name,
            event=event,
            sequence_number=sequence,
            timestamp=self.now(),
            call_sid=call_sid,
            participant=(
                {
                    "muted": participant.muted,
                    "hold": participant.hold,
                    "end_on_exit": participant.end_on_exit,
                    "label": participant.label,
                }
                if participant
                else None
            ),
            extra=extra,
        )
        self.callback(url, form)

    def _hang_up_conversation(
        self, conference_sid: str, customer_first: bool, generation: int
    ) -> None:
        with self.lock:
            conference = self.conferences[conference_sid]
            if conference.status != "in-progress" or conference.end_generation != generation:
                return
            connected = [p for p in conference.participants.values() if p.status == "connected"]
            if customer_first:
                first = next((p for p in connected if p.label == "customer"), None)
            else:
                # The agent on the call now: the one TaskRouter dialled, or a colleague who
                # joined by transfer.
                first = next((p for p in connected if self.calls[p.call_sid].role == "agent"), None)
            if first is None:
                return
            self._leave(conference, self.calls[first.call_sid], "participant-hung-up")
        if not customer_first:
            # Alone in the conference after the agent left, the caller hangs up a moment later.
            self.clock.after(1.5, self._hang_up_conversation, conference_sid, True, generation)

    def _leave(self, conference: Conference, call: Call, reason: str) -> None:
        participant = conference.participants[call.sid]
        participant.status = "left"
        participant.left_at = self.now()
        if participant.label == "worker":
            truth = self._conference_truth(conference)
            pending = [t for t in truth.transfers if t.from_left_at is None] if truth else []
            if pending:
                pending[-1].from_left_at = self.now()
        if call.status in ACTIVE_CALL:
            self._end_call(call, "completed", in_conference=True)
        self._conference_event(
            conference,
            "participant-leave",
            call.sid,
            participant,
            {"ParticipantCallStatus": "completed", "ReasonParticipantLeft": reason},
        )
        self._dial_ended(call)
        remaining = [p for p in conference.participants.values() if p.status == "connected"]
        if participant.end_on_exit or not remaining:
            ending = (
                "participant-with-end-conference-on-exit-left"
                if participant.end_on_exit
                else "last-participant-left"
            )
            self.end_conference(conference, ending, call.sid)

    def _dial_ended(self, call: Call) -> None:
        """A leg that joined with `<Dial action>` left its conference: Twilio requests the
        action (the leg has ended, so its TwiML is not followed)."""
        if not call.dial_action:
            return
        action, call.dial_action = call.dial_action, ""
        form = self._call_base(call)
        form.update({"DialCallStatus": "completed", "CallStatus": "completed"})
        self.request(action, form)

    def end_conference(
        self, conference: Conference, reason: str, ending_call_sid: str = ""
    ) -> None:
        if conference.status == "completed":
            return
        now = self.now()
        for other in list(conference.participants.values()):
            if other.status == "connected":
                other.status = "left"
                call = self.calls[other.call_sid]
                if call.status in ACTIVE_CALL:
                    self._end_call(call, "completed", in_conference=True)
                self._conference_event(
                    conference,
                    "participant-leave",
                    other.call_sid,
                    other,
                    {
                        "ParticipantCallStatus": "completed",
                        "ReasonParticipantLeft": "conference_ended_via_api"
                        if reason == "conference-ended-via-api"
                        else "participant_updated_via_api",
                    },
                )
                self._dial_ended(call)
        conference.status = "completed"
        conference.ended = now
        extra = {"ReasonConferenceEnded": reason}
        if ending_call_sid:
            extra["CallSidEndingConference"] = ending_call_sid
        self._conference_event(conference, "conference-end", extra=extra)
        if conference.record and conference.recording_sid and conference.started is not None:
            self._finish_recording(conference)
        for transfer_sid in conference.transfer_tasks:
            # A task answered with the `call` instruction is not tied to the conference by
            # TaskRouter: only the app moves it on (its Dial action, requested above as the
            # colleague's leg left). Then the colleague wraps up as for any task; a task the
            # app left assigned holds the colleague's capacity, and is counted.
            transfer_task = self.tasks[transfer_sid]
            worker = self.workers.get(transfer_task.worker_sid)
            if transfer_task.status == "wrapping" and worker is not None:
                self.clock.after(
                    self.agents.wrap_up_seconds(worker.agent_id), self._agent_wraps_up, transfer_sid
                )
            elif transfer_task.status == "assigned":
                self.stats.count("TransferTaskLeftAssigned")
        task = self.tasks.get(conference.task_sid)
        if task is not None and task.status == "assigned":
            self.wrap_task(task.sid)
            reservation = next(
                (
                    self.reservations[r]
                    for r in task.reservations
                    if self.reservations[r].status == "wrapping"
                ),
                None,
            )
            post_work = (
                reservation.instruction.get("post_work_activity_sid") if reservation else None
            )
            worker = self.workers.get(task.worker_sid)
            if worker is not None:
                if post_work in self.activities:
                    self.set_activity(worker.sid, str(post_work))
                elif post_work:
                    self.stats.count("InvalidPostWorkActivity")  # Twilio error 40139
                self.clock.after(
                    self.agents.wrap_up_seconds(worker.agent_id), self._agent_wraps_up, task.sid
                )

    def _finish_recording(self, conference: Conference) -> None:
        started = conference.started or self.now()
        duration = max(0, int((conference.ended or self.now()) - started))
        recording = Recording(
            sid=conference.recording_sid,
            created=started,
            start=started,
            duration=duration,
            channels=conference.recording_channels,
            source="StartConferenceRecordingAPI",
            conference_sid=conference.sid,
        )
        self.recordings[recording.sid] = recording
        if conference.recording_callback and "completed" in conference.recording_events:
            form = payloads.recording_callback(
                account_sid=self.account.account_sid,
                recording_sid=recording.sid,
                recording_url=self.recording_url(recording.sid),
                status="completed",
                duration=duration,
                channels=recording.channels,
                start_time=recording.start,
                source=recording.source,
                conference_sid=conference.sid,
            )
            # Twilio needs a few seconds to process a recording before it reports it.
            self.clock.after(3.0, self.callback, conference.recording_callback, form)

    def recording_url(self, recording_sid: str) -> str:
        return (
            f"https://api.twilio.com/2010-04-01/Accounts/{self.account.account_sid}"
            f"/Recordings/{recording_sid}"
        )

    def _agent_wraps_up(self, task_sid: str) -> None:
        """The agent ends the wrap-up in the softphone: the task completes (unless the app
        completes tasks), a new activity."""
        with self.lock:
            task = self.tasks[task_sid]
            worker = self.workers.get(task.worker_sid)
            if task.status == "wrapping" and self.agents.completes_tasks():
                self.complete_task(task_sid, "wrap-up finished")
            if worker is None:
                return
            name = self.agents.after_wrap_up(worker.agent_id, self.now())
            if name is not None:
                self.set_activity(worker.sid, self.activity_by_name(name).sid)

    # ---- Voice: calls and TwiML ------------------------------------------------------------

    def _call_base(self, call: Call) -> dict[str, str]:
        return payloads.voice_request(
            account_sid=self.account.account_sid,
            call_sid=call.sid,
            from_=call.from_,
            to=call.to,
            call_status=call.status,
            direction=call.direction,
            parent_call_sid=call.parent_call_sid if call.role == "agent" else "",
        )

    def _call_progress(self, call: Call, event: str) -> None:
        """A statusCallback for one leg, if the leg asked for this event."""
        sequence = call.sequence
        call.sequence += 1
        if not call.status_callback or event not in call.status_events:
            return
        status = {"initiated": "initiated", "ringing": "ringing", "answered": "in-progress"}.get(
            event, call.status
        )
        duration = None
        if event == "completed":
            duration = (
                int((call.ended_at or self.now()) - call.answered_at) if call.answered_at else 0
            )
        form = payloads.call_status_callback(
            self._call_base(call),
            call_status=status,
            sequence_number=sequence,
            timestamp=self.now(),
            call_duration=duration,
        )
        self.callback(call.status_callback, form)

    def _end_call(self, call: Call, status: str, in_conference: bool = False) -> None:
        if call.status not in ACTIVE_CALL:
            return
        call.status = status
        call.ended_at = self.now()
        call.verbs = []
        call.generation += 1
        self._call_progress(call, "completed")
        if call.role == "agent":
            return
        truth = self.truth.get(call.sid)
        if truth is not None and truth.ended_at is None:
            truth.ended_at = call.ended_at
            conference = self.conferences.get(call.conference_sid)
            participant = conference.participants.get(call.sid) if conference else None
            if participant is not None and participant.hold_since is not None:
                truth.hold_seconds += call.ended_at - participant.hold_since
                participant.hold_since = None
            if truth.answered_at is not None:
                truth.hold_seconds = round(truth.hold_seconds, 3)
                truth.talk_seconds = round(
                    call.ended_at - truth.answered_at - truth.hold_seconds, 3
                )
                truth.outcome = "answered"
            elif truth.outcome == "in_progress":
                # The app ended an unanswered call: fine after the caller asked for a callback
                # (they heard "press 2" in the fallback menu), a drop by us otherwise.
                truth.outcome = "callback_requested" if truth.keyed == CALLBACK_KEY else "dropped"
            self.truth.finish(truth)
            self._emit("call_ended", truth=truth)
        if call.conference_sid and not in_conference:
            conference = self.conferences[call.conference_sid]
            if call.sid in conference.participants and conference.status == "in-progress":
                self._leave(conference, call, "participant-hung-up")

    def place_call(self, plan: CallerPlan) -> str:
        """A caller dials the company number: Twilio asks the app what to do."""
        with self.lock:
            call = Call(
                sid=self.sid("CA"),
                from_=plan.caller,
                to=self.account.company_number,
                direction="inbound",
                created=self.now(),
                role="customer",
                status="ringing",
                status_callback=self.app_url(VOICE_STATUS_PATH) or "",
                plan=plan,
            )
            self.calls[call.sid] = call
            self.truth.add(
                CallTruth(
                    call_sid=call.sid,
                    caller=plan.caller,
                    placed_at=call.created,
                    customer_id=plan.customer_id,
                    owner_agent_id=plan.owner_agent_id,
                    team=plan.team,
                    scenario=plan.scenario,
                )
            )
            url = self.app_url(INCOMING_PATH) or self.transport.public_base_url + INCOMING_PATH
            form = self._call_base(call)
        self.clock.after(plan.patience, self._caller_gives_up, call.sid)
        self._fetch(call, url, form, fallback=self.app_url(VOICE_FALLBACK_PATH))
        return call.sid

    def _fetch(
        self, call: Call, url: str, form: dict[str, str], fallback: str | None = None
    ) -> None:
        """Fetch TwiML for a live call and carry it out; Twilio's fallback URL on failure."""
        reply = self.request(url, form)
        if not 200 <= reply.status < 300 and fallback:
            self.stats.count("FallbackUrlUsed")
            reply = self.request(fallback, {**form, "ErrorCode": "11200", "ErrorUrl": url})
            url = fallback
        with self.lock:
            if call.status not in ACTIVE_CALL:
                return
            try:
                ok = 200 <= reply.status < 300
                root = ET.fromstring(reply.body) if ok else None  # noqa: S314 - our app's TwiML
            except ET.ParseError:
                root = None
            if root is None or root.tag != "Response":
                # "An application error has occurred": the caller hears it and the call ends.
                self.stats.count("ApplicationError")
                self._note(call, f"application error from {_path(url)} ({reply.status})")
                self._end_call(call, "failed" if call.answered_at is None else "completed")
                return
            if call.answered_at is None:
                call.answered_at = self.now()
                call.status = "in-progress"
            call.verbs = list(root)
            call.doc_url = url
            call.generation += 1
            generation = call.generation
        self.clock.after(0, self._next_verb, call.sid, generation)

    def _note(self, call: Call, text: str) -> None:
        truth = self.truth.get(call.sid)
        if truth is not None:
            truth.notes.append(text)

    def _next_verb(self, call_sid: str, generation: int) -> None:
        with self.lock:
            call = self.calls[call_sid]
            if call.status not in ACTIVE_CALL or call.generation != generation:
                return
            if not call.verbs:
                self._end_call(call, "completed")  # the document ran out: Twilio hangs up
                return
            verb = call.verbs.pop(0)
            handler = _VERBS.get(verb.tag)
        if handler is None:
            self.stats.count(f"UnsupportedVerb:{verb.tag}")
            self.clock.after(0, self._next_verb, call_sid, generation)
            return
        handler(self, call, verb, generation)

    def _continue_after(self, call: Call, seconds: float, generation: int) -> None:
        self.clock.after(seconds, self._next_verb, call.sid, generation)

    def _verb_say(self, call: Call, verb: ET.Element, generation: int) -> None:
        loops = int(verb.get("loop", "1") or 1) or 1
        self._continue_after(call, loops * max(1.0, len(verb.text or "") / 12), generation)

    def _verb_play(self, call: Call, verb: ET.Element, generation: int) -> None:
        loops = int(verb.get("loop", "1") or 1) or 1
        self._continue_after(call, loops * 5.0, generation)

    def _verb_pause(self, call: Call, verb: ET.Element, generation: int) -> None:
        self._continue_after(call, float(verb.get("length", "1")), generation)

    def _verb_hangup(self, call: Call, verb: ET.Element, generation: int) -> None:
        with self.lock:
            self._end_call(call, "completed")

    def _verb_reject(self, call: Call, verb: ET.Element, generation: int) -> None:
        with self.lock:
            self._end_call(call, "busy" if verb.get("reason") == "busy" else "no-answer")

    def _verb_redirect(self, call: Call, verb: ET.Element, generation: int) -> None:
        url = urljoin(call.doc_url, (verb.text or "").strip())
        with self.lock:
            form = self._call_base(call)
        self._fetch(call, url, form)

    def _verb_enqueue(self, call: Call, verb: ET.Element, generation: int) -> None:
        task_el = verb.find("Task")
        workflow_sid = verb.get("workflowSid", "")
        with self.lock:
            if workflow_sid != self.account.workflow_sid or task_el is None:
                self.stats.count("EnqueueWithoutWorkflow")
                self._note(call, f"enqueue without our workflow ({workflow_sid!r})")
                self._continue_after(call, 0, generation)
                return
            try:
                attributes = json.loads(task_el.text or "{}")
            except json.JSONDecodeError:
                self.stats.count("EnqueueBadTaskJson")
                self._continue_after(call, 0, generation)
                return
            # TaskRouter adds the call's own fields to the attributes of an enqueued call.
            attributes.update(
                {
                    "call_sid": call.sid,
                    "account_sid": self.account.account_sid,
                    "from": call.from_,
                    "to": call.to,
                    "direction": call.direction,
                    "called": call.to,
                    "caller": attributes.get("caller", call.from_),
                    "caller_country": "JP",
                    "called_country": "JP",
                }
            )
            call.enqueue_action = (
                urljoin(call.doc_url, verb.get("action", "")) if verb.get("action") else ""
            )
            call.enqueued_at = self.now()
            truth = self.truth.get(call.sid)
            if truth is not None and truth.enqueued_at is None:
                truth.enqueued_at = call.enqueued_at
            task = self.create_task(
                attributes,
                priority=int(task_el.get("priority", "0")),
                timeout=int(task_el.get("timeout", "86400")),
                call_sid=call.sid,
            )
            call.task_sid = task.sid

    def _leave_queue(self, call_sid: str, result: str) -> None:
        """The call leaves the queue without an agent: the Enqueue action, else the next verb."""
        with self.lock:
            call = self.calls[call_sid]
            if call.status not in ACTIVE_CALL or call.conference_sid:
                return
            queued_for = int(self.now() - (call.enqueued_at or self.now()))
            action = call.enqueue_action
            form = {
                **self._call_base(call),
                "QueueResult": result,
                "QueueSid": "QU" + call.task_sid[2:],
                "QueueTime": str(queued_for),
            }
            call.task_sid = ""
            generation = call.generation
        if action:
            self._fetch(call, action, form)
        else:
            self.clock.after(0, self._next_verb, call_sid, generation)

    def _verb_gather(self, call: Call, verb: ET.Element, generation: int) -> None:
        prompt = sum(max(1.0, len(child.text or "") / 12) for child in verb if child.tag == "Say")
        timeout = float(verb.get("timeout", "5"))
        digits = call.plan.digits if call.plan else ""
        action = (
            urljoin(call.doc_url, verb.get("action", "")) if verb.get("action") else call.doc_url
        )
        if not digits:
            if verb.get("actionOnEmptyResult") == "true":
                self.clock.after(
                    prompt + timeout,
                    self._post_action,
                    call.sid,
                    generation,
                    action,
                    {"Digits": ""},
                )
            else:
                self._continue_after(call, prompt + timeout, generation)
            return
        self.clock.after(
            prompt + 2.0, self._post_action, call.sid, generation, action, {"Digits": digits}
        )

    def _post_action(self, call_sid: str, generation: int, url: str, extra: dict[str, str]) -> None:
        with self.lock:
            call = self.calls[call_sid]
            if call.status not in ACTIVE_CALL or call.generation != generation:
                return
            form = {**self._call_base(call), **extra}
            truth = self.truth.get(call_sid)
            if truth is not None and extra.get("Digits"):
                truth.keyed = extra["Digits"]
        self._fetch(call, url, form)

    def _verb_record(self, call: Call, verb: ET.Element, generation: int) -> None:
        plan = call.plan
        seconds = min(
            float(verb.get("maxLength", "3600")), plan.voicemail_seconds if plan else 10.0
        )
        self.clock.after(seconds, self._recorded, call.sid, generation, verb, seconds)

    def _recorded(self, call_sid: str, generation: int, verb: ET.Element, seconds: float) -> None:
        with self.lock:
            call = self.calls[call_sid]
            if call.status not in ACTIVE_CALL or call.generation != generation:
                return
            now = self.now()
            recording = Recording(
                sid=self.sid("RE"),
                created=now - seconds,
                start=now - seconds,
                duration=int(seconds),
                channels=1,
                source="RecordVerb",
                call_sid=call.sid,
            )
            self.recordings[recording.sid] = recording
            truth = self.truth.get(call.sid)
            if truth is not None:
                truth.voicemail_seconds = seconds
                truth.outcome = "voicemail"
                truth.recorded = True
            fields = {
                "RecordingUrl": self.recording_url(recording.sid),
                "RecordingSid": recording.sid,
                "RecordingDuration": str(recording.duration),
                "Digits": "hangup",
            }
            action = urljoin(call.doc_url, verb.get("action", "")) if verb.get("action") else ""
            status_cb = verb.get("recordingStatusCallback")
            form = {**self._call_base(call), **fields}
            # The caller hangs up after leaving the message; Twilio still requests the action.
            self._end_call(call, "completed")
            form["CallStatus"] = "completed"
        if status_cb:
            self.callback(
                urljoin(call.doc_url, status_cb),
                payloads.recording_callback(
                    account_sid=self.account.account_sid,
                    recording_sid=recording.sid,
                    recording_url=self.recording_url(recording.sid),
                    status="completed",
                    duration=recording.duration,
                    channels=1,
                    start_time=recording.start,
                    source="RecordVerb",
                    call_sid=call.sid,
                ),
            )
        if action:
            self.request(action, form)

    def _verb_dial(self, call: Call, verb: ET.Element, generation: int) -> None:
        """<Dial><Conference>: the call joins a named conference (transfers, callbacks)."""
        conference_el = verb.find("Conference")
        if conference_el is None:
            # <Dial><Number> (a callback ringing the customer): the stand-in places no PSTN
            # call. The dial ends unanswered at once, and its action is requested as Twilio does.
            self.stats.count("DialNumberNotPlaced")
            if verb.get("action"):
                form = self._call_base(call)
                form.update({"DialCallStatus": "no-answer", "DialCallDuration": "0"})
                self.clock.after(
                    0, self._fetch, call, urljoin(call.doc_url, verb.get("action", "")), form
                )
                return
            self._continue_after(call, 0, generation)
            return
        name = (conference_el.text or "").strip()
        if verb.get("action"):
            call.dial_action = urljoin(call.doc_url, verb.get("action", ""))
        callback = conference_el.get("statusCallback")
        callback_url = urljoin(call.doc_url, callback) if callback else ""
        events = _events(conference_el.get("statusCallbackEvent"), "")
        with self.lock:
            conference = next(
                (
                    c
                    for c in self.conferences.values()
                    if c.friendly_name == name and c.status != "completed"
                ),
                None,
            )
            if conference is not None:
                # Joining a conference that is already on, e.g. a colleague taking a transfer.
                call.conference_sid = conference.sid
                self._join(
                    conference,
                    call,
                    conference_el.get("participantLabel") or call.sid,
                    conference_el.get("endConferenceOnExit") == "true",
                    callback_url,
                    events,
                )
                self._joined_by_transfer(conference, call)
                return
            if conference is None:
                conference = Conference(
                    sid=self.sid("CF"),
                    friendly_name=name,
                    created=self.now(),
                    region=conference_el.get("region", "us1"),
                    callback=urljoin(call.doc_url, conference_el.get("statusCallback", ""))
                    if conference_el.get("statusCallback")
                    else "",
                    events=_events(conference_el.get("statusCallbackEvent"), ""),
                )
                self.conferences[conference.sid] = conference
            call.conference_sid = conference.sid
            self._join(
                conference, call, "customer", conference_el.get("endConferenceOnExit") == "true"
            )

    def _caller_gives_up(self, call_sid: str) -> None:
        """The caller's patience ran out before anyone answered: they hang up."""
        with self.lock:
            call = self.calls[call_sid]
            if call.status not in ACTIVE_CALL or call.conference_sid:
                return
            truth = self.truth.get(call_sid)
            queued = bool(call.task_sid)
            if truth is not None:
                truth.caller_hung_up_at = self.now()
                truth.abandoned = queued
                if truth.keyed == CALLBACK_KEY and not queued:
                    # They asked for a call back and hung up during the confirmation: the
                    # request Twilio delivered stands (a callback, not an abandon).
                    truth.outcome = "callback_requested"
                else:
                    truth.outcome = "abandoned" if queued else "ivr_hangup"
            task_sid = call.task_sid
            action = call.enqueue_action
            form = {
                **self._call_base(call),
                "QueueResult": "hangup",
                "QueueTime": str(int(self.now() - (call.enqueued_at or self.now()))),
                "CallStatus": "completed",
            }
            self._end_call(call, "completed")
            if task_sid:
                self.cancel_task(task_sid, "hangup")
        if task_sid and action:
            self.request(action, form)

    # ---- REST-side operations on calls -----------------------------------------------------

    def update_call(self, call_sid: str, status: str = "", url: str = "", twiml: str = "") -> Call:
        with self.lock:
            call = self.calls[call_sid]
            if status in {"completed", "canceled"} and call.status in ACTIVE_CALL:
                if call.task_sid and not call.conference_sid:
                    self.cancel_task(call.task_sid, "hangup")
                self._end_call(call, "completed" if call.answered_at else "canceled")
                return call
            if not (url or twiml) or call.status not in ACTIVE_CALL:
                return call
            # Redirected out of the queue: the task is canceled, the new TwiML takes over.
            if call.task_sid and not call.conference_sid:
                task_sid, call.task_sid = call.task_sid, ""
                self.cancel_task(task_sid, "redirected")
            call.verbs = []
            call.generation += 1
            form = self._call_base(call)
        if twiml:
            self.clock.after(0, self._run_inline_twiml, call_sid, twiml)
        else:
            self.clock.after(0, self._fetch, call, url, form)
        return call

    def _callee_answer_delay(self, to: str) -> float | None:
        """How soon the far end of an outgoing call picks up (None: it does not)."""
        if to.startswith("client:"):
            return self.agents.answer_delay(to.removeprefix("client:"), self.now())
        for call in reversed(list(self.calls.values())):
            if call.role == "customer" and call.from_ == to and call.plan is not None:
                return 4.0 if call.plan.answers_callback else None
        return 4.0

    def outbound_call(
        self,
        *,
        to: str,
        from_: str,
        url: str = "",
        twiml: str = "",
        status_callback: str = "",
        status_events: str = "completed",
        timeout: float = 60.0,
        conference_sid: str = "",
        label: str = "",
        end_on_exit: bool = False,
    ) -> Call:
        """A call Twilio places (Calls API, or a participant added to a conference)."""
        with self.lock:
            call = Call(
                sid=self.sid("CA"),
                from_=from_,
                to=to,
                direction="outbound-api",
                created=self.now(),
                role="agent" if to.startswith("client:") else "customer",
                status_callback=status_callback,
                status_events=_events(status_events, "completed"),
            )
            self.calls[call.sid] = call
            self._call_progress(call, "initiated")
            call.status = "ringing"
            self._call_progress(call, "ringing")
            delay = self._callee_answer_delay(to)
        if delay is None or delay >= timeout:
            self.clock.after(timeout, self._outbound_unanswered, call.sid)
        else:
            self.clock.after(
                delay,
                self._outbound_answered,
                call.sid,
                url,
                twiml,
                conference_sid,
                label,
                end_on_exit,
            )
        return call

    def add_participant(
        self,
        conference_sid: str,
        *,
        to: str,
        from_: str,
        label: str = "",
        end_on_exit: bool = False,
        status_callback: str = "",
        status_events: str = "completed",
        timeout: float = 60.0,
    ) -> Call:
        with self.lock:
            if self.conferences[conference_sid].status == "completed":
                raise KeyError(conference_sid)
        return self.outbound_call(
            to=to,
            from_=from_,
            status_callback=status_callback,
            status_events=status_events,
            timeout=timeout,
            conference_sid=conference_sid,
            label=label or to,
            end_on_exit=end_on_exit,
        )

    def _outbound_unanswered(self, call_sid: str) -> None:
        with self.lock:
            call = self.calls[call_sid]
            if call.status == "ringing":
                self._end_call(call, "no-answer")

    def _outbound_answered(
        self,
        call_sid: str,
        url: str,
        twiml: str,
        conference_sid: str,
        label: str,
        end_on_exit: bool,
    ) -> None:
        with self.lock:
            call = self.calls[call_sid]
            if call.status != "ringing":
                return
            call.status = "in-progress"
            call.answered_at = self.now()
            self._call_progress(call, "answered")
            if conference_sid:
                conference = self.conferences[conference_sid]
                if conference.status == "completed":
                    self._end_call(call, "completed")
                    return
                call.conference_sid = conference_sid
                self._join(conference, call, label, end_on_exit)
                if call.role == "agent":
                    self._note_transfer(conference, call.to.removeprefix("client:"))
                return
            form = self._call_base(call)
        if twiml:
            self._run_inline_twiml(call_sid, twiml)
        elif url:
            self._fetch(call, url, form)

    def _note_transfer(self, conference: Conference, agent_id: str) -> None:
        for participant in conference.participants.values():
            truth = self.truth.get(participant.call_sid)
            if truth is not None:
                truth.transferred_to = agent_id

    def _run_inline_twiml(self, call_sid: str, twiml: str) -> None:
        with self.lock:
            call = self.calls[call_sid]
            root = ET.fromstring(twiml)  # noqa: S314 - TwiML our own app sent via REST
            call.verbs = list(root)
            call.generation += 1
            generation = call.generation
        self._next_verb(call_sid, generation)

    # ---- TaskRouter: the `call` instruction, and transfers -----------------------------------

    def _call_instruction(self, reservation_sid: str, instruction: dict[str, Any]) -> None:
        """Ring the worker; on answer fetch `url` for their leg, accepting the reservation if
        `accept` is true. Only the completed event goes to `status_callback_url`.
        https://www.twilio.com/docs/taskrouter/handle-assignment-callbacks#initiating-a-call
        """
        with self.lock:
            reservation = self.reservations[reservation_sid]
            if reservation.status != "pending":
                return
            url = str(instruction.get("url") or "")
            if not url:
                self.stats.count("CallInstructionWithoutUrl")  # Twilio error 40112
                return
            worker = self.workers[reservation.worker_sid]
            reservation.instruction = instruction
            agent = Call(
                sid=self.sid("CA"),
                from_=str(instruction.get("from") or self.account.company_number),
                to=str(instruction.get("to") or worker.attributes.get("contact_uri") or ""),
                direction="outbound-api",
                created=self.now(),
                role="agent",
                status_callback=str(instruction.get("status_callback_url") or ""),
                status_events=frozenset({"completed"}),
                reservation_sid=reservation.sid,
                worker_sid=worker.sid,
                task_sid=reservation.task_sid,
            )
            self.calls[agent.sid] = agent
            reservation.agent_call_sid = agent.sid
            self._call_progress(agent, "initiated")
            agent.status = "ringing"
            self._call_progress(agent, "ringing")
            ring_timeout = float(instruction.get("timeout") or 60)
            delay = self.agents.answer_delay(worker.agent_id, self.now())
        if delay is not None and delay < ring_timeout:
            self.clock.after(delay, self._call_instruction_answered, reservation_sid)
        else:
            self.clock.after(ring_timeout, self._agent_no_answer, reservation_sid)

    def _call_instruction_answered(self, reservation_sid: str) -> None:
        with self.lock:
            reservation = self.reservations[reservation_sid]
            call = self.calls[reservation.agent_call_sid]
            if reservation.status != "pending" or call.status not in ACTIVE_CALL:
                return
            call.status = "in-progress"
            call.answered_at = self.now()
            self._call_progress(call, "answered")
            if reservation.instruction.get("accept") in {True, "true"}:
                self.accept_reservation(reservation_sid)
            url = str(reservation.instruction["url"])
            form = self._call_base(call)
        self._fetch(call, url, form)

    def _conference_truth(self, conference: Conference) -> CallTruth | None:
        for participant in conference.participants.values():
            if participant.label == "customer":
                return self.truth.get(participant.call_sid)
        return None

    def _transfer_truth(self, task_sid: str) -> TransferTruth | None:
        plan = self.transfer_plans.get(task_sid)
        truth = self.truth.get(plan.call_sid) if plan else None
        if truth is None:
            return None
        return next((t for t in truth.transfers if t.task_sid == task_sid), None)

    def transfer_requested(
        self,
        call_sid: str,
        transfer: TransferTruth,
        consult_seconds: float,
        remaining_seconds: float,
        customer_hangs_up_first: bool = True,
    ) -> None:
        """An agent asked the app to transfer `call_sid` and the app created `transfer.task_sid`:
        the ground truth notes it, and the conversation now ends after the colleague's part."""
        with self.lock:
            truth = self.truth.get(call_sid)
            call = self.calls.get(call_sid)
            conference = self.conferences.get(call.conference_sid) if call else None
            task = self.tasks.get(transfer.task_sid)
            if truth is None or conference is None or task is None:
                self.stats.count("TransferNotTraced")
                return
            truth.transfers.append(transfer)
            # A cold transfer's agent left inside the request that started it.
            first = next((p for p in conference.participants.values() if p.label == "worker"), None)
            if first is not None and first.left_at is not None:
                transfer.from_left_at = first.left_at
            for reservation_sid in task.reservations:  # offered before we heard of it
                worker = self.workers[self.reservations[reservation_sid].worker_sid]
                transfer.offered_to.append(worker.agent_id)
            conference.transfer_tasks.append(task.sid)
            conference.end_generation += 1
            self.transfer_plans[task.sid] = TransferPlan(
                call_sid,
                conference.sid,
                consult_seconds,
                remaining_seconds,
                customer_hangs_up_first,
            )

    def _joined_by_transfer(self, conference: Conference, call: Call) -> None:
        """A leg placed by a transfer task's `call` instruction is in the customer's conference."""
        reservation = self.reservations.get(call.reservation_sid)
        plan = self.transfer_plans.get(reservation.task_sid) if reservation else None
        transfer = self._transfer_truth(reservation.task_sid) if reservation else None
        if reservation is None or plan is None or transfer is None:
            return
        agent_id = self.workers[reservation.worker_sid].agent_id
        transfer.answered_by = agent_id
        transfer.joined_at = self.now()
        transfer.outcome = "joined"
        truth = self.truth.get(plan.call_sid)
        if truth is not None:
            truth.transferred_to = agent_id
        conference.end_generation += 1
        talk = plan.remaining_seconds + (plan.consult_seconds if transfer.mode == "warm" else 0)
        self.clock.after(
            talk,
            self._hang_up_conversation,
            conference.sid,
            plan.customer_hangs_up_first,
            conference.end_generation,
        )
        self.clock.after(
            0, self.agents.transfer_joined, agent_id, plan.call_sid, conference.sid, transfer
        )

    def _transfer_unanswered(self, plan: TransferPlan, transfer: TransferTruth) -> None:
        """Nobody took the transfer: a warm transfer's agent takes the customer back and
        finishes the call; after a cold one the caller, alone on hold, gives up."""
        with self.lock:
            transfer.outcome = "unanswered"
            conference = self.conferences[plan.conference_sid]
            conference.end_generation += 1
            generation = conference.end_generation
            agent_still_there = transfer.mode == "warm" and transfer.from_left_at is None
        if agent_still_there:
            self.clock.after(
                plan.remaining_seconds,
                self._hang_up_conversation,
                plan.conference_sid,
                plan.customer_hangs_up_first,
                generation,
            )
        else:
            self.clock.after(
                20.0, self._hang_up_conversation, plan.conference_sid, True, generation
            )
        self.clock.after(
            0, self.agents.transfer_unanswered, plan.call_sid, plan.conference_sid, transfer
        )

    def participant(self, conference: Conference, ref: str) -> Participant:
        """A connected or past participant by CallSid or by label (Twilio accepts either)."""
        if ref in conference.participants:
            return conference.participants[ref]
        for participant in conference.participants.values():
            if participant.label == ref and participant.status == "connected":
                return participant
        raise KeyError(ref)

    def update_participant(
        self,
        conference: Conference,
        participant: Participant,
        hold: bool | None,
        muted: bool | None,
    ) -> None:
        """Hold or mute a participant; a held caller's time on hold goes into the truth."""
        now = self.now()
        for value, attr, event in ((hold, "hold", "hold"), (muted, "muted", "mute")):
            if value is None or value == getattr(participant, attr):
                continue
            setattr(participant, attr, value)
            if attr == "hold":
                truth = self.truth.get(participant.call_sid)
                if value:
                    participant.hold_since = now
                elif participant.hold_since is not None:
                    if truth is not None:
                        truth.hold_seconds += now - participant.hold_since
                    participant.hold_since = None
            self._conference_event(
                conference,
                f"participant-{event if value else 'un' + event}",
                participant.call_sid,
                participant,
            )


_VERBS: dict[str, Callable[[Standin, Call, ET.Element, int], None]] = {
    "Say": Standin._verb_say,
    "Play": Standin._verb_play,
    "Pause": Standin._verb_pause,
    "Hangup": Standin._verb_hangup,
    "Reject": Standin._verb_reject,
    "Redirect": Standin._verb_redirect,
    "Enqueue": Standin._verb_enqueue,
    "Gather": Standin._verb_gather,
    "Record": Standin._verb_record,
    "Dial": Standin._verb_dial,
}


def _events(value: Any, default: str) -> frozenset[str]:
    text = value if isinstance(value, str) else " ".join(value or []) or default
    return frozenset(e for e in text.replace(",", " ").split() if e)


def _path(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).path
