"""What a conversation's events say, gathered by source in Twilio's time order: the first half
of the fold (chalicelib/conversations/fold.py tells the story from it).

Each source has its reader: the call legs (the caller's, one per agent whose browser rang, the
number a softphone dialled), TaskRouter (the task queued, the customer it names, every offer to
an agent and how it ended), the conference (who left first, holds, its end), recordings and
voicemail, the app's own facts, and prices. A reader keeps what its events say and decides
nothing: which leg is the customer's, who answered and what the outcome was are the fold's.
Pure, like the fold: no clock, no table.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib.conversations.events import (
    CONFERENCE,
    FACT,
    PRICE,
    RECORDING,
    TASKROUTER,
    VOICE,
    VOICEMAIL,
    Event,
)

STAGE_ORDER = {"owner": 0, "team": 1, "everyone": 2, "fallback": 3}
FINAL_LEG_STATUSES = frozenset({"completed", "busy", "no-answer", "canceled", "failed"})
OFFER_OUTCOMES = {
    "reservation.accepted": "answered",
    "reservation.completed": "answered",
    "reservation.wrapup": "answered",
    "reservation.timeout": "timed_out",
    "reservation.rejected": "rejected",
    "reservation.canceled": "canceled",
    "reservation.rescinded": "canceled",
}
# chalicelib.softphone.calls.TRANSFER_TASK_TYPE (no import: the fold stays pure)
TRANSFER_TASK_TYPE = "transfer"
# Follow-up tasks routed after the call (escalation/fallback.py), not the caller's live call.
QUEUED_TASK_TYPES = frozenset({"voicemail", "callback"})


# https://www.twilio.com/docs/voice/api/recording#recordingstatuscallback
LOST_RECORDING_STATUSES = frozenset({"absent", "failed"})


@dataclass(slots=True)
class Leg:
    """One call leg as its status callbacks tell it."""

    sid: str
    from_: str = ""
    to: str = ""
    direction: str = ""
    parent: str = ""
    agent: str = ""
    first_ms: int = 0
    answered_ms: int = 0
    final_status: str = ""
    final_ms: int = 0
    duration_s: int = 0


@dataclass(slots=True)
class Offer:
    """One reservation: the call offered to one agent, and how that offer ended."""

    reservation_sid: str
    agent_id: str = ""
    agent_team: str = ""
    stage: str = ""
    task_type: str = ""
    offered_ms: int = 0
    outcome: str = ""
    outcome_ms: int = 0


@dataclass(slots=True)
class Queue:
    """TaskRouter's side of the call: the live task's customer, stage and times, every offer."""

    attrs: dict[str, Any] = field(default_factory=dict)
    stage_reached: int = -1
    queued_ms: int = 0
    task_end_ms: int = 0
    wrap_start_ms: int = 0
    wrap_end_ms: int = 0
    # A callback task exists: the caller asked to be called back.
    callback_task: bool = False
    offers: dict[str, Offer] = field(default_factory=dict)


@dataclass(slots=True)
class Conference:
    """The conference the call is bridged in: who left first, the holds, how it ended."""

    end_ms: int = 0
    ender: str = ""
    first_leave: tuple[int, str] | None = None
    # The first leave's SequenceNumber: two leaves in one second (Twilio's timestamps have
    # whole seconds) are told apart by the conference's own callback order.
    first_leave_sequence: int = 0
    open_holds: dict[str, int] = field(default_factory=dict)
    hold_ms: int = 0


@dataclass(slots=True)
class Evidence:
    """Every event of one conversation, gathered by its source."""

    legs: dict[str, Leg] = field(default_factory=dict)
    queue: Queue = field(default_factory=Queue)
    conference: Conference = field(default_factory=Conference)
    recordings: list[dict[str, Any]] = field(default_factory=list)
    # Recordings Twilio reports absent or failed: they will never be copied.
    lost_recordings: list[dict[str, Any]] = field(default_factory=list)
    voicemail_url: str = ""
    facts: dict[str, dict[str, Any]] = field(default_factory=dict)
    prices: dict[str, str] = field(default_factory=dict)
    price_unit: str = ""
    # The earliest Twilio clock of any callback (an app fact is not one).
    first_ms: int = 0
    # Moments the readers saw (queued, hold, facts, ...); the fold adds offers, start and end.
    timeline: list[dict[str, Any]] = field(default_factory=list)


def gather(events: Iterable[Event]) -> Evidence:
    """Each event handed to the reader of its source, once, in Twilio's time order.

    Duplicates (Twilio's retries) collapse on their natural key, and ties are broken by key, so
    every "first" the readers keep is the first by Twilio's clock whatever the arrival order.
    """
    unique = {e.key: e for e in events}
    evidence = Evidence()
    first_ms = 0
    readers = _READERS
    for e in sorted(unique.values(), key=lambda e: (e.occurred_ms, e.key)):
        t = e.occurred_ms
        if t and e.source != FACT and (not first_ms or t < first_ms):
            first_ms = t
        reader = readers.get(e.source)
        if reader is not None:
            reader(evidence, e)
    evidence.first_ms = first_ms
    return evidence


def _json(text: str | None) -> dict[str, Any]:
    try:
        parsed = json.loads(text or "{}")
    except json.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _read_leg(evidence: Evidence, e: Event) -> None:
    """A call leg's status callback: the caller's leg, an agent's browser, a dialled number.

    Its first in-progress is when it was answered, its first final status how it ended.
    """
    form = e.form
    sid = form.get("CallSid", "")
    leg = evidence.legs.get(sid)
    if leg is None:
        leg = evidence.legs[sid] = Leg(sid)
    leg.from_ = form.get("From", leg.from_)
    leg.to = form.get("To", leg.to)
    leg.direction = form.get("Direction", leg.direction)
    leg.parent = form.get("ParentCallSid", leg.parent)
    if not leg.parent and e.context.get("dialled_by") and e.conversation_id != sid:
        # The customer (or colleague) an outbound call rang through the Participants API: no
        # parent leg, but its callback URL names the conversation and the rep who dialled
        # (chalicelib.softphone.outbound).
        leg.parent = e.conversation_id
    leg.agent = e.context.get("agent", leg.agent)
    t = e.occurred_ms
    if not leg.first_ms:
        leg.first_ms = t
    status = form.get("CallStatus", "")
    if status == "in-progress" and not leg.answered_ms:
        leg.answered_ms = t
    elif status in FINAL_LEG_STATUSES and not leg.final_status:
        leg.final_status = status
        leg.final_ms = t
        leg.duration_s = int(form.get("CallDuration") or 0)


def _read_taskrouter(evidence: Evidence, e: Event) -> None:
    """A TaskRouter event: the task queued, offered to agents, answered, wrapped up or canceled.

    Only the live call's tasks (the call itself, or a transfer of it) say who the customer is
    and when the caller waited; the voicemail and callback tasks routed after the call are the
    app's follow-up work, not the caller's. A reservation of any task is an offer.
    """
    queue = evidence.queue
    kind = e.form.get("EventType", "")
    task_type = str(e.attributes.get("type", ""))
    live = task_type not in QUEUED_TASK_TYPES
    if not live and task_type == "callback":
        queue.callback_task = True
    if live:
        _read_live_task_attributes(queue, e.attributes, task_type)
    if kind.startswith("reservation."):
        _read_reservation(queue, e, kind, task_type)
    elif live:
        _read_task_lifecycle(evidence, e, kind)


def _read_live_task_attributes(queue: Queue, a: Mapping[str, Any], task_type: str) -> None:
    """The customer and caller the route found, and the furthest escalation stage reached."""
    # A transfer task routes to the colleague through `owner_agent_id`/`team`; the
    # customer's own owner and team travel in `customer_*` (chalicelib/softphone/calls.py).
    transfer = task_type == TRANSFER_TASK_TYPE
    attrs = queue.attrs
    for name in ("customer_id", "customer_name", "owner_agent_id", "team", "caller"):
        routed = transfer and name in ("owner_agent_id", "team")
        value = a.get(f"customer_{name}" if routed else name)
        if value:
            attrs[name] = value
    if a.get("routing_degraded"):
        attrs["routing_degraded"] = True
    # A transfer's own `stage` is the colleague's, not an escalation of the customer's call.
    for name in ("initial_stage",) if transfer else ("initial_stage", "stage"):
        rank = STAGE_ORDER.get(str(a.get(name, "")), -1)
        queue.stage_reached = max(queue.stage_reached, rank)


def _read_task_lifecycle(evidence: Evidence, e: Event, kind: str) -> None:
    """When the live call queued, when its task ended unanswered, and the agent's wrap-up."""
    queue = evidence.queue
    t = e.occurred_ms
    if kind == "task.created":
        if not queue.queued_ms:
            queue.queued_ms = t
            evidence.timeline.append(
                {"at_ms": t, "kind": "queued", "stage": e.attributes.get("stage", "")}
            )
    elif kind == "task.canceled":
        queue.task_end_ms = queue.task_end_ms or t
        evidence.timeline.append(
            {"at_ms": t, "kind": "task_canceled", "reason": e.form.get("TaskCanceledReason", "")}
        )
    elif kind == "task.wrapup":
        queue.wrap_start_ms = queue.wrap_start_ms or t
    elif kind == "task.completed":
        queue.wrap_end_ms = queue.wrap_end_ms or t


def _read_reservation(queue: Queue, e: Event, kind: str, task_type: str) -> None:
    """One offer of the call to one agent: who, in which stage, when, and how it ended."""
    form = e.form
    t = e.occurred_ms
    rsid = form.get("ReservationSid") or form.get("ResourceSid", "")
    offer = queue.offers.get(rsid)
    if offer is None:
        offer = queue.offers[rsid] = Offer(rsid, task_type=task_type)
    if kind == "reservation.created" or not offer.agent_id:
        worker = _json(form.get("WorkerAttributes"))
        offer.agent_id = str(worker.get("agent_id") or form.get("WorkerName") or offer.agent_id)
        offer.agent_team = str(worker.get("team") or offer.agent_team)
    if kind == "reservation.created":
        offer.offered_ms = t
        offer.stage = str(e.attributes.get("stage", ""))
    outcome = OFFER_OUTCOMES.get(kind)
    # The first outcome by Twilio's clock, except that an accept always wins.
    if outcome and offer.outcome != "answered" and (outcome == "answered" or not offer.outcome):
        offer.outcome = outcome
        offer.outcome_ms = t


def _read_conference(evidence: Evidence, e: Event) -> None:
    """The conference's participants: the first to leave, holds and unholds, its end."""
    conference = evidence.conference
    form = e.form
    t = e.occurred_ms
    kind = form.get("StatusCallbackEvent", "")
    participant = form.get("CallSid", "")
    if kind == "participant-leave":
        sequence = int(form.get("SequenceNumber") or 2**31)
        first = conference.first_leave
        if participant and (
            first is None or (t, sequence) < (first[0], conference.first_leave_sequence)
        ):
            conference.first_leave = (t, participant)
            conference.first_leave_sequence = sequence
    elif kind == "participant-hold":
        if participant not in conference.open_holds:
            conference.open_holds[participant] = t
            evidence.timeline.append({"at_ms": t, "kind": "hold"})
    elif kind == "participant-unhold":
        if participant in conference.open_holds:
            conference.hold_ms += t - conference.open_holds.pop(participant)
            evidence.timeline.append({"at_ms": t, "kind": "unhold"})
    elif kind == "conference-end":
        conference.end_ms = conference.end_ms or t
        conference.ender = form.get("CallSidEndingConference", "")


def _read_recording(evidence: Evidence, e: Event) -> None:
    """A finished recording of the conversation, or the voicemail the caller left; or one Twilio
    reports absent or failed (only the recordings reconciliation hears of those: the conference
    instruction cannot subscribe to their callbacks)."""
    form = e.form
    status = form.get("RecordingStatus", "completed")
    if status in LOST_RECORDING_STATUSES:
        evidence.lost_recordings.append(
            {"sid": form.get("RecordingSid", ""), "status": status, "kind": e.source}
        )
        return
    if status != "completed":
        return
    url = form.get("RecordingUrl", "")
    evidence.recordings.append(
        {
            "sid": form.get("RecordingSid", ""),
            "url": url,
            "duration_s": int(form.get("RecordingDuration") or 0),
            "channels": int(form.get("RecordingChannels") or 1),
            "kind": e.source,
        }
    )
    if e.source == VOICEMAIL:
        evidence.voicemail_url = url


def _read_fact(evidence: Evidence, e: Event) -> None:
    """What the app knows and Twilio does not (events.FACTS): outside hours, fallback offered,
    voicemail left, callback requested, the wrap-up note, the customer identified late."""
    name = e.form.get("Fact", "")
    evidence.facts[name] = dict(e.attributes, at_ms=e.occurred_ms)
    evidence.timeline.append({"at_ms": e.occurred_ms, "kind": name})


def _read_price(evidence: Evidence, e: Event) -> None:
    """A leg's price, which Twilio knows only some time after the leg ended."""
    evidence.prices[e.form.get("CallSid", "")] = e.form.get("Price", "")
    evidence.price_unit = e.form.get("PriceUnit", "") or evidence.price_unit


_READERS: dict[str, Callable[[Evidence, Event], None]] = {
    VOICE: _read_leg,
    TASKROUTER: _read_taskrouter,
    CONFERENCE: _read_conference,
    RECORDING: _read_recording,
    VOICEMAIL: _read_recording,
    FACT: _read_fact,
    PRICE: _read_price,
}
