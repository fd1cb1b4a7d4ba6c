"""Presence over a real HTTP stack: change -> board latency, measured, not worked out.

`python -m ops bench presence --http` starts the local stack (`python -m ops local --no-sim`:
the moto server in its own process, `chalice local` in another) on free ports, adds N bench
agents (directory rows and Cognito users), signs them in through the API, then for the steady
run:

- agents change state through `PUT /agents/me/status` with their own ID tokens, at a Poisson
  rate of N / change_every per second;
- M boards poll `GET /presence?since=<version>` like `web/board/board.js` does (wait the poll
  interval after each answer, merge rows by version);
- a probe times a bare Scan of the presence table against the moto server every few seconds:
  that is moto's share of every snapshot build, which DynamoDB does in tens of milliseconds.

DynamoDB requests are counted at the moto server with its request recorder
(`/moto-api/recorder/*`, `MOTO_RECORDER_FILEPATH`), the probe's own Scans excluded by their
User-Agent. Latency of a change on a board: from the moment the agent's PUT was sent to the
moment a board's answer holding that version (or newer) arrived, over every board that was
already watching. Prints figures; asserts nothing. Every process started here is stopped.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ops.benchmarks.common import percentile
from ops.local_process import local_stack_process

PROBE_AGENT = "presence-bench-probe"
CHOICES = ("available", "away", "break")


@dataclass
class LocalStack:
    api_url: str
    moto_url: str
    region: str
    pool_id: str
    client_id: str
    recording: Path


@contextmanager
def local_stack(recording: Path) -> Iterator[LocalStack]:
    """`python -m ops local --no-sim` on free ports, moto recording its requests."""
    env = {
        "MOTO_RECORDER_FILEPATH": str(recording),
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        # Bench agents send no heartbeats (their cost is one UpdateItem per agent per interval,
        # in docs/presence.md): without this the lost-heartbeat timer would move them all.
        "PRESENCE_HEARTBEAT_TIMEOUT_SECONDS": "3600",
    }
    with local_stack_process(env=env) as running:
        yield LocalStack(
            api_url=running.api_url,
            moto_url=running.moto_url,
            region=running.region,
            pool_id=running.pool_id,
            client_id=running.client_id,
            recording=recording,
        )


def _session(region: str) -> Any:
    import boto3

    return boto3.session.Session(
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - moto's dummy credentials
    )


def request(
    base: str, method: str, path: str, token: str, body: Any = None, timeout: float = 30
) -> tuple[int, bytes]:
    """One HTTP request on its own connection (chalice local closes each one anyway)."""
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(
        parts.hostname or "127.0.0.1", parts.port, timeout=timeout
    )
    try:
        headers = {"Authorization": f"Bearer {token}"}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def moto_recorder(moto_url: str, action: str) -> None:
    status, body = request(moto_url, "POST", f"/moto-api/recorder/{action}-recording", "")
    if status != 200:
        raise SystemExit(f"moto recorder {action}: {status} {body[:200]!r}")


def recorded_operations(recording: Path) -> Counter[str]:
    """DynamoDB/Cognito operations the moto server received, by X-Amz-Target (probe excluded)."""
    operations: Counter[str] = Counter()
    if not recording.exists():
        return operations
    with recording.open(encoding="utf-8") as handle:
        for line in handle:
            entry = json.loads(line)
            headers = {k.lower(): v for k, v in entry["headers"].items()}
            if PROBE_AGENT in headers.get("user-agent", ""):
                continue
            target = headers.get("x-amz-target", "")
            operations[target.split(".")[-1] or entry["method"] + " " + entry["url"]] += 1
    return operations


@dataclass
class Agent:
    agent_id: str
    token: str
    state: str = "available"
    busy: bool = False


@dataclass
class Observed:
    """What the run saw; every list is appended to by many threads (list.append is atomic)."""

    # (agent_id, version) -> (PUT sent, PUT answered), monotonic seconds
    writes: dict[tuple[str, int], tuple[float, float]] = field(default_factory=dict)
    put_seconds: list[float] = field(default_factory=list)
    poll_seconds: list[float] = field(default_factory=list)
    from_click: list[float] = field(default_factory=list)
    from_commit: list[float] = field(default_factory=list)
    probe_scan_seconds: list[float] = field(default_factory=list)
    polls: int = 0
    not_modified: int = 0
    full: int = 0
    changes: int = 0
    errors: Counter[str] = field(default_factory=Counter)


class HttpBench:
    def __init__(self, args: Any, stack: LocalStack) -> None:
        self.args = args
        self.stack = stack
        self.seen = Observed()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.agents: list[Agent] = []
        self.session = _session(stack.region)

    # --- setup -------------------------------------------------------------------------------

    def setup(self) -> None:
        from ops.cognito_local import LocalPool, ensure_user, id_token
        from ops.stage import settings_for

        settings = settings_for("local")
        dynamodb = self.session.resource("dynamodb", endpoint_url=self.stack.moto_url)
        ids = [f"bench{n:04d}" for n in range(self.args.agents)]
        with dynamodb.Table(settings.routing.agents_table).batch_writer() as batch:
            for n, agent_id in enumerate(ids):
                batch.put_item(
                    Item={
                        "agent_id": agent_id,
                        "name": f"Bench {n:04d}",
                        "team": f"bench-{n % self.args.teams:02d}",
                        "worker_sid": f"WK{n:032x}",
                    }
                )
        pool = LocalPool(self.stack.pool_id, self.stack.client_id)

        def enrol(agent_id: str) -> Agent:
            cognito = self.session.client("cognito-idp", endpoint_url=self.stack.moto_url)
            ensure_user(cognito, pool, agent_id)
            agent = Agent(agent_id, id_token(cognito, pool, agent_id))
            status, body = request(self.stack.api_url, "POST", "/agents/me/session", agent.token)
            if status != 200:
                raise SystemExit(f"sign-in of {agent_id} failed: {status} {body[:200]!r}")
            agent.state = json.loads(body)["state"]
            return agent

        with ThreadPoolExecutor(8) as pool_executor:
            self.agents = list(pool_executor.map(enrol, ids))
        cognito = self.session.client("cognito-idp", endpoint_url=self.stack.moto_url)
        self.board_token = id_token(cognito, pool, "supervisor")

    # --- the load ----------------------------------------------------------------------------

    def change_one(self, rng: random.Random) -> None:
        with self.lock:
            idle = [a for a in rng.sample(self.agents, min(8, len(self.agents))) if not a.busy]
            if not idle:
                return
            agent = idle[0]
            agent.busy = True
        try:
            choice = rng.choice([c for c in CHOICES if c != agent.state])
            sent = time.monotonic()
            status, body = request(
                self.stack.api_url, "PUT", "/agents/me/status", agent.token, {"state": choice}
            )
            answered = time.monotonic()
            if status != 200:
                self.seen.errors[f"PUT {status}"] += 1
                return
            reply = json.loads(body)
            agent.state = reply["state"]
            self.seen.writes[(agent.agent_id, int(reply["version"]))] = (sent, answered)
            self.seen.put_seconds.append(answered - sent)
            self.seen.changes += 1
        except OSError as exc:
            self.seen.errors[type(exc).__name__] += 1
        finally:
            agent.busy = False

    def changers(self, rate: float | None, seconds: float, threads: int) -> tuple[int, float]:
        """Changes at `rate` per second (Poisson; None: as fast as they go) for `seconds`."""
        before = self.seen.changes
        started = time.monotonic()
        deadline = started + seconds

        def run(worker: int) -> None:
            rng = random.Random(self.args.seed * 1000 + worker)
            interval = threads / rate if rate else 0.0
            next_at = time.monotonic()
            while True:
                if interval:
                    next_at += rng.expovariate(1 / interval)
                    pause = min(next_at, deadline) - time.monotonic()
                    if pause > 0:
                        time.sleep(pause)
                if time.monotonic() >= deadline:
                    return
                self.change_one(rng)

        pool = [threading.Thread(target=run, args=(n,), daemon=True) for n in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        return self.seen.changes - before, time.monotonic() - started

    def board(self, number: int) -> None:
        """One board page: poll, merge by version, wait the interval, again (as board.js does)."""
        rng = random.Random(self.args.seed * 7919 + number)
        cursor = ""
        versions: dict[str, int] = {}
        watching_since: float | None = None
        self.stop.wait(rng.random() * self.args.poll_seconds)
        while not self.stop.is_set():
            path = "/presence" + (f"?since={cursor}" if cursor else "")
            sent = time.monotonic()
            try:
                status, body = request(self.stack.api_url, "GET", path, self.board_token)
            except OSError as exc:
                self.seen.errors[f"board {type(exc).__name__}"] += 1
                self.stop.wait(self.args.poll_seconds)
                continue
            arrived = time.monotonic()
            self.seen.poll_seconds.append(arrived - sent)
            self.seen.polls += 1
            if status == 304:
                self.seen.not_modified += 1
            elif status == 200:
                feed = json.loads(body)
                self.seen.full += bool(feed["full"])
                cursor = feed["version"]
                for row in feed["agents"]:
                    agent_id, version = row[0], row[6]
                    if versions.get(agent_id, 0) >= version:
                        continue
                    versions[agent_id] = version
                    write = self.seen.writes.get((agent_id, version))
                    if write and watching_since is not None and write[0] >= watching_since:
                        self.seen.from_click.append(arrived - write[0])
                        self.seen.from_commit.append(max(0.0, arrived - write[1]))
                if watching_since is None:
                    watching_since = arrived
            else:
                self.seen.errors[f"board {status}"] += 1
            self.stop.wait(self.args.poll_seconds)

    def probe(self) -> None:
        """moto's own cost of one snapshot build: a bare Scan of the presence table, timed."""
        from botocore.config import Config

        from ops.stage import settings_for

        table = self.session.resource(
            "dynamodb",
            endpoint_url=self.stack.moto_url,
            config=Config(user_agent_extra=PROBE_AGENT),
        ).Table(settings_for("local").presence.presence_table)
        while not self.stop.wait(self.args.probe_seconds):
            started = time.perf_counter()
            kwargs: dict[str, Any] = {}
            while True:
                page = table.scan(**kwargs)
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
            self.seen.probe_scan_seconds.append(time.perf_counter() - started)

    # --- the run -----------------------------------------------------------------------------

    def run(self) -> list[str]:
        args = self.args
        setup_started = time.monotonic()
        self.setup()
        setup_seconds = time.monotonic() - setup_started
        background = [
            threading.Thread(target=self.board, args=(n,), daemon=True) for n in range(args.boards)
        ]
        background.append(threading.Thread(target=self.probe, daemon=True))
        for thread in background:
            thread.start()
        time.sleep(args.poll_seconds + 2)  # every board has its first (full) answer
        polls_before = self.seen.polls
        not_modified_before = self.seen.not_modified
        moto_recorder(self.stack.moto_url, "reset")
        moto_recorder(self.stack.moto_url, "start")
        rate = args.agents / args.change_every
        load_before = os.getloadavg()[0]
        changes, elapsed = self.changers(rate, args.seconds, threads=args.threads)
        time.sleep(args.poll_seconds + 2)  # let the boards catch the last changes
        moto_recorder(self.stack.moto_url, "stop")
        polls = self.seen.polls - polls_before
        not_modified = self.seen.not_modified - not_modified_before
        operations = recorded_operations(self.stack.recording)
        steady = {
            "click": list(self.seen.from_click),
            "commit": list(self.seen.from_commit),
            "put": list(self.seen.put_seconds),
            "poll": list(self.seen.poll_seconds),
            "probe": list(self.seen.probe_scan_seconds),
        }
        # Highest sustained rate: changes unthrottled, the boards still polling.
        max_changes, max_elapsed = self.changers(None, args.max_rate_seconds, args.threads * 2)
        self.stop.set()
        for thread in background:
            thread.join(timeout=35)

        scans = operations["Scan"]
        updates = operations["UpdateItem"]
        gets = operations["GetItem"]
        n = max(changes, 1)
        s = steady

        def p(values: list[float], q: float) -> str:
            return f"{percentile(values, q):.2f}"

        return [
            f"presence over HTTP: {args.agents} bench agents (+ the demo floor) in {args.teams} "
            f"teams, {args.boards} boards polling every {args.poll_seconds:g} s after each "
            f"answer, chalice local + moto server on this machine ({os.cpu_count()} cores, "
            f"load {load_before:.1f} before the run); setup {setup_seconds:.0f} s",
            f"  change rate: target {rate:.1f}/s, reached {changes / elapsed:.1f}/s "
            f"({changes} PUT /agents/me/status in {elapsed:.0f} s; errors: "
            f"{dict(self.seen.errors) or 'none'})",
            f"  PUT /agents/me/status answered in p50 {p(s['put'], 50)} s, p99 {p(s['put'], 99)} s",
            f"  DynamoDB writes per change: {updates / n:.3f} UpdateItem; reads per change: "
            f"{gets / n:.3f} GetItem (counted at the moto server)",
            f"  board: {polls} polls ({not_modified} answered 304), {scans} Scan requests "
            f"at the moto server: {scans / max(polls, 1):.4f} DynamoDB reads per board refresh "
            f"({scans / elapsed:.2f} Scans/s)",
            f"  GET /presence answered in p50 {p(s['poll'], 50)} s, p99 {p(s['poll'], 99)} s "
            "(the p99 is a request that waited for a snapshot build)",
            f"  moto's share: a bare Scan of the presence table on the moto server takes "
            f"p50 {p(s['probe'], 50)} s, p99 {p(s['probe'], 99)} s ({len(s['probe'])} probes); "
            "DynamoDB scans ~250 KB in tens of ms",
            f"  change -> board, from the PUT being sent: p50 {p(s['click'], 50)} s, "
            f"p99 {p(s['click'], 99)} s, max {max(s['click'], default=0):.2f} s "
            f"({len(s['click'])} observations: changes x boards)",
            f"  change -> board, from the PUT's answer: p50 {p(s['commit'], 50)} s, "
            f"p99 {p(s['commit'], 99)} s",
            f"  all operations at the moto server during the run: {dict(operations.most_common())}",
            f"  highest sustained change rate through chalice local ({args.threads * 2} clients, "
            f"unthrottled, boards polling): {max_changes / max(max_elapsed, 1e-9):.1f} changes/s",
        ]


def main_http(args: Any) -> int:
    with (
        tempfile.TemporaryDirectory(prefix="presence-bench-") as folder,
        local_stack(Path(folder) / "moto-recording.jsonl") as stack,
    ):
        figures = HttpBench(args, stack).run()
    for line in figures:
        print(line)
    return 0
