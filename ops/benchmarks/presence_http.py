"""Presence over a real HTTP stack: change -> board latency, measured, not worked out.

`python -m ops bench presence --http` starts the local stack (`python -m ops local --no-sim`:
the moto server in its own process, `chalice local` in another) on free ports, adds N bench
agents (directory rows and Cognito users), signs them in through the API, then for the steady
run:

- agents change state through `PUT /agents/me/status` with their own ID tokens, at a Poisson
  rate of N / change_every per second;
- M boards poll `GET /presence?since=<version>` like `web/board/board.js` does (wait the poll
  interval after each answer, merge rows by version);
- a probe times a bare Scan of the presence table against the DynamoDB engine every few
  seconds: that engine's share of every snapshot build.

DynamoDB is served by moto's server or, with `--dynamodb=dynalite` (the default), by dynalite
(ops/dynalite.py) on its own free port: boto3's per-service endpoint variable
(`AWS_ENDPOINT_URL_DYNAMODB`) sends DynamoDB there and every other service (Cognito, S3, SQS,
Step Functions) to moto. DynamoDB requests are counted where they are served: moto's request
recorder (`/moto-api/recorder/*`) or dynalite's own counter, the probe's Scans excluded by
their User-Agent.

Latency of a change on a board: from the moment the agent's PUT was sent to the moment a
board's answer holding that version (or newer) arrived, over every board that was already
watching. After the steady run, a ramp of rising change rates (each held for `--step-seconds`)
finds the highest one whose change -> board p99 stays under 3 s. Prints figures; asserts
nothing. Every process started here is stopped.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import random
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ops.benchmarks.common import percentile
from ops.dynalite import Dynalite, dynalite_server
from ops.local_process import local_stack_process

PROBE_AGENT = "presence-bench-probe"
CHOICES = ("available", "away", "break")
# The figure the issue asks for: a change on every board within 3 s, at the 99th percentile.
GOAL_P99_SECONDS = 3.0


@dataclass
class LocalStack:
    api_url: str
    moto_url: str
    dynamodb_url: str
    region: str
    pool_id: str
    client_id: str
    recording: Path


@contextmanager
def local_stack(recording: Path, dynalite: Dynalite | None) -> Iterator[LocalStack]:
    """`python -m ops local --no-sim` on free ports, moto recording its requests; DynamoDB on
    dynalite when one is given (boto3's per-service endpoint variable), the rest on moto."""
    env = {
        "MOTO_RECORDER_FILEPATH": str(recording),
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        # Bench agents send no heartbeats (their cost is one UpdateItem per agent per interval,
        # in docs/presence.md): without this the lost-heartbeat timer would move them all.
        "PRESENCE_HEARTBEAT_TIMEOUT_SECONDS": "3600",
    }
    if dynalite is not None:
        env["AWS_ENDPOINT_URL_DYNAMODB"] = dynalite.url
        env["DYNAMODB_ENGINE"] = "dynalite"
    with local_stack_process(env=env) as running:
        yield LocalStack(
            api_url=running.api_url,
            moto_url=running.moto_url,
            dynamodb_url=dynalite.url if dynalite is not None else running.moto_url,
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


class DynamoDBCounter:
    """DynamoDB requests the app sent during a window, counted where they were served."""

    def __init__(self, stack: LocalStack, dynalite: Dynalite | None) -> None:
        self._stack = stack
        self._dynalite = dynalite

    def start(self) -> None:
        if self._dynalite is not None:
            self._dynalite.reset_counts()
        else:
            moto_recorder(self._stack.moto_url, "reset")
            moto_recorder(self._stack.moto_url, "start")

    def stop(self) -> Counter[str]:
        if self._dynalite is not None:
            return self._dynalite.counts()
        moto_recorder(self._stack.moto_url, "stop")
        return recorded_operations(self._stack.recording)


def _descendants_cpu() -> dict[str, float]:
    """CPU seconds (user + system) so far of this process and every process below it, by role:
    which of them a saturated run spends the machine's cores on (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    names: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        cpu[pid] = (int(fields[11]) + int(fields[12])) / ticks
        names[pid] = _role(command)
    mine = {os.getpid()}
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in mine and pid not in mine:
                mine.add(pid)
                grew = True
    roles: dict[str, float] = {}
    for pid in mine:
        role = "this benchmark (agents, boards)" if pid == os.getpid() else names[pid]
        roles[role] = roles.get(role, 0.0) + cpu[pid]
    return roles


def _role(command: str) -> str:
    for marker, role in (
        ("ops.chalice_local", "chalice local"),
        ("ops.moto_server", "moto server"),
        ("serve.mjs", "dynalite"),
        ("serve-web", "web server"),
        ("ops local", "ops local (parent)"),
    ):
        if marker in command:
            return role
    return command[:40] or "?"


@dataclass
class Agent:
    agent_id: str
    token: str
    state: str = "available"
    busy: bool = False


@dataclass
class Observed:
    """What the run saw; every list is appended to by many threads (list.append is atomic).

    Timed lists hold (when the change or request was sent, seconds), so a window of the run
    (the steady run, one step of the ramp) selects its own.
    """

    # (agent_id, version) -> (PUT sent, PUT answered), monotonic seconds
    writes: dict[tuple[str, int], tuple[float, float]] = field(default_factory=dict)
    put_seconds: list[tuple[float, float]] = field(default_factory=list)
    poll_seconds: list[tuple[float, float]] = field(default_factory=list)
    from_click: list[tuple[float, float]] = field(default_factory=list)
    from_commit: list[tuple[float, float]] = field(default_factory=list)
    probe_scan_seconds: list[tuple[float, float]] = field(default_factory=list)
    polls: int = 0
    not_modified: int = 0
    changes: int = 0
    errors: Counter[str] = field(default_factory=Counter)


def within(values: list[tuple[float, float]], start: float, end: float) -> list[float]:
    return [value for at, value in list(values) if start <= at < end]


@dataclass(frozen=True)
class Step:
    """One rate of the ramp and what it gave."""

    target: float
    reached: float
    changes: int
    p50: float
    p99: float
    errors: int

    @property
    def held(self) -> bool:
        return self.p99 < GOAL_P99_SECONDS and self.reached >= 0.9 * self.target and not self.errors


class HttpBench:
    def __init__(self, args: Any, stack: LocalStack, dynalite: Dynalite | None) -> None:
        self.args = args
        self.stack = stack
        self.engine = "dynalite" if dynalite is not None else "moto"
        self.counter = DynamoDBCounter(stack, dynalite)
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
        dynamodb = self.session.resource("dynamodb", endpoint_url=self.stack.dynamodb_url)
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
                self.seen.errors["no idle agent"] += 1
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
            self.seen.put_seconds.append((sent, answered - sent))
            self.seen.changes += 1
        except OSError as exc:
            self.seen.errors[type(exc).__name__] += 1
        finally:
            agent.busy = False

    def changers(self, rate: float, seconds: float) -> tuple[int, float]:
        """Changes at `rate` per second (Poisson) for `seconds`, from enough client threads that
        a slow answer does not hold the next change back (agents are independent browsers)."""
        threads = max(self.args.threads, math.ceil(rate))
        before = self.seen.changes
        started = time.monotonic()
        deadline = started + seconds

        def run(worker: int) -> None:
            rng = random.Random(self.args.seed * 1000 + worker + int(rate) * 7)
            interval = threads / rate
            next_at = started  # each thread a Poisson process from the start
            while True:
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
            self.seen.poll_seconds.append((sent, arrived - sent))
            self.seen.polls += 1
            if status == 304:
                self.seen.not_modified += 1
            elif status == 200:
                feed = json.loads(body)
                cursor = feed["version"]
                for row in feed["agents"]:
                    agent_id, version = row[0], row[6]
                    if versions.get(agent_id, 0) >= version:
                        continue
                    versions[agent_id] = version
                    write = self.seen.writes.get((agent_id, version))
                    if write and watching_since is not None and write[0] >= watching_since:
                        self.seen.from_click.append((write[0], arrived - write[0]))
                        self.seen.from_commit.append((write[0], max(0.0, arrived - write[1])))
                if watching_since is None:
                    watching_since = arrived
            else:
                self.seen.errors[f"board {status}"] += 1
            self.stop.wait(self.args.poll_seconds)

    def probe(self) -> None:
        """The engine's own cost of one snapshot build: a bare Scan of the presence table."""
        from botocore.config import Config

        from ops.stage import settings_for

        table = self.session.resource(
            "dynamodb",
            endpoint_url=self.stack.dynamodb_url,
            config=Config(user_agent_extra=PROBE_AGENT),
        ).Table(settings_for("local").presence.presence_table)
        while not self.stop.wait(self.args.probe_seconds):
            started = time.perf_counter()
            at = time.monotonic()
            kwargs: dict[str, Any] = {}
            while True:
                page = table.scan(**kwargs)
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
            self.seen.probe_scan_seconds.append((at, time.perf_counter() - started))

    def ramp(self) -> list[Step]:
        """Rising rates, each held `step_seconds`, until one misses the goal (boards polling)."""
        steps: list[Step] = []
        for rate in self.args.ramp:
            errors_before = sum(self.seen.errors.values())
            started = time.monotonic()
            changes, elapsed = self.changers(rate, self.args.step_seconds)
            time.sleep(self.args.poll_seconds + 3)  # the boards catch this step's changes
            click = within(self.seen.from_click, started, started + elapsed)
            steps.append(
                Step(
                    target=rate,
                    reached=changes / elapsed,
                    changes=changes,
                    p50=percentile(click, 50),
                    p99=percentile(click, 99),
                    errors=sum(self.seen.errors.values()) - errors_before,
                )
            )
            if not steps[-1].held:
                break
        return steps

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
        self.counter.start()
        rate = args.agents / args.change_every
        load_before = os.getloadavg()
        cpu_before = _descendants_cpu()
        started = time.monotonic()
        changes, elapsed = self.changers(rate, args.seconds)
        cpu = {
            role: seconds - cpu_before.get(role, 0.0)
            for role, seconds in _descendants_cpu().items()
        }
        time.sleep(args.poll_seconds + 2)  # let the boards catch the last changes
        operations = self.counter.stop()
        load_after = os.getloadavg()
        polls = self.seen.polls - polls_before
        not_modified = self.seen.not_modified - not_modified_before
        end = started + elapsed
        click = within(self.seen.from_click, started, end)
        commit = within(self.seen.from_commit, started, end)
        put = within(self.seen.put_seconds, started, end)
        poll = within(self.seen.poll_seconds, started, end)
        probe = within(self.seen.probe_scan_seconds, started, end + args.poll_seconds + 2)
        errors = dict(self.seen.errors)
        steps = self.ramp() if args.ramp else []
        self.stop.set()
        for thread in background:
            thread.join(timeout=35)

        scans = operations["Scan"]
        updates = operations["UpdateItem"]
        gets = operations["GetItem"]
        n = max(changes, 1)

        def p(values: list[float], q: float) -> str:
            return f"{percentile(values, q):.2f}"

        held = [step for step in steps if step.held]
        ramp_lines = [
            f"    {step.target:.0f}/s asked, {step.reached:.1f}/s reached, {step.changes} "
            f"changes: change -> board p50 {step.p50:.2f} s, p99 {step.p99:.2f} s"
            + (f", {step.errors} errors" if step.errors else "")
            + ("" if step.held else "  <- misses the goal")
            for step in steps
        ]
        if held:
            best = f"{max(step.reached for step in held):.1f} changes/s"
        else:
            best = "none of the rates tried" if steps else "not measured (no --ramp)"
        return [
            f"presence over HTTP: {args.agents} bench agents (+ the demo floor) in {args.teams} "
            f"teams, {args.boards} boards polling every {args.poll_seconds:g} s after each "
            f"answer, chalice local + moto server + DynamoDB on {self.engine}, all on this "
            f"machine ({os.cpu_count()} cores; load average {load_before[0]:.1f} before the "
            f"run, {load_after[0]:.1f} after it); setup {setup_seconds:.0f} s",
            f"  change rate: target {rate:.1f}/s, reached {changes / elapsed:.1f}/s "
            f"({changes} PUT /agents/me/status in {elapsed:.0f} s; errors: {errors or 'none'})",
            f"  PUT /agents/me/status answered in p50 {p(put, 50)} s, p99 {p(put, 99)} s",
            f"  DynamoDB writes per change: {updates / n:.3f} UpdateItem; reads per change: "
            f"{gets / n:.3f} GetItem (counted at {self.engine})",
            f"  board: {polls} polls ({not_modified} answered 304), {scans} Scan requests at "
            f"{self.engine}: {scans / max(polls, 1):.4f} DynamoDB reads per board refresh "
            f"({scans / elapsed:.2f} Scans/s)",
            f"  GET /presence answered in p50 {p(poll, 50)} s, p99 {p(poll, 99)} s "
            "(the p99 is a request that waited for a snapshot build)",
            f"  {self.engine}'s share: a bare Scan of the presence table takes p50 "
            f"{p(probe, 50)} s, p99 {p(probe, 99)} s ({len(probe)} probes); DynamoDB scans "
            "~250 KB in tens of ms",
            f"change -> board: p50 {p(click, 50)} s, p99 {p(click, 99)} s over {changes} changes "
            f"({args.agents} agents, {args.boards} boards, dynamodb={self.engine})",
            f"  (from the PUT being sent, {len(click)} observations: changes x boards watching; "
            f"max {max(click, default=0):.2f} s; from the PUT's answer: p50 {p(commit, 50)} s, "
            f"p99 {p(commit, 99)} s)",
            f"  all DynamoDB operations at {self.engine} during the steady run: "
            f"{dict(operations.most_common())}",
            f"  CPU during the steady run ({elapsed:.0f} s, {os.cpu_count()} cores = "
            f"{elapsed * (os.cpu_count() or 1):.0f} core-seconds): "
            + ", ".join(
                f"{role} {seconds:.1f} s ({seconds / elapsed:.0%} of a core)"
                for role, seconds in sorted(cpu.items(), key=lambda kv: -kv[1])
                if seconds >= 0.05
            ),
            f"highest sustained change rate with change -> board p99 < {GOAL_P99_SECONDS:g} s: "
            f"{best}"
            + (
                f" ({args.step_seconds:g} s per rate, {args.boards} boards polling)"
                if steps
                else ""
            ),
            *ramp_lines,
        ]


def main_http(args: Any) -> int:
    with ExitStack() as stack:
        folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="presence-bench-"))
        dynalite = (
            stack.enter_context(dynalite_server(ignore_user_agent=PROBE_AGENT))
            if args.dynamodb == "dynalite"
            else None
        )
        running = stack.enter_context(local_stack(Path(folder) / "moto-recording.jsonl", dynalite))
        figures = HttpBench(args, running, dynalite).run()
    for line in figures:
        print(line)
    return 0
