"""dynalite: a second DynamoDB engine, for the presence benchmark and the store tests.

dynalite (npm `dynalite`, pinned in ops/dynalite-npm/package.json) implements DynamoDB's API on
LevelDB, in memory here. It validates requests the way DynamoDB does where moto is lenient, and
scans a 1000-item table an order of magnitude faster than moto's server; it has no Streams,
TTL or transactions, so it serves single tables beside moto, never instead of it. boto3 sends
only DynamoDB to it through `AWS_ENDPOINT_URL_DYNAMODB`, every other service stays on moto
(https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html).

The server binds 127.0.0.1 on a free port and stops by itself: it exits when its stdin (held by
this process) closes, so even a killed benchmark leaves nothing running.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from queue import Empty, Queue

from ops.local_process import free_port

FOLDER = Path(__file__).resolve().parent / "dynalite-npm"
# What `npm ci` leaves behind; older than the lock file means the pin moved.
INSTALLED = FOLDER / "node_modules" / ".package-lock.json"


def install() -> None:
    """`npm ci` in ops/dynalite-npm unless the pinned version is there (`make test` does too)."""
    lock = FOLDER / "package-lock.json"
    if INSTALLED.exists() and INSTALLED.stat().st_mtime >= lock.stat().st_mtime:
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("dynalite needs Node.js and npm (apt-get install nodejs npm)")
    subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=FOLDER, check=True
    )
    INSTALLED.touch()


class Dynalite:
    """A running dynalite: its URL and the requests it served, by operation."""

    def __init__(self, process: subprocess.Popen[str], port: int) -> None:
        self._process = process
        self.url = f"http://127.0.0.1:{port}"
        self._lines: Queue[str] = Queue()
        threading.Thread(target=self._drain, daemon=True).start()

    @property
    def pid(self) -> int:
        return self._process.pid

    def _drain(self) -> None:
        for line in self._process.stdout or ():
            self._lines.put(line)

    def _command(self, word: str) -> None:
        stdin = self._process.stdin
        if stdin is None:
            raise RuntimeError("dynalite's stdin is closed")
        stdin.write(word + "\n")
        stdin.flush()

    def reset_counts(self) -> None:
        self._command("reset")

    def counts(self, timeout: float = 10.0) -> Counter[str]:
        """Requests served since the last reset, by operation (ignored User-Agent excluded)."""
        self._command("counts")
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except Empty:
                raise RuntimeError("dynalite did not report its counts") from None
            if line.startswith("{"):
                return Counter({str(k): int(v) for k, v in json.loads(line).items()})


def _wait_up(url: str, process: subprocess.Popen[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except urllib.error.HTTPError:
            return  # it answered (400: no X-Amz-Target): up
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"dynalite did not start on {url}") from None
            time.sleep(0.1)


@contextmanager
def dynalite_server(ignore_user_agent: str = "", timeout: float = 30.0) -> Iterator[Dynalite]:
    """Install (if needed), start on a free 127.0.0.1 port, yield, stop."""
    install()
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("dynalite needs Node.js (apt-get install nodejs)")
    port = free_port()
    process = subprocess.Popen(
        [node, "serve.mjs", str(port), ignore_user_agent],
        cwd=FOLDER,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        server = Dynalite(process, port)
        _wait_up(server.url, process, timeout)
        yield server
    finally:
        if process.stdin is not None:
            process.stdin.close()  # serve.mjs exits on end of input
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
