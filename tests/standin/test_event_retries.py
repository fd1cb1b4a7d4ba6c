"""TaskRouter documents no retry of event callbacks: "Your application should respond to Event
Callbacks with 204 No Content ... within 15 seconds", and nothing about a 5xx
(https://www.twilio.com/docs/taskrouter/api/event/reference). The app answers 503 when a
subscriber fails, so whether that event comes again is rehearsed both ways.

Here the task.created callback of a waiting caller fails (answered 503 before the app saw it):
retried, it starts the escalation timeline late; not retried, the task's next event while it
waits starts it. Either way the caller is offered the fallback and leaves a voicemail, under
exactly one execution named after the task.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest

from ops.simulate import directory
from ops.standin.harness import in_process_stack
from ops.standin.population import AgentProfile, Population
from ops.standin.taskrouter import TaskRouter
from ops.standin.transport import Reply, Transport
from tests.standin.floor import call_from_an_owned_customer


class FailingTaskCreated:
    """The app's transport, but the first delivery of a caller's task.created answers 503."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.public_base_url = inner.public_base_url
        self.failed: list[str] = []

    def post(self, url: str, form: Mapping[str, str]) -> Reply:
        task_sid = form.get("TaskSid", "")
        live = json.loads(form.get("TaskAttributes") or "{}").get("type") == "inbound_call"
        if form.get("EventType") == "task.created" and live and task_sid not in self.failed:
            self.failed.append(task_sid)
            return Reply(503, '{"failed": ["on_taskrouter_event"]}', 1.0)
        return self.inner.post(url, form)

    def call_json(self, method: str, path: str, token: str, body: Any = None) -> Reply:
        return self.inner.call_json(method, path, token, body)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("retried", [True, False])
def test_a_failed_task_created_still_gives_the_caller_one_timeline_and_the_fallback(
    monkeypatch: pytest.MonkeyPatch, retried: bool
) -> None:
    monkeypatch.setattr(TaskRouter, "event_retries", retried)
    agents, customers = directory(4, seed=8)
    profiles = [
        AgentProfile(a["agent_id"], a["team"], a["worker_sid"], miss_rate=0.0) for a in agents
    ]
    with in_process_stack(agents, customers, Population(profiles, seed=8), seed=8) as stack:
        standin = stack.standin
        failing = FailingTaskCreated(standin.transport)
        standin.transport = failing
        sid, truth = call_from_an_owned_customer(stack, customers)
        [task] = [t for t in standin.tasks.values() if t.call_sid == sid]
        assert failing.failed == [task.sid], "the task.created callback failed once"
        lost = standin.stats.counters["CallbacksLost:/twilio/taskrouter/events"]
        assert lost == (0 if retried else 1)
        machines = stack.state_machines
        assert machines is not None
        assert [e.name for e in machines.executions.values()] == [task.sid]
        assert truth.outcome == "voicemail", truth
