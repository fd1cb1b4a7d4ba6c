"""`make run` end to end: moto server, demo data, chalice local, a signed call routed by owner.

Ports are picked free so a developer's own `make run` does not collide; every process binds to
127.0.0.1 and is stopped by the test.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest

from chalicelib.platform.settings import LOCAL_AUTH_TOKEN
from ops.local_process import local_stack_process
from ops.webhooks import new_sid, post_signed


@pytest.fixture
def local_stack() -> Iterator[tuple[dict[str, int], str]]:
    with local_stack_process(timeout=120) as running:
        yield {"api": running.ports.api, "moto": running.ports.moto}, running.text()


def test_make_run_serves_a_routed_call_from_demo_data(
    local_stack: tuple[dict[str, int], str],
) -> None:
    ports, output = local_stack
    assert "customers: 500 written" in output or "customers: 0 written, 500 unchanged" in output
    command = next(line for line in output.splitlines() if "python -m ops call" in line)
    caller = command.split()[-1]
    base = f"http://127.0.0.1:{ports['api']}"
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
