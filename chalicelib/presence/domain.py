"""Agent presence: which state an agent is in, and the one table of what may move them.

Every change of state anywhere in the app (the softphone, TaskRouter's events, the heartbeat
timer, the wrap-up timer) is an `Event` applied through `transition()`, which looks the event up
in `TRANSITIONS`. An event not allowed from the agent's current state raises
`IllegalTransition` (a 409 for the softphone). Nothing here knows about DynamoDB, HTTP or
Twilio: the adapters store a `Presence`, the API and the TaskRouter subscriber produce events.

Events from TaskRouter arrive duplicated and out of order, so each `Presence` remembers the time
of the newest thing that happened to it (`since_ms`, and `event_ms` for TaskRouter events that
changed nothing): an event older than that is stale and ignored (`is_stale`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from chalicelib.platform.errors import Conflict


class AgentState(StrEnum):
    OFFLINE = "offline"
    AVAILABLE = "available"
    AWAY = "away"
    BREAK = "break"
    RINGING = "ringing"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"


S = AgentState


class Event(StrEnum):
    SIGN_IN = "sign_in"
    SIGN_OUT = "sign_out"
    CHOOSE_AVAILABLE = "choose_available"
    CHOOSE_AWAY = "choose_away"
    CHOOSE_BREAK = "choose_break"
    HEARTBEAT_LOST = "heartbeat_lost"
    RECONNECTED = "reconnected"
    SESSION_EXPIRED = "session_expired"
    # TaskRouter reservations (the agent's phone rings, is answered, the call ends...).
    OFFERED = "offered"
    ACCEPTED = "accepted"
    CALL_ENDED = "call_ended"
    MISSED = "missed"
    WITHDRAWN = "withdrawn"
    WRAP_UP_OVER = "wrap_up_over"
    # The rep dialled out from the softphone (the TwiML App's webhook), and that call never
    # reached anyone (busy, no answer, failed, or the rep hung up while it rang).
    DIALLED_OUT = "dialled_out"
    NOT_CONNECTED = "not_connected"
    # A rep called a colleague (`To=agent:<id>`): both are on that call.
    INTERNAL_CALL = "internal_call"


class Reason(StrEnum):
    """Why an agent is in their state: shown on the board, kept in the history."""

    SIGNED_IN = "signed_in"
    SIGNED_OUT = "signed_out"
    MANUAL = "manual"
    HEARTBEAT_LOST = "heartbeat_lost"
    RECONNECTED = "reconnected"
    SESSION_EXPIRED = "session_expired"
    RESERVATION = "reservation"
    CALL = "call"
    CALL_ENDED = "call_ended"
    MISSED_CALL = "missed_call"
    RESERVATION_ENDED = "reservation_ended"
    WRAP_UP_OVER = "wrap_up_over"
    OUTBOUND = "outbound"
    NOT_CONNECTED = "not_connected"
    INTERNAL = "internal"


class Resume(StrEnum):
    """Target of an event that goes back to the state the agent had before (see `resume`)."""

    PREVIOUS = "previous"


SIGNED_IN = frozenset(S) - {S.OFFLINE}
# States an agent picks (or is put in) while no call involves them.
IDLE = frozenset({S.AVAILABLE, S.AWAY, S.BREAK, S.WRAP_UP})


@dataclass(frozen=True)
class Rule:
    allowed_from: frozenset[AgentState]
    to: AgentState | Resume
    reason: Reason


# The transition table: event -> the states it is allowed from -> where it leads, and why.
TRANSITIONS: dict[Event, Rule] = {
    Event.SIGN_IN: Rule(frozenset({S.OFFLINE}), S.AVAILABLE, Reason.SIGNED_IN),
    Event.SIGN_OUT: Rule(SIGNED_IN, S.OFFLINE, Reason.SIGNED_OUT),
    # Manual choices from the softphone; not while a call is live. Away or break while the
    # phone rings is a rep who cannot take it: the mirror rejects the pending reservation, so
    # the caller moves on now instead of after the ring timeout (and the rep's screen and our
    # table can disagree for a second about whether it still rings).
    Event.CHOOSE_AVAILABLE: Rule(IDLE, S.AVAILABLE, Reason.MANUAL),
    Event.CHOOSE_AWAY: Rule(IDLE | {S.RINGING}, S.AWAY, Reason.MANUAL),
    Event.CHOOSE_BREAK: Rule(IDLE | {S.RINGING}, S.BREAK, Reason.MANUAL),
    # No heartbeat for too long. A ringing or live call is left to TaskRouter's events (the
    # reservation times out, the call ends); the next sweep catches the agent after that.
    Event.HEARTBEAT_LOST: Rule(IDLE, S.AWAY, Reason.HEARTBEAT_LOST),
    Event.RECONNECTED: Rule(frozenset({S.AWAY}), Resume.PREVIOUS, Reason.RECONNECTED),
    Event.SESSION_EXPIRED: Rule(frozenset({S.AWAY}), S.OFFLINE, Reason.SESSION_EXPIRED),
    # TaskRouter is the truth about calls: a reservation can reach an agent our table still
    # shows as away (the mirror lags by a second), and the phone rings all the same.
    Event.OFFERED: Rule(SIGNED_IN - {S.ON_CALL}, S.RINGING, Reason.RESERVATION),
    Event.ACCEPTED: Rule(SIGNED_IN, S.ON_CALL, Reason.CALL),
    # The task's wrap-up and completed events both end the call; only the first one counts
    # (see `wrapped_task`), so a task completed after wrap-up never restarts it.
    Event.CALL_ENDED: Rule(SIGNED_IN, S.WRAP_UP, Reason.CALL_ENDED),
    Event.MISSED: Rule(SIGNED_IN - {S.ON_CALL}, S.AWAY, Reason.MISSED_CALL),
    Event.WITHDRAWN: Rule(frozenset({S.RINGING}), Resume.PREVIOUS, Reason.RESERVATION_ENDED),
    Event.WRAP_UP_OVER: Rule(frozenset({S.WRAP_UP}), S.AVAILABLE, Reason.WRAP_UP_OVER),
    # An outbound call: busy from the webhook on (a phone ringing with an inbound offer is
    # given up, the mirror rejects it). A call that reached the customer ends with CALL_ENDED
    # (wrap-up, like any call); one that never connected frees the rep at once.
    Event.DIALLED_OUT: Rule(IDLE | {S.RINGING}, S.ON_CALL, Reason.OUTBOUND),
    Event.NOT_CONNECTED: Rule(frozenset({S.ON_CALL}), S.AVAILABLE, Reason.NOT_CONNECTED),
    # Both sides of an internal call; the colleague only from a state free of calls (the
    # service asks more: available or in wrap-up).
    Event.INTERNAL_CALL: Rule(IDLE | {S.RINGING}, S.ON_CALL, Reason.INTERNAL),
}

# On a call no reservation stands for: TaskRouter is told by the worker's activity.
DIALLED_REASONS = frozenset({Reason.OUTBOUND.value, Reason.INTERNAL.value})

MANUAL_CHOICES: dict[AgentState, Event] = {
    S.AVAILABLE: Event.CHOOSE_AVAILABLE,
    S.AWAY: Event.CHOOSE_AWAY,
    S.BREAK: Event.CHOOSE_BREAK,
}

# Events TaskRouter sends us (as opposed to events we decide): they carry Twilio's timestamp
# and can be stale.
EXTERNAL = frozenset(
    {
        Event.OFFERED,
        Event.ACCEPTED,
        Event.CALL_ENDED,
        Event.MISSED,
        Event.WITHDRAWN,
    }
)


# Where each TaskRouter event comes in one task's life. Two events can carry the same
# millisecond: a step and the next one made at once (the rehearsal's callback leg answered and
# wrapped together), or a freed worker reserved for the next task as the last one completes.
# Within one millisecond, another task's event or a later step of the same task is news.
LIFECYCLE_STEP: dict[Event, int] = {
    Event.OFFERED: 1,
    Event.ACCEPTED: 2,
    Event.MISSED: 2,
    Event.WITHDRAWN: 2,
    Event.CALL_ENDED: 3,
}


class IllegalTransition(Conflict):
    """The event is not allowed from the agent's current state (HTTP 409)."""

    def __init__(self, agent_id: str, state: AgentState, event: Event, detail: str = "") -> None:
        self.agent_id = agent_id
        self.state = state
        self.event = event
        allowed = ", ".join(sorted(TRANSITIONS[event].allowed_from))
        super().__init__(
            detail or f"{event.value} is not allowed while {state.value} (allowed from: {allowed})"
        )


@dataclass(frozen=True)
class Timers:
    """The clocks that move agents without anyone asking (from settings)."""

    heartbeat_timeout_ms: int = 45_000
    wrap_up_ms: int = 30_000
    session_expiry_ms: int = 8 * 3600_000


@dataclass(frozen=True)
class Presence:
    agent_id: str
    team: str
    state: AgentState = S.OFFLINE
    reason: str = Reason.SIGNED_OUT.value
    # When the current state began (epoch ms). For TaskRouter events, Twilio's timestamp.
    since_ms: int = 0
    # Bumped by exactly one on every stored change; conditional writes compare it.
    version: int = 0
    # The state to go back to after a reservation that was not answered, or on reconnecting.
    resume: AgentState | None = None
    wrap_up_until_ms: int | None = None
    # Last heartbeat from the agent's softphone (epoch ms).
    last_seen_ms: int = 0
    # Newest TaskRouter event seen, applied or not: older ones are stale.
    event_ms: int = 0
    name: str = ""
    worker_sid: str = ""
    # The task whose call end was applied last: its other end events change nothing.
    wrapped_task: str = ""
    # The task of the newest TaskRouter event (at `event_ms`) and how far in its life it was
    # (LIFECYCLE_STEP): what decides between two events of the same millisecond.
    event_task: str = ""
    event_step: int = 0
    # The softphone's CallSid of the outbound call the rep is on (reason `outbound`): what
    # the end of that call is matched against, so a late callback of an earlier call is moot.
    call_sid: str = ""

    @property
    def disconnected(self) -> bool:
        return self.state == S.AWAY and self.reason == Reason.HEARTBEAT_LOST

    @property
    def watermark_ms(self) -> int:
        return max(self.since_ms, self.event_ms)


@dataclass(frozen=True)
class Change:
    before: Presence
    after: Presence
    event: Event

    @property
    def moved(self) -> bool:
        """False for a TaskRouter event that only advanced the staleness watermark."""
        return (self.before.state, self.before.reason) != (self.after.state, self.after.reason)


def is_stale(presence: Presence, event: Event, at_ms: int, task_sid: str = "") -> bool:
    """A TaskRouter event no newer than what the agent already went through changes nothing.

    In the very millisecond of the newest TaskRouter event seen, an event is news only if it
    is another task's (TaskRouter completing one task and reserving the next at once) or a
    later step of the same task; a duplicate or an earlier step is stale. A tie with one of our
    own changes stays stale, as before: our clock and Twilio's only meet by chance."""
    if event not in EXTERNAL or at_ms > presence.watermark_ms:
        return False
    if at_ms < presence.watermark_ms or at_ms != presence.event_ms or not task_sid:
        return True
    if task_sid != presence.event_task:
        return False
    return LIFECYCLE_STEP[event] <= presence.event_step


def _event_mark(presence: Presence, event: Event, at_ms: int, task_sid: str) -> dict[str, Any]:
    """The newest-event fields after seeing `event` of `task_sid` at `at_ms`."""
    if at_ms < presence.event_ms:
        return {}
    step = LIFECYCLE_STEP[event]
    if at_ms == presence.event_ms and task_sid == presence.event_task:
        step = max(step, presence.event_step)
    return {"event_ms": at_ms, "event_task": task_sid, "event_step": step}


def _resume_target(presence: Presence, event: Event) -> AgentState:
    if event == Event.RECONNECTED and not presence.disconnected:
        raise IllegalTransition(
            presence.agent_id,
            presence.state,
            event,
            f"reconnected only applies after a lost heartbeat (agent is {presence.state.value}, "
            f"{presence.reason})",
        )
    return presence.resume or S.AVAILABLE


def _remembered(presence: Presence, event: Event, to: AgentState) -> AgentState | None:
    """What `resume` becomes after moving to `to`."""
    if to == S.RINGING:
        if presence.state == S.RINGING:
            return presence.resume
        if presence.disconnected:
            return presence.resume or S.AVAILABLE
        return presence.state
    if event == Event.HEARTBEAT_LOST:
        if presence.state == S.WRAP_UP:
            return S.AVAILABLE
        return presence.state
    return None


def transition(
    presence: Presence,
    event: Event,
    at_ms: int,
    timers: Timers = Timers(),
    task_sid: str = "",
    call_sid: str = "",
) -> Change:
    """Apply `event` at `at_ms`; raise IllegalTransition if the table does not allow it.

    The caller checks `is_stale` first for TaskRouter events. Our own events happen "now", and
    never before the current state began (clocks of different Lambdas differ by milliseconds).
    """
    rule = TRANSITIONS[event]
    if presence.state not in rule.allowed_from:
        raise IllegalTransition(presence.agent_id, presence.state, event)
    if event == Event.CALL_ENDED and task_sid and task_sid == presence.wrapped_task:
        raise IllegalTransition(
            presence.agent_id, presence.state, event, f"the call of {task_sid} already ended"
        )
    to = _resume_target(presence, event) if isinstance(rule.to, Resume) else rule.to
    at = at_ms if event in EXTERNAL else max(at_ms, presence.since_ms)
    after = replace(
        presence,
        state=to,
        reason=rule.reason.value,
        since_ms=at,
        version=presence.version + 1,
        resume=_remembered(presence, event, to),
        wrap_up_until_ms=at + timers.wrap_up_ms if to == S.WRAP_UP else None,
        wrapped_task=task_sid if event == Event.CALL_ENDED else presence.wrapped_task,
        call_sid=call_sid if event in (Event.DIALLED_OUT, Event.INTERNAL_CALL) else "",
    )
    if event in EXTERNAL:
        after = replace(after, **_event_mark(presence, event, at_ms, task_sid))
    if event in (Event.SIGN_IN, Event.RECONNECTED):
        after = replace(after, last_seen_ms=max(presence.last_seen_ms, at_ms))
    return Change(before=presence, after=after, event=event)


def observe(presence: Presence, event: Event, at_ms: int, task_sid: str = "") -> Change:
    """A TaskRouter event that does not apply here still makes older events stale.

    Without this, `reservation.rejected` arriving before its `reservation.created` would be
    refused and the late `created` would leave the agent ringing forever.
    """
    after = replace(
        presence, version=presence.version + 1, **_event_mark(presence, event, at_ms, task_sid)
    )
    return Change(before=presence, after=after, event=event)


def due_event(presence: Presence, now_ms: int, timers: Timers) -> Event | None:
    """The event a timer owes this agent at `now_ms`, if any (heartbeat first, then wrap-up)."""
    silent_ms = now_ms - presence.last_seen_ms
    idle = presence.state in IDLE and not presence.disconnected
    if idle and silent_ms > timers.heartbeat_timeout_ms:
        return Event.HEARTBEAT_LOST
    if presence.disconnected and silent_ms > timers.session_expiry_ms:
        return Event.SESSION_EXPIRED
    if (
        presence.state == S.WRAP_UP
        and presence.wrap_up_until_ms is not None
        and now_ms >= presence.wrap_up_until_ms
    ):
        return Event.WRAP_UP_OVER
    return None


def catch_up(presence: Presence, now_ms: int, timers: Timers) -> list[Change]:
    """Every change the timers owe the agent at `now_ms`, in order (at most a few)."""
    changes: list[Change] = []
    current = presence
    for _ in range(3):
        event = due_event(current, now_ms, timers)
        if event is None:
            break
        change = transition(current, event, now_ms, timers)
        changes.append(change)
        current = change.after
    return changes
