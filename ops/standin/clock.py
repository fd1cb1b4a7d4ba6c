"""Virtual time for the stand-in: as fast as possible (deterministic) or real time x speed.

Every action of the stand-in (a caller arriving, an agent answering, a callback being sent)
is scheduled at a virtual time. With `speed=0` the clock jumps from one action to the next and
a run is exactly repeatable; with `speed=X` one real second is X virtual seconds.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from typing import Any


class Scheduler:
    def __init__(self, start: float, speed: float = 0.0) -> None:
        self.speed = speed
        self._start = start
        self._virtual = start
        self._real0 = time.monotonic()
        self._heap: list[tuple[float, int, Callable[..., Any], tuple[Any, ...]]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self.stopped = threading.Event()

    @property
    def fast(self) -> bool:
        return self.speed <= 0

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
                if not self.fast:
                    wait = (when - self.now()) / self.speed
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
