"""A small floor on the in-process stack with every agent signed in and available: the start of
rehearsal tests that place a few calls and watch what the app and the stand-in do with them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ops.simulate import directory
from ops.standin.engine import CallerPlan
from ops.standin.harness import Stack, day_start, in_process_stack
from ops.standin.population import AgentProfile, Population
from ops.standin.truth import CallTruth


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


def call_from_an_owned_customer(
    stack: Stack, customers: list[dict[str, Any]], patience: float = 900.0
) -> tuple[str, CallTruth]:
    """A customer with an owner calls, patient, for a 30-second talk; the day runs until the call
    ends (or 20 minutes). The call's sid and its ground truth."""
    standin = stack.standin
    customer = next(c for c in customers if c["owner_agent_id"])
    sid = standin.place_call(
        CallerPlan(
            caller=customer["phone"],
            patience=patience,
            talk_seconds=30.0,
            customer_id=customer["customer_id"],
            owner_agent_id=customer["owner_agent_id"],
            team=customer["team"],
        )
    )
    truth = stack.truth.get(sid)
    assert truth is not None
    while truth.ended_at is None and standin.now() < truth.placed_at + 1200:
        standin.clock.run(until=standin.now() + 10)
    return sid, truth
