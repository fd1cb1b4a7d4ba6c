"""An outbound call, placed like an inbound one is answered: in a conference mixed in `jp1`.

The softphone dials through the TwiML App (`POST /twilio/voice/outbound`). `decide_outbound`
(chalicelib.softphone.calls) says whether and whom to dial; this use case then:

1. puts the rep on a call (reason `outbound`) in the presence table, which the board shows at
   once, and their TaskRouter worker in the unavailable "outbound" activity (in the request,
   not only through the stream mirror: an inbound call offered in between would ring a rep who
   is talking), turning down any call ringing them;
2. adds the customer to the conference through the Participants API, naming the conference by
   its friendly name (Twilio creates it if it does not exist yet: error 16003 is "Could not
   recognize conference sid or friendly name", https://www.twilio.com/docs/api/errors/16003),
   labelled `customer`, with the caller ID `caller_id.choose_caller_id` chooses (the team's
   number, else the company's);
3. answers the rep's leg with TwiML that joins the same conference first (see
   chalicelib.softphone.twiml.rep_into_conference): the customer joins only once they answer,
   so the rep is the conference's first participant, whose settings (region, recording,
   status callback) the conference keeps. The customer answering starts the conference and its
   dual-channel recording; which channel holds whom is read from the participant-join
   callbacks and labels (chalicelib.recordings.pipeline), as for inbound calls.

Why the worker's activity and not an outbound TaskRouter task: a task is assigned through a
reservation, and TaskRouter reserves only workers in an available activity
(https://www.twilio.com/docs/taskrouter/activities), so a rep dialling from wrap-up, away or a
break would wait for a reservation that never comes. The activity holds in every state, and the
presence mirror keeps it in step with DynamoDB (chalicelib.presence.mirror).

An internal call (`To=agent:<id>`) is the same call with a colleague's softphone in the
customer's place; both reps are on it (reason `internal`).

The call's end comes back as the customer leg's status callback: `completed` means it was
answered (the rep wraps up like after any call); busy, no-answer, failed or canceled means it
never connected (the rep is free at once, and their leg is told why and hung up). The rep
hanging up while the customer's phone rings ends the rep's `<Dial>`: its action cancels the
customer's leg, whose callback then frees the rep.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from chalicelib.platform.errors import StorageUnavailable, TelephonyUnavailable
from chalicelib.platform.observability import count, logger
from chalicelib.presence.domain import DIALLED_REASONS, AgentState, Presence
from chalicelib.softphone.calls import CUSTOMER_LABEL, agent_label

# The customer's leg's final statuses: only `completed` was ever answered.
# https://www.twilio.com/docs/voice/api/call-resource#call-status-values
CONNECTED_STATUS = "completed"
NEVER_CONNECTED = frozenset({"busy", "no-answer", "failed", "canceled"})
FINAL_STATUSES = NEVER_CONNECTED | {CONNECTED_STATUS}
RINGING = frozenset({"queued", "initiated", "ringing"})
OUTBOUND_DIALLED = "outbound_dialled"  # the conversation fact (chalicelib.conversations.events)


def conference_name(rep_call_sid: str) -> str:
    """One conference per outbound call, named after the rep's leg (the conversation's id)."""
    return f"outbound-{rep_call_sid}"


class OutboundPresence(Protocol):
    def start_outbound(
        self, agent_id: str, call_sid: str, internal: bool = False
    ) -> Presence | None: ...

    def start_internal_callee(self, agent_id: str, call_sid: str) -> Presence | None: ...

    def end_outbound(
        self, agent_id: str, call_sid: str, connected: bool, at_ms: int
    ) -> Presence | None: ...


class CallFacts(Protocol):
    def record_call_fact(
        self, call_sid: str, fact: str, occurred_ms: int, data: dict[str, Any]
    ) -> None: ...


class OutboundGateway(Protocol):
    def update_worker_activity(
        self, worker_sid: str, activity_sid: str, reject_pending: bool = False
    ) -> None: ...

    def dial_customer(self, conference: str, **params: Any) -> str: ...

    def redirect_call(self, call_sid: str, url: str) -> None: ...

    def cancel_call(self, call_sid: str) -> bool: ...

    def call_status(self, call_sid: str) -> str: ...


@dataclass(frozen=True)
class CustomerDial:
    """How the customer's leg is placed, and where its reports go."""

    number_e164: str
    caller_id: str
    ring_seconds: int
    region: str
    leg_status_callback: str
    conference_status_callback: str
    recording_status_callback: str

    def participant(self) -> dict[str, Any]:
        """Participants API parameters (twilio_api_v2010.json, CreateParticipant). The
        conference-level ones repeat the rep's TwiML: only the first participant to join sets
        them ("Subsequent conference_status_callback values are ignored"), and that is the rep,
        but whichever creates the conference, it ends up the same."""
        return {
            "from_": self.caller_id,
            "to": self.number_e164,
            "label": CUSTOMER_LABEL,
            "timeout": self.ring_seconds,
            # The rep hears the customer's ringback and any network announcement.
            "early_media": True,
            "beep": "false",
            # The customer hanging up ends the call, as for inbound calls.
            "end_conference_on_exit": True,
            "start_conference_on_enter": True,
            "status_callback": self.leg_status_callback,
            "status_callback_event": ["initiated", "ringing", "answered", "completed"],
            "region": self.region,
            "conference_record": "record-from-start",
            "recording_channels": "dual",
            "conference_status_callback": self.conference_status_callback,
            "conference_status_callback_event": ["start", "end", "join", "leave", "mute", "hold"],
            "conference_recording_status_callback": self.recording_status_callback,
        }


@dataclass(frozen=True)
class Placed:
    """What the webhook answers: the rep into the conference, or why the call failed."""

    conference: str
    customer_call_sid: str = ""
    failed: bool = False
    # An internal call whose colleague was not free: nobody was rung.
    busy: bool = False


class OutboundCalls:
    def __init__(
        self,
        presence: OutboundPresence,
        gateway: OutboundGateway,
        outbound_activity: str,
        facts: CallFacts,
        clock: Callable[[], int],
    ) -> None:
        self._presence = presence
        self._gateway = gateway
        self._activity = outbound_activity
        self._facts = facts
        self._clock = clock

    def place(self, agent_id: str, rep_call_sid: str, dial: CustomerDial) -> Placed:
        """Busy the rep, then ring the customer. Our side failing never stops the rep's call,
        except Twilio refusing to ring the customer: then nothing can be connected."""
        presence = self._busy(agent_id, rep_call_sid)
        self._note_dialled(agent_id, rep_call_sid, dial.number_e164, presence)
        return self._ring(agent_id, rep_call_sid, dial.participant(), presence)

    def place_internal(
        self,
        agent_id: str,
        rep_call_sid: str,
        colleague_id: str,
        colleague_worker_sid: str,
        dial: CustomerDial,
    ) -> Placed:
        """A rep calls a colleague (`dial.number_e164` is `client:<identity>`): both are on the
        call (reason `internal`) before the colleague's softphone rings; a colleague who is not
        free (available or in wrap-up) is not rung, and the rep hears so."""
        try:
            colleague = self._presence.start_internal_callee(colleague_id, rep_call_sid)
        except StorageUnavailable as exc:
            logger.error("colleague not marked on call", agent_id=colleague_id, problem=str(exc))
            colleague = None
        if colleague is None:
            count("InternalCallColleagueBusy")
            return Placed(conference=conference_name(rep_call_sid), failed=True, busy=True)
        self._unavailable(colleague_id, colleague_worker_sid or colleague.worker_sid)
        presence = self._busy(agent_id, rep_call_sid, internal=True)
        self._note_dialled(
            agent_id, rep_call_sid, "", presence, internal=True, to_agent=colleague_id
        )
        params = {**dial.participant(), "label": agent_label(colleague_id)}
        placed = self._ring(agent_id, rep_call_sid, params, presence)
        if placed.failed:
            self._release(colleague_id, rep_call_sid, connected=False, at_ms=colleague.since_ms)
        return placed

    def _ring(
        self,
        agent_id: str,
        rep_call_sid: str,
        participant: dict[str, Any],
        presence: Presence | None,
    ) -> Placed:
        name = conference_name(rep_call_sid)
        try:
            customer = self._gateway.dial_customer(name, **participant)
        except TelephonyUnavailable as exc:
            count("OutboundDialFailed")
            logger.error(
                "customer not dialled", agent_id=agent_id, call_sid=rep_call_sid, problem=str(exc)
            )
            if presence is not None:
                self._release(agent_id, rep_call_sid, connected=False, at_ms=presence.since_ms)
            return Placed(conference=name, failed=True)
        count("OutboundCallsPlaced")
        logger.info(
            "customer dialled into outbound conference",
            agent_id=agent_id,
            call_sid=rep_call_sid,
            customer_call_sid=customer,
        )
        return Placed(conference=name, customer_call_sid=customer)

    def _note_dialled(
        self,
        agent_id: str,
        rep_call_sid: str,
        number: str,
        presence: Presence | None,
        internal: bool = False,
        to_agent: str = "",
    ) -> None:
        """The conversation record's who, team and number, whatever Twilio reports later."""
        data: dict[str, Any] = {
            "agent_id": agent_id,
            "team": presence.team if presence else "",
            "number": number,
        }
        if internal:
            data.update(internal=True, to_agent=to_agent)
        try:
            self._facts.record_call_fact(rep_call_sid, OUTBOUND_DIALLED, self._clock(), data)
        except StorageUnavailable as exc:
            # The legs' own callbacks still make it an outbound conversation of this rep.
            count("OutboundFactFailed")
            logger.warning("outbound call fact not stored", call_sid=rep_call_sid, problem=str(exc))

    def _busy(self, agent_id: str, rep_call_sid: str, internal: bool = False) -> Presence | None:
        try:
            presence = self._presence.start_outbound(agent_id, rep_call_sid, internal)
        except StorageUnavailable as exc:
            count("OutboundPresenceFailed")
            logger.error("rep not marked on call", agent_id=agent_id, problem=str(exc))
            return None
        if (
            presence is not None
            and presence.state == AgentState.ON_CALL
            and presence.reason in DIALLED_REASONS
        ):
            self._unavailable(agent_id, presence.worker_sid)
        return presence

    def _unavailable(self, agent_id: str, worker_sid: str) -> None:
        """The worker in the outbound activity now, a call ringing them turned down."""
        if not worker_sid or not self._activity:
            return
        try:
            self._gateway.update_worker_activity(worker_sid, self._activity, reject_pending=True)
        except TelephonyUnavailable as exc:
            # The stream mirror sends the same activity again, and reconciliation after it.
            count("OutboundActivityDeferred")
            logger.warning(
                "outbound activity left to the mirror", agent_id=agent_id, problem=str(exc)
            )

    def _release(self, agent_id: str, rep_call_sid: str, connected: bool, at_ms: int) -> None:
        try:
            self._presence.end_outbound(agent_id, rep_call_sid, connected, at_ms)
        except StorageUnavailable as exc:
            count("OutboundPresenceFailed")
            logger.error("rep not released", agent_id=agent_id, problem=str(exc))

    def customer_leg_ended(
        self,
        agent_id: str,
        rep_call_sid: str,
        status: str,
        at_ms: int,
        not_connected_url: str,
        colleague_id: str = "",
    ) -> bool:
        """The customer's leg reached a final status. True if this ended the rep's call.

        Never connected: the rep is free now, and their leg (alone in the conference, hearing
        silence) is taken to `not_connected_url`, which says why and hangs up."""
        if status not in FINAL_STATUSES:
            return False
        connected = status == CONNECTED_STATUS
        before = self._presence.end_outbound(agent_id, rep_call_sid, connected, at_ms)
        if colleague_id:
            self._release(colleague_id, rep_call_sid, connected, at_ms)
        count("OutboundConnected" if connected else "OutboundNotConnected")
        if not connected:
            try:
                self._gateway.redirect_call(rep_call_sid, not_connected_url)
            except TelephonyUnavailable as exc:
                # The rep's leg had ended already (they hung up first), or Twilio is down: the
                # rep is free either way and can hang up themselves.
                logger.info("rep leg not redirected", call_sid=rep_call_sid, problem=str(exc))
        return before is not None

    def rep_left(
        self,
        agent_id: str,
        rep_call_sid: str,
        customer_call_sid: str,
        at_ms: int,
        colleague_id: str = "",
    ) -> None:
        """The rep's leg left the conference (hung up, the call ended, or handed over by
        transfer). A customer phone still ringing stops ringing: its callback then frees the
        rep. A customer who had answered was talking to the rep: wrap-up now, even if the
        customer stays on with a colleague. Idempotent."""
        if not customer_call_sid:
            return
        try:
            status = self._gateway.call_status(customer_call_sid)
            if status in RINGING:
                self._gateway.cancel_call(customer_call_sid)
                return
        except TelephonyUnavailable as exc:
            # The customer's own callback ends the rep's call when their leg ends.
            logger.warning("customer leg not checked", call_sid=customer_call_sid, problem=str(exc))
            return
        if status in ("in-progress", CONNECTED_STATUS) and agent_id and rep_call_sid:
            self._release(agent_id, rep_call_sid, connected=True, at_ms=at_ms)
            if colleague_id:
                self._release(colleague_id, rep_call_sid, connected=True, at_ms=at_ms)


def rep_label(agent_id: str) -> str:
    """The rep's participant label in their outbound conference, as a colleague who joined by
    transfer is labelled: call control finds either the same way."""
    return agent_label(agent_id)
