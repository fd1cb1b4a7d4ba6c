"""The stand-in's clock: virtual time, as fast as it can or paced, runs the same actions at the
same virtual times; a paced clock never runs ahead of its pace."""

from __future__ import annotations

import time

from ops.standin.clock import Scheduler


def played(clock: Scheduler) -> list[tuple[str, float]]:
    seen: list[tuple[str, float]] = []

    def act(name: str) -> None:
        seen.append((name, clock.now()))
        if name == "first":
            # An action that schedules another, as a caller's hang-up does.
            clock.after(30.0, act, "scheduled by first")

    for name, offset in (("second", 60.0), ("first", 0.0), ("third", 120.0)):
        clock.at(1000.0 + offset, act, name)
    clock.run()
    return seen


def test_a_paced_clock_plays_the_same_actions_at_the_same_virtual_times() -> None:
    assert played(Scheduler(start=1000.0)) == played(Scheduler(start=1000.0, pace=600.0))


def test_a_paced_clock_never_runs_ahead_of_its_pace() -> None:
    clock = Scheduler(start=1000.0, pace=200.0)
    real: list[float] = []
    for offset in (0.0, 100.0, 200.0):
        clock.at(1000.0 + offset, lambda: real.append(time.monotonic()))
    clock.run()
    # 200 virtual seconds at 200 per real second: one real second from the first action.
    assert real[1] - real[0] >= 0.5 - 0.01
    assert real[2] - real[0] >= 1.0 - 0.01
