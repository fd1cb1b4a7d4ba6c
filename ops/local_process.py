"""`python -m ops local` as a child process on free ports: for tests and benchmarks.

Its output is drained for as long as it runs (chalice local logs every request to that pipe, and
a full pipe would block the API mid-request); it is stopped, children and all, on exit.
"""

from __future__ import annotations

import collections
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ops.local import Ports
from ops.stage import ROOT, stage_environment

READY_LINE = "Ctrl-C stops everything"
TOTP_LINE = re.compile(r"mfa: '([^']+)' has TOTP secret ([A-Z2-7]+)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_ports() -> Ports:
    return Ports(api=free_port(), moto=free_port(), web=free_port(), standin=free_port())


@dataclass
class RunningStack:
    ports: Ports
    region: str
    pool_id: str
    client_id: str
    output: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=2000))
    # Demo users' TOTP secrets as `ops local` printed them (ops/local.py, seed_local_stack).
    totp_secrets: dict[str, str] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.api}"

    @property
    def moto_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.moto}"

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.web}"

    def text(self) -> str:
        return "".join(self.output)


@contextmanager
def local_stack_process(
    ports: Ports | None = None,
    env: Mapping[str, str] | None = None,
    simulate: bool = False,
    timeout: float = 180.0,
) -> Iterator[RunningStack]:
    """Start the local stack (with a clean AWS/Twilio environment plus `env`) and yield it."""
    ports = ports or free_ports()
    child_env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TWILIO_", "PUBLIC_"))
    }
    child_env.update(env or {})
    args = [
        sys.executable, "-m", "ops", "local",
        f"--api-port={ports.api}", f"--moto-port={ports.moto}",
        f"--web-port={ports.web}", f"--standin-port={ports.standin}",
    ] + ([] if simulate else ["--no-sim"])  # fmt: skip
    process = subprocess.Popen(
        args, cwd=ROOT, env=child_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    output: collections.deque[str] = collections.deque(maxlen=2000)
    ready = threading.Event()

    def drain() -> None:
        for line in process.stdout or ():
            output.append(line)
            if READY_LINE in line:
                ready.set()
        ready.set()

    threading.Thread(target=drain, daemon=True).start()
    try:
        ready.wait(timeout=timeout)
        text = "".join(output)
        if "running locally" not in text:
            raise RuntimeError(f"the local stack did not start:\n{text}")
        region = stage_environment("local")["AWS_DEFAULT_REGION"]
        pool_id, client_id = _local_pool(f"http://127.0.0.1:{ports.moto}", region)
        secrets = dict(TOTP_LINE.findall(text))
        # So ops.cognito_local.id_token answers a demo supervisor's code step in this process
        # (tests, benchmarks) as an authenticator app holding the printed secret would.
        from ops import cognito_local

        cognito_local.TOTP_SECRETS.update({(pool_id, u): s for u, s in secrets.items()})
        yield RunningStack(ports, region, pool_id, client_id, output, secrets)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _local_pool(moto_url: str, region: str) -> tuple[str, str]:
    import boto3

    from ops.cognito_local import ensure_pool

    cognito: Any = boto3.session.Session(
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - moto's dummy credentials
    ).client("cognito-idp", endpoint_url=moto_url)
    pool = ensure_pool(cognito)  # finds the pool `ops local` created
    return pool.pool_id, pool.client_id
