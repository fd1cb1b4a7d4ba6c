"""The resources Twilio holds, as the stand-in's parts hand them to one another: calls,
conferences and their participants, TaskRouter's workers, tasks and reservations, recordings; and
the plans the population makes for the people on a call (what a caller, a transfer will do).

They live apart from the parts that own them (voice.py, conferences.py, taskrouter.py,
recordings.py) because every part reads the others' resources: kept here, no part imports
another, and engine.py alone wires them together (ops/standin/ports.py says what each asks of
the others).
"""

from __future__ import annotations

import hashlib
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

# A call's statuses while it is live; the others (completed, busy, no-answer, canceled, failed)
# are final (https://www.twilio.com/docs/voice/api/call-resource#call-status-values).
ACTIVE_CALL = {"queued", "ringing", "in-progress"}


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
    wait_url: str = ""  # <Enqueue waitUrl>, requested while the call waits
    wait_verbs: list[ET.Element] = field(default_factory=list)
    wait_doc_url: str = ""
    conference_sid: str = ""
    reservation_sid: str = ""
    worker_sid: str = ""
    parent_call_sid: str = ""
    plan: CallerPlan | None = None
    generation: int = 0  # bumped when the call's TwiML is replaced (redirect)


@dataclass
class CallerPlan:
    """What one caller will do. Decided up front from the seed, so a run can be repeated."""

    caller: str
    patience: float  # seconds from placing the call until they give up waiting
    talk_seconds: float
    hangs_up_first: bool = True
    digits: str = ""  # what they key in at a <Gather> ("" = nothing)
    wait_digits: str = ""  # what they key in at a <Gather> while queued ("" = keep waiting)
    voicemail_seconds: float = 20.0
    answers_callback: bool = True
    customer_id: str = ""
    owner_agent_id: str = ""
    team: str = ""
    scenario: str = ""
    transfer_to: str = ""  # the agent should transfer the call to this agent (if supported)


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
    # Coaching: only `call_sid_to_coach` hears this participant (a supervisor's whisper).
    coaching: bool = False
    call_sid_to_coach: str = ""


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
    # Chaos knob, set by a test on a live conference: what goes wrong with its recording (see
    # Recorder.conference_recorded): "" nothing, "absent" (silent: Twilio keeps an `absent`
    # recording, error 16102), "failed" (no recording resource at all), "unannounced"
    # (completed, but its callback never arrives). None of them calls back on `completed`.
    recording_fault: str = ""
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
    # Why an `absent` recording is absent (Twilio's error dictionary), None otherwise.
    error_code: int | None = None
