"""ops/dynalite.py: the second DynamoDB engine starts on 127.0.0.1, counts what it serves (less
the probe's requests), and stops by itself when the process that started it goes, even killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from ops.dynalite import dynalite_server
from ops.stage import ROOT


def _client(url: str, user_agent: str | None = None) -> Any:
    return boto3.session.Session(
        region_name="ap-northeast-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    ).client("dynamodb", endpoint_url=url, config=Config(user_agent_extra=user_agent))


def _alive(pid: int) -> bool:
    """Running, not merely a zombie waiting for a PID 1 that may never reap it."""
    try:
        os.kill(pid, 0)
        status = Path(f"/proc/{pid}/status").read_text()
    except (ProcessLookupError, FileNotFoundError):
        return False
    return "\nState:\tZ" not in status


def test_it_serves_on_loopback_and_counts_all_but_the_ignored_agent() -> None:
    with dynalite_server(ignore_user_agent="bench-probe") as server:
        assert server.url.startswith("http://127.0.0.1:")
        app, probe = _client(server.url), _client(server.url, "bench-probe")
        server.reset_counts()
        app.list_tables()
        app.list_tables()
        probe.list_tables()
        assert server.counts() == {"ListTables": 2}
        server.reset_counts()
        assert server.counts() == {}


def test_it_stops_when_the_process_that_started_it_is_killed() -> None:
    owner = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time; from ops.dynalite import dynalite_server\n"
            "with dynalite_server() as s:\n    print(s.pid, flush=True); time.sleep(60)",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert owner.stdout is not None
    pid = int(owner.stdout.readline())
    assert _alive(pid)
    owner.send_signal(signal.SIGKILL)  # no cleanup runs: dynalite sees its stdin close
    owner.wait()
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid)
