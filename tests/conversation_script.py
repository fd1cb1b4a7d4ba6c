"""Builders of the callbacks Twilio sends during one call, with Twilio's documented field names.

A `CallScript` plays a call (seconds from its start) and collects every callback: the caller's
leg status callbacks, TaskRouter events, agent legs, conference events, recordings. `forms`
gives them as (route kind, form, query) for posting; `events` as conversation Events.
https://www.twilio.com/docs/voice/api/call-resource#statuscallback
https://www.twilio.com/docs/taskrouter/api/event/reference
https://www.twilio.com/docs/voice/api/conference-resource#conference-status-callback-events
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from chalicelib.conversations import events as ce
from tests.data import ACCOUNT_SID, sid

T0 = 1_764_000_000_000  # 2025-11-24 16:00:00 UTC (01:00 Tuesday in Tokyo)
WORKSPACE = "WS" + "b" * 32
COMPANY = "+81300000000"
API = "https://api.twilio.com/2010-04-01"


def rfc2822(ms: int) -> str:
    return format_datetime(datetime.fromtimestamp(ms / 1000, UTC))


@dataclass
class CallScript:
    n: int = 1
    caller: str = "+81312345678"
    customer_id: str = "C1"
    owner: str = "owner"
    team: str = "tokyo"
    stage: str = "owner"
    t0: int = T0
    callbacks: list[tuple[str, dict[str, str], dict[str, str]]] = field(default_factory=list)
    _seq: dict[str, int] = field(default_factory=dict)
    _events: int = 0
    _reservations: int = 0

    @property
    def call_sid(self) -> str:
        return sid("CA", self.n)

    @property
    def task_sid(self) -> str:
        return sid("WT", self.n)

    @property
    def conference_sid(self) -> str:
        return sid("CF", self.n)

    def at(self, seconds: float) -> int:
        return self.t0 + int(seconds * 1000)

    def _next_seq(self, leg: str) -> str:
        value = self._seq.get(leg, 0)
        self._seq[leg] = value + 1
        return str(value)

    # --- the caller's leg ---------------------------------------------------------------------
    def leg(
        self,
        status: str,
        seconds: float,
        *,
        call_sid: str | None = None,
        duration: int | None = None,
        from_: str | None = None,
        to: str = COMPANY,
        direction: str = "inbound",
        parent: str = "",
        query: dict[str, str] | None = None,
    ) -> CallScript:
        leg_sid = call_sid or self.call_sid
        form = {
            "AccountSid": ACCOUNT_SID,
            "ApiVersion": "2010-04-01",
            "CallSid": leg_sid,
            "CallStatus": status,
            "Called": to,
            "Caller": from_ if from_ is not None else self.caller,
            "Direction": direction,
            "From": from_ if from_ is not None else self.caller,
            "To": to,
            "SequenceNumber": self._next_seq(leg_sid),
            "Timestamp": rfc2822(self.at(seconds)),
            "CallbackSource": "call-progress-events",
        }
        if parent:
            form["ParentCallSid"] = parent
        if status in ("completed", "busy", "no-answer", "failed", "canceled"):
            form["CallDuration"] = str(duration if duration is not None else int(seconds))
            form["Duration"] = str(-(-int(form["CallDuration"]) // 60))
        self.callbacks.append(("voice", form, dict(query or {})))
        return self

    # --- TaskRouter ---------------------------------------------------------------------------
    def attributes(self, **extra: Any) -> dict[str, Any]:
        return {
            "type": "inbound_call",
            "call_sid": self.call_sid,
            "caller": self.caller,
            "customer_id": self.customer_id,
            "customer_name": "Sakura Foods",
            "owner_agent_id": self.owner,
            "team": self.team,
            "stage": self.stage,
            "initial_stage": self.stage,
            "from": self.caller,
            **extra,
        }

    def task(
        self, event_type: str, seconds: float, task_sid: str | None = None, **attrs: Any
    ) -> CallScript:
        self._events += 1
        task = task_sid or self.task_sid
        form = {
            "Sid": sid("EV", self.n * 1000 + self._events),
            "AccountSid": ACCOUNT_SID,
            "WorkspaceSid": WORKSPACE,
            "EventType": event_type,
            "ResourceType": "task",
            "ResourceSid": task,
            "TaskSid": task,
            "TaskAssignmentStatus": event_type.split(".")[1],
            "TaskAttributes": json.dumps(
                self.attributes(**attrs) if not attrs.get("raw") else attrs["raw"]
            ),
            "Timestamp": str(self.at(seconds) // 1000),
            "TimestampMs": str(self.at(seconds)),
            "EventDescription": f"Task {task} {event_type}",
        }
        if event_type == "task.canceled":
            form["TaskCanceledReason"] = "hangup"
        self.callbacks.append(("taskrouter", form, {}))
        return self

    def reservation(
        self,
        event_type: str,
        seconds: float,
        agent: str,
        reservation: int,
        team: str = "tokyo",
        task_sid: str | None = None,
        **attrs: Any,
    ) -> CallScript:
        self._events += 1
        task = task_sid or self.task_sid
        rsid = sid("WR", self.n * 100 + reservation)
        worker_sid = "WK" + agent.encode().hex()[:32].ljust(32, "0")
        form = {
            "Sid": sid("EV", self.n * 1000 + self._events),
            "AccountSid": ACCOUNT_SID,
            "WorkspaceSid": WORKSPACE,
            "EventType": event_type,
            "ResourceType": "reservation",
            "ResourceSid": rsid,
            "ReservationSid": rsid,
            "TaskSid": task,
            "WorkerSid": worker_sid,
            "WorkerName": agent,
            "WorkerAttributes": json.dumps({"agent_id": agent, "team": team}),
            "TaskAttributes": json.dumps(self.attributes(**attrs)),
            "Timestamp": str(self.at(seconds) // 1000),
            "TimestampMs": str(self.at(seconds)),
        }
        self.callbacks.append(("taskrouter", form, {}))
        return self

    def offer(
        self, agent: str, start: float, end: float, outcome: str, team: str = "tokyo", **attrs: Any
    ) -> CallScript:
        """One reservation: created, the agent's browser rings, then `outcome`."""
        self._reservations += 1
        r = self._reservations
        agent_leg = sid("CA", self.n * 100 + 50 + r)
        query = {
            "conversation": self.call_sid,
            "task": self.task_sid,
            "reservation": sid("WR", self.n * 100 + r),
            "agent": agent,
        }
        self.reservation("reservation.created", start, agent, r, team, **attrs)
        self.leg(
            "initiated",
            start,
            call_sid=agent_leg,
            to=f"client:{agent}",
            direction="outbound-api",
            query=query,
        )
        self.leg(
            "ringing",
            start + 0.5,
            call_sid=agent_leg,
            to=f"client:{agent}",
            direction="outbound-api",
            query=query,
        )
        if outcome == "accepted":
            self.leg(
                "in-progress",
                end,
                call_sid=agent_leg,
                to=f"client:{agent}",
                direction="outbound-api",
                query=query,
            )
        else:
            self.leg(
                "no-answer" if outcome == "timeout" else "canceled",
                end,
                call_sid=agent_leg,
                to=f"client:{agent}",
                direction="outbound-api",
                duration=0,
                query=query,
            )
        self.reservation(f"reservation.{outcome}", end, agent, r, team, **attrs)
        return self

    def agent_leg_sid(self, reservation: int) -> str:
        return sid("CA", self.n * 100 + 50 + reservation)

    # --- conference and recordings ------------------------------------------------------------
    def conference(
        self, event: str, seconds: float, participant: str = "", **extra: str
    ) -> CallScript:
        form = {
            "AccountSid": ACCOUNT_SID,
            "ConferenceSid": self.conference_sid,
            "FriendlyName": self.task_sid,
            "StatusCallbackEvent": event,
            "SequenceNumber": self._next_seq(self.conference_sid),
            "Timestamp": rfc2822(self.at(seconds)),
            **extra,
        }
        if participant:
            form["CallSid"] = participant
        self.callbacks.append(
            ("conference", form, {"conversation": self.call_sid, "task": self.task_sid})
        )
        return self

    def recording(self, seconds: float, duration: int, kind: str = "recording") -> CallScript:
        form = {
            "AccountSid": ACCOUNT_SID,
            "RecordingSid": sid("RE", self.n),
            "RecordingUrl": f"{API}/Accounts/{ACCOUNT_SID}/Recordings/{sid('RE', self.n)}",
            "RecordingStatus": "completed",
            "RecordingDuration": str(duration),
            "RecordingChannels": "2" if kind == "recording" else "1",
            "RecordingStartTime": rfc2822(self.at(seconds)),
            "RecordingSource": "StartConferenceRecordingAPI"
            if kind == "recording"
            else "RecordVerb",
            "ErrorCode": "0",
        }
        if kind == "recording":
            form["ConferenceSid"] = self.conference_sid
        else:
            form["CallSid"] = self.call_sid
        self.callbacks.append((kind, form, {}))
        return self

    def fact(self, fact: str, seconds: float, **data: Any) -> CallScript:
        self.callbacks.append(
            ("fact", {"fact": fact, "at": str(self.at(seconds)), "data": json.dumps(data)}, {})
        )
        return self

    # --- outputs ------------------------------------------------------------------------------
    def events(self) -> list[ce.Event]:
        return [to_event(kind, form, query, self.call_sid) for kind, form, query in self.callbacks]


def as_twilio_delivers(events: list[ce.Event], seed: int, repeats: list[int]) -> list[ce.Event]:
    """The events in any order, some more than once (`repeats` index into them, modulo): what
    Twilio's retried and reordered callbacks can make of one call."""
    delivered = list(events) + [events[i % len(events)] for i in repeats]
    random.Random(seed).shuffle(delivered)
    return delivered


def to_event(kind: str, form: dict[str, str], query: dict[str, str], call_sid: str) -> ce.Event:
    if kind == "voice":
        return ce.voice_event(form, query)
    if kind == "conference":
        event = ce.conference_event(form, query)
    elif kind in ("recording", "voicemail"):
        event = ce.recording_event(kind, form, query)
        if not event.conversation_id:  # a conference recording, resolved through its link
            event = replace(event, conversation_id=call_sid, pending_on="")
        return event
    elif kind == "taskrouter":
        return ce.taskrouter_event(form)
    elif kind == "fact":
        return ce.fact_event(call_sid, form["fact"], int(form["at"]), json.loads(form["data"]))
    else:
        raise ValueError(kind)
    return event


# --- one script per outcome -----------------------------------------------------------------
def answered_by_owner(n: int = 1) -> CallScript:
    s = CallScript(n=n)
    s.leg("ringing", 0).task("task.created", 1)
    s.offer("owner", 1, 6, "accepted")
    agent_leg = s.agent_leg_sid(1)
    s.task("task.updated", 6, worker_call_sid=agent_leg, conference={"sid": s.conference_sid})
    s.conference("conference-start", 6)
    s.conference("participant-join", 6, s.call_sid)
    s.conference("participant-join", 6, agent_leg)
    s.conference("participant-hold", 30, s.call_sid)
    s.conference("participant-unhold", 40, s.call_sid)
    s.conference("participant-leave", 96, s.call_sid)
    s.conference("conference-end", 96, CallSidEndingConference=s.call_sid)
    s.leg("completed", 96, duration=96)
    s.task("task.wrapup", 96).task("task.completed", 126)
    s.recording(6, 90)
    return s


def offered_five_times_then_answered_by_x(n: int = 2) -> CallScript:
    """The old system's case: agent A's browser rang out five times, then agent X answered."""
    s = CallScript(n=n, owner="agent_a")
    s.leg("ringing", 0).task("task.created", 1)
    for i in range(5):
        start = 1 + i * 21
        s.offer("agent_a", start, start + 20, "timeout")
    s.task("task.updated", 106, stage="everyone")
    s.offer("agent_x", 106, 110, "accepted", team="osaka", stage="everyone")
    s.conference("participant-join", 110, s.call_sid)
    s.conference("participant-leave", 200, s.agent_leg_sid(6))
    s.conference("conference-end", 201, CallSidEndingConference=s.call_sid)
    s.leg("completed", 201, duration=201)
    return s


def abandoned_in_queue(n: int = 3) -> CallScript:
    s = CallScript(n=n)
    s.leg("ringing", 0).task("task.created", 1)
    s.offer("owner", 1, 21, "timeout")
    s.leg("completed", 40, duration=40)
    s.task("task.canceled", 40)
    return s


def abandoned_while_ringing(n: int = 4) -> CallScript:
    s = CallScript(n=n)
    s.leg("ringing", 0).task("task.created", 1)
    s.offer("owner", 10, 15, "canceled")
    s.leg("completed", 15, duration=15)
    s.task("task.canceled", 15)
    return s


def short_abandon(n: int = 5) -> CallScript:
    s = CallScript(n=n)
    s.leg("ringing", 0).task("task.created", 0.5)
    s.leg("completed", 3, duration=3)
    s.task("task.canceled", 3)
    return s


def voicemail(n: int = 6) -> CallScript:
    s = CallScript(n=n)
    s.leg("ringing", 0).task("task.created", 1)
    s.offer("owner", 1, 21, "timeout")
    s.fact("fallback_offered", 100)
    s.task("task.canceled", 100)
    s.fact("voicemail_left", 130, recording_sid=sid("RE", n))
    s.recording(101, 29, kind="voicemail")
    s.leg("completed", 131, duration=131)
    # The follow-up task TaskRouter routes to the owner for a call back.
    s.task(
        "task.created",
        131,
        task_sid=sid("WT", 900 + n),
        raw={"type": "voicemail", "original_call_sid": s.call_sid, "customer_id": "C1"},
    )
    return s


def callback(n: int = 7) -> CallScript:
    s = CallScript(n=n)
    s.leg("ringing", 0).task("task.created", 1)
    s.fact("callback_requested", 60)
    s.task("task.canceled", 60)
    s.leg("completed", 62, duration=62)
    return s


def outside_hours(n: int = 8) -> CallScript:
    s = CallScript(n=n)
    s.leg("ringing", 0)
    s.fact("outside_hours", 0)
    s.leg("completed", 20, duration=20)
    return s


def failed_outbound(n: int = 9) -> CallScript:
    """An agent dials a customer from the softphone; the customer's phone is busy."""
    s = CallScript(n=n, caller="+81312345678")
    child = sid("CA", n * 100 + 1)
    s.leg("ringing", 0, from_="client:sato", to="", direction="inbound")
    s.leg(
        "initiated",
        1,
        call_sid=child,
        from_=COMPANY,
        to=s.caller,
        direction="outbound-dial",
        parent=s.call_sid,
    )
    s.leg(
        "busy",
        5,
        call_sid=child,
        from_=COMPANY,
        to=s.caller,
        direction="outbound-dial",
        parent=s.call_sid,
        duration=0,
    )
    s.leg("completed", 6, from_="client:sato", to="", direction="inbound", duration=6)
    return s


def answered_outbound(n: int = 10) -> CallScript:
    s = CallScript(n=n)
    child = sid("CA", n * 100 + 1)
    s.leg("ringing", 0, from_="client:sato", to="", direction="inbound")
    s.leg(
        "initiated",
        1,
        call_sid=child,
        from_=COMPANY,
        to=s.caller,
        direction="outbound-dial",
        parent=s.call_sid,
    )
    s.leg(
        "in-progress",
        8,
        call_sid=child,
        from_=COMPANY,
        to=s.caller,
        direction="outbound-dial",
        parent=s.call_sid,
    )
    s.leg(
        "completed",
        68,
        call_sid=child,
        from_=COMPANY,
        to=s.caller,
        direction="outbound-dial",
        parent=s.call_sid,
        duration=60,
    )
    s.leg("completed", 69, from_="client:sato", to="", direction="inbound", duration=69)
    return s
