"""Calls placed and controlled from the softphone: outbound dialling, hold, mute, transfer.

Domain only: it decides what to ask Twilio (through the gateway passed in) and who may ask.
The one rule everything here rests on: an agent controls only a call they hold. See
`held_call` for how that is checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import Field

from chalicelib.platform.errors import InvalidInput, TelephonyUnavailable
from chalicelib.platform.observability import count, logger
from chalicelib.platform.signatures import callback_url
from chalicelib.telephony.forms import TwilioForm
from chalicelib.telephony.phone_numbers import InvalidPhoneNumber, masked, to_e164


class OutboundRequest(TwilioForm):
    """What the TwiML App posts when the softphone calls `device.connect({params: {To}})`."""

    call_sid: str = Field(alias="CallSid", pattern=r"^CA[0-9a-fA-F]{32}$")
    account_sid: str = Field(alias="AccountSid", min_length=1)
    from_: str = Field(alias="From", default="")
    to: str = Field(alias="To", default="")


@dataclass(frozen=True)
class OutboundDecision:
    """Either the number to dial for `agent_id`, or why the call is refused."""

    agent_id: str
    number_e164: str = ""
    refused: str = ""  # "not_an_agent" | "invalid_number"
    # An internal call (`To=agent:<id>`): the colleague called, instead of a number.
    to_agent: str = ""


INTERNAL_PREFIX = "agent:"


def decide_outbound(request: OutboundRequest, default_country: str) -> OutboundDecision:
    """What the TwiML App does with a call from the softphone: dial `To`, if it is a number,
    or call the colleague `To=agent:<id>` names."""
    identity = request.from_.removeprefix("client:") if request.from_.startswith("client:") else ""
    if not identity:
        count("OutboundRefusedNotAgent")
        logger.warning("outbound call not from a softphone", call_sid=request.call_sid)
        return OutboundDecision(agent_id="", refused="not_an_agent")
    if request.to.startswith(INTERNAL_PREFIX):
        colleague = request.to.removeprefix(INTERNAL_PREFIX).strip()
        if not colleague or colleague == identity:
            count("InternalCallRefused")
            return OutboundDecision(agent_id=identity, refused="invalid_number")
        count("InternalCallsDialled")
        logger.info("internal call dialled", call_sid=request.call_sid, agent_id=identity)
        return OutboundDecision(agent_id=identity, to_agent=colleague)
    try:
        number = to_e164(request.to, default_country)
    except InvalidPhoneNumber:
        count("OutboundRefusedInvalidNumber")
        logger.info(
            "outbound number invalid",
            call_sid=request.call_sid,
            agent_id=identity,
            number=masked(request.to),
        )
        return OutboundDecision(agent_id=identity, refused="invalid_number")
    count("OutboundCallsDialled")
    logger.info(
        "outbound call dialled", call_sid=request.call_sid, agent_id=identity, to=masked(number)
    )
    return OutboundDecision(agent_id=identity, number_e164=number)


# --- call control -------------------------------------------------------------------------
#
# Who may control a call: an agent controls a conference only while their TaskRouter worker
# holds an accepted reservation on a task whose attributes name that conference. TaskRouter
# writes `conference.sid` (and the customer's and worker's CallSids) into the task when the
# conference instruction connects the call; a transfer task carries the same `conference`
# object, written by us. So the check is one List Reservations and one Fetch Task per
# accepted reservation (normally one), against Twilio's own record of who holds what: a
# browser cannot claim a call by naming its sid, and an agent who has handed a call over (their
# task completed) loses control of it at once.

TRANSFER_TASK_TYPE = "transfer"
# An outbound call has no task: its conference is found by name and held by participant label.
OUTBOUND_CALL_TYPE = "outbound"
CUSTOMER_LABEL = "customer"
# Above a live call's priority (chalicelib.routing.twiml.LIVE_CALL_PRIORITY): a customer already
# talking
# to us is not put behind new callers.
TRANSFER_PRIORITY = 20
TRANSFERRED_REASON = "transferred"


class NotPermitted(Exception):
    """The agent asked to control a call they do not hold (HTTP 403)."""


class ControlGateway(Protocol):
    def accepted_task_sids(self, worker_sid: str) -> list[str]: ...
    def fetch_task_attributes(self, task_sid: str) -> tuple[str, dict[str, Any]]: ...
    def conference_name(self, conference_sid: str) -> str: ...
    def update_participant(self, conference_sid: str, participant: str, **changes: Any) -> None: ...
    def remove_participant(self, conference_sid: str, participant: str) -> bool: ...
    def end_conference(self, conference_sid: str) -> None: ...
    def complete_task(self, task_sid: str, reason: str) -> None: ...
    def create_task(
        self, workflow_sid: str, attributes: dict[str, Any], priority: int, timeout: int
    ) -> str: ...
    def pending_reservation(self, worker_sid: str) -> tuple[str, str] | None: ...
    def task_worker_names(self, task_sid: str) -> list[str]: ...
    def cancel_task(self, task_sid: str, reason: str) -> None: ...
    def live_conference_sid(self, friendly_name: str) -> str | None: ...
    def participant_call_sid(self, conference_sid: str, label: str) -> str | None: ...


class WrapUpGateway(Protocol):
    def wrap_task(self, task_sid: str, reason: str) -> bool: ...


def agent_label(agent_id: str) -> str:
    """The conference participant label of an agent who joined by transfer."""
    return f"agent:{agent_id}"


@dataclass(frozen=True)
class HeldCall:
    """A conference call the agent holds, with what is needed to act on it."""

    agent_id: str
    task_sid: str
    conference_sid: str
    customer_call_sid: str
    # The agent's own leg: its CallSid (TaskRouter's conference instruction) or its label (a
    # colleague who joined by transfer); Twilio accepts either in participant URLs.
    agent_participant: str
    task_type: str
    attributes: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {
            "task_sid": self.task_sid,
            "conference_sid": self.conference_sid,
            "customer_call_sid": self.customer_call_sid,
            **call_context(self.attributes),
        }


def call_context(attributes: dict[str, Any]) -> dict[str, Any]:
    """What the agent's screen shows about a call, from its task's attributes: the caller, the
    customer, and why it came to this agent (`stage` owner/team/everyone, or `type` transfer,
    voicemail, callback).

    The escalation rewrites `stage` as a waiting call widens (owner -> team -> everyone), so
    the current stage is the one the agent was offered the call in. A transfer task's own
    `stage` is how it targets the colleague; the customer's details are kept under
    `customer_*` and the original call's stage under `initial_stage`.
    """
    a = attributes
    task_type = str(a.get("type", ""))
    transfer = a.get("transfer") if isinstance(a.get("transfer"), dict) else {}
    if task_type == TRANSFER_TASK_TYPE:
        owner = a.get("customer_owner_agent_id", "")
        team = a.get("customer_team", "")
        stage = a.get("initial_stage", "")
    else:
        owner, team, stage = a.get("owner_agent_id", ""), a.get("team", ""), a.get("stage", "")
    return {
        "type": task_type,
        "caller": a.get("caller") or a.get("from") or "",
        "customer_id": a.get("customer_id", ""),
        "customer_name": a.get("customer_name", ""),
        "owner_agent_id": owner,
        "team": team,
        "stage": stage,
        "transfer": transfer or None,
    }


@dataclass(frozen=True)
class Offer:
    """A call ringing the agent (their pending reservation), before they answer."""

    task_sid: str
    reservation_sid: str
    attributes: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {
            "task_sid": self.task_sid,
            "reservation_sid": self.reservation_sid,
            # The conversation's id: the page leaves it out of "last conversations".
            "customer_call_sid": str(self.attributes.get("call_sid") or ""),
            **call_context(self.attributes),
        }


def offer_to(gateway: ControlGateway, worker_sid: str) -> Offer | None:
    """The call ringing the worker now, with its task's attributes: one List Reservations
    (status pending) and, while something rings, one Fetch Task."""
    pending = gateway.pending_reservation(worker_sid)
    if pending is None:
        return None
    reservation_sid, task_sid = pending
    status, attributes = gateway.fetch_task_attributes(task_sid)
    if status != "reserved":
        return None  # taken elsewhere, canceled or timed out between the two requests
    return Offer(task_sid=task_sid, reservation_sid=reservation_sid, attributes=attributes)


def held_call_from(agent_id: str, task_sid: str, attributes: dict[str, Any]) -> HeldCall | None:
    conference = attributes.get("conference")
    if not isinstance(conference, dict) or not conference.get("sid"):
        return None
    participants = conference.get("participants")
    participants = participants if isinstance(participants, dict) else {}
    customer = str(participants.get("customer") or attributes.get("call_sid") or "")
    if not customer:
        return None
    task_type = str(attributes.get("type", ""))
    worker_leg = (
        ""
        if task_type == TRANSFER_TASK_TYPE
        else str(participants.get("worker") or attributes.get("worker_call_sid") or "")
    )
    return HeldCall(
        agent_id=agent_id,
        task_sid=task_sid,
        conference_sid=str(conference["sid"]),
        customer_call_sid=customer,
        agent_participant=worker_leg or agent_label(agent_id),
        task_type=task_type,
        attributes=attributes,
    )


def calls_held_by(gateway: ControlGateway, agent_id: str, worker_sid: str) -> list[HeldCall]:
    """Every conference call the agent's worker holds right now (normally zero or one)."""
    held: list[HeldCall] = []
    for task_sid in gateway.accepted_task_sids(worker_sid):
        status, attributes = gateway.fetch_task_attributes(task_sid)
        if status != "assigned":
            continue
        call = held_call_from(agent_id, task_sid, attributes)
        if call is not None:
            held.append(call)
    return held


def outbound_call_held(
    gateway: ControlGateway, agent_id: str, rep_call_sid: str, conference_name: str
) -> HeldCall | None:
    """The rep's outbound call, if they are still on its conference: Twilio's own record of
    who is on it (the rep's leg labelled `agent:<id>` by the TwiML only a Twilio-signed request
    for their softphone's call gets, the customer labelled `customer`). One List Conferences
    and two Fetch Participant requests."""
    conference_sid = gateway.live_conference_sid(conference_name)
    if not conference_sid:
        return None
    label = agent_label(agent_id)
    if gateway.participant_call_sid(conference_sid, label) is None:
        return None  # handed over by transfer, or gone
    customer = gateway.participant_call_sid(conference_sid, CUSTOMER_LABEL)
    if customer is None:
        return None
    return HeldCall(
        agent_id=agent_id,
        task_sid="",
        conference_sid=conference_sid,
        customer_call_sid=customer,
        agent_participant=label,
        task_type=OUTBOUND_CALL_TYPE,
        attributes={
            "type": OUTBOUND_CALL_TYPE,
            # The conversation's id: the rep's leg.
            "call_sid": rep_call_sid,
            "conference": {"sid": conference_sid, "name": conference_name},
        },
    )


def held_call(
    gateway: ControlGateway,
    agent_id: str,
    worker_sid: str,
    conference_sid: str,
    outbound: HeldCall | None = None,
) -> HeldCall:
    """The call on `conference_sid` if the agent holds it (`outbound`: their outbound call, if
    they are on one); NotPermitted otherwise."""
    if outbound is not None and outbound.conference_sid == conference_sid:
        return outbound
    for call in calls_held_by(gateway, agent_id, worker_sid):
        if call.conference_sid == conference_sid:
            return call
    count("CallControlRefused")
    logger.warning(
        "call control refused: agent does not hold the call",
        agent_id=agent_id,
        conference_sid=conference_sid,
    )
    raise NotPermitted(f"{agent_id} is not on conference {conference_sid}")


def hold_customer(gateway: ControlGateway, call: HeldCall, hold_music_url: str) -> None:
    changes: dict[str, Any] = {"hold": True}
    if hold_music_url:
        changes.update(hold_url=hold_music_url, hold_method="GET")
    gateway.update_participant(call.conference_sid, call.customer_call_sid, **changes)
    logger.info("customer held", agent_id=call.agent_id, task_sid=call.task_sid)


def resume_customer(gateway: ControlGateway, call: HeldCall) -> None:
    gateway.update_participant(call.conference_sid, call.customer_call_sid, hold=False)
    logger.info("customer resumed", agent_id=call.agent_id, task_sid=call.task_sid)


def mute_agent(gateway: ControlGateway, call: HeldCall, muted: bool) -> None:
    gateway.update_participant(call.conference_sid, call.agent_participant, muted=muted)


def hang_up(gateway: ControlGateway, call: HeldCall) -> None:
    """End the call for everyone on it (the customer included)."""
    gateway.end_conference(call.conference_sid)
    count("CallsHungUpFromSoftphone")
    logger.info("call ended by agent", agent_id=call.agent_id, task_sid=call.task_sid)


@dataclass(frozen=True)
class TransferTarget:
    mode: str  # "cold" | "warm"
    to_agent: str = ""
    to_team: str = ""
    # The team of `to_agent` (from the agent directory), used by the workflow's team filter.
    agent_team: str = ""

    def __post_init__(self) -> None:
        if self.mode not in ("cold", "warm"):
            raise InvalidInput("mode must be 'cold' or 'warm'")
        if bool(self.to_agent) == bool(self.to_team):
            raise InvalidInput("name exactly one of to_agent or to_team")


def transfer_task_attributes(
    call: HeldCall, target: TransferTarget, conference_name: str
) -> dict[str, Any]:
    """The task that offers the customer's call to the colleague or team.

    The workflow routes it by `transfer_to_agent` or `transfer_to_team` (its transfer filters
    reach only that colleague or team, never wider: chalicelib.routing.workflow.transfer_filters).
    `stage`, `owner_agent_id` and `team` say the same for the conversation record and the
    ringing panel. It keeps the customer's details for the colleague's screen and names the
    conference to join.
    """
    a = call.attributes
    outbound = call.task_type == OUTBOUND_CALL_TYPE
    return {
        "type": TRANSFER_TASK_TYPE,
        # The conversation's id: the customer's leg, or the rep's for an outbound call.
        "call_sid": str(a.get("call_sid")) if outbound else call.customer_call_sid,
        "caller": a.get("caller") or a.get("from") or "",
        "customer_id": a.get("customer_id", ""),
        "customer_name": a.get("customer_name", ""),
        "customer_owner_agent_id": a.get("customer_owner_agent_id", a.get("owner_agent_id", "")),
        "customer_team": a.get("customer_team", a.get("team", "")),
        "initial_stage": a.get("initial_stage", a.get("stage", "")),
        "stage": "owner" if target.to_agent else "team",
        "owner_agent_id": target.to_agent,
        "team": target.to_team or target.agent_team,
        "transfer_to_agent": target.to_agent,
        "transfer_to_team": target.to_team,
        "conference": {
            "sid": call.conference_sid,
            "name": conference_name,
            "participants": {"customer": call.customer_call_sid},
        },
        "transfer": {
            "mode": target.mode,
            "from_agent_id": call.agent_id,
            "from_task_sid": call.task_sid,
            "to_agent_id": target.to_agent,
            "to_team": target.to_team,
        },
    }


@dataclass(frozen=True)
class TransferPolicy:
    workflow_sid: str
    hold_music_url: str
    # How long the transfer task waits for the colleague (named agent) or the team before
    # TaskRouter cancels it (the transfer filters never widen, whatever the wait).
    agent_timeout_seconds: int
    team_timeout_seconds: int


def start_transfer(
    gateway: ControlGateway, call: HeldCall, target: TransferTarget, policy: TransferPolicy
) -> str:
    """Offer the call to the colleague or team; return the transfer task's sid.

    The customer is held (with music) until the colleague takes over. Cold: the agent leaves at
    once and their task completes (they go to wrap-up). Warm: the agent stays to talk to the
    colleague, then `complete_transfer` hands over.
    """
    if target.to_agent == call.agent_id:
        raise InvalidInput("cannot transfer a call to yourself")
    hold_customer(gateway, call, policy.hold_music_url)
    name = gateway.conference_name(call.conference_sid)
    timeout = policy.agent_timeout_seconds if target.to_agent else policy.team_timeout_seconds
    task_sid = gateway.create_task(
        policy.workflow_sid,
        transfer_task_attributes(call, target, name),
        TRANSFER_PRIORITY,
        timeout,
    )
    count("TransfersStarted")
    logger.info(
        "transfer started",
        agent_id=call.agent_id,
        task_sid=call.task_sid,
        transfer_task_sid=task_sid,
        mode=target.mode,
        to_agent=target.to_agent or None,
        to_team=target.to_team or None,
    )
    if target.mode == "cold":
        leave_call(gateway, call)
    return task_sid


def leave_call(gateway: ControlGateway, call: HeldCall) -> None:
    """The agent leaves the conference (the call goes on without them); their task completes.

    A rep who placed the call joined it with `endConferenceOnExit`: that is turned off first,
    or their leaving would end the customer's call too. Their wrap-up follows from their leg's
    <Dial action> (chalicelib.softphone.outbound.OutboundCalls.rep_left): there is no task."""
    if call.task_type == OUTBOUND_CALL_TYPE:
        gateway.update_participant(
            call.conference_sid, call.agent_participant, end_conference_on_exit=False
        )
    gateway.remove_participant(call.conference_sid, call.agent_participant)
    if call.task_sid:
        gateway.complete_task(call.task_sid, TRANSFERRED_REASON)
    logger.info("agent left transferred call", agent_id=call.agent_id, task_sid=call.task_sid)


def complete_transfer(gateway: ControlGateway, call: HeldCall) -> None:
    """Warm transfer, second half: the customer comes off hold to the colleague; we leave."""
    resume_customer(gateway, call)
    leave_call(gateway, call)
    count("TransfersCompleted")


TRANSFER_CANCELED_REASON = "transfer canceled"
_TASK_SID = re.compile(r"^WT[0-9a-fA-F]{32}$")


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def cancel_transfer(gateway: ControlGateway, call: HeldCall, transfer_task_sid: str) -> str:
    """Warm transfer called off: the colleague is no longer offered the call (or, if they have
    answered, leaves it), and the customer comes off hold, back to the agent.

    Only a transfer started from this call can be canceled: the task must be a transfer task
    naming the agent's own task and conference. Returns what was done: "withdrawn" (nobody had
    taken it), "colleague_removed" (the colleague had joined) or "already_over" (the task had
    ended: declined by everyone, timed out, or wrapped up); the customer is resumed in every case.
    """
    if not _TASK_SID.match(transfer_task_sid):
        raise InvalidInput("transfer_task_sid must be a TaskRouter task sid (WT...)")
    status, attributes = gateway.fetch_task_attributes(transfer_task_sid)
    transfer = _object(attributes.get("transfer"))
    conference = _object(attributes.get("conference"))
    if (
        attributes.get("type") != TRANSFER_TASK_TYPE
        or transfer.get("from_task_sid") != call.task_sid
        or conference.get("sid") != call.conference_sid
    ):
        count("CallControlRefused")
        logger.warning(
            "transfer cancel refused: not a transfer of this call",
            agent_id=call.agent_id,
            task_sid=call.task_sid,
            transfer_task_sid=transfer_task_sid,
        )
        raise NotPermitted(f"{transfer_task_sid} is not a transfer of {call.conference_sid}")
    if status in ("pending", "reserved"):
        gateway.cancel_task(transfer_task_sid, TRANSFER_CANCELED_REASON)
        outcome = "withdrawn"
    elif status == "assigned":
        # The colleague joined by transfer, labelled `agent:<id>` (their worker's friendly name).
        for colleague in gateway.task_worker_names(transfer_task_sid):
            gateway.remove_participant(call.conference_sid, agent_label(colleague))
        gateway.complete_task(transfer_task_sid, TRANSFER_CANCELED_REASON)
        outcome = "colleague_removed"
    else:
        outcome = "already_over"
    resume_customer(gateway, call)
    count("TransfersCanceled")
    logger.info(
        "transfer canceled",
        agent_id=call.agent_id,
        task_sid=call.task_sid,
        transfer_task_sid=transfer_task_sid,
        outcome=outcome,
    )
    return outcome


# Task states in which a colleague answering a transfer may still join the customer (`reserved`:
# the answer that accepts the reservation can reach us before TaskRouter records it).
JOINABLE_TRANSFER = frozenset({"reserved", "assigned"})
TASK_LEG_ENDED_REASON = "agent leg ended"


def may_join_transfer(gateway: ControlGateway, task_sid: str) -> bool:
    """False if the transfer was called off (or ended) while the colleague's phone rang.

    A Twilio failure lets the colleague join: refusing would strand the customer on hold."""
    if not _TASK_SID.match(task_sid):
        return True  # a join URL from before tasks rode along
    try:
        status, _ = gateway.fetch_task_attributes(task_sid)
    except TelephonyUnavailable as exc:
        count("TransferJoinUnchecked")
        logger.warning("transfer join not checked", task_sid=task_sid, problem=str(exc))
        return True
    if status in JOINABLE_TRANSFER:
        return True
    count("TransferJoinRefused")
    logger.info("transfer answered after it was called off", task_sid=task_sid, status=status)
    return False


def end_task_of_leg(gateway: WrapUpGateway, task_sid: str) -> bool:
    """An agent's leg placed by TaskRouter's `call` instruction ended (a colleague left a
    transferred call, a callback's call with the customer ended): its task goes to wrapping, as
    a conference instruction's task does by itself. TaskRouter ties no conference to such a
    task, so nothing else would end it and the agent would stay busy for good. False if the
    task had already moved on (a retried request, a canceled transfer)."""
    if not _TASK_SID.match(task_sid):
        raise InvalidInput("task must be a TaskRouter task sid (WT...)")
    wrapped = gateway.wrap_task(task_sid, TASK_LEG_ENDED_REASON)
    count("TaskWrappedOnLegEnd" if wrapped else "TaskAlreadyEndedOnLegEnd")
    return wrapped


def transfer_instruction(
    task_attributes: dict[str, Any],
    worker_contact_uri: str,
    worker_agent_id: str,
    *,
    task_sid: str,
    join_url: str,
    leg_status_callback: str,
    caller_id: str,
    ring_seconds: int,
) -> dict[str, Any]:
    """Answer a transfer task's reservation: ring the colleague, and on answer put them in the
    customer's conference (TaskRouter's `call` instruction; `accept` makes the answer accept
    the reservation). `join_url` is signed by Twilio with its query, so it cannot be pointed at
    another conference.
    https://www.twilio.com/docs/taskrouter/handle-assignment-callbacks#call-instruction
    """
    if not worker_agent_id:
        raise InvalidInput("WorkerAttributes has no agent_id to label the colleague's leg")
    conference = task_attributes.get("conference")
    name = conference.get("name") if isinstance(conference, dict) else None
    if not name:
        raise InvalidInput("transfer task names no conference")
    # The task rides along: the join checks it was not called off, and the leg's end wraps it.
    return {
        "instruction": "call",
        "accept": True,
        "to": worker_contact_uri,
        "from": str(task_attributes.get("caller") or caller_id),
        "url": callback_url(
            join_url, {"conference": name, "agent_id": worker_agent_id, "task": task_sid}
        ),
        "status_callback_url": leg_status_callback,
        "timeout": ring_seconds,
    }
