"""TaskRouter sees what DynamoDB says: presence changes mirrored to worker activities.

The mirror runs from the presence table's stream, never inside the agent's request: a slow or
failing Twilio cannot slow a status change down. Within one stream batch only each agent's last
state is sent (the stream keeps per-item order). A failed update is retried a few times with
backoff; if Twilio still refuses, the periodic reconciliation fixes it (and counts the drift).

Ringing and on-call have no activity of their own: TaskRouter already knows the worker is busy
from the reservation, and it refuses activity changes while a reservation is pending.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from chalicelib.config import Settings
from chalicelib.errors import TelephonyUnavailable
from chalicelib.observability import count, logger
from chalicelib.presence import Presence
from chalicelib.routing import AgentState

# Agents changed this recently are left to the stream mirror by the reconciliation.
RECONCILE_GRACE_MS = 30_000
BACKOFF_SECONDS = (0.2, 0.8)


class Workers(Protocol):
    def update_worker_activity(self, worker_sid: str, activity_sid: str) -> None: ...

    def worker_activities(self) -> dict[str, str]: ...


def activity_map(settings: Settings) -> dict[AgentState, str]:
    return {
        AgentState.OFFLINE: settings.activity_sid_offline,
        AgentState.AVAILABLE: settings.activity_sid_available,
        AgentState.AWAY: settings.activity_sid_away,
        AgentState.BREAK: settings.activity_sid_break,
        AgentState.WRAP_UP: settings.post_work_activity_sid,
    }


@dataclass(frozen=True)
class MirrorReport:
    updated: int = 0
    failed: int = 0
    skipped: int = 0


class PresenceMirror:
    def __init__(
        self,
        workers: Workers,
        activities: dict[AgentState, str],
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._workers = workers
        self._activities = activities
        self._sleep = sleep

    def activity_for(self, state: AgentState) -> str | None:
        return self._activities.get(state)

    def mirror(self, changes: Iterable[tuple[Presence | None, Presence]]) -> MirrorReport:
        """Send each agent's newest activity; `changes` are (old, new) in stream order."""
        latest: dict[str, tuple[Presence | None, Presence]] = {}
        first_old: dict[str, Presence | None] = {}
        for old, new in changes:
            first_old.setdefault(new.agent_id, old)
            latest[new.agent_id] = (first_old[new.agent_id], new)
        updated = failed = skipped = 0
        for old, new in latest.values():
            target = self.activity_for(new.state)
            before = self.activity_for(old.state) if old is not None else None
            if target is None or not new.worker_sid or (old is not None and target == before):
                skipped += 1
                continue
            if self._update(new, target):
                updated += 1
            else:
                failed += 1
        return MirrorReport(updated=updated, failed=failed, skipped=skipped)

    def _update(self, presence: Presence, activity_sid: str) -> bool:
        for attempt in range(len(BACKOFF_SECONDS) + 1):
            try:
                self._workers.update_worker_activity(presence.worker_sid, activity_sid)
            except TelephonyUnavailable as exc:
                if attempt < len(BACKOFF_SECONDS):
                    self._sleep(BACKOFF_SECONDS[attempt])
                    continue
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
        return False

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
        drift = 0
        for presence, changed_ms in read_presence():
            target = self.activity_for(presence.state)
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
        return drift
