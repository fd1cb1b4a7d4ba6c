"""A stateful property test of a call's lifecycle: TaskRouter events arrive in any order and
more than once, timeline steps run late, repeated or racing an accept, and still no task is
ever updated (nor its caller redirected) once it was accepted, canceled or completed."""

from __future__ import annotations

import json
from typing import Any

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from moto import mock_aws

from chalicelib.bootstrap import Container
from chalicelib.presence.domain import AgentState
from chalicelib.routing.plan import AgentPresence, TeamPresence
from chalicelib.telephony.taskrouter_events import TaskRouterEvent
from tests.conftest import make_settings
from tests.data import ACCOUNT_SID, sid
from tests.fakes.taskrouter import FakeTask, FakeTaskRouter
from tests.fakes.twilio_http import RecordingHttpClient

TASK = sid("WT", 1)
CALL = sid("CA", 1)
WAITING = ("pending", "reserved")
ENDED = ("assigned", "wrapping", "completed", "canceled")
EVENT_TYPES = (
    "task.created",
    "reservation.created",
    "reservation.rejected",
    "reservation.timeout",
    "reservation.accepted",
    "task.canceled",
    "task.wrapup",
    "task.completed",
)


class RecordingTimelines:
    """Step Functions at its adapter boundary: which timelines were started and stopped."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.stopped: list[str] = []

    def start(self, task_sid: str, execution_input: dict[str, Any]) -> bool:
        if task_sid in self.started:
            return False
        self.started.append(task_sid)
        return True

    def stop(self, task_sid: str, cause: str) -> bool:
        self.stopped.append(task_sid)
        return task_sid in self.started


class FixedPresence:
    def __init__(self, owner: AgentState, mate: AgentState) -> None:
        self.team = TeamPresence.of(
            "tokyo",
            [AgentPresence("owner", "tokyo", owner), AgentPresence("mate", "tokyo", mate)],
        )

    def team_presence(self, team: str) -> TeamPresence:
        return self.team


class CallLifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.http = RecordingHttpClient()
        self.taskrouter = FakeTaskRouter(self.http)
        self.task: FakeTask = self.taskrouter.add(
            TASK,
            {
                "type": "inbound_call",
                "call_sid": CALL,
                "owner_agent_id": "owner",
                "team": "tokyo",
                "stage": "owner",
            },
        )
        self.container = Container(
            settings=make_settings(
                escalation_state_machine_arn="arn:aws:states:x:1:stateMachine:m"
            ),
            twilio_http_client=self.http,
        )
        self.timelines = RecordingTimelines()
        self.container.escalation_timelines = self.timelines  # type: ignore[assignment]
        self.container.presence_reader = FixedPresence(  # type: ignore[assignment]
            AgentState.AVAILABLE, AgentState.AVAILABLE
        )
        self.emitted: list[str] = []
        self.ended_at_write_count: int | None = None

    # --- the world: TaskRouter moves the task and emits events (which we may see late) ---

    def _emit(self, event_type: str) -> None:
        self.emitted.append(event_type)

    @rule()
    def created(self) -> None:
        self._emit("task.created")

    @rule()
    def reserve(self) -> None:
        if self.task.status == "pending":
            self.taskrouter.set_status(TASK, "reserved")
            self._emit("reservation.created")

    @rule(outcome=st.sampled_from(["reservation.rejected", "reservation.timeout"]))
    def reservation_not_taken(self, outcome: str) -> None:
        if self.task.status == "reserved":
            self.taskrouter.set_status(TASK, "pending")
            self._emit(outcome)

    @rule()
    def accept(self) -> None:
        if self.task.status in WAITING:
            self._end("assigned")
            self._emit("reservation.accepted")

    @rule()
    def hang_up(self) -> None:
        if self.task.status in WAITING:
            self._end("canceled")
            self._emit("task.canceled")

    @rule()
    def complete(self) -> None:
        if self.task.status == "assigned":
            self.taskrouter.set_status(TASK, "wrapping")
            self._emit("task.wrapup")
            self.taskrouter.set_status(TASK, "completed")
            self._emit("task.completed")

    @rule()
    def accept_right_after_the_next_read(self) -> None:
        """A race: the next step reads a waiting task, then the accept lands before its write."""

        def accept_now(task: FakeTask) -> None:
            self.taskrouter.after_fetch = None
            if task.status in WAITING:
                self._end("assigned")
                self._emit("reservation.accepted")

        self.taskrouter.after_fetch = accept_now

    @rule(
        owner=st.sampled_from(list(AgentState)),
        mate=st.sampled_from(list(AgentState)),
    )
    def presence_changes(self, owner: AgentState, mate: AgentState) -> None:
        self.container.presence_reader = FixedPresence(owner, mate)  # type: ignore[assignment]
        # The steps were built with the presence they were given: build them again.
        self.container.__dict__.pop("escalation_steps", None)

    def _end(self, status: str) -> None:
        self.taskrouter.set_status(TASK, status)
        if self.ended_at_write_count is None:
            self.ended_at_write_count = len(self.taskrouter.writes)

    # --- the app: events delivered in any order, any number of times; steps at any time ---

    @rule(data=st.data())
    def deliver_an_event(self, data: st.DataObject) -> None:
        if not self.emitted:
            return
        event_type = data.draw(st.sampled_from(self.emitted))
        form = {
            "Sid": sid("EV", len(self.emitted)),
            "AccountSid": ACCOUNT_SID,
            "EventType": event_type,
            "TaskSid": TASK,
            "TaskAttributes": json.dumps(self.task.attributes),
        }
        self.container.escalation_steps.on_taskrouter_event(TaskRouterEvent.from_form(form))

    @rule(stage=st.sampled_from(["owner", "team", "everyone"]))
    def step_enters_a_stage(self, stage: str) -> None:
        self.container.escalation_steps.enter_stage_step(
            {"task_sid": TASK, "call_sid": CALL, "stage": stage}
        )

    @rule()
    def step_offers_the_fallback(self) -> None:
        self.container.escalation_steps.fallback_step(
            {"task_sid": TASK, "call_sid": CALL, "stage": "fallback"}
        )

    # --- what must always hold ---

    @invariant()
    def never_updated_after_it_ended(self) -> None:
        assert all(w.status == "pending" for w in self.taskrouter.writes)
        if self.ended_at_write_count is not None:
            assert len(self.taskrouter.writes) == self.ended_at_write_count

    @invariant()
    def never_redirected_unless_waiting(self) -> None:
        assert all(status in WAITING for status in self.taskrouter.redirect_statuses)
        assert len(self.taskrouter.redirects) <= 1, "the caller hears the menu once"

    @invariant()
    def at_most_one_timeline(self) -> None:
        assert len(set(self.timelines.started)) == len(self.timelines.started) <= 1

    @invariant()
    def stage_never_moves_backwards(self) -> None:
        order = ["owner", "team", "everyone", "fallback"]
        stages = [order.index(w.attributes["stage"]) for w in self.taskrouter.writes]
        assert stages == sorted(stages)


CallLifecycle.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def test_call_lifecycle_never_updates_an_ended_task() -> None:
    from chalicelib.conversations.facts import ConversationLedger

    original = ConversationLedger.record_call_fact
    ConversationLedger.record_call_fact = lambda *args, **kwargs: None  # type: ignore[method-assign]
    try:
        with mock_aws():
            CallLifecycle.TestCase().runTest()
    finally:
        ConversationLedger.record_call_fact = original  # type: ignore[method-assign]
