"""The presence board feed: every agent, compact, from a snapshot shared by all viewers.

Viewers never read DynamoDB themselves. Each Lambda container keeps one snapshot of the whole
presence table and rebuilds it (one Scan, ~1000 items) at most once per
`presence_board_refresh_seconds`, however many boards poll it; every request in between is
served from memory. Rebuilding also applies the timers the snapshot shows are due (a lost
heartbeat, an ended wrap-up), so a watched floor reacts within a second (docs/presence.md).

Versions. Every stored change bumps one agent's `version` by exactly one, so the sum of all
versions counts the changes the snapshot contains. The cursor a client gets back is
`<sum>.<agents>.<snapshot ms>`: the same sum and agent count means nothing changed (304);
otherwise the reply holds the agents whose item was written since the cursor's snapshot time,
less an overlap that covers clocks of different Lambdas and eventually consistent Scans.
Clients merge agents by their own `v` (version), so an entry seen twice is harmless.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chalicelib.platform.errors import StorageUnavailable
from chalicelib.platform.observability import count, logger
from chalicelib.presence.domain import Presence, due_event
from chalicelib.presence.store import Clock, PresenceStore

FIELDS = ("id", "name", "team", "state", "reason", "since", "v")
OVERLAP_MS = 15_000
# A snapshot rebuild settles at most this many due timers inline; the rest show their due
# state at once and are written by the next rebuild or the sweep.
MAX_SETTLE_PER_BUILD = 50
# A Scan of the whole table (~250 KB at 1000 agents; tens of ms on DynamoDB) may take longer
# than the 1.5 s the routing reads get; a board can wait, a ringing caller cannot.
SCAN_TIMEOUT_SECONDS = 5.0
# Rendered replies a snapshot keeps, by the cursor asked with. Boards poll every 1.5 s and a
# snapshot lives ~1 s, so nearly all of them ask with one of the last two or three cursors: each
# distinct reply is built and serialised once per snapshot, not once per request (~500 rows and
# 1-2 ms of CPU each at 33 changes/s). Cursors beyond this many are answered uncached.
MAX_CACHED_REPLIES = 16


def _row(p: Presence) -> list[Any]:
    return [p.agent_id, p.name, p.team, p.state.value, p.reason, p.since_ms, p.version]


@dataclass(frozen=True)
class Snapshot:
    rows: dict[str, list[Any]]
    changed_ms: dict[str, int]
    built_ms: int
    version_sum: int
    _replies: dict[str, str | None] = field(default_factory=dict, compare=False, repr=False)

    @property
    def cursor(self) -> str:
        return f"{self.version_sum}.{len(self.rows)}.{self.built_ms}"

    def counts(self) -> dict[str, dict[str, int]]:
        per_team: dict[str, Counter[str]] = {}
        for row in self.rows.values():
            per_team.setdefault(row[2], Counter())[row[3]] += 1
        return {team: dict(sorted(c.items())) for team, c in sorted(per_team.items())}

    def totals(self) -> dict[str, int]:
        return dict(sorted(Counter(row[3] for row in self.rows.values()).items()))

    def feed(self, since: str | None = None) -> dict[str, Any] | None:
        """The board's reply: everything, what changed since `since`, or None (nothing did)."""
        rows: list[list[Any]] | None = None
        if since:
            parsed = _parse_cursor(since)
            if parsed is not None:
                version_sum, agents, built_ms = parsed
                if agents == len(self.rows):
                    if version_sum == self.version_sum:
                        return None
                    threshold = built_ms - OVERLAP_MS
                    rows = [
                        self.rows[agent_id]
                        for agent_id, changed in self.changed_ms.items()
                        if changed >= threshold
                    ]
        full = rows is None
        return {
            "version": self.cursor,
            "full": full,
            "server_ms": self.built_ms,
            "fields": list(FIELDS),
            "agents": sorted(self.rows.values(), key=lambda r: (r[2], r[1], r[0]))
            if full
            else rows,
            "counts": self.counts(),
            "totals": self.totals(),
        }

    def reply(self, since: str | None = None) -> str | None:
        """`feed(since)` as the JSON text the API sends, built once per snapshot and cursor."""
        key = since or ""
        if key in self._replies:
            return self._replies[key]
        feed = self.feed(since)
        text = None if feed is None else json.dumps(feed, ensure_ascii=False, separators=(",", ":"))
        if len(self._replies) < MAX_CACHED_REPLIES:
            self._replies[key] = text  # a race only builds the same text twice
        return text


def is_cursor(text: str) -> bool:
    """Whether `text` has the shape of a board version this API hands out (`Snapshot.cursor`)."""
    parts = text.split(".")
    return len(parts) == 3 and all(p.isascii() and p.isdigit() and len(p) <= 18 for p in parts)


def _parse_cursor(cursor: str) -> tuple[int, int, int] | None:
    parts = cursor.split(".")
    if len(parts) != 3 or not all(p.isascii() and p.isdigit() for p in parts):
        return None
    return int(parts[0]), int(parts[1]), int(parts[2])


class BoardCache:
    """One snapshot per container, rebuilt at most once per `refresh_ms` whoever asks."""

    def __init__(
        self,
        store: PresenceStore,
        settle: Callable[[Presence, int], Presence],
        effective: Callable[[Presence, int], Presence],
        is_due: Callable[[Presence, int], bool],
        refresh_ms: int,
        clock: Clock,
    ) -> None:
        self._store = store
        self._settle = settle
        self._effective = effective
        self._is_due = is_due
        self._refresh_ms = refresh_ms
        self._clock = clock
        self._snapshot: Snapshot | None = None
        self._fresh_until = 0
        self._failure: StorageUnavailable | None = None
        self._failed_until = 0
        self._lock = threading.Lock()
        self.builds = 0

    def snapshot(self) -> Snapshot:
        seen = self._snapshot
        if seen is not None and self._clock() < self._fresh_until:
            return seen
        with self._lock:
            # Someone else built while we waited: theirs is newer than anything we asked for.
            # Rebuilding here would queue one whole Scan per waiting viewer behind the other
            # whenever a Scan takes longer than `refresh_ms`.
            if self._snapshot is not seen and self._snapshot is not None:
                return self._snapshot
            # Likewise a build that just failed: the viewers who waited for it fail with it
            # (the board shows its offline banner and retries) rather than each retrying.
            if self._failure is not None and self._clock() < self._failed_until:
                raise self._failure
            try:
                built = self._build()
            except StorageUnavailable as exc:
                self._failure, self._failed_until = exc, self._clock() + self._refresh_ms
                raise
            self._failure = None
            # Fresh for `refresh_ms` from when it was ready, not from when its Scan began; set
            # before the snapshot is published, so a viewer who sees the new snapshot (outside
            # the lock) never pairs it with the old deadline and rebuilds it at once.
            self._fresh_until = self._clock() + self._refresh_ms
            self._snapshot = built
            return built

    def _build(self) -> Snapshot:
        now = self._clock()
        rows: dict[str, list[Any]] = {}
        changed: dict[str, int] = {}
        version_sum = 0
        settled = 0
        for presence, changed_ms in self._store.scan():
            if self._is_due(presence, now):
                if settled < MAX_SETTLE_PER_BUILD:
                    settled += 1
                    presence = self._settle(presence, now)
                    changed_ms = now
                else:
                    presence = self._effective(presence, now)
            rows[presence.agent_id] = _row(presence)
            changed[presence.agent_id] = changed_ms
            version_sum += presence.version
        self.builds += 1
        count("PresenceBoardBuilt")
        if settled:
            logger.info("board settled due timers", agents=settled)
        return Snapshot(rows=rows, changed_ms=changed, built_ms=now, version_sum=version_sum)


def timer_due(timers: Any) -> Callable[[Presence, int], bool]:
    return lambda p, now: due_event(p, now, timers) is not None
