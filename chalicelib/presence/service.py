"""Presence use cases: what the softphone, TaskRouter's events and the timers ask for.

Each use case reads the agent's item, asks the domain (`chalicelib.presence.domain`) for the change,
and writes it conditionally on the version it read. A lost race re-runs the decision against
what the winner left, so concurrent updates are serialised, never lost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Protocol

from chalicelib.platform.errors import Conflict, InvalidInput, NotFound
from chalicelib.platform.observability import count, logger
from chalicelib.platform.settings import PresenceSettings
from chalicelib.presence.domain import (
    DIALLED_REASONS,
    MANUAL_CHOICES,
    AgentState,
    Change,
    Event,
    IllegalTransition,
    Presence,
    Timers,
    catch_up,
    due_event,
    is_stale,
    observe,
    transition,
)
from chalicelib.presence.store import Clock, PresenceStore, VersionConflict

Decision = Callable[[Presence | None], Change | None]
MAX_ATTEMPTS = 8


class Directory(Protocol):
    def get(self, agent_id: str) -> dict[str, object] | None: ...


def timers_from(settings: PresenceSettings) -> Timers:
    return Timers(
        heartbeat_timeout_ms=settings.presence_heartbeat_timeout_seconds * 1000,
        wrap_up_ms=settings.presence_wrap_up_seconds * 1000,
        session_expiry_ms=settings.presence_session_expiry_seconds * 1000,
    )


class PresenceService:
    def __init__(
        self, store: PresenceStore, directory: Directory, timers: Timers, clock: Clock
    ) -> None:
        self._store = store
        self._directory = directory
        self.timers = timers
        self._clock = clock

    def _apply(
        self, agent_id: str, decide: Decision, current: Presence | None = None
    ) -> Presence | None:
        """Decide and write, re-deciding against the winner's item after a lost race."""
        presence = current if current is not None else self._store.get(agent_id)
        for _ in range(MAX_ATTEMPTS):
            change = decide(presence)
            if change is None:
                return presence
            try:
                self._store.save(change)
            except VersionConflict as conflict:
                count("PresenceWriteRaced")
                presence = conflict.current
                continue
            if change.moved:
                count("PresenceChanged")
                logger.info(
                    "presence changed",
                    agent_id=agent_id,
                    event=change.event.value,
                    from_state=change.before.state.value,
                    to_state=change.after.state.value,
                    reason=change.after.reason,
                )
            return change.after
        raise Conflict(f"presence of {agent_id} is changing too fast; try again")

    def _require(self, presence: Presence | None, agent_id: str) -> Presence:
        if presence is None:
            raise Conflict(f"{agent_id} is not signed in")
        return presence

    # --- the softphone ---------------------------------------------------------------------

    def sign_in(self, agent_id: str) -> Presence:
        profile = self._directory.get(agent_id)
        if profile is None:
            raise NotFound(f"{agent_id} is not in the agent directory")
        now = self._clock()

        def decide(p: Presence | None) -> Change | None:
            base = p or Presence(agent_id=agent_id, team=str(profile.get("team", "")))
            base = replace(
                base,
                team=str(profile.get("team", base.team)),
                name=str(profile.get("name", base.name)),
                worker_sid=str(profile.get("worker_sid", base.worker_sid)),
            )
            if base.state == AgentState.OFFLINE:
                return transition(base, Event.SIGN_IN, now, self.timers)
            if base.disconnected:
                return transition(base, Event.RECONNECTED, now, self.timers)
            return None  # already signed in (a second tab, a reload): nothing changes

        presence = self._require(self._apply(agent_id, decide), agent_id)
        if presence.last_seen_ms < now:
            presence = self._store.touch(agent_id, now) or presence
        return presence

    def heartbeat(self, agent_id: str) -> Presence:
        now = self._clock()
        touched = self._store.touch(agent_id, now)
        if touched is None:
            raise Conflict(f"{agent_id} is not signed in: sign in again")

        def decide(p: Presence | None) -> Change | None:
            p = self._require(p, agent_id)
            if p.disconnected:
                return transition(p, Event.RECONNECTED, now, self.timers)
            event = due_event(p, now, self.timers)
            return transition(p, event, now, self.timers) if event else None

        return self._require(self._apply(agent_id, decide, touched), agent_id)

    def choose(self, agent_id: str, state: str) -> Presence:
        try:
            event = MANUAL_CHOICES[AgentState(state)]
        except (ValueError, KeyError) as exc:
            allowed = ", ".join(s.value for s in MANUAL_CHOICES)
            raise InvalidInput(f"state must be one of: {allowed}") from exc
        now = self._clock()

        def decide(p: Presence | None) -> Change | None:
            p = self._require(p, agent_id)
            if p.state == AgentState.OFFLINE:
                raise IllegalTransition(agent_id, p.state, event, "sign in first")
            if p.state == AgentState(state) and not p.disconnected:
                return None
            change = transition(p, event, now, self.timers)
            # Choosing proves the softphone is alive.
            return replace(change, after=replace(change.after, last_seen_ms=now))

        return self._require(self._apply(agent_id, decide), agent_id)

    def sign_out(self, agent_id: str) -> Presence | None:
        now = self._clock()

        def decide(p: Presence | None) -> Change | None:
            if p is None or p.state == AgentState.OFFLINE:
                return None
            return transition(p, Event.SIGN_OUT, now, self.timers)

        return self._apply(agent_id, decide)

    # --- outbound calls --------------------------------------------------------------------

    def start_internal_callee(self, agent_id: str, call_sid: str) -> Presence | None:
        """A colleague is being called by a rep: on that call now, if they are free (available
        or wrapping up); None otherwise (busy, away, on a break, signed out)."""
        now = self._clock()

        def decide(p: Presence | None) -> Change | None:
            if p is None or p.state not in (AgentState.AVAILABLE, AgentState.WRAP_UP):
                return None
            return transition(p, Event.INTERNAL_CALL, now, self.timers, call_sid=call_sid)

        presence = self._apply(agent_id, decide)
        if presence is None or presence.call_sid != call_sid:
            return None
        return presence

    def start_outbound(
        self, agent_id: str, call_sid: str, internal: bool = False
    ) -> Presence | None:
        """The rep dialled out: on a call (reason `outbound`) now. None if they are not signed
        in (the call is placed all the same: the rep is the one calling). A retried webhook of
        the same call changes nothing; a rep already on another call stays as they are."""
        now = self._clock()

        def decide(p: Presence | None) -> Change | None:
            if p is None or p.state == AgentState.OFFLINE:
                return None
            if p.state == AgentState.ON_CALL:
                if p.call_sid != call_sid:
                    count("OutboundWhileOnCall")
                    logger.warning(
                        "outbound call placed while on a call", agent_id=agent_id, state=p.reason
                    )
                return None
            event = Event.INTERNAL_CALL if internal else Event.DIALLED_OUT
            change = transition(p, event, now, self.timers, call_sid=call_sid)
            return replace(change, after=replace(change.after, last_seen_ms=now))

        presence = self._apply(agent_id, decide)
        if presence is None or presence.state == AgentState.OFFLINE:
            count("OutboundByAgentSignedOut")
            return None
        return presence

    def end_outbound(
        self, agent_id: str, call_sid: str, connected: bool, at_ms: int
    ) -> Presence | None:
        """The outbound call `call_sid` is over: wrap-up if it reached the customer, free at
        once if it never did. Anything else (another call since, already ended) is moot."""

        def decide(p: Presence | None) -> Change | None:
            if (
                p is None
                or p.state != AgentState.ON_CALL
                or p.reason not in DIALLED_REASONS
                or p.call_sid != call_sid
            ):
                return None
            event = Event.CALL_ENDED if connected else Event.NOT_CONNECTED
            # Twilio's callbacks have whole seconds: never before the call began.
            return transition(p, event, max(at_ms, p.since_ms), self.timers)

        return self._apply(agent_id, decide)

    # --- TaskRouter ------------------------------------------------------------------------

    def apply_external(
        self, agent_id: str, event: Event, at_ms: int, task_sid: str = ""
    ) -> Presence | None:
        """A TaskRouter event at Twilio's `at_ms`: stale ones change nothing, duplicates too."""

        def decide(p: Presence | None) -> Change | None:
            if p is None or is_stale(p, event, at_ms, task_sid):
                return None
            try:
                return transition(p, event, at_ms, self.timers, task_sid)
            except IllegalTransition as exc:
                count("PresenceEventNotApplicable")
                logger.info(
                    "taskrouter event does not apply",
                    agent_id=agent_id,
                    event=event.value,
                    state=p.state.value,
                    problem=str(exc),
                )
                return observe(p, event, at_ms, task_sid)

        return self._apply(agent_id, decide)

    # --- timers ----------------------------------------------------------------------------

    def settle(self, presence: Presence, now_ms: int | None = None) -> Presence:
        """Apply whatever the heartbeat and wrap-up timers owe this agent (one write each)."""
        now = self._clock() if now_ms is None else now_ms

        def decide(p: Presence | None) -> Change | None:
            if p is None:
                return None
            changes = catch_up(p, now, self.timers)
            return changes[0] if changes else None

        current: Presence | None = presence
        for _ in range(3):
            if current is None or due_event(current, now, self.timers) is None:
                break
            current = self._apply(presence.agent_id, decide, current)
        return current or presence

    def effective(self, presence: Presence, now_ms: int) -> Presence:
        """What the agent is by now, timers included, without writing (the version stays)."""
        changes = catch_up(presence, now_ms, self.timers)
        if not changes:
            return presence
        return replace(changes[-1].after, version=presence.version)

    def sweep(self) -> int:
        """Settle every agent whose timer has run out; return how many changed."""
        now = self._clock()
        changed = 0
        for presence, _changed_ms in self._store.scan():
            if due_event(presence, now, self.timers) is None:
                continue
            after = self.settle(presence, now)
            changed += after.version != presence.version
        if changed:
            count("PresenceTimersFired", changed)
        return changed
