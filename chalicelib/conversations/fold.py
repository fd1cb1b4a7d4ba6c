"""One record per conversation, folded from the set of its events.

`fold` is a pure function of the *set* of events: duplicates collapse on their natural key and
the rest are read in Twilio's time order (ties broken by key), so any arrival order and any
number of retries give the same record. Nothing here reads a clock or a table.

What a person experiences as one call is, in Twilio, the caller's leg, one leg per agent whose
browser rang (TaskRouter dials each reservation's agent into a conference), TaskRouter's task and
reservations, the conference and its recording. The record puts them back together: who called,
every offer (agent, stage, ring time, outcome), who answered and how they relate to the customer,
the waits and talk time, who hung up, the links, the outcome, and the price.

Outcomes, in priority order (docs/conversations.md):
answered > voicemail > callback > outside_hours > failed > short_abandon >
abandoned_while_ringing > abandoned_in_queue. A conversation still going and not answered has
no outcome yet.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

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
STAGE_ORDER = {"owner": 0, "team": 1, "everyone": 2, "fallback": 3}
# The fact naming the caller's customer when the route could not (see conversation_facts).
CUSTOMER_IDENTIFIED = "customer_identified"
CUSTOMER_FIELDS = ("customer_id", "customer_name", "owner_agent_id", "team")
FINAL_LEG_STATUSES = frozenset({"completed", "busy", "no-answer", "canceled", "failed"})
UNREACHED_LEG_STATUSES = frozenset({"busy", "no-answer", "failed"})
OFFER_OUTCOMES = {
    "reservation.accepted": "answered",
    "reservation.completed": "answered",
    "reservation.wrapup": "answered",
    "reservation.timeout": "timed_out",
    "reservation.rejected": "rejected",
    "reservation.canceled": "canceled",
    "reservation.rescinded": "canceled",
}
MISSED = frozenset({"timed_out", "rejected"})
# chalicelib.softphone.calls.TRANSFER_TASK_TYPE (no import: fold stays pure)
TRANSFER_TASK_TYPE = "transfer"
QUEUED_TASK_TYPES = frozenset({"voicemail", "callback"})


@dataclass(frozen=True)
class FoldPolicy:
    short_abandon_ms: int = 5000
    timezone: str = "Asia/Tokyo"
    service_level_ms: int = 20000


@dataclass(slots=True)
class _Leg:
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
class _Offer:
    reservation_sid: str
    agent_id: str = ""
    agent_team: str = ""
    stage: str = ""
    task_type: str = ""
    offered_ms: int = 0
    outcome: str = ""
    outcome_ms: int = 0


_ZONES: dict[str, ZoneInfo] = {}


def _zone(name: str) -> ZoneInfo:
    zone = _ZONES.get(name)
    if zone is None:
        zone = _ZONES[name] = ZoneInfo(name)
    return zone


def _json(text: str | None) -> dict[str, Any]:
    try:
        parsed = json.loads(text or "{}")
    except json.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _micros(price: str) -> int | None:
    try:
        return int(abs(Decimal(price)) * 1_000_000)
    except (InvalidOperation, ValueError):
        return None


def fold(conversation_id: str, events: Iterable[Event], policy: FoldPolicy) -> dict[str, Any]:
    """The conversation record of `conversation_id`, from its events in any order."""
    unique = {e.key: e for e in events}
    ordered = sorted(unique.values(), key=lambda e: (e.occurred_ms, e.key))

    legs: dict[str, _Leg] = {}
    offers: dict[str, _Offer] = {}
    attrs: dict[str, Any] = {}
    stage_reached = -1
    queued_ms = 0
    task_end_ms = 0
    wrap_start_ms = 0
    wrap_end_ms = 0
    conference_end_ms = 0
    conference_ender = ""
    first_leave: tuple[int, str] | None = None
    holds: dict[str, int] = {}
    hold_ms = 0
    recordings: list[dict[str, Any]] = []
    voicemail_url = ""
    facts: dict[str, dict[str, Any]] = {}
    prices: dict[str, str] = {}
    price_unit = ""
    callback_task = False
    first_ms = 0
    timeline: list[dict[str, Any]] = []

    for e in ordered:
        t = e.occurred_ms
        source = e.source
        form = e.form
        if t and source != FACT and (not first_ms or t < first_ms):
            first_ms = t
        if source == VOICE:
            sid = form.get("CallSid", "")
            leg = legs.get(sid)
            if leg is None:
                leg = legs[sid] = _Leg(sid)
            leg.from_ = form.get("From", leg.from_)
            leg.to = form.get("To", leg.to)
            leg.direction = form.get("Direction", leg.direction)
            leg.parent = form.get("ParentCallSid", leg.parent)
            leg.agent = e.context.get("agent", leg.agent)
            if not leg.first_ms:
                leg.first_ms = t
            status = form.get("CallStatus", "")
            if status == "in-progress" and not leg.answered_ms:
                leg.answered_ms = t
            elif status in FINAL_LEG_STATUSES and not leg.final_status:
                leg.final_status = status
                leg.final_ms = t
                leg.duration_s = int(form.get("CallDuration") or 0)
        elif source == TASKROUTER:
            kind = form.get("EventType", "")
            a = e.attributes
            task_type = str(a.get("type", ""))
            live = task_type not in QUEUED_TASK_TYPES
            if not live and task_type == "callback":
                callback_task = True
            if live:
                # A transfer task routes to the colleague through `owner_agent_id`/`team`; the
                # customer's own owner and team travel in `customer_*`
                # (chalicelib/softphone/calls.py).
                transfer = task_type == TRANSFER_TASK_TYPE
                for name in ("customer_id", "customer_name", "owner_agent_id", "team", "caller"):
                    routed = transfer and name in ("owner_agent_id", "team")
                    value = a.get(f"customer_{name}" if routed else name)
                    if value:
                        attrs[name] = value
                if a.get("routing_degraded"):
                    attrs["routing_degraded"] = True
                for name in ("initial_stage",) if transfer else ("initial_stage", "stage"):
                    rank = STAGE_ORDER.get(str(a.get(name, "")), -1)
                    stage_reached = max(stage_reached, rank)
            if kind == "task.created" and live:
                if not queued_ms:
                    queued_ms = t
                    timeline.append({"at_ms": t, "kind": "queued", "stage": a.get("stage", "")})
            elif kind == "task.canceled" and live:
                task_end_ms = task_end_ms or t
                timeline.append(
                    {
                        "at_ms": t,
                        "kind": "task_canceled",
                        "reason": form.get("TaskCanceledReason", ""),
                    }
                )
            elif kind == "task.wrapup" and live:
                wrap_start_ms = wrap_start_ms or t
            elif kind == "task.completed" and live:
                wrap_end_ms = wrap_end_ms or t
            elif kind.startswith("reservation."):
                rsid = form.get("ReservationSid") or form.get("ResourceSid", "")
                offer = offers.get(rsid)
                if offer is None:
                    offer = offers[rsid] = _Offer(rsid, task_type=task_type)
                if kind == "reservation.created" or not offer.agent_id:
                    worker = _json(form.get("WorkerAttributes"))
                    offer.agent_id = str(
                        worker.get("agent_id") or form.get("WorkerName") or offer.agent_id
                    )
                    offer.agent_team = str(worker.get("team") or offer.agent_team)
                if kind == "reservation.created":
                    offer.offered_ms = t
                    offer.stage = str(a.get("stage", ""))
                outcome = OFFER_OUTCOMES.get(kind)
                # The first outcome by Twilio's clock, except that an accept always wins.
                if (
                    outcome
                    and offer.outcome != "answered"
                    and (outcome == "answered" or not offer.outcome)
                ):
                    offer.outcome = outcome
                    offer.outcome_ms = t
        elif source == CONFERENCE:
            kind = form.get("StatusCallbackEvent", "")
            participant = form.get("CallSid", "")
            if kind == "participant-leave" and participant and first_leave is None:
                first_leave = (t, participant)
            elif kind == "participant-hold" and participant not in holds:
                holds[participant] = t
                timeline.append({"at_ms": t, "kind": "hold"})
            elif kind == "participant-unhold" and participant in holds:
                hold_ms += t - holds.pop(participant)
                timeline.append({"at_ms": t, "kind": "unhold"})
            elif kind == "conference-end":
                conference_end_ms = conference_end_ms or t
                conference_ender = form.get("CallSidEndingConference", "")
        elif source in (RECORDING, VOICEMAIL):
            if form.get("RecordingStatus", "completed") == "completed":
                url = form.get("RecordingUrl", "")
                recordings.append(
                    {
                        "sid": form.get("RecordingSid", ""),
                        "url": url,
                        "duration_s": int(form.get("RecordingDuration") or 0),
                        "channels": int(form.get("RecordingChannels") or 1),
                        "kind": source,
                    }
                )
                if source == VOICEMAIL:
                    voicemail_url = url
        elif source == FACT:
            name = form.get("Fact", "")
            facts[name] = dict(e.attributes, at_ms=t)
            timeline.append({"at_ms": t, "kind": name})
        elif source == PRICE:
            prices[form.get("CallSid", "")] = form.get("Price", "")
            price_unit = form.get("PriceUnit", "") or price_unit

    identified = facts.get(CUSTOMER_IDENTIFIED, {})
    for name in CUSTOMER_FIELDS:
        # A route degraded by a failed directory read has no customer in its task; the
        # directory read again later (conversation_facts.identify_customer) fills it in.
        if not attrs.get(name) and identified.get(name):
            attrs[name] = identified[name]
    customer_leg = legs.get(conversation_id)
    outbound = bool(customer_leg and customer_leg.from_.startswith("client:"))
    # --- who, when --------------------------------------------------------------------------
    leg_start_ms = customer_leg.first_ms if customer_leg else 0
    if customer_leg and customer_leg.final_status:
        # An incoming number's status callback is posted only when the call ends, so the
        # caller's leg may have no earlier event: it started CallDuration seconds before it
        # ended. https://www.twilio.com/docs/voice/api/call-resource#statuscallback
        leg_start_ms = min(leg_start_ms, customer_leg.final_ms - customer_leg.duration_s * 1000)
    # No event of the call (a TaskRouter event has milliseconds, a callback whole seconds)
    # happens before the call itself started.
    started_ms = min((ms for ms in (leg_start_ms, first_ms) if ms > 0), default=0) or min(
        (f["at_ms"] for f in facts.values()), default=0
    )
    if customer_leg and customer_leg.final_status:
        ended_ms = customer_leg.final_ms
    else:
        ended_ms = conference_end_ms or task_end_ms
    if ended_ms and started_ms and ended_ms < started_ms:
        ended_ms = started_ms

    live_offers = sorted(
        (o for o in offers.values() if o.task_type not in QUEUED_TASK_TYPES),
        key=lambda o: (o.offered_ms, o.reservation_sid),
    )
    answered_offer = next((o for o in live_offers if o.outcome == "answered"), None)
    answered_by = ""
    answered_team = ""
    answered_ms = 0
    caller = str(attrs.get("caller", ""))
    direction = "outbound" if outbound else "inbound"
    if outbound and customer_leg:
        answered_by = customer_leg.from_.removeprefix("client:")
        child = next(
            (
                leg
                for leg in sorted(legs.values(), key=lambda x: x.sid)
                if leg.parent == conversation_id
            ),
            None,
        )
        if child:
            caller = caller or (caller_e164(child.to) or "")
            answered_ms = child.answered_ms
        if not answered_ms:
            answered_by = ""
    elif answered_offer:
        answered_by = answered_offer.agent_id
        answered_team = answered_offer.agent_team
        answered_ms = answered_offer.outcome_ms
    if not caller and customer_leg and not outbound:
        caller = caller_e164(customer_leg.from_) or ""

    owner = str(attrs.get("owner_agent_id", ""))
    team = str(attrs.get("team", ""))
    relation = ""
    if answered_by and not outbound:
        if owner and answered_by == owner:
            relation = "owner"
        elif team and (
            answered_team == team
            or (not answered_team and answered_offer and answered_offer.stage == "team")
        ):
            relation = "team"
        else:
            relation = "other"

    # --- durations ----------------------------------------------------------------------------
    queue_start = queued_ms or started_ms
    queue_wait_ms = 0
    if not outbound and queue_start:
        if answered_ms:
            queue_wait_ms = max(0, answered_ms - queue_start)
        elif ended_ms:
            queue_wait_ms = max(0, ended_ms - queue_start)
    end_for_open = ended_ms or conference_end_ms
    for open_since in holds.values():
        if end_for_open:
            hold_ms += max(0, end_for_open - open_since)
    talk_ms = max(0, ended_ms - answered_ms - hold_ms) if answered_ms and ended_ms else 0
    wrap_ms = max(0, wrap_end_ms - wrap_start_ms) if wrap_start_ms and wrap_end_ms else 0

    hung_up_by = ""
    if ended_ms:
        if first_leave is not None:
            # The first to leave the conference hung up; everyone but the caller is an agent.
            hung_up_by = "customer" if first_leave[1] == conversation_id else "agent"
        elif conference_ender:
            hung_up_by = "customer" if conference_ender == conversation_id else "agent"
        elif outbound and customer_leg:
            child = next((x for x in legs.values() if x.parent == conversation_id), None)
            if child and child.final_ms and child.final_ms < customer_leg.final_ms:
                hung_up_by = "customer"
            elif child and child.final_ms and child.final_ms > customer_leg.final_ms:
                hung_up_by = "agent"
        elif not answered_ms:
            hung_up_by = "customer"

    # --- outcome ------------------------------------------------------------------------------
    outcome = ""
    missed = sum(1 for o in live_offers if o.outcome in MISSED)
    if answered_ms:
        outcome = "answered"
    elif voicemail_url or "voicemail_left" in facts:
        outcome = "voicemail"
    elif callback_task or "callback_requested" in facts:
        outcome = "callback"
    elif "outside_hours" in facts:
        outcome = "outside_hours"
    elif ended_ms:
        unreached = customer_leg is not None and customer_leg.final_status in UNREACHED_LEG_STATUSES
        if outbound or unreached:
            outcome = "failed"
        elif ended_ms - started_ms < policy.short_abandon_ms:
            outcome = "short_abandon"
        elif any(
            o.offered_ms
            and o.offered_ms <= ended_ms
            and (not o.outcome or o.outcome == "canceled" or o.outcome_ms >= ended_ms)
            for o in live_offers
        ):
            outcome = "abandoned_while_ringing"
        else:
            outcome = "abandoned_in_queue"

    stage = "fallback" if "fallback_offered" in facts else ""
    if not stage and stage_reached >= 0:
        stage = next(s for s, rank in STAGE_ORDER.items() if rank == stage_reached)

    # --- links, cost --------------------------------------------------------------------------
    for offer in live_offers:
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
    if started_ms:
        timeline.append({"at_ms": started_ms, "kind": "started"})
    if ended_ms:
        timeline.append({"at_ms": ended_ms, "kind": "ended", "by": hung_up_by})
    timeline.sort(key=lambda x: (x["at_ms"], x["kind"], x.get("agent_id", "")))

    priced_legs = sorted(sid for sid, leg in legs.items() if leg.final_status)
    unpriced = [sid for sid in priced_legs if sid not in prices]
    cost_micros = sum(m for p in prices.values() if (m := _micros(p)) is not None)

    local = (
        datetime.fromtimestamp(started_ms / 1000, _zone(policy.timezone)) if started_ms else None
    )
    wrap_up = facts.get("wrap_up_note", {})
    record: dict[str, Any] = {
        "conversation_id": conversation_id,
        "direction": direction,
        "status": "ended" if ended_ms else "active",
        "outcome": outcome or None,
        "customer_id": str(attrs.get("customer_id", "")),
        "customer_name": str(attrs.get("customer_name", "")),
        "owner_agent_id": owner,
        "team": team,
        "caller": caller,
        "started_ms": started_ms,
        "ended_ms": ended_ms or None,
        "day": local.date().isoformat() if local else None,
        "hour": local.hour if local else None,
        "weekday": local.weekday() if local else None,
        "queued_ms": queued_ms or None,
        "answered_ms": answered_ms or None,
        "answered_by": answered_by,
        "answered_relation": relation,
        "stage_reached": stage,
        "queue_wait_ms": queue_wait_ms,
        "talk_ms": talk_ms,
        "hold_ms": hold_ms,
        "wrap_ms": wrap_ms,
        "hung_up_by": hung_up_by,
        "offers": [
            {
                "reservation_sid": o.reservation_sid,
                "agent_id": o.agent_id,
                "stage": o.stage,
                "offered_ms": o.offered_ms,
                "ring_ms": max(0, o.outcome_ms - o.offered_ms)
                if o.outcome_ms and o.offered_ms
                else 0,
                "outcome": o.outcome or "ringing",
            }
            for o in live_offers
        ],
        "missed_offers": missed,
        "recordings": sorted(recordings, key=lambda r: r["sid"]),
        "voicemail_url": voicemail_url
        or str(facts.get("voicemail_left", {}).get("recording_url", "")),
        "outside_hours": "outside_hours" in facts,
        "callback_requested": callback_task or "callback_requested" in facts,
        "routing_degraded": bool(attrs.get("routing_degraded", False)),
        "wrap_up_note": str(wrap_up.get("note", "")),
        "legs": len(legs),
        "cost_micros": cost_micros,
        "cost_unit": price_unit,
        "legs_unpriced": unpriced,
        # Sparse index key: present only while an ended conversation lacks a leg's price.
        "cost_pending": "1" if ended_ms and unpriced else None,
        "timeline": timeline,
    }
    return record
