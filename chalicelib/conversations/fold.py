"""One record per conversation, folded from the set of its events.

`fold` is a pure function of the *set* of events: duplicates collapse on their natural key and
the rest are read in Twilio's time order (ties broken by key), so any arrival order and any
number of retries give the same record. Nothing here reads a clock or a table.

What a person experiences as one call is, in Twilio, the caller's leg, one leg per agent whose
browser rang (TaskRouter dials each reservation's agent into a conference), TaskRouter's task and
reservations, the conference and its recording. The record puts them back together: who called,
every offer (agent, stage, ring time, outcome), who answered and how they relate to the customer,
the waits and talk time, who hung up, the links, the outcome, and the price.

It does so in two halves. First every event is *gathered* into `Evidence` by the reader of its
source (chalicelib/conversations/evidence.py: call legs, TaskRouter's queue and offers, the
conference, recordings, the app's own facts, prices), deciding nothing. Then this module tells
the story from that evidence, one step each: the customer identified late, the call (whose leg,
which way, when it started and ended), who answered, the durations and who hung up, the
outcome, the stage reached, the timeline, and finally the record.

Outcomes, in priority order (docs/conversations.md):
answered > voicemail > callback > outside_hours > failed > short_abandon >
abandoned_while_ringing > abandoned_in_queue. A conversation still going and not answered has
no outcome yet.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.conversations.events import Event
from chalicelib.conversations.evidence import (
    QUEUED_TASK_TYPES,
    STAGE_ORDER,
    Evidence,
    Leg,
    Offer,
    gather,
)
from chalicelib.telephony.phone_numbers import caller_e164

OUTCOMES = (
    "answered",
    "abandoned_in_queue",
    "abandoned_while_ringing",
    "short_abandon",
    "voicemail",
    "callback",
    "outside_hours",
    "failed",
)
# The fact naming the caller's customer when the route could not (see conversation_facts).
CUSTOMER_IDENTIFIED = "customer_identified"
CUSTOMER_FIELDS = ("customer_id", "customer_name", "owner_agent_id", "team")
UNREACHED_LEG_STATUSES = frozenset({"busy", "no-answer", "failed"})
MISSED = frozenset({"timed_out", "rejected"})
OUTBOUND_DIALLED = "outbound_dialled"


@dataclass(frozen=True)
class FoldPolicy:
    short_abandon_ms: int = 5000
    timezone: str = "Asia/Tokyo"
    service_level_ms: int = 20000


@dataclass(slots=True)
class _Call:
    """The customer's call: its leg (if a callback of it arrived), direction, start and end."""

    leg: Leg | None
    outbound: bool
    started_ms: int
    ended_ms: int


@dataclass(slots=True)
class _Answer:
    """The live offers, who answered the customer, when, and how they relate to the customer."""

    live_offers: list[Offer]
    by: str
    team: str
    at_ms: int
    caller: str
    relation: str


@dataclass(slots=True)
class _Durations:
    """The caller's wait, hold, talk and wrap-up times, and who hung up."""

    queue_wait_ms: int
    hold_ms: int
    talk_ms: int
    wrap_ms: int
    hung_up_by: str


_ZONES: dict[str, ZoneInfo] = {}


def _zone(name: str) -> ZoneInfo:
    zone = _ZONES.get(name)
    if zone is None:
        zone = _ZONES[name] = ZoneInfo(name)
    return zone


def _micros(price: str) -> int | None:
    try:
        return int(abs(Decimal(price)) * 1_000_000)
    except (InvalidOperation, ValueError):
        return None


def fold(conversation_id: str, events: Iterable[Event], policy: FoldPolicy) -> dict[str, Any]:
    """The conversation record of `conversation_id`, from its events in any order."""
    evidence = gather(events)
    _identify_customer_from_directory(evidence)
    call = _the_call(conversation_id, evidence)
    answer = _who_answered(conversation_id, evidence, call)
    durations = _durations(conversation_id, evidence, call, answer)
    return _record(
        conversation_id,
        evidence,
        call,
        answer,
        durations,
        outcome=_outcome(evidence, call, answer, policy),
        stage=_stage_reached(evidence),
        policy=policy,
    )


def _identify_customer_from_directory(evidence: Evidence) -> None:
    """The customer the directory named later, where the route could not name them.

    A route degraded by a failed directory read has no customer in its task; the directory
    read again later (conversation_facts.identify_customer) fills it in. The task's own
    values win.
    """
    attrs = evidence.queue.attrs
    identified = evidence.facts.get(CUSTOMER_IDENTIFIED, {})
    for name in CUSTOMER_FIELDS:
        if not attrs.get(name) and identified.get(name):
            attrs[name] = identified[name]


def _the_call(conversation_id: str, evidence: Evidence) -> _Call:
    """The customer's leg, which way the call went, and when it started and ended.

    An outbound call is one a softphone (`client:`) placed; the conversation is keyed by its leg.
    """
    leg = evidence.legs.get(conversation_id)
    outbound = bool(leg and leg.from_.startswith("client:")) or OUTBOUND_DIALLED in evidence.facts
    leg_start_ms = leg.first_ms if leg else 0
    if leg and leg.final_status:
        # An incoming number's status callback is posted only when the call ends, so the
        # caller's leg may have no earlier event: it started CallDuration seconds before it
        # ended. https://www.twilio.com/docs/voice/api/call-resource#statuscallback
        leg_start_ms = min(leg_start_ms, leg.final_ms - leg.duration_s * 1000)
    # No event of the call (a TaskRouter event has milliseconds, a callback whole seconds)
    # happens before the call itself started.
    started_ms = min((ms for ms in (leg_start_ms, evidence.first_ms) if ms > 0), default=0) or min(
        (f["at_ms"] for f in evidence.facts.values()), default=0
    )
    if leg and leg.final_status:
        ended_ms = leg.final_ms
    else:
        ended_ms = evidence.conference.end_ms or evidence.queue.task_end_ms
    if ended_ms and started_ms and ended_ms < started_ms:
        ended_ms = started_ms
    return _Call(leg, outbound, started_ms, ended_ms)


def _who_answered(conversation_id: str, evidence: Evidence, call: _Call) -> _Answer:
    """Who answered the customer, when, and who the caller is.

    Inbound, the agent of the first offer accepted (offers in the order they were made, so a
    transferred call's answer is the agent who took it before the transfer).
    Outbound, the rep who dialled, once the number they dialled (the child leg) answered.
    """
    live_offers = sorted(
        (o for o in evidence.queue.offers.values() if o.task_type not in QUEUED_TASK_TYPES),
        key=lambda o: (o.offered_ms, o.reservation_sid),
    )
    answered_offer = next((o for o in live_offers if o.outcome == "answered"), None)
    by = ""
    team = ""
    at_ms = 0
    dialled: Leg | None = None
    if call.outbound:
        dialled = next(
            (
                leg
                for leg in sorted(evidence.legs.values(), key=lambda x: x.sid)
                if leg.parent == conversation_id
            ),
            None,
        )
        if dialled:
            at_ms = dialled.answered_ms
        if at_ms:
            by = _dialled_by(evidence, call)
    elif answered_offer:
        by = answered_offer.agent_id
        team = answered_offer.agent_team
        at_ms = answered_offer.outcome_ms
    return _Answer(
        live_offers=live_offers,
        by=by,
        team=team,
        at_ms=at_ms,
        caller=_caller(evidence, call, dialled),
        relation=_relation(evidence, call, by, team, answered_offer),
    )


def _dialled_by(evidence: Evidence, call: _Call) -> str:
    """The rep who placed an outbound call: the webhook's fact, else the softphone's leg."""
    if not call.outbound:
        return ""
    fact = evidence.facts.get(OUTBOUND_DIALLED, {})
    if fact.get("agent_id"):
        return str(fact["agent_id"])
    return call.leg.from_.removeprefix("client:") if call.leg else ""


def _caller(evidence: Evidence, call: _Call, dialled: Leg | None) -> str:
    """The customer's number: as the route read it, else the number dialled (outbound) or the
    caller's leg's From (inbound)."""
    caller = str(evidence.queue.attrs.get("caller", ""))
    if caller:
        return caller
    if call.outbound:
        if dialled:
            return caller_e164(dialled.to) or ""
        return str(evidence.facts.get(OUTBOUND_DIALLED, {}).get("number", ""))
    if call.leg:
        return caller_e164(call.leg.from_) or ""
    return ""


def _relation(
    evidence: Evidence,
    call: _Call,
    answered_by: str,
    answered_team: str,
    answered_offer: Offer | None,
) -> str:
    """How the agent who answered an inbound call relates to the customer: owner, team, other.

    An offer whose worker had no team is the team's when it was offered in the team stage.
    """
    if not answered_by or call.outbound:
        return ""
    owner = str(evidence.queue.attrs.get("owner_agent_id", ""))
    team = str(evidence.queue.attrs.get("team", ""))
    if owner and answered_by == owner:
        return "owner"
    if team and (
        answered_team == team
        or (not answered_team and answered_offer and answered_offer.stage == "team")
    ):
        return "team"
    return "other"


def _durations(
    conversation_id: str, evidence: Evidence, call: _Call, answer: _Answer
) -> _Durations:
    """The caller's wait in the queue, hold, talk and wrap-up time, and who hung up."""
    queue = evidence.queue
    queue_start = queue.queued_ms or call.started_ms
    queue_wait_ms = 0
    if not call.outbound and queue_start:
        if answer.at_ms:
            queue_wait_ms = max(0, answer.at_ms - queue_start)
        elif call.ended_ms:
            queue_wait_ms = max(0, call.ended_ms - queue_start)
    # A hold never released lasts until the call (or its conference) ended.
    hold_ms = evidence.conference.hold_ms
    end_for_open = call.ended_ms or evidence.conference.end_ms
    for open_since in evidence.conference.open_holds.values():
        if end_for_open:
            hold_ms += max(0, end_for_open - open_since)
    talk_ms = (
        max(0, call.ended_ms - answer.at_ms - hold_ms) if answer.at_ms and call.ended_ms else 0
    )
    wrap_ms = (
        max(0, queue.wrap_end_ms - queue.wrap_start_ms)
        if queue.wrap_start_ms and queue.wrap_end_ms
        else 0
    )
    return _Durations(
        queue_wait_ms=queue_wait_ms,
        hold_ms=hold_ms,
        talk_ms=talk_ms,
        wrap_ms=wrap_ms,
        hung_up_by=_hung_up_by(conversation_id, evidence, call, answer),
    )


def _hung_up_by(conversation_id: str, evidence: Evidence, call: _Call, answer: _Answer) -> str:
    """Who ended an ended call: "customer" or "agent", from the conference when there was one.

    The first to leave the conference hung up, else the one Twilio names as ending it
    (everyone but the caller is an agent). An outbound call without a conference compares when
    the two legs ended; a call never answered was hung up by the caller.
    """
    if not call.ended_ms:
        return ""
    conference = evidence.conference
    customer_leg = conversation_id
    if call.outbound:
        # The conversation is the rep's leg; the customer is the number they dialled.
        child = next((x for x in evidence.legs.values() if x.parent == conversation_id), None)
        customer_leg = child.sid if child else ""
    if conference.first_leave is not None:
        return "customer" if conference.first_leave[1] == customer_leg else "agent"
    if conference.ender:
        return "customer" if conference.ender == customer_leg else "agent"
    if call.outbound and call.leg:
        # The first dialled leg by Twilio's clock (legs are gathered in that order).
        child = next((x for x in evidence.legs.values() if x.parent == conversation_id), None)
        if child and child.final_ms and child.final_ms < call.leg.final_ms:
            return "customer"
        if child and child.final_ms and child.final_ms > call.leg.final_ms:
            return "agent"
        return ""
    if not answer.at_ms:
        return "customer"
    return ""


def _outcome(evidence: Evidence, call: _Call, answer: _Answer, policy: FoldPolicy) -> str:
    """The conversation's outcome in priority order (module docstring); "" while it goes on."""
    facts = evidence.facts
    if answer.at_ms:
        return "answered"
    if evidence.voicemail_url or "voicemail_left" in facts:
        return "voicemail"
    if evidence.queue.callback_task or "callback_requested" in facts:
        return "callback"
    if "outside_hours" in facts:
        return "outside_hours"
    if not call.ended_ms:
        return ""
    unreached = call.leg is not None and call.leg.final_status in UNREACHED_LEG_STATUSES
    if call.outbound or unreached:
        return "failed"
    if call.ended_ms - call.started_ms < policy.short_abandon_ms:
        return "short_abandon"
    if any(_ringing_at(o, call.ended_ms) for o in answer.live_offers):
        return "abandoned_while_ringing"
    return "abandoned_in_queue"


def _ringing_at(offer: Offer, ended_ms: int) -> bool:
    """An agent's browser was still ringing when the caller hung up."""
    return bool(
        offer.offered_ms
        and offer.offered_ms <= ended_ms
        and (not offer.outcome or offer.outcome == "canceled" or offer.outcome_ms >= ended_ms)
    )


def _stage_reached(evidence: Evidence) -> str:
    """How far the call escalated: the furthest task stage, or fallback once it was offered."""
    if "fallback_offered" in evidence.facts:
        return "fallback"
    if evidence.queue.stage_reached >= 0:
        return next(s for s, rank in STAGE_ORDER.items() if rank == evidence.queue.stage_reached)
    return ""


def _timeline(
    evidence: Evidence, call: _Call, answer: _Answer, hung_up_by: str
) -> list[dict[str, Any]]:
    """What happened when: the moments gathered, every offer and its outcome, start and end."""
    timeline = list(evidence.timeline)
    for offer in answer.live_offers:
        if offer.offered_ms:
            timeline.append(
                {
                    "at_ms": offer.offered_ms,
                    "kind": "offered",
                    "agent_id": offer.agent_id,
                    "stage": offer.stage,
                }
            )
        if offer.outcome:
            timeline.append(
                {"at_ms": offer.outcome_ms, "kind": offer.outcome, "agent_id": offer.agent_id}
            )
    if call.started_ms:
        timeline.append({"at_ms": call.started_ms, "kind": "started"})
    if call.ended_ms:
        timeline.append({"at_ms": call.ended_ms, "kind": "ended", "by": hung_up_by})
    timeline.sort(key=lambda x: (x["at_ms"], x["kind"], x.get("agent_id", "")))
    return timeline


def _offer_fields(offer: Offer) -> dict[str, Any]:
    """One offer as the record lists it; an offer with no outcome yet is still ringing."""
    return {
        "reservation_sid": offer.reservation_sid,
        "agent_id": offer.agent_id,
        "stage": offer.stage,
        "offered_ms": offer.offered_ms,
        "ring_ms": max(0, offer.outcome_ms - offer.offered_ms)
        if offer.outcome_ms and offer.offered_ms
        else 0,
        "outcome": offer.outcome or "ringing",
    }


def _record(
    conversation_id: str,
    evidence: Evidence,
    call: _Call,
    answer: _Answer,
    durations: _Durations,
    *,
    outcome: str,
    stage: str,
    policy: FoldPolicy,
) -> dict[str, Any]:
    """The conversation record: who, when (local day and hour for the KPIs), the answer, the
    waits, every offer, the links, the app's facts and the cost."""
    attrs = evidence.queue.attrs
    facts = evidence.facts
    started_ms = call.started_ms
    ended_ms = call.ended_ms
    # Every leg that ended is priced by Twilio some time later.
    priced_legs = sorted(sid for sid, leg in evidence.legs.items() if leg.final_status)
    unpriced = [sid for sid in priced_legs if sid not in evidence.prices]
    cost_micros = sum(m for p in evidence.prices.values() if (m := _micros(p)) is not None)
    local = (
        datetime.fromtimestamp(started_ms / 1000, _zone(policy.timezone)) if started_ms else None
    )
    wrap_up = facts.get("wrap_up_note", {})
    callback_task = evidence.queue.callback_task
    return {
        "conversation_id": conversation_id,
        "direction": "outbound" if call.outbound else "inbound",
        "status": "ended" if ended_ms else "active",
        # Sparse index key (live-index): present only while the conversation has not ended.
        "live": None if ended_ms else "1",
        "outcome": outcome or None,
        "customer_id": str(attrs.get("customer_id", "")),
        "customer_name": str(attrs.get("customer_name", "")),
        "owner_agent_id": str(attrs.get("owner_agent_id", "")),
        "team": str(attrs.get("team", "") or facts.get(OUTBOUND_DIALLED, {}).get("team", "")),
        "dialled_by": _dialled_by(evidence, call),
        # A rep's call to a colleague: no customer, left out of the customer KPIs.
        "internal": bool(facts.get(OUTBOUND_DIALLED, {}).get("internal")),
        "to_agent": str(facts.get(OUTBOUND_DIALLED, {}).get("to_agent", "")),
        "caller": answer.caller,
        "started_ms": started_ms,
        "ended_ms": ended_ms or None,
        "day": local.date().isoformat() if local else None,
        "hour": local.hour if local else None,
        "weekday": local.weekday() if local else None,
        "queued_ms": evidence.queue.queued_ms or None,
        "answered_ms": answer.at_ms or None,
        "answered_by": answer.by,
        "answered_relation": answer.relation,
        "stage_reached": stage,
        "queue_wait_ms": durations.queue_wait_ms,
        "talk_ms": durations.talk_ms,
        "hold_ms": durations.hold_ms,
        "wrap_ms": durations.wrap_ms,
        "hung_up_by": durations.hung_up_by,
        "offers": [_offer_fields(o) for o in answer.live_offers],
        "missed_offers": sum(1 for o in answer.live_offers if o.outcome in MISSED),
        "recordings": sorted(evidence.recordings, key=lambda r: r["sid"]),
        "recordings_lost": _recordings_lost(evidence),
        "voicemail_url": evidence.voicemail_url
        or str(facts.get("voicemail_left", {}).get("recording_url", "")),
        "outside_hours": "outside_hours" in facts,
        "callback_requested": callback_task or "callback_requested" in facts,
        "routing_degraded": bool(attrs.get("routing_degraded", False)),
        "wrap_up_note": str(wrap_up.get("note", "")),
        "wrap_up_code": str(facts.get("wrap_up_code", {}).get("code", "")),
        # A voicemail or callback request closed from the follow-up inbox (issue 18).
        "follow_up_done_by": str(facts.get("follow_up_done", {}).get("agent_id", "")) or None,
        "follow_up_done_ms": facts.get("follow_up_done", {}).get("at_ms"),
        "legs": len(evidence.legs),
        "cost_micros": cost_micros,
        "cost_unit": evidence.price_unit,
        "legs_unpriced": unpriced,
        # Sparse index key: present only while an ended conversation lacks a leg's price.
        "cost_pending": "1" if ended_ms and unpriced else None,
        "timeline": _timeline(evidence, call, answer, durations.hung_up_by),
    }


def _recordings_lost(evidence: Evidence) -> list[dict[str, Any]]:
    """Recordings of the call that will never reach S3: absent or failed at Twilio, or none made
    at all (the recordings reconciliation's `recording_missing` fact, moot once one is copied)."""
    lost = [
        {"sid": r["sid"], "status": r["status"]}
        for r in sorted(evidence.lost_recordings, key=lambda r: r["sid"])
    ]
    if "recording_missing" in evidence.facts and not evidence.recordings:
        lost.append({"sid": "", "status": "missing"})
    return lost
