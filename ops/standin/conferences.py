"""Conferences as Twilio runs them: the conference TaskRouter's `conference` instruction makes
for a caller and the agent who answers, named conferences joined with `<Dial><Conference>`,
participants added, held, muted or removed through the REST API, the conference status
callbacks, and transfers (a colleague's leg joining the customer's conference).

A conference that records hands its recording to ops/standin/recordings.py when it ends; its
task's wrap-up is TaskRouter's (ops/standin/taskrouter.py).

Modelling choices where Twilio's documentation is silent are marked "assumption:".
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from ops.standin import payloads
from ops.standin.resources import (
    ACTIVE_CALL,
    Call,
    Conference,
    Participant,
    TransferPlan,
)
from ops.standin.shared import Part, Shared, callback_events
from ops.standin.truth import CallTruth, TransferTruth

# The label our app gives a supervisor's softphone (chalicelib/supervision/monitor.py).
SUPERVISOR_LABEL_PREFIX = "supervisor:"

if TYPE_CHECKING:
    from ops.standin.delivery import Delivery
    from ops.standin.ports import RecorderPort, TaskRouterPort, VoicePort


class Conferencing(Part):
    def __init__(
        self,
        shared: Shared,
        delivery: Delivery,
        taskrouter: TaskRouterPort,
        voice: VoicePort,
        recorder: RecorderPort,
    ) -> None:
        super().__init__(shared)
        self.delivery = delivery
        self.taskrouter = taskrouter
        self.voice = voice
        self.recorder = recorder
        self.conferences: dict[str, Conference] = {}
        self.transfer_plans: dict[str, TransferPlan] = {}  # transfer task sid -> plan
        # Participants added through the REST API and still ringing: how they join (muted,
        # coaching, coached leg), applied when they answer.
        self.joining_modes: dict[str, tuple[bool, bool, str]] = {}

    # ---- the conference instruction --------------------------------------------------------

    def conference_instruction(self, reservation_sid: str, instruction: dict[str, Any]) -> None:
        with self.lock:
            reservation = self.taskrouter.reservations[reservation_sid]
            if reservation.status != "pending":
                return
            task = self.taskrouter.tasks[reservation.task_sid]
            customer = self.voice.calls.get(task.call_sid)
            if customer is None or customer.status not in ACTIVE_CALL:
                self.stats.count("ConferenceInstructionCallGone")  # Twilio error 40144
                return
            worker = self.taskrouter.workers[reservation.worker_sid]
            reservation.instruction = instruction
            self.voice.dial_worker(
                reservation,
                worker,
                from_=str(instruction.get("from") or customer.from_),
                status_callback=str(instruction.get("status_callback") or ""),
                status_events=callback_events(
                    instruction.get("status_callback_event"), "completed"
                ),
                parent_call_sid=customer.sid,
            )
            ring_timeout = float(instruction.get("timeout", 60))
            delay = self.agents.answer_delay(worker.agent_id, self.now())
        if delay is not None and delay < ring_timeout:
            self.clock.after(delay, self._agent_answers, reservation_sid)
        else:
            self.clock.after(ring_timeout, self.taskrouter.leg_rang_out, reservation_sid)

    def _agent_answers(self, reservation_sid: str) -> None:
        with self.lock:
            reservation = self.taskrouter.reservations[reservation_sid]
            agent_call = self.voice.calls[reservation.agent_call_sid]
            task = self.taskrouter.tasks[reservation.task_sid]
            customer = self.voice.calls.get(task.call_sid)
            if reservation.status != "pending" or agent_call.status not in ACTIVE_CALL:
                return
            if customer is None or customer.status not in ACTIVE_CALL:
                self.voice.end_call(agent_call, "completed")
                return
            instruction = reservation.instruction
            now = self.now()
            agent_call.status = "in-progress"
            agent_call.answered_at = now
            self.voice.progress(agent_call, "answered")
            self.taskrouter.accept_reservation(reservation_sid)
            conference = Conference(
                sid=self.sid("CF"),
                friendly_name=task.sid,
                created=now,
                region=str(instruction.get("region", "us1")),
                callback=str(instruction.get("conference_status_callback") or ""),
                events=callback_events(instruction.get("conference_status_callback_event"), ""),
                record=instruction.get("conference_record") in {"record-from-start", "true", True},
                recording_channels=2 if instruction.get("recording_channels") == "dual" else 1,
                recording_callback=str(
                    instruction.get("conference_recording_status_callback") or ""
                ),
                recording_events=callback_events(
                    instruction.get("conference_recording_status_callback_event"), "completed"
                ),
                task_sid=task.sid,
            )
            self.conferences[conference.sid] = conference
            # The caller leaves the queue for the conference.
            customer.conference_sid = conference.sid
            customer.task_sid = task.sid
            joins = [
                (agent_call, "worker", bool(instruction.get("end_conference_on_exit"))),
                (
                    customer,
                    "customer",
                    bool(instruction.get("end_conference_on_customer_exit")),
                ),
            ]
            if self.chaos.caller_joins_first():
                joins.reverse()
            for call, label, end_on_exit in joins:
                self.join(conference, call, label, end_on_exit)
            # TaskRouter writes the conference it made into the task (the softphone's call
            # control reads it back): `conference.sid`, its participants, `worker_call_sid`.
            task.attributes = {
                **task.attributes,
                "worker_call_sid": agent_call.sid,
                "conference": {
                    "sid": conference.sid,
                    "participants": {"worker": agent_call.sid, "customer": customer.sid},
                },
            }
            truth = self.truth.get(customer.sid)
            plan = customer.plan
            if truth is not None:
                worker = self.taskrouter.workers[reservation.worker_sid]
                truth.answered_by = worker.agent_id
                truth.answered_at = now
                truth.wait_seconds = round(now - (truth.enqueued_at or truth.placed_at), 3)
                truth.recorded = conference.record
                for offer in reversed(truth.offers):
                    if offer.agent_id == worker.agent_id and offer.outcome == "ringing":
                        offer.outcome = "answered"
                        break
            talk = plan.talk_seconds if plan else 60.0
            customer_ends = plan.hangs_up_first if plan else True
            agent_id = self.taskrouter.workers[reservation.worker_sid].agent_id
        self.clock.after(talk, self._hang_up_conversation, conference.sid, customer_ends, 0)
        self.agents.answered(agent_id, customer.sid, conference.sid, self.now())

    def join(
        self,
        conference: Conference,
        call: Call,
        label: str,
        end_on_exit: bool,
        callback: str = "",
        events: frozenset[str] = frozenset(),
        start: bool = True,
    ) -> None:
        """`start`: the participant's startConferenceOnEnter; one that does not start the
        conference waits in it, muted, until one who does joins."""
        now = self.now()
        participant = Participant(
            call.sid, label, end_on_exit, joined=now, callback=callback, events=events
        )
        conference.participants[call.sid] = participant
        mode = self.joining_modes.pop(call.sid, None)
        if mode is not None:
            participant.muted, participant.coaching, participant.call_sid_to_coach = mode
        if conference.status == "init" and start:
            conference.status = "in-progress"
            conference.started = now
            self._conference_event(conference, "conference-start")
            if conference.record:
                conference.recording_sid = self.sid("RE")
        self._conference_event(conference, "participant-join", call.sid, participant)

    def _conference_event(
        self,
        conference: Conference,
        event: str,
        call_sid: str = "",
        participant: Participant | None = None,
        extra: dict[str, str] | None = None,
    ) -> None:
        short = event.removeprefix("participant-").removeprefix("conference-")
        # statusCallbackEvent names the pair: `hold` covers hold and unhold, `mute` unmute.
        short = {"unhold": "hold", "unmute": "mute"}.get(short, short)
        url, wanted = conference.callback, conference.events
        if participant is not None and participant.callback:
            url, wanted = participant.callback, participant.events
        sequence = conference.sequence
        conference.sequence += 1
        if not url or (wanted and short not in wanted and event not in wanted):
            return
        form = payloads.conference_callback(
            account_sid=self.account.account_sid,
            conference_sid=conference.sid,
            friendly_name=conference.friendly_name,
            event=event,
            sequence_number=sequence,
            timestamp=self.now(),
            call_sid=call_sid,
            participant=(
                {
                    "muted": participant.muted,
                    "hold": participant.hold,
                    "end_on_exit": participant.end_on_exit,
                    "label": participant.label,
                    "coaching": participant.coaching,
                    "call_sid_to_coach": participant.call_sid_to_coach,
                }
                if participant
                else None
            ),
            extra=extra,
        )
        self.delivery.callback(url, form)

    def _hang_up_conversation(
        self, conference_sid: str, customer_first: bool, generation: int
    ) -> None:
        with self.lock:
            conference = self.conferences[conference_sid]
            if conference.status != "in-progress" or conference.end_generation != generation:
                return
            connected = [p for p in conference.participants.values() if p.status == "connected"]
            if customer_first:
                first = next((p for p in connected if p.label == "customer"), None)
            else:
                # The agent on the call now: the one TaskRouter dialled, or a colleague who
                # joined by transfer.
                first = next(
                    (p for p in connected if self.voice.calls[p.call_sid].role == "agent"), None
                )
            if first is None:
                return
            self.leave(conference, self.voice.calls[first.call_sid], "participant-hung-up")
        if not customer_first:
            # Alone in the conference after the agent left, the caller hangs up a moment later.
            self.clock.after(1.5, self._hang_up_conversation, conference_sid, True, generation)

    def hang_up_conversation(
        self, conference_sid: str, customer_first: bool, generation: int
    ) -> None:
        """Whoever hangs up first leaves; the conference ends as its participants say."""
        self._hang_up_conversation(conference_sid, customer_first, generation)

    def redirected_out(self, call: Call) -> None:
        """A participant's call was given new TwiML: it leaves the conference, still live."""
        conference = self.conferences.get(call.conference_sid)
        participant = conference.participants.get(call.sid) if conference else None
        call.conference_sid = ""
        if conference is None or participant is None or participant.status != "connected":
            return
        participant.status = "left"
        participant.left_at = self.now()
        self._conference_event(
            conference,
            "participant-leave",
            call.sid,
            participant,
            {
                "ParticipantCallStatus": "in-progress",
                "ReasonParticipantLeft": "participant_updated_via_api",
            },
        )
        remaining = [p for p in conference.participants.values() if p.status == "connected"]
        if participant.end_on_exit or not remaining:
            self.end_conference(
                conference,
                "participant-with-end-conference-on-exit-left"
                if participant.end_on_exit
                else "last-participant-left",
                call.sid,
            )

    def leave(self, conference: Conference, call: Call, reason: str) -> None:
        participant = conference.participants[call.sid]
        participant.status = "left"
        participant.left_at = self.now()
        if participant.label == "worker":
            truth = self._conference_truth(conference)
            pending = [t for t in truth.transfers if t.from_left_at is None] if truth else []
            if pending:
                pending[-1].from_left_at = self.now()
        if call.status in ACTIVE_CALL:
            self.voice.end_call(call, "completed", in_conference=True)
        self._conference_event(
            conference,
            "participant-leave",
            call.sid,
            participant,
            {"ParticipantCallStatus": "completed", "ReasonParticipantLeft": reason},
        )
        self.voice.dial_ended(call)
        remaining = [p for p in conference.participants.values() if p.status == "connected"]
        if participant.end_on_exit or not remaining:
            ending = (
                "participant-with-end-conference-on-exit-left"
                if participant.end_on_exit
                else "last-participant-left"
            )
            self.end_conference(conference, ending, call.sid)

    def end_conference(
        self, conference: Conference, reason: str, ending_call_sid: str = ""
    ) -> None:
        if conference.status == "completed":
            return
        now = self.now()
        for other in list(conference.participants.values()):
            if other.status == "connected":
                other.status = "left"
                call = self.voice.calls[other.call_sid]
                if call.status in ACTIVE_CALL:
                    self.voice.end_call(call, "completed", in_conference=True)
                self._conference_event(
                    conference,
                    "participant-leave",
                    other.call_sid,
                    other,
                    {
                        "ParticipantCallStatus": "completed",
                        "ReasonParticipantLeft": "conference_ended_via_api"
                        if reason == "conference-ended-via-api"
                        else "participant_updated_via_api",
                    },
                )
                self.voice.dial_ended(call)
        conference.status = "completed"
        conference.ended = now
        extra = {"ReasonConferenceEnded": reason}
        if ending_call_sid:
            extra["CallSidEndingConference"] = ending_call_sid
        self._conference_event(conference, "conference-end", extra=extra)
        if conference.record and conference.recording_sid and conference.started is not None:
            self.recorder.conference_recorded(conference)
        self.taskrouter.conference_ended(conference)

    # ---- <Dial><Conference> and participants added through the REST API ------------------

    def dial(self, call: Call, conference_el: ET.Element) -> None:
        """<Dial><Conference>: the call joins the named conference, or starts it."""
        name = (conference_el.text or "").strip()
        callback = conference_el.get("statusCallback")
        callback_url = urljoin(call.doc_url, callback) if callback else ""
        events = callback_events(conference_el.get("statusCallbackEvent"), "")
        with self.lock:
            conference = next(
                (
                    c
                    for c in self.conferences.values()
                    if c.friendly_name == name and c.status != "completed"
                ),
                None,
            )
            if conference is not None and conference.status == "init":
                # Created by the Participants API and nobody has joined yet: this leg is the
                # first participant, whose conference settings count ("Only the value set by
                # the first participant to join the conference is used", CreateParticipant's
                # ConferenceStatusCallback in Twilio's OpenAPI description).
                self._settings_from_twiml(conference, call, conference_el)
                call.conference_sid = conference.sid
                self.join(
                    conference,
                    call,
                    conference_el.get("participantLabel") or call.sid,
                    conference_el.get("endConferenceOnExit") == "true",
                    start=conference_el.get("startConferenceOnEnter") != "false",
                )
                return
            if conference is not None:
                # Joining a conference that is already on, e.g. a colleague taking a transfer.
                call.conference_sid = conference.sid
                self.join(
                    conference,
                    call,
                    conference_el.get("participantLabel") or call.sid,
                    conference_el.get("endConferenceOnExit") == "true",
                    callback_url,
                    events,
                )
                self._joined_by_transfer(conference, call)
                return
            conference = Conference(
                sid=self.sid("CF"),
                friendly_name=name,
                created=self.now(),
                region=conference_el.get("region", "us1"),
                callback=urljoin(call.doc_url, conference_el.get("statusCallback", ""))
                if conference_el.get("statusCallback")
                else "",
                events=callback_events(conference_el.get("statusCallbackEvent"), ""),
            )
            self._settings_from_twiml(conference, call, conference_el)
            self.conferences[conference.sid] = conference
            call.conference_sid = conference.sid
            self.join(
                conference,
                call,
                conference_el.get("participantLabel") or "customer",
                conference_el.get("endConferenceOnExit") == "true",
                start=conference_el.get("startConferenceOnEnter") != "false",
            )

    @staticmethod
    def _settings_from_twiml(conference: Conference, call: Call, el: ET.Element) -> None:
        """The conference settings a <Conference> noun carries (region, status callback,
        recording). https://www.twilio.com/docs/voice/twiml/conference"""
        conference.region = el.get("region") or conference.region
        if el.get("statusCallback"):
            conference.callback = urljoin(call.doc_url, el.get("statusCallback", ""))
            conference.events = callback_events(el.get("statusCallbackEvent"), "")
        if el.get("record"):
            conference.record = el.get("record") == "record-from-start"
        if el.get("recordingStatusCallback"):
            conference.recording_callback = urljoin(
                call.doc_url, el.get("recordingStatusCallback", "")
            )
            conference.recording_events = callback_events(
                el.get("recordingStatusCallbackEvent"), "completed"
            )

    def by_name(self, name: str, settings: dict[str, str]) -> Conference:
        """The live conference named `name`, created (not yet started) if there is none: the
        Participants API takes a friendly name in place of the sid (error 16003 "Could not
        recognize conference sid or friendly name", https://www.twilio.com/docs/api/errors/16003).
        `settings` are the request's conference-level parameters.
        assumption: a conference created this way takes them, and the first participant to
        join (`_settings_from_twiml`) overrides them."""
        with self.lock:
            for conference in self.conferences.values():
                if conference.friendly_name == name and conference.status != "completed":
                    return conference
            conference = Conference(
                sid=self.sid("CF"),
                friendly_name=name,
                created=self.now(),
                region=settings.get("Region") or "us1",
                callback=settings.get("ConferenceStatusCallback", ""),
                events=callback_events(settings.get("ConferenceStatusCallbackEvent"), ""),
                record=settings.get("ConferenceRecord") in {"record-from-start", "true"},
                recording_channels=2 if settings.get("RecordingChannels") == "dual" else 1,
                recording_callback=settings.get("ConferenceRecordingStatusCallback", ""),
            )
            self.conferences[conference.sid] = conference
            return conference

    def add_participant(
        self,
        conference_sid: str,
        *,
        to: str,
        from_: str,
        label: str = "",
        end_on_exit: bool = False,
        status_callback: str = "",
        status_events: str = "completed",
        timeout: float = 60.0,
        muted: bool = False,
        coaching: bool = False,
        call_sid_to_coach: str = "",
    ) -> Call:
        with self.lock:
            conference = self.conferences[conference_sid]
            if conference.status == "completed":
                raise KeyError(conference_sid)
        call = self._add_participant_call(
            conference_sid,
            to=to,
            from_=from_,
            label=label,
            end_on_exit=end_on_exit,
            status_callback=status_callback,
            status_events=status_events,
            timeout=timeout,
            muted=muted,
            coaching=coaching,
            call_sid_to_coach=call_sid_to_coach,
        )
        if self.voice.dialler is not None:
            with self.lock:
                self.voice.dialler.customer_placed(call, conference)
        return call

    def _add_participant_call(
        self,
        conference_sid: str,
        *,
        to: str,
        from_: str,
        label: str,
        end_on_exit: bool,
        status_callback: str,
        status_events: str,
        timeout: float,
        muted: bool,
        coaching: bool,
        call_sid_to_coach: str,
    ) -> Call:
        call = self.voice.outbound_call(
            to=to,
            from_=from_,
            status_callback=status_callback,
            status_events=status_events,
            timeout=timeout,
            conference_sid=conference_sid,
            label=label or to,
            end_on_exit=end_on_exit,
        )
        with self.lock:
            self.joining_modes[call.sid] = (muted, coaching, call_sid_to_coach)
            if label.startswith(SUPERVISOR_LABEL_PREFIX):
                # A supervisor's softphone: not an agent taking the call (no transfer), and the
                # conversation's end does not wait on it.
                call.role = "supervisor"
        return call

    def coaching_refusal(
        self, conference: Conference, coaching: bool | None, call_sid_to_coach: str | None
    ) -> str:
        """Why Twilio refuses a participant's Coaching / CallSidToCoach ("" if it does not).

        "If `true`, `call_sid_to_coach` must be defined" (Coaching, Participant resource,
        https://www.twilio.com/docs/voice/api/conference-participant-resource). The coached
        leg must be a participant of the conference (assumption: the page does not say what a
        stranger's CallSid gives; a participant cannot coach a call it cannot hear).
        """
        if coaching and not call_sid_to_coach:
            return "CallSidToCoach is required when Coaching is true"
        if call_sid_to_coach:
            coached = conference.participants.get(call_sid_to_coach)
            if coached is None or coached.status != "connected":
                return f"CallSidToCoach {call_sid_to_coach} is not a participant of the conference"
        return ""

    @staticmethod
    def hears(listener: Participant, speaker: Participant) -> bool:
        """Whether `listener` hears `speaker`: nobody hears a muted or held participant; only
        the coached participant hears a coaching one ("the participant being coached is the only
        participant who can hear the participant who is coaching")."""
        if listener is speaker or speaker.status != "connected" or listener.status != "connected":
            return False
        if speaker.muted or speaker.hold or listener.hold:
            return False
        if speaker.coaching:
            return listener.call_sid == speaker.call_sid_to_coach
        return True

    def note_transfer(self, conference: Conference, agent_id: str) -> None:
        for participant in conference.participants.values():
            truth = self.truth.get(participant.call_sid)
            if truth is not None:
                truth.transferred_to = agent_id

    def participant(self, conference: Conference, ref: str) -> Participant:
        """A connected or past participant by CallSid or by label (Twilio accepts either)."""
        if ref in conference.participants:
            return conference.participants[ref]
        for participant in conference.participants.values():
            if participant.label == ref and participant.status == "connected":
                return participant
        raise KeyError(ref)

    def update_participant(
        self,
        conference: Conference,
        participant: Participant,
        hold: bool | None,
        muted: bool | None,
        coaching: bool | None = None,
        call_sid_to_coach: str | None = None,
    ) -> None:
        """Hold, mute or coach a participant; a held caller's time on hold goes into the truth.

        Coaching and CallSidToCoach change in place (Participant resource, Update: both are
        parameters). Coaching=false ends coaching and forgets the coached leg; a CallSidToCoach
        without Coaching turns coaching on ("defaults to `false` unless `call_sid_to_coach` is
        defined")."""
        now = self.now()
        if coaching is not None or call_sid_to_coach:
            participant.coaching = bool(coaching) if coaching is not None else True
            participant.call_sid_to_coach = (
                (call_sid_to_coach or participant.call_sid_to_coach) if participant.coaching else ""
            )
        for value, attr, event in ((hold, "hold", "hold"), (muted, "muted", "mute")):
            if value is None or value == getattr(participant, attr):
                continue
            setattr(participant, attr, value)
            if attr == "hold":
                truth = self.truth.get(participant.call_sid)
                if value:
                    participant.hold_since = now
                elif participant.hold_since is not None:
                    if truth is not None:
                        truth.hold_seconds += now - participant.hold_since
                    participant.hold_since = None
            self._conference_event(
                conference,
                f"participant-{event if value else 'un' + event}",
                participant.call_sid,
                participant,
            )

    # ---- transfers -------------------------------------------------------------------------

    def _conference_truth(self, conference: Conference) -> CallTruth | None:
        for participant in conference.participants.values():
            if participant.label == "customer":
                return self.truth.get(participant.call_sid)
        return None

    def transfer_truth(self, task_sid: str) -> TransferTruth | None:
        plan = self.transfer_plans.get(task_sid)
        truth = self.truth.get(plan.call_sid) if plan else None
        if truth is None:
            return None
        return next((t for t in truth.transfers if t.task_sid == task_sid), None)

    def transfer_requested(
        self,
        call_sid: str,
        transfer: TransferTruth,
        consult_seconds: float,
        remaining_seconds: float,
        customer_hangs_up_first: bool = True,
    ) -> None:
        """An agent asked the app to transfer `call_sid` and the app created `transfer.task_sid`:
        the ground truth notes it, and the conversation now ends after the colleague's part."""
        with self.lock:
            truth = self.truth.get(call_sid)
            call = self.voice.calls.get(call_sid)
            conference = self.conferences.get(call.conference_sid) if call else None
            task = self.taskrouter.tasks.get(transfer.task_sid)
            if truth is None or conference is None or task is None:
                self.stats.count("TransferNotTraced")
                return
            truth.transfers.append(transfer)
            # A cold transfer's agent left inside the request that started it.
            first = next((p for p in conference.participants.values() if p.label == "worker"), None)
            if first is not None and first.left_at is not None:
                transfer.from_left_at = first.left_at
            for reservation_sid in task.reservations:  # offered before we heard of it
                worker = self.taskrouter.workers[
                    self.taskrouter.reservations[reservation_sid].worker_sid
                ]
                transfer.offered_to.append(worker.agent_id)
            conference.transfer_tasks.append(task.sid)
            conference.end_generation += 1
            self.transfer_plans[task.sid] = TransferPlan(
                call_sid,
                conference.sid,
                consult_seconds,
                remaining_seconds,
                customer_hangs_up_first,
            )

    def _joined_by_transfer(self, conference: Conference, call: Call) -> None:
        """A leg placed by a transfer task's `call` instruction is in the customer's conference."""
        reservation = self.taskrouter.reservations.get(call.reservation_sid)
        plan = self.transfer_plans.get(reservation.task_sid) if reservation else None
        transfer = self.transfer_truth(reservation.task_sid) if reservation else None
        if reservation is None or plan is None or transfer is None:
            return
        agent_id = self.taskrouter.workers[reservation.worker_sid].agent_id
        transfer.answered_by = agent_id
        transfer.joined_at = self.now()
        transfer.outcome = "joined"
        truth = self.truth.get(plan.call_sid)
        if truth is not None:
            truth.transferred_to = agent_id
        conference.end_generation += 1
        talk = plan.remaining_seconds + (plan.consult_seconds if transfer.mode == "warm" else 0)
        self.clock.after(
            talk,
            self._hang_up_conversation,
            conference.sid,
            plan.customer_hangs_up_first,
            conference.end_generation,
        )
        self.clock.after(
            0, self.agents.transfer_joined, agent_id, plan.call_sid, conference.sid, transfer
        )

    def transfer_unanswered(self, plan: TransferPlan, transfer: TransferTruth) -> None:
        """Nobody took the transfer: a warm transfer's agent takes the customer back and
        finishes the call; after a cold one the caller, alone on hold, gives up."""
        with self.lock:
            transfer.outcome = "unanswered"
            conference = self.conferences[plan.conference_sid]
            conference.end_generation += 1
            generation = conference.end_generation
            agent_still_there = transfer.mode == "warm" and transfer.from_left_at is None
        if agent_still_there:
            self.clock.after(
                plan.remaining_seconds,
                self._hang_up_conversation,
                plan.conference_sid,
                plan.customer_hangs_up_first,
                generation,
            )
        else:
            self.clock.after(
                20.0, self._hang_up_conversation, plan.conference_sid, True, generation
            )
        self.clock.after(
            0, self.agents.transfer_unanswered, plan.call_sid, plan.conference_sid, transfer
        )

    # ---- who is on a recording -------------------------------------------------------------

    def recording_parties(self, recording_sid: str) -> tuple[str, str, str] | None:
        """Who is on a conference recording: whether the "customer" or the "agent" joined
        first (channel 1), the caller's call sid, and the answering agent's id. None for a
        recording that is not of a caller-and-agent conference (a voicemail)."""
        with self.lock:
            recording = self.recorder.recordings.get(recording_sid)
            conference = self.conferences.get(recording.conference_sid) if recording else None
            joined = list(conference.participants.values()) if conference else []
            customer = next((p for p in joined if p.label == "customer"), None)
            agent = next(
                (p for p in joined if p.label == "worker" or p.label.startswith("agent:")), None
            )
            agent_call = self.voice.calls.get(agent.call_sid) if agent else None
            worker = self.taskrouter.workers.get(agent_call.worker_sid) if agent_call else None
            # A rep's outbound call: their leg is labelled with their agent id.
            agent_id = worker.agent_id if worker else ""
            if agent is not None and agent.label.startswith("agent:") and not agent_id:
                agent_id = agent.label.removeprefix("agent:")
            if customer is None or not agent_id:
                return None
            first = "customer" if joined[0] is customer else "agent"
            return first, customer.call_sid, agent_id
