"""`make run` end to end: moto server, demo data, chalice local, a signed call routed by owner.

Ports are picked free so a developer's own `make run` does not collide; every process binds to
127.0.0.1 and is stopped by the test.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from chalicelib.config import LOCAL_AUTH_TOKEN
from ops.webhooks import new_sid, post_signed

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def local_stack() -> object:
    ports = {"api": free_port(), "moto": free_port(), "web": free_port()}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TWILIO_", "PUBLIC_"))}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ops",
            "local",
            "--api-port",
            str(ports["api"]),
            "--moto-port",
            str(ports["moto"]),
            "--web-port",
            str(ports["web"]),
            "--no-sim",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    deadline = time.monotonic() + 120
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        output.append(line)
        if "Ctrl-C stops everything" in line:
            break
    try:
        assert any("running locally" in line for line in output), "".join(output)
        yield ports, "".join(output)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


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
