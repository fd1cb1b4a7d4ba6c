"""`make run` end to end: moto server, demo data, chalice local, a signed call routed by owner,
and a waiting call's escalation timeline running on moto's server.

Ports are picked free so a developer's own `make run` does not collide; every process binds to
127.0.0.1 and is stopped by the test. Twilio's side is the stand-in (ops/standin/), run in this
process as `make run`'s gentle day runs it, but with nobody to answer: the app reaches the
stand-in's REST API through `TWILIO_API_BASE_URL`; the stand-in places the call and sends
TaskRouter's events, signed, as Twilio does.
"""

from __future__ import annotations

import json
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from chalicelib.platform.settings import LOCAL_AUTH_TOKEN
from ops.local_process import RunningStack, free_ports, local_stack_process
from ops.webhooks import new_sid, post_signed

# Every stage of the timeline lasts a second: Wait states take real time on moto.
FAST_TIMELINE = {
    "ESCALATION_OWNER_SECONDS": "1",
    "ESCALATION_TEAM_SECONDS": "1",
    "ESCALATION_EVERYONE_SECONDS": "1",
}


@dataclass
class LocalStack:
    running: RunningStack
    standin: Any

    def aws(self, service: str) -> Any:
        return boto3.session.Session(
            region_name=self.running.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # moto's dummy credentials
        ).client(service, endpoint_url=self.running.moto_url)

    def available_agents(self) -> set[str]:
        """The demo agents the seeded presence table has available."""
        from ops.stage import local_defaults

        table = local_defaults().presence.presence_table
        items = self.aws("dynamodb").scan(TableName=table)["Items"]
        return {i["agent_id"]["S"] for i in items if i["state"]["S"] == "available"}


@pytest.fixture(scope="module")
def local_stack() -> Iterator[LocalStack]:
    from app import app
    from chalicelib.platform.settings import load_twilio_credentials
    from ops.standin.clock import Scheduler
    from ops.standin.engine import Chaos, Standin
    from ops.standin.harness import account_for, app_routes, local_settings
    from ops.standin.population import Population
    from ops.standin.rest import Rest
    from ops.standin.server import RestServer
    from ops.standin.transport import HttpTransport
    from ops.standin.truth import GroundTruth

    ports = free_ports()
    api_url = f"http://127.0.0.1:{ports.api}"
    settings = local_settings(public_base_url=api_url)
    clock = Scheduler(start=time.time(), speed=1.0)
    population = Population([], seed=16)
    standin = Standin(
        account_for(settings),
        HttpTransport(api_url, load_twilio_credentials(settings).auth_token),
        clock,
        population,
        GroundTruth(),
        app_routes(app),
        # Twilio delivers callbacks at least once: every one of them twice here.
        chaos=Chaos(duplicate=1.0, seed=16),
        seed=16,
    )
    population.standin = standin
    server = RestServer(Rest(standin), 0).start()
    threading.Thread(target=clock.run, kwargs={"idle_exit": False}, daemon=True).start()
    env = {"TWILIO_API_BASE_URL": server.url, **FAST_TIMELINE}
    try:
        with local_stack_process(ports, env, timeout=120) as running:
            yield LocalStack(running, standin)
    finally:
        clock.stop()
        server.stop()


def test_make_run_serves_a_routed_call_from_demo_data(local_stack: LocalStack) -> None:
    output = local_stack.running.text()
    assert "customers: 500 written" in output or "customers: 0 written, 500 unchanged" in output
    command = next(line for line in output.splitlines() if "python -m ops call" in line)
    caller = command.split()[-1]
    base = local_stack.running.api_url
    status, body = post_signed(
        base + "/twilio/voice/incoming",
        {
            "CallSid": new_sid("CA"),
            "AccountSid": "AC" + "0" * 32,
            "From": caller,
            "To": "+81300000000",
            "CallStatus": "ringing",
        },
        LOCAL_AUTH_TOKEN,
    )
    assert status == 200, body
    task = ET.fromstring(body).find("./Enqueue/Task")
    assert task is not None and task.text
    attributes = json.loads(task.text)
    assert attributes["customer_id"].startswith("C")
    assert attributes["owner_agent_id"]
    assert attributes["stage"] in {"owner", "team", "everyone"}
    assert not attributes["routing_degraded"]

    unsigned_status, _ = post_signed(base + "/twilio/voice/incoming", {"CallSid": "x"}, "wrong")
    assert unsigned_status == 403


def _place_call(standin: Any, caller: str) -> str:
    """Place the call on the stand-in's clock thread, as the gentle day does; its sid."""
    from ops.standin.engine import CallerPlan

    placed: list[str] = []
    done = threading.Event()

    def place() -> None:
        try:
            plan = CallerPlan(caller=caller, patience=120.0, talk_seconds=5.0, digits="1")
            placed.append(standin.place_call(plan))
        finally:
            done.set()

    standin.clock.after(0, place)
    assert done.wait(30), "the stand-in never placed the call"
    return placed[0]


def _timeline_starts(output: str, task_sid: str) -> int:
    """How often chalice local's log says it started (or found running) the task's timeline."""
    starts = 0
    for line in output.splitlines():
        if line.startswith("{") and '"escalation timeline ' in line:
            record = json.loads(line)
            starts += record.get("task_sid") == task_sid and record["message"] in {
                "escalation timeline started",
                "escalation timeline already running",
            }
    return starts


def _succeeded_outputs(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        json.loads(e["lambdaFunctionSucceededEventDetails"]["output"])
        for e in history
        if e["type"] == "LambdaFunctionSucceeded"
    ]


def test_a_waiting_call_has_one_escalation_execution_named_after_its_task(
    local_stack: LocalStack,
) -> None:
    from chalicelib.telephony.phone_numbers import caller_e164
    from ops.demo import demo_agents, demo_customers
    from ops.escalation import state_machine_name

    # A customer whose owner is available (by the app's presence): the call starts with them.
    available = local_stack.available_agents()
    customer = next(c for c in demo_customers(demo_agents()) if c["owner_agent_id"] in available)
    caller = caller_e164(customer["phone"], "JP") or customer["phone"]
    standin = local_stack.standin
    call_sid = _place_call(standin, caller)

    sfn = local_stack.aws("stepfunctions")
    machine = next(
        m["stateMachineArn"]
        for m in sfn.list_state_machines()["stateMachines"]
        if m["name"] == state_machine_name("local")
    )
    # Nobody can answer: the timeline walks owner, team, everyone (a second each) to the
    # fallback menu, and ends.
    deadline = time.monotonic() + 60
    while True:
        tasks = [t for t in list(standin.tasks.values()) if t.call_sid == call_sid]
        executions = sfn.list_executions(stateMachineArn=machine)["executions"]
        if tasks and executions and all(e["status"] != "RUNNING" for e in executions):
            break
        assert time.monotonic() < deadline, (
            f"tasks {[(t.sid, t.status) for t in tasks]}, executions {executions}\n"
            + local_stack.running.text()[-3000:]
        )
        time.sleep(0.5)

    assert len(tasks) == 1
    task = tasks[0]
    # One execution, named after the task, though the app asked Step Functions for it on every
    # delivery of its events (each came twice): the name makes the start idempotent.
    assert [e["name"] for e in executions] == [task.sid]
    assert _timeline_starts(local_stack.running.text(), task.sid) >= 2
    execution = executions[0]
    history = sfn.get_execution_history(executionArn=execution["executionArn"])["events"]
    entered = [
        e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e
    ]
    assert execution["status"] == "SUCCEEDED", (execution, entered)
    assert entered[-1] == "FallbackOffered", entered
    # Our steps ran (moto's Lambda would have echoed its input, which has no `live`): each
    # returned the stage it entered, in the timeline's order, the last one taking the caller
    # out of the queue to the menu. TaskRouter has no worker for anyone, so nobody answered.
    assert entered[1] == "Owner", entered
    outputs = _succeeded_outputs(history)
    assert [o["stage"] for o in outputs] == ["owner", "team", "everyone", "fallback"], outputs
    assert all(o["live"] is True for o in outputs), outputs
    # ...and wrote each stage to the task at TaskRouter (the stand-in), which canceled the task
    # when the step redirected the call to the menu.
    assert task.attributes["stage"] == "fallback"
    assert task.status == "canceled"


def test_an_unsigned_five_megabyte_post_is_refused_and_the_stack_keeps_answering(
    local_stack: LocalStack,
) -> None:
    """Issue 20: refused on its missing signature before the body is parsed (the timing is
    printed by `python -m ops bench hostile-input`, not asserted)."""
    import urllib.error
    import urllib.request

    from chalicelib.telephony import webhooks

    base = local_stack.running.api_url
    request = urllib.request.Request(  # noqa: S310 - the local stack's http URL
        base + webhooks.INCOMING,
        data=b"CallSid=" + b"A" * (5 * 1024 * 1024),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)  # noqa: S310 - as above
    assert refused.value.code == 403
    assert b"missing X-Twilio-Signature" in refused.value.read()
    status, _ = post_signed(
        base + webhooks.INCOMING,
        {
            "CallSid": new_sid("CA"),
            "AccountSid": "AC" + "0" * 32,
            "From": "+81312345678",
            "To": "+81300000000",
            "CallStatus": "ringing",
        },
        LOCAL_AUTH_TOKEN,
    )
    assert status == 200
