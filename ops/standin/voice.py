"""Calls as Twilio carries them: the caller's leg dialling the company number, agents' legs,
calls placed through the Calls API, and the TwiML each live call follows (Say, Play, Pause,
Gather, Record, Enqueue, Dial, Redirect, Hangup, Reject), with its status callbacks.

A call's TwiML is fetched from the app (the incoming-call webhook, Redirect, Gather/Record/
Enqueue actions) and carried out verb by verb on the virtual clock. An Enqueue hands the call to
TaskRouter (ops/standin/taskrouter.py); a Dial into a conference to ops/standin/conferences.py.

Modelling choices where Twilio's documentation is silent are marked "assumption:".
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from chalicelib.telephony import webhooks
from ops.standin import payloads
from ops.standin.resources import ACTIVE_CALL, Call
from ops.standin.shared import Part, Shared, callback_events, url_path
from ops.standin.truth import CallTruth

if TYPE_CHECKING:
    from ops.standin.delivery import Delivery
    from ops.standin.ports import ConferencingPort, DiallerPort, RecorderPort, TaskRouterPort
    from ops.standin.resources import CallerPlan, Reservation, Worker

# What a call leg costs, on the Call resource: `price` is null while the call is live and "May
# not be immediately available" after it completes; then it is the charge, negative (Twilio's
# sign for what the account pays), in `price_unit` (ISO 4217, capitalised for calls).
# https://www.twilio.com/docs/voice/api/call-resource#call-properties and the Call schema in
# Twilio's OpenAPI description (twilio_api_v2010.json: price, price_unit, both nullable).
# assumption: rated RATING_DELAY_SECONDS after the end (Twilio gives no figure), per started
# minute of the connected time at PRICE_PER_MINUTE; a leg that never connected costs 0.
RATING_DELAY_SECONDS = 120.0
PRICE_PER_MINUTE = 0.013
PRICE_UNIT = "USD"

# assumption: a busy line is reported a couple of seconds after the call is placed.
BUSY_AFTER_SECONDS = 2.0

# The fallback menu's key for a callback (chalicelib/telephony/prompts.json), which callers hear.
CALLBACK_KEY = "2"
# The key for a callback offered while waiting in the queue (chalicelib/routing/waiting.py):
# the menu's own key, so a caller who hears both never finds them swapped.
WAIT_CALLBACK_KEY = CALLBACK_KEY
# What a waitUrl document may hold: "The verbs supported in waitUrl TwiML are <Play>, <Say>,
# <Pause>, <Hangup>, <Redirect>, <Leave> and <Gather>" (https://www.twilio.com/docs/voice/twiml/enqueue).
WAIT_VERBS = frozenset({"Play", "Say", "Pause", "Hangup", "Redirect", "Leave", "Gather"})
# assumption: a waitUrl that fails is asked again after this long; the caller stays queued.
WAIT_RETRY_SECONDS = 10.0


class Voice(Part):
    # Bound by ops/standin/engine.py once every part exists (they call one another).
    conferencing: ConferencingPort
    dialler: DiallerPort | None = None

    def __init__(
        self,
        shared: Shared,
        delivery: Delivery,
        taskrouter: TaskRouterPort,
        recorder: RecorderPort,
    ) -> None:
        super().__init__(shared)
        self.delivery = delivery
        self.taskrouter = taskrouter
        self.recorder = recorder
        self.calls: dict[str, Call] = {}
        # Seconds after a call ends before Twilio has priced it (see RATING_DELAY_SECONDS).
        self.rating_delay = RATING_DELAY_SECONDS
        # A call redirected by REST out of <Enqueue> has its Enqueue action requested at once
        # (voice/twiml/enqueue); whose TwiML the call then follows Twilio does not document.
        # "url": the REST Url's (the action's answer is ignored); "action": the action's.
        self.redirect_from_queue_follows: str = "url"
        # Which of the waitUrl's documented figures a call enqueued into a TaskRouter workflow
        # receives, Twilio does not say: "all" of them, or "none" (standard parameters only).
        self.wait_figures: str = "all"

    def price(self, call: Call) -> tuple[str | None, str]:
        """The leg's `price` and `price_unit` as the Call resource shows them now."""
        if call.ended_at is None or self.now() < call.ended_at + self.rating_delay:
            return None, PRICE_UNIT
        connected = call.ended_at - call.answered_at if call.answered_at is not None else 0.0
        minutes = -(-int(connected) // 60) if connected > 0 else 0
        return f"{-minutes * PRICE_PER_MINUTE:.5f}", PRICE_UNIT

    # ---- a leg's requests and status callbacks ---------------------------------------------

    def call_form(self, call: Call) -> dict[str, str]:
        return payloads.voice_request(
            account_sid=self.account.account_sid,
            call_sid=call.sid,
            from_=call.from_,
            to=call.to,
            call_status=call.status,
            direction=call.direction,
            parent_call_sid=call.parent_call_sid if call.role == "agent" else "",
        )

    def progress(self, call: Call, event: str) -> None:
        """A statusCallback for one leg, if the leg asked for this event."""
        sequence = call.sequence
        call.sequence += 1
        if not call.status_callback or event not in call.status_events:
            return
        status = {"initiated": "initiated", "ringing": "ringing", "answered": "in-progress"}.get(
            event, call.status
        )
        duration = None
        if event == "completed":
            duration = (
                int((call.ended_at or self.now()) - call.answered_at) if call.answered_at else 0
            )
        form = payloads.call_status_callback(
            self.call_form(call),
            call_status=status,
            sequence_number=sequence,
            timestamp=self.now(),
            call_duration=duration,
        )
        self.delivery.callback(call.status_callback, form)

    def end_call(self, call: Call, status: str, in_conference: bool = False) -> None:
        if call.status not in ACTIVE_CALL:
            return
        call.status = status
        call.ended_at = self.now()
        call.verbs = []
        call.generation += 1
        self.progress(call, "completed")
        if self.dialler is not None:
            self.dialler.leg_ended(call)
        if call.role == "agent":
            return
        truth = self.truth.get(call.sid)
        if truth is not None and truth.ended_at is None:
            truth.ended_at = call.ended_at
            conference = self.conferencing.conferences.get(call.conference_sid)
            participant = conference.participants.get(call.sid) if conference else None
            if participant is not None and participant.hold_since is not None:
                truth.hold_seconds += call.ended_at - participant.hold_since
                participant.hold_since = None
            if truth.answered_at is not None:
                truth.hold_seconds = round(truth.hold_seconds, 3)
                truth.talk_seconds = round(
                    call.ended_at - truth.answered_at - truth.hold_seconds, 3
                )
                truth.outcome = "answered"
            elif truth.outcome == "in_progress":
                # The app ended an unanswered call: fine after the caller asked for a callback
                # (they heard "press 2" in the fallback menu), a drop by us otherwise.
                truth.outcome = "callback_requested" if _asked_callback(truth) else "dropped"
            self.truth.finish(truth)
            self._emit("call_ended", truth=truth)
        if call.conference_sid and not in_conference:
            conference = self.conferencing.conferences[call.conference_sid]
            if call.sid in conference.participants and conference.status == "in-progress":
                self.conferencing.leave(conference, call, "participant-hung-up")

    def dial_ended(self, call: Call) -> None:
        """A leg that joined with `<Dial action>` left its conference: Twilio requests the
        action (the leg has ended, so its TwiML is not followed)."""
        if not call.dial_action:
            return
        action, call.dial_action = call.dial_action, ""
        form = self.call_form(call)
        form.update({"DialCallStatus": "completed", "CallStatus": "completed"})
        self.delivery.request(action, form)

    # ---- the caller's call and its TwiML ---------------------------------------------------

    def place_call(self, plan: CallerPlan) -> str:
        """A caller dials the company number: Twilio asks the app what to do."""
        with self.lock:
            call = Call(
                sid=self.sid("CA"),
                from_=plan.caller,
                to=self.account.company_number,
                direction="inbound",
                created=self.now(),
                role="customer",
                status="ringing",
                status_callback=self.delivery.app_url(webhooks.VOICE_STATUS) or "",
                plan=plan,
            )
            self.calls[call.sid] = call
            self.truth.add(
                CallTruth(
                    call_sid=call.sid,
                    caller=plan.caller,
                    placed_at=call.created,
                    customer_id=plan.customer_id,
                    owner_agent_id=plan.owner_agent_id,
                    team=plan.team,
                    scenario=plan.scenario,
                )
            )
            url = (
                self.delivery.app_url(webhooks.INCOMING)
                or self.delivery.transport.public_base_url + webhooks.INCOMING
            )
            form = self.call_form(call)
        self.clock.after(plan.patience, self._caller_gives_up, call.sid)
        self._fetch(call, url, form, fallback=self.delivery.app_url(webhooks.FALLBACK))
        return call.sid

    def fetch(self, call: Call, url: str, form: dict[str, str]) -> None:
        """Fetch TwiML for a live call from the app and carry it out (a softphone's call)."""
        self._fetch(call, url, form)

    def _fetch(
        self, call: Call, url: str, form: dict[str, str], fallback: str | None = None
    ) -> None:
        """Fetch TwiML for a live call and carry it out; Twilio's fallback URL on failure."""
        reply = self.delivery.request(url, form)
        if not 200 <= reply.status < 300 and fallback:
            self.stats.count("FallbackUrlUsed")
            reply = self.delivery.request(fallback, {**form, "ErrorCode": "11200", "ErrorUrl": url})
            url = fallback
        with self.lock:
            if call.status not in ACTIVE_CALL:
                return
            try:
                ok = 200 <= reply.status < 300
                root = ET.fromstring(reply.body) if ok else None  # noqa: S314 - our app's TwiML
            except ET.ParseError:
                root = None
            if root is None or root.tag != "Response":
                # "An application error has occurred": the caller hears it and the call ends.
                self.stats.count("ApplicationError")
                self._note(call, f"application error from {url_path(url)} ({reply.status})")
                self.end_call(call, "failed" if call.answered_at is None else "completed")
                return
            if call.answered_at is None:
                call.answered_at = self.now()
                call.status = "in-progress"
            call.verbs = list(root)
            call.doc_url = url
            call.generation += 1
            generation = call.generation
        self.clock.after(0, self._next_verb, call.sid, generation)

    def _note(self, call: Call, text: str) -> None:
        truth = self.truth.get(call.sid)
        if truth is not None:
            truth.notes.append(text)

    def _next_verb(self, call_sid: str, generation: int) -> None:
        with self.lock:
            call = self.calls[call_sid]
            if call.status not in ACTIVE_CALL or call.generation != generation:
                return
            if not call.verbs:
                self.end_call(call, "completed")  # the document ran out: Twilio hangs up
                return
            verb = call.verbs.pop(0)
            handler = _VERBS.get(verb.tag)
        if handler is None:
            self.stats.count(f"UnsupportedVerb:{verb.tag}")
            self.clock.after(0, self._next_verb, call_sid, generation)
            return
        handler(self, call, verb, generation)

    def _continue_after(self, call: Call, seconds: float, generation: int) -> None:
        self.clock.after(seconds, self._next_verb, call.sid, generation)

    def _verb_say(self, call: Call, verb: ET.Element, generation: int) -> None:
        loops = int(verb.get("loop", "1") or 1) or 1
        self._continue_after(call, loops * max(1.0, len(verb.text or "") / 12), generation)

    def _verb_play(self, call: Call, verb: ET.Element, generation: int) -> None:
        loops = int(verb.get("loop", "1") or 1) or 1
        self._continue_after(call, loops * 5.0, generation)

    def _verb_pause(self, call: Call, verb: ET.Element, generation: int) -> None:
        self._continue_after(call, float(verb.get("length", "1")), generation)

    def _verb_hangup(self, call: Call, verb: ET.Element, generation: int) -> None:
        with self.lock:
            self.end_call(call, "completed")

    def _verb_reject(self, call: Call, verb: ET.Element, generation: int) -> None:
        with self.lock:
            self.end_call(call, "busy" if verb.get("reason") == "busy" else "no-answer")

    def _verb_redirect(self, call: Call, verb: ET.Element, generation: int) -> None:
        url = urljoin(call.doc_url, (verb.text or "").strip())
        with self.lock:
            form = self.call_form(call)
        self._fetch(call, url, form)

    def _verb_enqueue(self, call: Call, verb: ET.Element, generation: int) -> None:
        task_el = verb.find("Task")
        workflow_sid = verb.get("workflowSid", "")
        with self.lock:
            if workflow_sid != self.account.workflow_sid or task_el is None:
                self.stats.count("EnqueueWithoutWorkflow")
                self._note(call, f"enqueue without our workflow ({workflow_sid!r})")
                self._continue_after(call, 0, generation)
                return
            try:
                attributes = json.loads(task_el.text or "{}")
            except json.JSONDecodeError:
                self.stats.count("EnqueueBadTaskJson")
                self._continue_after(call, 0, generation)
                return
            # TaskRouter adds the call's own fields to the attributes of an enqueued call.
            attributes.update(
                {
                    "call_sid": call.sid,
                    "account_sid": self.account.account_sid,
                    "from": call.from_,
                    "to": call.to,
                    "direction": call.direction,
                    "called": call.to,
                    "caller": attributes.get("caller", call.from_),
                    "caller_country": "JP",
                    "called_country": "JP",
                }
            )
            call.enqueue_action = (
                urljoin(call.doc_url, verb.get("action", "")) if verb.get("action") else ""
            )
            call.enqueued_at = self.now()
            truth = self.truth.get(call.sid)
            if truth is not None and truth.enqueued_at is None:
                truth.enqueued_at = call.enqueued_at
            task = self.taskrouter.create_task(
                attributes,
                priority=int(task_el.get("priority", "0")),
                timeout=int(task_el.get("timeout", "86400")),
                call_sid=call.sid,
            )
            call.task_sid = task.sid
            if verb.get("waitUrl"):
                call.wait_url = urljoin(call.doc_url, verb.get("waitUrl", ""))
                self.clock.after(0, self._wait_fetch, call.sid, generation, call.wait_url, {})

    # ---- while the call waits in <Enqueue>: the waitUrl's documents ------------------------

    def _waiting(self, call: Call, generation: int) -> bool:
        """Still in the queue, under the TwiML that enqueued it (no redirect, no agent yet)."""
        return (
            call.status in ACTIVE_CALL
            and call.generation == generation
            and bool(call.task_sid)
            and not call.conference_sid
        )

    def queue_figures(self, call: Call) -> dict[str, str]:
        """The waitUrl's queue figures (voice/twiml/enqueue, "waitUrl" parameters)."""
        if self.wait_figures == "none":
            return {}
        now = self.now()
        waiting = [
            c
            for c in self.calls.values()
            if c.task_sid and not c.conference_sid and c.status in ACTIVE_CALL and c.enqueued_at
        ]
        ahead = sum(1 for c in waiting if (c.enqueued_at or 0) < (call.enqueued_at or now))
        times = [now - (c.enqueued_at or now) for c in waiting] or [0.0]
        return {
            "QueueSid": "QU" + call.task_sid[2:],
            "QueuePosition": str(ahead + 1),
            "QueueTime": str(int(now - (call.enqueued_at or now))),
            "AvgQueueTime": str(int(sum(times) / len(times))),
            "CurrentQueueSize": str(len(waiting)),
        }

    def _wait_fetch(self, call_sid: str, generation: int, url: str, extra: dict[str, str]) -> None:
        """Request a waitUrl document (or the answer of its Gather's action) and play it."""
        with self.lock:
            call = self.calls[call_sid]
            if not self._waiting(call, generation):
                return
            form = {**self.call_form(call), **self.queue_figures(call), **extra}
        self.stats.count("WaitUrlRequested")
        reply = self.delivery.request(url, form)
        with self.lock:
            if not self._waiting(call, generation):
                return
            try:
                ok = 200 <= reply.status < 300
                root = ET.fromstring(reply.body) if ok else None  # noqa: S314 - our app's TwiML
            except ET.ParseError:
                root = None
            if root is None or root.tag != "Response":
                self.stats.count("WaitUrlFailed")
                self._note(call, f"waitUrl failed at {url_path(url)} ({reply.status})")
                self.clock.after(
                    WAIT_RETRY_SECONDS, self._wait_fetch, call_sid, generation, call.wait_url, {}
                )
                return
            call.wait_verbs = list(root)
            call.wait_doc_url = url
        self.clock.after(0, self._next_wait_verb, call_sid, generation)

    def _next_wait_verb(self, call_sid: str, generation: int) -> None:
        with self.lock:
            call = self.calls[call_sid]
            if not self._waiting(call, generation):
                return
            if not call.wait_verbs:
                # The document played out: Twilio requests the waitUrl again.
                self.clock.after(0, self._wait_fetch, call_sid, generation, call.wait_url, {})
                return
            verb = call.wait_verbs.pop(0)
            base = call.wait_doc_url
        if verb.tag not in WAIT_VERBS:
            self.stats.count(f"UnsupportedWaitVerb:{verb.tag}")
            self.clock.after(0, self._next_wait_verb, call_sid, generation)
            return
        if verb.tag in ("Say", "Play", "Pause"):
            after = _verb_seconds(verb)
            self.clock.after(after, self._next_wait_verb, call_sid, generation)
        elif verb.tag == "Gather":
            self._wait_gather(call, verb, generation)
        elif verb.tag == "Leave":
            # The call leaves the queue: TaskRouter cancels its task, and the <Enqueue action>
            # is requested "right away" with QueueResult=leave (voice/twiml/enqueue).
            self.stats.count("WaitLeave")
            with self.lock:
                self.taskrouter.cancel_task(call.task_sid, "leave")
        elif verb.tag == "Redirect":
            url = urljoin(base, (verb.text or "").strip())
            self.clock.after(0, self._wait_fetch, call_sid, generation, url, {})
        else:  # Hangup
            with self.lock:
                task_sid, call.task_sid = call.task_sid, ""
                self.taskrouter.cancel_task(task_sid, "hangup")
                self.end_call(call, "completed")

    def _wait_gather(self, call: Call, verb: ET.Element, generation: int) -> None:
        """A Gather in the wait: the caller's `wait_digits` (after the prompt starts), else the
        nested verbs and the timeout pass and the document goes on (the place is kept)."""
        nested = sum(_verb_seconds(child) for child in verb)
        digits = call.plan.wait_digits if call.plan else ""
        action = urljoin(call.wait_doc_url, verb.get("action", "")) or call.wait_doc_url
        if not digits:
            timeout = float(verb.get("timeout", "5"))
            self.clock.after(nested + timeout, self._next_wait_verb, call.sid, generation)
            return
        truth = self.truth.get(call.sid)
        if truth is not None:
            truth.wait_keyed = digits
        self.clock.after(
            min(nested, 8.0) + 2.0,
            self._wait_fetch,
            call.sid,
            generation,
            action,
            {"Digits": digits},
        )

    def leave_queue(self, call_sid: str, result: str) -> None:
        """The call leaves the queue without an agent: the Enqueue action, else the next verb."""
        with self.lock:
            call = self.calls[call_sid]
            if call.status not in ACTIVE_CALL or call.conference_sid:
                return
            queued_for = int(self.now() - (call.enqueued_at or self.now()))
            action = call.enqueue_action
            form = {
                **self.call_form(call),
                "QueueResult": result,
                "QueueSid": "QU" + call.task_sid[2:],
                "QueueTime": str(queued_for),
            }
            call.task_sid = ""
            generation = call.generation
        if action:
            self._fetch(call, action, form)
        else:
            self.clock.after(0, self._next_verb, call_sid, generation)

    def _verb_gather(self, call: Call, verb: ET.Element, generation: int) -> None:
        prompt = sum(max(1.0, len(child.text or "") / 12) for child in verb if child.tag == "Say")
        timeout = float(verb.get("timeout", "5"))
        digits = call.plan.digits if call.plan else ""
        action = (
            urljoin(call.doc_url, verb.get("action", "")) if verb.get("action") else call.doc_url
        )
        if not digits:
            if verb.get("actionOnEmptyResult") == "true":
                self.clock.after(
                    prompt + timeout,
                    self._post_action,
                    call.sid,
                    generation,
                    action,
                    {"Digits": ""},
                )
            else:
                self._continue_after(call, prompt + timeout, generation)
            return
        self.clock.after(
            prompt + 2.0, self._post_action, call.sid, generation, action, {"Digits": digits}
        )

    def _post_action(self, call_sid: str, generation: int, url: str, extra: dict[str, str]) -> None:
        with self.lock:
            call = self.calls[call_sid]
            if call.status not in ACTIVE_CALL or call.generation != generation:
                return
            form = {**self.call_form(call), **extra}
            truth = self.truth.get(call_sid)
            if truth is not None and extra.get("Digits"):
                truth.keyed = extra["Digits"]
        self._fetch(call, url, form)

    def _verb_record(self, call: Call, verb: ET.Element, generation: int) -> None:
        plan = call.plan
        seconds = min(
            float(verb.get("maxLength", "3600")), plan.voicemail_seconds if plan else 10.0
        )
        self.clock.after(seconds, self._recorded, call.sid, generation, verb, seconds)

    def _recorded(self, call_sid: str, generation: int, verb: ET.Element, seconds: float) -> None:
        with self.lock:
            call = self.calls[call_sid]
            if call.status not in ACTIVE_CALL or call.generation != generation:
                return
            recording = self.recorder.voicemail(call.sid, seconds)
            truth = self.truth.get(call.sid)
            if truth is not None:
                truth.voicemail_seconds = seconds
                truth.outcome = "voicemail"
                truth.recorded = True
            fields = {
                "RecordingUrl": self.recorder.recording_url(recording.sid),
                "RecordingSid": recording.sid,
                "RecordingDuration": str(recording.duration),
                "Digits": "hangup",
            }
            action = urljoin(call.doc_url, verb.get("action", "")) if verb.get("action") else ""
            status_cb = verb.get("recordingStatusCallback")
            form = {**self.call_form(call), **fields}
            # The caller hangs up after leaving the message; Twilio still requests the action.
            self.end_call(call, "completed")
            form["CallStatus"] = "completed"
        if status_cb:
            self.recorder.voicemail_ready(urljoin(call.doc_url, status_cb), recording)
        if action:
            self.delivery.request(action, form)

    def _verb_dial(self, call: Call, verb: ET.Element, generation: int) -> None:
        """<Dial><Conference>: the call joins a named conference (transfers, callbacks)."""
        conference_el = verb.find("Conference")
        if conference_el is None:
            # <Dial><Number> (a callback ringing the customer): the stand-in places no PSTN
            # call. The dial ends unanswered at once, and its action is requested as Twilio does.
            self.stats.count("DialNumberNotPlaced")
            if verb.get("action"):
                form = self.call_form(call)
                form.update({"DialCallStatus": "no-answer", "DialCallDuration": "0"})
                self.clock.after(
                    0, self._fetch, call, urljoin(call.doc_url, verb.get("action", "")), form
                )
                return
            self._continue_after(call, 0, generation)
            return
        if verb.get("action"):
            call.dial_action = urljoin(call.doc_url, verb.get("action", ""))
        self.conferencing.dial(call, conference_el)

    def _caller_gives_up(self, call_sid: str) -> None:
        """The caller's patience ran out before anyone answered: they hang up."""
        with self.lock:
            call = self.calls[call_sid]
            if call.status not in ACTIVE_CALL or call.conference_sid:
                return
            truth = self.truth.get(call_sid)
            queued = bool(call.task_sid)
            if truth is not None:
                truth.caller_hung_up_at = self.now()
                truth.abandoned = queued
                if _asked_callback(truth) and not queued:
                    # They asked for a call back and hung up during the confirmation: the
                    # request Twilio delivered stands (a callback, not an abandon).
                    truth.outcome = "callback_requested"
                else:
                    truth.outcome = "abandoned" if queued else "ivr_hangup"
            task_sid = call.task_sid
            action = call.enqueue_action
            form = {
                **self.call_form(call),
                "QueueResult": "hangup",
                "QueueTime": str(int(self.now() - (call.enqueued_at or self.now()))),
                "CallStatus": "completed",
            }
            self.end_call(call, "completed")
            if task_sid:
                self.taskrouter.cancel_task(task_sid, "hangup")
        if task_sid and action:
            self.delivery.request(action, form)

    # ---- REST-side operations on calls -----------------------------------------------------

    def update_call(self, call_sid: str, status: str = "", url: str = "", twiml: str = "") -> Call:
        with self.lock:
            call = self.calls[call_sid]
            if status == "canceled" and call.status not in {"queued", "ringing"}:
                # "canceled" only stops a call that has not been answered; `completed` hangs
                # up a live one (https://www.twilio.com/docs/voice/api/call-resource, Status).
                return call
            if status in {"completed", "canceled"} and call.status in ACTIVE_CALL:
                if call.task_sid and not call.conference_sid:
                    self.taskrouter.cancel_task(call.task_sid, "hangup")
                self.end_call(call, "completed" if call.answered_at else "canceled")
                return call
            if not (url or twiml) or call.status not in ACTIVE_CALL:
                return call
            if call.conference_sid:
                # New TwiML takes the call out of its conference ("whose call has been
                # modified to use new TwiML" is no participant any more,
                # https://www.twilio.com/docs/voice/api/conference-participant-resource).
                # assumption: the interrupted <Dial>'s action is not requested.
                call.dial_action = ""
                self.conferencing.redirected_out(call)
            # Redirected out of the queue: the task is canceled, the new TwiML takes over.
            dequeued: dict[str, str] | None = None
            action = call.enqueue_action
            if call.task_sid and not call.conference_sid:
                task_sid, call.task_sid = call.task_sid, ""
                self.taskrouter.cancel_task(task_sid, "redirected")
                # "In the case where a call is dequeued due to a REST API request or the <Leave>
                # verb, the action URL is requested right away" with its QueueResult
                # (https://www.twilio.com/docs/voice/twiml/enqueue#attributes-action).
                dequeued = {
                    **self.call_form(call),
                    "QueueResult": "redirected",
                    "QueueSid": "QU" + task_sid[2:],
                    "QueueTime": str(int(self.now() - (call.enqueued_at or self.now()))),
                }
            call.verbs = []
            call.generation += 1
            form = self.call_form(call)
        if dequeued is not None and action:
            self.stats.count("EnqueueActionOnRedirect")
            if self.redirect_from_queue_follows == "action":
                self.clock.after(0, self._fetch, call, action, dequeued)
                return call
            self.clock.after(0, self.delivery.request, action, dequeued)
        if twiml:
            self.clock.after(0, self._run_inline_twiml, call_sid, twiml)
        else:
            self.clock.after(0, self._fetch, call, url, form)
        return call

    def _callee_answer_delay(self, to: str) -> float | None:
        """How soon the far end of an outgoing call picks up (None: it does not)."""
        if to.startswith("client:"):
            return self.agents.answer_delay(to.removeprefix("client:"), self.now())
        for call in reversed(list(self.calls.values())):
            if call.role == "customer" and call.from_ == to and call.plan is not None:
                return 4.0 if call.plan.answers_callback else None
        return 4.0

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
    ) -> Call:
        """A call Twilio places (Calls API, or a participant added to a conference)."""
        with self.lock:
            call = Call(
                sid=self.sid("CA"),
                from_=from_,
                to=to,
                direction="outbound-api",
                created=self.now(),
                role="agent" if to.startswith("client:") else "customer",
                status_callback=status_callback,
                status_events=callback_events(status_events, "completed"),
            )
            self.calls[call.sid] = call
            self.progress(call, "initiated")
            call.status = "ringing"
            self.progress(call, "ringing")
            delay = self._callee_answer_delay(to)
            if self.dialler is not None and call.role == "customer" and conference_sid:
                answer = self.dialler.answer_delay(to)
                if answer == "busy":
                    self.clock.after(BUSY_AFTER_SECONDS, self._outbound_busy, call.sid)
                    return call
                delay = None if answer is None else float(answer)
        if delay is None or delay >= timeout:
            self.clock.after(timeout, self._outbound_unanswered, call.sid)
        else:
            self.clock.after(
                delay,
                self._outbound_answered,
                call.sid,
                url,
                twiml,
                conference_sid,
                label,
                end_on_exit,
            )
        return call

    def _outbound_busy(self, call_sid: str) -> None:
        with self.lock:
            call = self.calls[call_sid]
            if call.status == "ringing":
                self.end_call(call, "busy")

    def _outbound_unanswered(self, call_sid: str) -> None:
        with self.lock:
            call = self.calls[call_sid]
            if call.status == "ringing":
                self.end_call(call, "no-answer")

    def _outbound_answered(
        self,
        call_sid: str,
        url: str,
        twiml: str,
        conference_sid: str,
        label: str,
        end_on_exit: bool,
    ) -> None:
        with self.lock:
            call = self.calls[call_sid]
            if call.status != "ringing":
                return
            call.status = "in-progress"
            call.answered_at = self.now()
            self.progress(call, "answered")
            if conference_sid:
                conference = self.conferencing.conferences[conference_sid]
                if conference.status == "completed":
                    self.end_call(call, "completed")
                    return
                call.conference_sid = conference_sid
                self.conferencing.join(conference, call, label, end_on_exit)
                if self.dialler is not None:
                    # A rep's outbound call (a customer, or a colleague on an internal call).
                    self.dialler.customer_joined(call, conference)
                if call.role == "agent":
                    self.conferencing.note_transfer(conference, call.to.removeprefix("client:"))
                return
            form = self.call_form(call)
        if twiml:
            self._run_inline_twiml(call_sid, twiml)
        elif url:
            self._fetch(call, url, form)

    def _run_inline_twiml(self, call_sid: str, twiml: str) -> None:
        with self.lock:
            call = self.calls[call_sid]
            root = ET.fromstring(twiml)  # noqa: S314 - TwiML our own app sent via REST
            call.verbs = list(root)
            call.generation += 1
            generation = call.generation
        self._next_verb(call_sid, generation)

    # ---- TaskRouter's instructions ring the worker -----------------------------------------

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
    ) -> Call:
        """TaskRouter rings the reserved worker (the `conference` or the `call` instruction)."""
        instruction = reservation.instruction
        agent = Call(
            sid=self.sid("CA"),
            from_=from_,
            to=str(instruction.get("to") or worker.attributes.get("contact_uri") or ""),
            direction="outbound-api",
            created=self.now(),
            role="agent",
            status_callback=status_callback,
            status_events=status_events,
            reservation_sid=reservation.sid,
            worker_sid=worker.sid,
            parent_call_sid=parent_call_sid,
            task_sid=task_sid,
        )
        self.calls[agent.sid] = agent
        reservation.agent_call_sid = agent.sid
        self.progress(agent, "initiated")
        agent.status = "ringing"
        self.progress(agent, "ringing")
        return agent

    def call_instruction(self, reservation_sid: str, instruction: dict[str, Any]) -> None:
        """Ring the worker; on answer fetch `url` for their leg, accepting the reservation if
        `accept` is true. Only the completed event goes to `status_callback_url`.
        https://www.twilio.com/docs/taskrouter/handle-assignment-callbacks#initiating-a-call
        """
        with self.lock:
            reservation = self.taskrouter.reservations[reservation_sid]
            if reservation.status != "pending":
                return
            url = str(instruction.get("url") or "")
            if not url:
                self.stats.count("CallInstructionWithoutUrl")  # Twilio error 40112
                return
            worker = self.taskrouter.workers[reservation.worker_sid]
            reservation.instruction = instruction
            self.dial_worker(
                reservation,
                worker,
                from_=str(instruction.get("from") or self.account.company_number),
                status_callback=str(instruction.get("status_callback_url") or ""),
                status_events=frozenset({"completed"}),
                task_sid=reservation.task_sid,
            )
            ring_timeout = float(instruction.get("timeout") or 60)
            delay = self.agents.answer_delay(worker.agent_id, self.now())
        if delay is not None and delay < ring_timeout:
            self.clock.after(delay, self._call_instruction_answered, reservation_sid)
        else:
            self.clock.after(ring_timeout, self.taskrouter.leg_rang_out, reservation_sid)

    def _call_instruction_answered(self, reservation_sid: str) -> None:
        with self.lock:
            reservation = self.taskrouter.reservations[reservation_sid]
            call = self.calls[reservation.agent_call_sid]
            if reservation.status != "pending" or call.status not in ACTIVE_CALL:
                return
            call.status = "in-progress"
            call.answered_at = self.now()
            self.progress(call, "answered")
            if reservation.instruction.get("accept") in {True, "true"}:
                self.taskrouter.accept_reservation(reservation_sid)
            url = str(reservation.instruction["url"])
            form = self.call_form(call)
        self._fetch(call, url, form)


def _verb_seconds(verb: ET.Element) -> float:
    """How long a Say, Play or Pause takes on the virtual clock (as the main document's)."""
    loops = int(verb.get("loop", "1") or 1) or 1
    if verb.tag == "Say":
        return loops * max(1.0, len(verb.text or "") / 12)
    if verb.tag == "Play":
        return loops * 5.0
    if verb.tag == "Pause":
        return float(verb.get("length", "1"))
    return 0.0


def _asked_callback(truth: CallTruth) -> bool:
    return truth.keyed == CALLBACK_KEY or truth.wait_keyed == WAIT_CALLBACK_KEY


_VERBS: dict[str, Callable[[Voice, Call, ET.Element, int], None]] = {
    "Say": Voice._verb_say,
    "Play": Voice._verb_play,
    "Pause": Voice._verb_pause,
    "Hangup": Voice._verb_hangup,
    "Reject": Voice._verb_reject,
    "Redirect": Voice._verb_redirect,
    "Enqueue": Voice._verb_enqueue,
    "Gather": Voice._verb_gather,
    "Record": Voice._verb_record,
    "Dial": Voice._verb_dial,
}
