"""The board's shared snapshot when a Scan is slow: viewers wait for one build, not one each."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.platform.errors import StorageUnavailable
from chalicelib.presence.board import BoardCache
from chalicelib.presence.domain import AgentState, Presence

REFRESH_MS = 1000
SCAN_MS = 3000  # a Scan slower than the refresh interval (moto's, or a throttled table's)


class SlowStore:
    """A presence table whose Scan takes SCAN_MS of the clock (and a little real time)."""

    def __init__(self, clock: list[int]) -> None:
        self.clock = clock
        self.scans = 0

    def scan(self) -> Iterator[tuple[Presence, int]]:
        self.scans += 1
        time.sleep(0.05)  # long enough for every viewer thread to queue behind the lock
        self.clock[0] += SCAN_MS
        yield Presence("sato", "tokyo", AgentState.AVAILABLE, version=self.scans), 0


def cache(store: SlowStore, clock: list[int]) -> BoardCache:
    def unchanged(p: Presence, now: int) -> Presence:
        return p

    return BoardCache(
        store,  # type: ignore[arg-type]
        settle=unchanged,
        effective=unchanged,
        is_due=lambda p, now: False,
        refresh_ms=REFRESH_MS,
        clock=lambda: clock[0],
    )


def test_viewers_waiting_for_a_slow_build_share_it_instead_of_rebuilding_in_turn() -> None:
    clock = [1_000_000]
    store = SlowStore(clock)
    board = cache(store, clock)
    got: list[Any] = []
    start = threading.Barrier(8)

    def viewer() -> None:
        start.wait()
        got.append(board.snapshot())

    threads = [threading.Thread(target=viewer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert store.scans == 1
    assert len({id(snapshot) for snapshot in got}) == 1


def test_a_snapshot_is_fresh_for_the_refresh_interval_from_when_it_was_ready() -> None:
    clock = [1_000_000]
    store = SlowStore(clock)
    board = cache(store, clock)
    first = board.snapshot()  # its Scan began at 1_000_000 and ended SCAN_MS later
    clock[0] += REFRESH_MS - 1
    assert board.snapshot() is first
    clock[0] += 1
    assert board.snapshot() is not first
    assert store.scans == 2


class FailingStore(SlowStore):
    def scan(self) -> Iterator[tuple[Presence, int]]:
        self.scans += 1
        time.sleep(0.05)
        self.clock[0] += SCAN_MS
        raise StorageUnavailable("presence scan failed: read timeout")
        yield  # a generator, like the real scan


def test_viewers_waiting_for_a_failed_build_fail_with_it_instead_of_retrying_in_turn() -> None:
    clock = [1_000_000]
    store = FailingStore(clock)
    board = cache(store, clock)
    failures: list[Exception] = []
    start = threading.Barrier(8)

    def viewer() -> None:
        start.wait()
        try:
            board.snapshot()
        except StorageUnavailable as exc:
            failures.append(exc)

    threads = [threading.Thread(target=viewer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(failures) == 8
    assert store.scans == 1
    clock[0] += REFRESH_MS  # the next refresh tries the table again
    with pytest.raises(StorageUnavailable):
        board.snapshot()
    assert store.scans == 2


def _snapshot(version: int, built_ms: int) -> Any:
    from chalicelib.presence.board import Snapshot

    rows = {
        f"a{n}": [f"a{n}", f"A {n}", "tokyo", "available", "manual", 0, version] for n in range(3)
    }
    return Snapshot(
        rows=rows,
        changed_ms={agent: built_ms for agent in rows},
        built_ms=built_ms,
        version_sum=3 * version,
    )


def test_a_reply_is_the_feed_as_json_built_once_per_snapshot_and_cursor() -> None:
    import json

    older, snapshot = _snapshot(1, 1_000_000), _snapshot(2, 1_001_000)
    for since in (None, older.cursor, snapshot.cursor, "not-a-cursor"):
        text = snapshot.reply(since)
        feed = snapshot.feed(since)
        assert (json.loads(text) if text is not None else None) == feed
        assert snapshot.reply(since) is text  # the same text, not rebuilt
    assert snapshot.reply(snapshot.cursor) is None  # nothing changed: 304
    assert json.loads(snapshot.reply(older.cursor) or "")["full"] is False


def test_cursors_beyond_the_cache_are_still_answered_right() -> None:
    import json

    from chalicelib.presence.board import MAX_CACHED_REPLIES

    snapshot = _snapshot(2, 1_001_000)
    cursors = [f"{n}.3.1000000" for n in range(100, 100 + MAX_CACHED_REPLIES + 5)]
    for cursor in cursors:
        text = snapshot.reply(cursor)
        assert text is not None
        assert json.loads(text) == snapshot.feed(cursor)
