"""TaskRouter sees what DynamoDB says: presence changes mirrored to worker activities.

The mirror runs from the presence table's stream, never inside the agent's request: a slow or
failing Twilio cannot slow a status change down. Within one stream batch only each agent's last
state is sent (the stream keeps per-item order). A failed update is retried a few times with
backoff; if Twilio still refuses, the periodic reconciliation fixes it (and counts the drift).

Ringing and on-call have no activity of their own: TaskRouter already knows the worker is busy
from the reservation. An outbound call has no reservation, so on-call for reason `outbound` has
one: an activity with availability false, which TaskRouter never assigns a task to ("If a
Worker is set to an Activity with an availability of false, it means the Worker is not able to
accept new Tasks and will not be considered for assignment",
https://www.twilio.com/docs/taskrouter/activities). Away, break, offline and an outbound call
are asked for with `RejectPendingReservations`: an agent who chose away (or dialled out) while
the phone rang, or whose state we set while an offer was on its way, is not kept ringing, and
the call moves on at once.

The same stream ends wrap-ups at TaskRouter: the web softphone has no TaskRouter SDK, so when an
agent leaves wrap-up (the timer, a chosen state, signing out, a lost connection) the task the
wrap-up was for (`Presence.wrapped_task`) is completed here. Otherwise it would stay wrapping
(a transfer task: assigned) and hold the worker's capacity for ever.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from chalicelib.platform.errors import TelephonyUnavailable
from chalicelib.platform.observability import count, logger
from chalicelib.platform.settings import Settings
from chalicelib.presence.domain import DIALLED_REASONS, AgentState, Presence

T = TypeVar("T")

# Agents changed this recently are left to the stream mirror by the reconciliation.
RECONCILE_GRACE_MS = 30_000
# A task wrapping this long with no agent in wrap-up for it was never completed (Twilio kept
# refusing the completion, or the event that started the wrap-up was lost): it holds its
# worker's capacity, so no call is offered to them, until it is completed.
STALE_WRAPPING_MS = 120_000
WRAP_UP_RECONCILED_REASON = "wrap-up reconciled"
BACKOFF_SECONDS = (0.2, 0.8)
# The `Reason` of a task the app completes when the agent's wrap-up ends.
WRAP_UP_DONE_REASON = "wrap-up finished"


# States that mean "no calls now": their activity change rejects a pending reservation.
REJECTS_PENDING = frozenset({AgentState.AWAY, AgentState.BREAK, AgentState.OFFLINE})


def rejects_pending(presence: Presence) -> bool:
    """Whether the activity change for `presence` also turns down a call ringing them: a rep
    who dialled out cannot take it either."""
    dialled = presence.state == AgentState.ON_CALL and presence.reason in DIALLED_REASONS
    return presence.state in REJECTS_PENDING or dialled


class Workers(Protocol):
    def update_worker_activity(
        self, worker_sid: str, activity_sid: str, reject_pending: bool = False
    ) -> None: ...

    def worker_activities(self) -> dict[str, str]: ...

    def tasks_wrapping(self) -> list[tuple[str, int]]: ...

    def finish_task(self, task_sid: str, reason: str) -> bool: ...


def activity_map(settings: Settings) -> dict[AgentState, str]:
    return {
        AgentState.OFFLINE: settings.presence.activity_sid_offline,
        AgentState.AVAILABLE: settings.presence.activity_sid_available,
        AgentState.AWAY: settings.presence.activity_sid_away,
        AgentState.BREAK: settings.presence.activity_sid_break,
        AgentState.WRAP_UP: settings.routing.post_work_activity_sid,
    }


def outbound_activity(settings: Settings) -> str:
    """The activity of a rep on an outbound call (see the module docstring)."""
    return settings.presence.activity_sid_outbound


@dataclass(frozen=True)
class MirrorReport:
    updated: int = 0
    failed: int = 0
    skipped: int = 0


@dataclass(frozen=True)
class WrapUpReport:
    completed: int = 0
    # Twilio had nothing to complete (the task was completed or canceled already).
    already_ended: int = 0
    failed: int = 0


def wrap_ups_left(changes: Iterable[tuple[Presence | None, Presence]]) -> list[Presence]:
    """The presence before each change that ended a wrap-up (one per task, in stream order).

    Leaving wrap-up for any state ends it, and so does a new call end (another task's wrap-up
    starting). A repeated stream record names the same task and is listed once.
    """
    left: dict[str, Presence] = {}
    for old, new in changes:
        if old is None or old.state != AgentState.WRAP_UP or not old.wrapped_task:
            continue
        if new.state == AgentState.WRAP_UP and new.wrapped_task == old.wrapped_task:
            continue
        left.setdefault(old.wrapped_task, old)
    return list(left.values())


class PresenceMirror:
    def __init__(
        self,
        workers: Workers,
        activities: dict[AgentState, str],
        sleep: Callable[[float], None] = time.sleep,
        outbound: str = "",
    ) -> None:
        self._workers = workers
        self._activities = activities
        self._sleep = sleep
        self._outbound = outbound

    def activity_for(self, state: AgentState) -> str | None:
        return self._activities.get(state)

    def activity_of(self, presence: Presence) -> str | None:
        """The activity TaskRouter should show for `presence` (None: leave it alone)."""
        if presence.state == AgentState.ON_CALL and presence.reason in DIALLED_REASONS:
            return self._outbound or None
        return self.activity_for(presence.state)

    def mirror(self, changes: Iterable[tuple[Presence | None, Presence]]) -> MirrorReport:
        """Send each agent's newest activity; `changes` are (old, new) in stream order."""
        latest: dict[str, tuple[Presence | None, Presence]] = {}
        first_old: dict[str, Presence | None] = {}
        for old, new in changes:
            first_old.setdefault(new.agent_id, old)
            latest[new.agent_id] = (first_old[new.agent_id], new)
        updated = failed = skipped = 0
        for old, new in latest.values():
            target = self.activity_of(new)
            before = self.activity_of(old) if old is not None else None
            if target is None or not new.worker_sid or (old is not None and target == before):
                skipped += 1
                continue
            if self._update(new, target):
                updated += 1
            else:
                failed += 1
        return MirrorReport(updated=updated, failed=failed, skipped=skipped)

    def complete_wrap_ups(
        self, changes: Iterable[tuple[Presence | None, Presence]]
    ) -> WrapUpReport:
        """Complete at TaskRouter the task of every wrap-up these changes ended.

        Idempotent: a task already completed or canceled (a retried batch, a cold transfer's
        task the app completed on hand-over) is counted and left. Never raises: a task Twilio
        keeps refusing stays wrapping and is logged with its sid.
        """
        completed = already_ended = failed = 0
        for presence in wrap_ups_left(changes):
            outcome = self._finish(presence)
            if outcome is None:
                failed += 1
            elif outcome:
                completed += 1
            else:
                already_ended += 1
        return WrapUpReport(completed=completed, already_ended=already_ended, failed=failed)

    def _retried(self, operation: Callable[[], T]) -> T:
        """`operation`, tried again after each BACKOFF_SECONDS while Twilio is unavailable;
        the last attempt's TelephonyUnavailable is the caller's to handle. A refusal (a worker
        TaskRouter does not know: 404) is not retried: the same request gets the same answer,
        and a batch of presence changes would wait ~1 s on each such worker."""
        for delay in BACKOFF_SECONDS:
            try:
                return operation()
            except TelephonyUnavailable as exc:
                if exc.refused:
                    raise
                self._sleep(delay)
        return operation()

    def _finish(self, presence: Presence) -> bool | None:
        """True: completed; False: it had already ended; None: Twilio kept failing."""
        task_sid = presence.wrapped_task
        try:
            finished = self._retried(
                lambda: self._workers.finish_task(task_sid, WRAP_UP_DONE_REASON)
            )
        except TelephonyUnavailable as exc:
            count("WrapUpTaskCompleteFailed")
            logger.error(
                "wrap-up task not completed at taskrouter; it still holds the worker",
                agent_id=presence.agent_id,
                task_sid=task_sid,
                problem=str(exc),
            )
            return None
        count("WrapUpTaskCompleted" if finished else "WrapUpTaskAlreadyEnded")
        logger.info(
            "wrap-up task completed" if finished else "wrap-up task had already ended",
            agent_id=presence.agent_id,
            task_sid=task_sid,
        )
        return finished

    def _update(self, presence: Presence, activity_sid: str) -> bool:
        try:
            self._retried(
                lambda: self._workers.update_worker_activity(
                    presence.worker_sid,
                    activity_sid,
                    reject_pending=rejects_pending(presence),
                )
            )
        except TelephonyUnavailable as exc:
            count("PresenceMirrorFailed")
            logger.warning(
                "worker activity not mirrored; reconciliation will retry",
                agent_id=presence.agent_id,
                state=presence.state.value,
                problem=str(exc),
            )
            return False
        count("PresenceMirrored")
        return True

    def reconcile(
        self,
        read_presence: Callable[[], Iterable[tuple[Presence, int]]],
        now_ms: int,
    ) -> int:
        """Compare every worker's activity with DynamoDB, fix the differences, return how many.

        Workers are listed first and DynamoDB read after, so our side is never the older view;
        agents changed in the last RECONCILE_GRACE_MS are the stream mirror's to finish.
        """
        activities = self._workers.worker_activities()
        presences = list(read_presence())
        drift = 0
        for presence, changed_ms in presences:
            target = self.activity_of(presence)
            current = activities.get(presence.worker_sid)
            if target is None or current is None or current == target:
                continue
            if now_ms - changed_ms < RECONCILE_GRACE_MS:
                continue
            drift += 1
            logger.info(
                "worker activity drifted from presence",
                agent_id=presence.agent_id,
                state=presence.state.value,
            )
            self._update(presence, target)
        count("PresenceDrift", drift)
        self.complete_stale_wrap_ups(presences, now_ms)
        return drift

    def complete_stale_wrap_ups(
        self, presences: Iterable[tuple[Presence, int]], now_ms: int
    ) -> int:
        """Complete every task left wrapping that no agent is wrapping up; return how many.

        Never raises: a Twilio failure leaves the tasks to the next run."""
        held = {p.wrapped_task for p, _ in presences if p.state is AgentState.WRAP_UP}
        try:
            wrapping = self._workers.tasks_wrapping()
        except TelephonyUnavailable as exc:
            logger.warning("wrapping tasks not listed; next run retries", problem=str(exc))
            return 0
        completed = 0
        for task_sid, updated_ms in wrapping:
            if task_sid in held or updated_ms <= 0 or now_ms - updated_ms < STALE_WRAPPING_MS:
                continue
            try:
                finished = self._workers.finish_task(task_sid, WRAP_UP_RECONCILED_REASON)
            except TelephonyUnavailable as exc:
                logger.warning("stale wrap-up not completed", task_sid=task_sid, problem=str(exc))
                continue
            if finished:
                completed += 1
                logger.warning("stale wrapping task completed", task_sid=task_sid)
        count("WrapUpTaskReconciled", completed)
        return completed
