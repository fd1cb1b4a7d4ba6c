"""What each part of the stand-in asks of the others, as Protocols.

Twilio's parts call one another: a conference accepts TaskRouter's reservation, TaskRouter tells
a call to leave its queue, a call hands its conference's recording to the recorder. The parts
(taskrouter.py, voice.py, conferences.py, recordings.py, outbound.py) name their peers by these
Protocols, never by each other's class, so none imports another; engine.py builds the concrete
parts and hands each its peers (`mypy ops/standin` checks that they fit). The resources they pass
are in ops/standin/resources.py.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ops.standin.resources import (
        Call,
        Conference,
        Recording,
        Reservation,
        Task,
        TransferPlan,
        Worker,
    )
    from ops.standin.truth import TransferTruth


class TaskRouterPort(Protocol):
    """Workers, tasks and reservations (ops/standin/taskrouter.py)."""

    workers: dict[str, Worker]
    tasks: dict[str, Task]
    reservations: dict[str, Reservation]

    def create_task(
        self,
        attributes: dict[str, Any],
        priority: int = 0,
        timeout: int = 86400,
        call_sid: str = "",
        channel: str = "voice",
    ) -> Task: ...

    def cancel_task(self, task_sid: str, reason: str) -> Task: ...

    def accept_reservation(self, reservation_sid: str) -> None: ...

    def leg_rang_out(self, reservation_sid: str) -> None: ...

    def conference_ended(self, conference: Conference) -> None: ...


class VoicePort(Protocol):
    """Calls and the TwiML they follow (ops/standin/voice.py)."""

    calls: dict[str, Call]

    @property
    def dialler(self) -> DiallerPort | None: ...

    def call_form(self, call: Call) -> dict[str, str]: ...

    def fetch(self, call: Call, url: str, form: dict[str, str]) -> None: ...

    def progress(self, call: Call, event: str) -> None: ...

    def end_call(self, call: Call, status: str, in_conference: bool = False) -> None: ...

    def dial_ended(self, call: Call) -> None: ...

    def dial_worker(
        self,
        reservation: Reservation,
        worker: Worker,
        *,
        from_: str,
        status_callback: str,
        status_events: frozenset[str],
        parent_call_sid: str = "",
        task_sid: str = "",
    ) -> Call: ...

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
    ) -> Call: ...

    def call_instruction(self, reservation_sid: str, instruction: dict[str, Any]) -> None: ...

    def leave_queue(self, call_sid: str, result: str) -> None: ...


class ConferencingPort(Protocol):
    """Conferences, participants and transfers (ops/standin/conferences.py)."""

    conferences: dict[str, Conference]
    transfer_plans: dict[str, TransferPlan]

    def conference_instruction(self, reservation_sid: str, instruction: dict[str, Any]) -> None: ...

    def dial(self, call: Call, conference_el: ET.Element) -> None: ...

    def join(
        self,
        conference: Conference,
        call: Call,
        label: str,
        end_on_exit: bool,
        callback: str = "",
        events: frozenset[str] = frozenset(),
        start: bool = True,
    ) -> None: ...

    def leave(self, conference: Conference, call: Call, reason: str) -> None: ...

    def redirected_out(self, call: Call) -> None: ...

    def note_transfer(self, conference: Conference, agent_id: str) -> None: ...

    def transfer_truth(self, task_sid: str) -> TransferTruth | None: ...

    def transfer_unanswered(self, plan: TransferPlan, transfer: TransferTruth) -> None: ...

    def hang_up_conversation(
        self, conference_sid: str, customer_first: bool, generation: int
    ) -> None: ...


class RecorderPort(Protocol):
    """Recordings: a conference's, a voicemail's (ops/standin/recordings.py)."""

    recordings: dict[str, Recording]

    def recording_url(self, recording_sid: str) -> str: ...

    def conference_recorded(self, conference: Conference) -> None: ...

    def voicemail(self, call_sid: str, seconds: float) -> Recording: ...

    def voicemail_ready(self, url: str, recording: Recording) -> None: ...


class DiallerPort(Protocol):
    """Reps' outbound calls from the softphone (ops/standin/outbound.py)."""

    def answer_delay(self, number: str) -> float | str | None: ...

    def customer_placed(self, call: Call, conference: Conference) -> None: ...

    def customer_joined(self, call: Call, conference: Conference) -> None: ...

    def leg_ended(self, call: Call) -> None: ...

    def reservation_created(self, agent_id: str, reservation_sid: str) -> None: ...
