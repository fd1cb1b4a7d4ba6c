"""A rehearsal where TaskRouter does not retry a failed event callback and the ledger cannot
store TaskRouter events for twenty minutes: the day's KPIs still equal the truth, because the
backfill job (chalicelib/conversations/backfill.py) reads the lost events back from TaskRouter's
Events resource. Without the job the same day's KPIs differ (the second case): the check can
fail, and does on this fault.

TaskRouter asks for a 204 within 15 s and documents no retry
(https://www.twilio.com/docs/taskrouter/api/event/reference); it keeps every event for 30 days
as the Event resource (https://www.twilio.com/docs/taskrouter/api/event).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ops.simulate import Report, compare_kpis, directory
from ops.standin import harness
from ops.standin.engine import CallerPlan
from ops.standin.harness import in_process_stack
from ops.standin.lambdas import _body
from ops.standin.population import AgentProfile, Population
from ops.standin.taskrouter import TaskRouter

FAULT_SECONDS = 20 * 60


def fail_taskrouter_event_writes(state: dict[str, Any]) -> Callable[[Any], None]:
    """A botocore hook: while `state["on"]`, every PutItem of a TaskRouter event into the events
    table fails as a throttled request does (not executed, the throttling error), as
    ops/simulate.py's `throttle_dynamodb` answers it."""

    class _Http:
        status_code = 400

    def hook(model: Any, params: Any = None, **_: Any) -> Any:
        if not state["on"] or model.name != "PutItem":
            return None
        item = _body(params or {}).get("Item", {})
        if not str(item.get("sk", {}).get("S", "")).startswith("taskrouter#"):
            return None
        state["failed"] += 1
        return _Http(), {
            "Error": {
                "Code": "ProvisionedThroughputExceededException",
                "Message": "Rate of requests exceeds the allowed throughput (rehearsal fault)",
            },
            "ResponseMetadata": {"HTTPStatusCode": 400, "RetryAttempts": 2},
        }

    def install(session: Any) -> None:
        session.events.register("before-call.dynamodb.PutItem", hook)

    return install


@pytest.mark.timeout(600)
@pytest.mark.parametrize("backfill", [True, False], ids=["with-backfill", "without-backfill"])
def test_kpis_equal_the_truth_after_lost_taskrouter_events(
    monkeypatch: pytest.MonkeyPatch, backfill: bool
) -> None:
    monkeypatch.setattr(TaskRouter, "event_retries", False)
    if not backfill:
        skipped = harness.IN_PROCESS_SKIPPED_JOBS | {"backfill_taskrouter_events"}
        monkeypatch.setattr(harness, "IN_PROCESS_SKIPPED_JOBS", skipped)
    agents, customers = directory(4, seed=11)
    profiles = [
        AgentProfile(a["agent_id"], a["team"], a["worker_sid"], miss_rate=0.0) for a in agents
    ]
    population = Population(profiles, seed=11)
    state: dict[str, Any] = {"on": False, "failed": 0}
    with in_process_stack(
        agents,
        customers,
        population,
        seed=11,
        boto_hooks=fail_taskrouter_event_writes(state),
    ) as stack:
        s = stack.standin
        start = s.now()
        population.schedule_day(s, start)
        state["on"] = True
        s.clock.at(start + FAULT_SECONDS, lambda: state.update(on=False))
        callers = [c for c in customers if c["owner_agent_id"]][:6]
        for n in range(12):
            customer = callers[n % len(callers)]
            plan = CallerPlan(
                caller=customer["phone"],
                # Some give up before an agent is free, most are answered after a wait.
                patience=20.0 if n % 4 == 3 else 900.0,
                talk_seconds=240.0 + 30 * n,
                customer_id=customer["customer_id"],
                owner_agent_id=customer["owner_agent_id"],
                team=customer["team"],
            )
            s.clock.at(start + 60 + 60 * n, s.place_call, plan)
        end = start + 3 * 3600
        while s.now() < end:
            s.clock.at(s.now() + 600, lambda: None)
            s.clock.run(until=s.now() + 600)
            truths = stack.truth.calls.values()
            ended = len(truths) == 12 and all(t.ended_at is not None for t in truths)
            # Every call over, and the job has had half an hour past the fault.
            if ended and s.now() > start + FAULT_SECONDS + 1800:
                break
        assert state["failed"] > 0, "the fault never hit a TaskRouter event"
        assert s.stats.counters["CallbacksLost:/twilio/taskrouter/events"] > 0
        report = Report()
        compare_kpis(report, stack)
        [check] = report.checks
    if backfill:
        assert check.status == "PASS", check.detail
    else:
        # Without the job the lost events stay lost: the KPIs are not the truth.
        assert check.status == "FAIL", check.detail
