"""The stand-in's engine: Twilio's side of calls, conferences, recordings and TaskRouter.

`Standin` composes the parts, each owning the state Twilio would hold for it, moved forward on a
virtual clock (clock.Scheduler):
- ops/standin/taskrouter.py: workers, activities, tasks, reservations, the app's workflow, the
  event and assignment callbacks;
- ops/standin/voice.py: calls and the TwiML they follow;
- ops/standin/conferences.py: conferences, participants, transfers;
- ops/standin/recordings.py: recordings;
- ops/standin/live_transcription.py: real-time transcriptions and their callbacks;
- ops/standin/delivery.py: how requests reach the app, as Twilio sends them: synchronous
  requests whose answer steers the call (the incoming-call webhook, every TwiML fetch,
  TaskRouter's assignment callback), and asynchronous callbacks with chaos applied (duplicates,
  delays that reorder them, first attempts that fail);
- ops/standin/shared.py: what they share (the account, the clock, the lock, the ground truth).
The parts call one another, yet none imports another: each names its peers by the Protocols of
ops/standin/ports.py and passes the resources of ops/standin/resources.py (calls, conferences,
workers, tasks, reservations, recordings); `Standin` below builds them and hands each its peers.
The app's REST calls land in `ops/standin/rest.py`, which changes the parts' state.

State is guarded by one re-entrant lock, never held while a request to the app is in flight (the
app may call back into the REST API while we wait for its answer).
"""

from __future__ import annotations

import threading
from typing import Any

from ops.standin.clock import Scheduler
from ops.standin.conferences import Conferencing
from ops.standin.delivery import Delivery
from ops.standin.live_transcription import LiveTranscription
from ops.standin.outbound import Dialler
from ops.standin.recordings import Recorder
from ops.standin.resources import (
    Call,
    CallerPlan,
    Conference,
    Recording,
    Reservation,
    Task,
    Worker,
)
from ops.standin.shared import Activity, Agents, Chaos, Shared, Stats, TwilioAccount
from ops.standin.taskrouter import TaskRouter
from ops.standin.transport import Transport
from ops.standin.truth import GroundTruth, TransferTruth
from ops.standin.voice import Voice

# Imported from here by the harness, the rehearsal and the tests.
__all__ = ["Activity", "Agents", "CallerPlan", "Chaos", "Standin", "TwilioAccount"]


class Standin:
    """Twilio as our app meets it: the parts, wired to one another, and what the harness, the
    rehearsal's checks and the tests read of them."""

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
        self.shared = Shared(account, scheduler, agents, truth, chaos or Chaos(), seed)
        self.delivery = Delivery(self.shared, transport, app_routes, callback_latency)
        self.taskrouter = TaskRouter(self.shared, self.delivery)
        self.recorder = Recorder(self.shared, self.delivery)
        self.voice = Voice(self.shared, self.delivery, self.taskrouter, self.recorder)
        self.conferencing = Conferencing(
            self.shared, self.delivery, self.taskrouter, self.voice, self.recorder
        )
        self.live_transcription = LiveTranscription(self.shared, self.delivery, self.voice)
        self.taskrouter.voice = self.voice
        self.taskrouter.conferencing = self.conferencing
        self.voice.conferencing = self.conferencing
        self.dialler = Dialler(self.shared, self.delivery, self.voice, self.conferencing)
        self.voice.dialler = self.dialler
        self.taskrouter.dialler = self.dialler

    # ---- what Twilio is configured with (a test may swap it) -------------------------------

    @property
    def account(self) -> TwilioAccount:
        return self.shared.account

    @account.setter
    def account(self, account: TwilioAccount) -> None:
        self.shared.account = account

    @property
    def transport(self) -> Transport:
        return self.delivery.transport

    @transport.setter
    def transport(self, transport: Transport) -> None:
        self.delivery.transport = transport

    @property
    def app_routes(self) -> frozenset[str]:
        return self.delivery.app_routes

    @app_routes.setter
    def app_routes(self, app_routes: frozenset[str]) -> None:
        self.delivery.app_routes = app_routes

    # ---- shared state ----------------------------------------------------------------------

    @property
    def clock(self) -> Scheduler:
        return self.shared.clock

    @property
    def lock(self) -> threading.RLock:
        return self.shared.lock

    @property
    def agents(self) -> Agents:
        return self.shared.agents

    @property
    def truth(self) -> GroundTruth:
        return self.shared.truth

    @property
    def stats(self) -> Stats:
        return self.shared.stats

    def now(self) -> float:
        return self.shared.clock.now()

    # ---- the parts' state, as the REST API, the checks and the tests read it ---------------

    @property
    def activities(self) -> dict[str, Activity]:
        return self.taskrouter.activities

    @property
    def workers(self) -> dict[str, Worker]:
        return self.taskrouter.workers

    @property
    def tasks(self) -> dict[str, Task]:
        return self.taskrouter.tasks

    @property
    def reservations(self) -> dict[str, Reservation]:
        return self.taskrouter.reservations

    @property
    def calls(self) -> dict[str, Call]:
        return self.voice.calls

    @property
    def conferences(self) -> dict[str, Conference]:
        return self.conferencing.conferences

    @property
    def recordings(self) -> dict[str, Recording]:
        return self.recorder.recordings

    # ---- what the harness, the population and the tests do --------------------------------

    def add_worker(self, sid: str, name: str, attributes: dict[str, Any], activity: str) -> Worker:
        return self.taskrouter.add_worker(sid, name, attributes, activity)

    def worker_by_agent(self, agent_id: str) -> Worker:
        return self.taskrouter.worker_by_agent(agent_id)

    def activity_by_name(self, name: str) -> Activity:
        return self.taskrouter.activity_by_name(name)

    def set_activity(self, worker_sid: str, activity_sid: str) -> Worker:
        return self.taskrouter.set_activity(worker_sid, activity_sid)

    def create_task(
        self,
        attributes: dict[str, Any],
        priority: int = 0,
        timeout: int = 86400,
        call_sid: str = "",
        channel: str = "voice",
    ) -> Task:
        return self.taskrouter.create_task(attributes, priority, timeout, call_sid, channel)

    def update_task_attributes(self, task_sid: str, attributes: dict[str, Any]) -> Task:
        return self.taskrouter.update_task_attributes(task_sid, attributes)

    def place_call(self, plan: CallerPlan) -> str:
        return self.voice.place_call(plan)

    def transfer_requested(
        self,
        call_sid: str,
        transfer: TransferTruth,
        consult_seconds: float,
        remaining_seconds: float,
        customer_hangs_up_first: bool = True,
    ) -> None:
        self.conferencing.transfer_requested(
            call_sid, transfer, consult_seconds, remaining_seconds, customer_hangs_up_first
        )

    def recording_parties(self, recording_sid: str) -> tuple[str, str, str] | None:
        return self.conferencing.recording_parties(recording_sid)
