"""Reps dialling out from the softphone, as Twilio carries it: the Client leg asks the TwiML
App's voice URL what to do, the customers at the numbers dialled answer, are busy or never pick
up, and the ground truth of every outbound call.

The Client leg (`From=client:<identity>`, `Direction=inbound`: a call into Twilio from the Voice
SDK, https://www.twilio.com/docs/voice/sdks/javascript/twiliodevice#deviceconnectconnectoptions)
follows the TwiML the app answers, like any call (ops/standin/voice.py). The customer's leg is
placed by the app through the Participants API (ops/standin/conferences.py).

Modelling choices where Twilio's documentation is silent are marked "assumption:".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from chalicelib.telephony import webhooks
from ops.standin.resources import ACTIVE_CALL, Call
from ops.standin.shared import Part, Shared

if TYPE_CHECKING:
    from ops.standin.delivery import Delivery
    from ops.standin.ports import ConferencingPort, VoicePort
    from ops.standin.resources import Conference


@dataclass(frozen=True)
class Callee:
    """How the customer at a dialled number behaves (decided by the population)."""

    behaviour: str  # answer, busy, no-answer
    answer_after: float = 5.0
    talk_seconds: float = 60.0
    customer_hangs_up_first: bool = True


@dataclass
class OutboundTruth:
    """What really happened to one outbound call."""

    call_sid: str  # the rep's leg: the conversation's id
    agent_id: str
    number: str
    placed_at: float
    behaviour: str
    customer_call_sid: str = ""
    # When the app's TwiML put the rep on the call (the webhook answered).
    rep_connected_at: float | None = None
    answered_at: float | None = None  # the customer picked up (joined the conference)
    ended_at: float | None = None
    talk_seconds: float | None = None
    # connected, busy, no_answer, canceled, failed (Twilio refused), refused (by the app)
    outcome: str = "in_progress"
    # Inbound reservations TaskRouter created for this rep while the call was live: none.
    offers_during: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class Dialler(Part):
    def __init__(
        self, shared: Shared, delivery: Delivery, voice: VoicePort, conferencing: ConferencingPort
    ) -> None:
        super().__init__(shared)
        self.delivery = delivery
        self.voice = voice
        self.conferencing = conferencing
        self.callees: dict[str, Callee] = {}
        self.calls: dict[str, OutboundTruth] = {}
        # rep agent id -> their live outbound call's sid
        self.live: dict[str, str] = {}

    # ---- the rep dials --------------------------------------------------------------------

    def dial(self, agent_id: str, number: str, callee: Callee, identity: str = "") -> str:
        """The rep's softphone calls `number` (`device.connect({params: {To}})`)."""
        with self.lock:
            call = Call(
                sid=self.sid("CA"),
                from_=f"client:{identity or agent_id}",
                to=number,
                direction="inbound",
                created=self.now(),
                role="agent",
                status="ringing",
                # The TwiML App's status callback (ops/provision.py): the leg's completion.
                status_callback=self.delivery.app_url(webhooks.VOICE_STATUS) or "",
                status_events=frozenset({"completed"}),
            )
            self.voice.calls[call.sid] = call
            self.callees[number] = callee
            self.calls[call.sid] = OutboundTruth(
                call_sid=call.sid,
                agent_id=agent_id,
                number=number,
                placed_at=call.created,
                behaviour=callee.behaviour,
            )
            self.live[agent_id] = call.sid
            form = {
                **self.voice.call_form(call),
                "ApplicationSid": "AP" + "0" * 32,
            }
            url = self.delivery.app_url(webhooks.OUTBOUND)
        if url is None:
            return call.sid
        self.voice.fetch(call, url, form)
        with self.lock:
            truth = self.calls[call.sid]
            if call.status in ACTIVE_CALL and call.answered_at is not None:
                # The app answered with TwiML: its worker activity was set before that.
                truth.rep_connected_at = call.answered_at
            elif truth.outcome == "in_progress" and call.status not in ACTIVE_CALL:
                truth.outcome = "refused"
                truth.ended_at = call.ended_at
                self.live.pop(agent_id, None)
        return call.sid

    def is_on_call(self, agent_id: str) -> bool:
        return agent_id in self.live

    # ---- the customer's side ---------------------------------------------------------------

    def answer_delay(self, number: str) -> float | str | None:
        """None: never answers; "busy": the line is busy; else seconds until they pick up."""
        callee = self.callees.get(number)
        if callee is None:
            return 4.0
        if callee.behaviour == "busy":
            return "busy"
        if callee.behaviour == "no-answer":
            return None
        return callee.answer_after

    def customer_placed(self, call: Call, conference: Conference) -> None:
        """The app added the customer to a rep's outbound conference (under the lock)."""
        rep = next(
            (
                c
                for c in self.calls.values()
                if self.conferencing_name(c.call_sid) == conference.friendly_name
            ),
            None,
        )
        if rep is not None:
            rep.customer_call_sid = call.sid

    @staticmethod
    def conferencing_name(rep_call_sid: str) -> str:
        # The app's name for the conference (chalicelib.softphone.outbound.conference_name).
        return f"outbound-{rep_call_sid}"

    def customer_joined(self, call: Call, conference: Conference) -> None:
        """The customer picked up and is in the rep's conference (under the lock): the talk
        ends after the callee's talk time, by whoever hangs up first."""
        truth = self._truth_of_customer(call.sid)
        if truth is None:
            return
        truth.answered_at = self.now()
        callee = self.callees.get(truth.number) or Callee("answer")
        # A colleague on an internal call is no customer: the rep who called hangs up.
        customer_first = callee.customer_hangs_up_first and call.role == "customer"
        self.clock.after(
            callee.talk_seconds,
            self.conferencing.hang_up_conversation,
            conference.sid,
            customer_first,
            conference.end_generation,
        )

    def leg_ended(self, call: Call) -> None:
        """A leg of an outbound call ended (under the lock): the truth, once both are over."""
        truth = self.calls.get(call.sid) or self._truth_of_customer(call.sid)
        if truth is None:
            return
        rep = self.voice.calls.get(truth.call_sid)
        customer = self.voice.calls.get(truth.customer_call_sid)
        rep_over = rep is None or rep.status not in ACTIVE_CALL
        customer_over = customer is None or customer.status not in ACTIVE_CALL
        if not (rep_over and customer_over) or truth.outcome != "in_progress":
            return
        self.live.pop(truth.agent_id, None)
        ended = [c.ended_at for c in (rep, customer) if c is not None and c.ended_at is not None]
        truth.ended_at = min(ended) if ended else self.now()
        if customer is None:
            truth.outcome = "failed"
        elif truth.answered_at is not None:
            truth.outcome = "connected"
            truth.talk_seconds = round((customer.ended_at or truth.ended_at) - truth.answered_at, 3)
        else:
            truth.outcome = {"busy": "busy", "no-answer": "no_answer"}.get(
                customer.status, customer.status
            )
        self._emit("outbound_ended", truth=truth)

    def _truth_of_customer(self, call_sid: str) -> OutboundTruth | None:
        if not call_sid:
            return None
        return next((t for t in self.calls.values() if t.customer_call_sid == call_sid), None)

    def reservation_created(self, agent_id: str, reservation_sid: str) -> None:
        """TaskRouter reserved this rep (under the lock): noted if they are on an outbound call
        the app had already put them on (the webhook answered)."""
        call_sid = self.live.get(agent_id)
        truth = self.calls.get(call_sid) if call_sid else None
        if truth is not None and truth.rep_connected_at is not None:
            truth.offers_during.append(reservation_sid)
