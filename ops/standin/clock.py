"""Virtual time for the stand-in: as fast as possible (deterministic) or real time x speed.

Every action of the stand-in (a caller arriving, an agent answering, a callback being sent)
is scheduled at a virtual time. With `speed=0` the clock jumps from one action to the next and
a run is exactly repeatable; with `speed=X` one real second is X virtual seconds. `pace=X` keeps
the clock virtual (the same run, action for action, as `speed=0`) but never lets it run ahead of
X virtual seconds per real second: a rehearsal that can be watched as it happens.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from typing import Any


class Scheduler:
    def __init__(self, start: float, speed: float = 0.0, *, pace: float = 0.0) -> None:
        self.speed = speed
        self.pace = pace
        self._paced_from: tuple[float, float] | None = None  # (real, virtual) of the first action
        self._start = start
        self._virtual = start
        self._real0 = time.monotonic()
        self._heap: list[tuple[float, int, Callable[..., Any], tuple[Any, ...]]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self.stopped = threading.Event()

    @property
    def fast(self) -> bool:
        """Virtual time: it moves only from one action to the next (paced or not)."""
        return self.speed <= 0

    def _ahead_of_pace(self, when: float) -> float:
        """Real seconds to wait before an action at `when` keeps a paced clock on its pace."""
        if self.pace <= 0:
            return 0.0
        # Anchored at the first action, not at construction: setting a stack up takes real time.
        if self._paced_from is None:
            self._paced_from = (time.monotonic(), self._virtual)
        real, virtual = self._paced_from
        return real + (when - virtual) / self.pace - time.monotonic()

    def now(self) -> float:
        if self.fast:
            return self._virtual
        return self._start + (time.monotonic() - self._real0) * self.speed

    def at(self, when: float, action: Callable[..., Any], *args: Any) -> None:
        with self._cond:
            heapq.heappush(self._heap, (when, next(self._seq), action, args))
            self._cond.notify()

    def after(self, delay: float, action: Callable[..., Any], *args: Any) -> None:
        self.at(self.now() + max(0.0, delay), action, *args)

    def pending(self) -> int:
        with self._cond:
            return len(self._heap)

    def next_time(self) -> float | None:
        with self._cond:
            return self._heap[0][0] if self._heap else None

    def run(self, until: float | None = None, idle_exit: bool = True) -> None:
        """Run actions in time order until `until` (virtual), or until none are left."""
        while not self.stopped.is_set():
            with self._cond:
                if not self._heap:
                    if idle_exit:
                        return
                    self._cond.wait(timeout=0.2)
                    continue
                when = self._heap[0][0]
                if until is not None and when > until:
                    if self.fast:
                        self._virtual = max(self._virtual, until)
                    return
                wait = (
                    (when - self.now()) / self.speed if not self.fast else self._ahead_of_pace(when)
                )
                if wait > 0:
                    self._cond.wait(timeout=min(wait, 0.5))
                    continue
                _, _, action, args = heapq.heappop(self._heap)
                if self.fast:
                    self._virtual = max(self._virtual, when)
            action(*args)

    def stop(self) -> None:
        self.stopped.set()
        with self._cond:
            self._cond.notify_all()
