"""A small floor on the in-process stack with every agent signed in and available: the start of
rehearsal tests that place a few calls and watch what the app and the stand-in do with them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ops.simulate import directory
from ops.standin.harness import Stack, day_start, in_process_stack
from ops.standin.population import AgentProfile, Population


@contextmanager
def available_floor(
    agents: int, seed: int
) -> Iterator[tuple[Stack, list[dict[str, Any]], list[dict[str, Any]]]]:
    """The stack, its agents and its customers; agents never miss a call nor step away, and the
    stand-in records its REST exchanges (`stack.rest.exchanges`)."""
    floor, customers = directory(agents, seed=seed)
    profiles = [
        AgentProfile(a["agent_id"], a["team"], a["worker_sid"], miss_rate=0.0, away_after_miss=0.0)
        for a in floor
    ]
    population = Population(profiles, seed)
    with in_process_stack(floor, customers, population, seed=seed, start=day_start()) as stack:
        stack.rest.exchanges = []
        for agent in floor:
            population._set(agent["agent_id"], "Available")
        stack.standin.clock.run(until=stack.standin.now() + 10)
        yield stack, floor, customers
