"""Issue 3's figures: presence at 1000 agents and 200 boards, against moto in-process.

With `--http`, the same load over a real HTTP stack instead (ops/benchmarks/presence_http.py):
that mode measures the change -> board latency this in-process mode cannot.

Simulates agents changing state (manual choices and TaskRouter reservations, ~1 change per
agent per 30 s on average) through the real use cases (`PresenceService`, the code the API and
the TaskRouter subscriber run), Lambda containers serving `GET /presence` from their snapshots
(`BoardCache`), boards polling with `since`, and the stream consumer in 1 s batches. Counts AWS
requests with a botocore event hook. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import random
import threading
import time
from collections import Counter
from typing import Any

from ops.benchmarks.common import AwsRequestCounter, percentile, use_moto_in_process

WRITE_OPERATIONS = {"UpdateItem", "PutItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops bench presence")
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--teams", type=int, default=20)
    parser.add_argument("--boards", type=int, default=200)
    parser.add_argument(
        "--containers", type=int, default=4, help="Lambda containers serving boards"
    )
    parser.add_argument("--change-every", type=float, default=30.0, help="mean s between changes")
    parser.add_argument("--poll-seconds", type=float, default=1.5, help="board poll interval")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the steady run")
    parser.add_argument("--max-rate-seconds", type=float, default=8.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--http",
        action="store_true",
        help="measure over HTTP: chalice local + moto server, agents and boards as HTTP clients",
    )
    parser.add_argument("--threads", type=int, default=8, help="--http: agents' client threads")
    parser.add_argument("--probe-seconds", type=float, default=3.0, help="--http: Scan probe")
    parser.add_argument(
        "--dynamodb",
        choices=("dynalite", "moto"),
        default="dynalite",
        help="--http: the engine serving DynamoDB (every other service stays on moto)",
    )
    parser.add_argument(
        "--ramp",
        type=lambda text: [float(r) for r in text.split(",") if r],
        default=[33.0, 50.0, 67.0, 100.0, 133.0, 167.0, 200.0],
        help="--http: change rates (per s) tried after the steady run, until one misses p99 < 3 s",
    )
    parser.add_argument("--step-seconds", type=float, default=20.0, help="--http: per ramp rate")
    args = parser.parse_args(argv)
    if args.http:
        from ops.benchmarks.presence_http import main_http

        return main_http(args)

    use_moto_in_process()
    import boto3
    from moto import mock_aws

    from chalicelib import bootstrap
    from chalicelib.platform.settings import Settings
    from ops.infra import create_local_resources
    from ops.stage import stage_environment
    from tests.fakes.twilio_http import RecordingHttpClient

    serialise_moto()
    with mock_aws(), contextlib.redirect_stdout(io.StringIO()) as app_output:
        settings = Settings.from_environment(
            {**stage_environment("local"), "PUBLIC_BASE_URL": "https://bench.example/api"}
        )
        session = boto3.session.Session(region_name=settings.aws_region)
        create_local_resources(session, settings)
        container = bootstrap.Container(
            settings=settings, boto_session=session, twilio_http_client=RecordingHttpClient()
        )
        figures = Bench(args, container, session).run()
    del app_output
    for line in figures:
        print(line)
    return 0


def serialise_moto() -> None:
    """moto's DynamoDB backend is not thread-safe (a Scan during an UpdateItem can crash, two
    conditional writes can both pass). DynamoDB is; so every backend call here holds one lock."""
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()
    for name in ("update_item", "put_item", "get_item", "scan", "query", "batch_write_item"):
        original = getattr(DynamoDBBackend, name, None)
        if original is None:
            continue

        def locked(*a: Any, _original: Any = original, **k: Any) -> Any:
            with lock:
                return _original(*a, **k)

        setattr(DynamoDBBackend, name, locked)


class Bench:
    def __init__(self, args: argparse.Namespace, container: Any, session: Any) -> None:
        self.args = args
        self.container = container
        self.session = session
        self.rng = random.Random(args.seed)
        self.lock = threading.Lock()
        # (agent, version) -> wall time the write returned; what the boards wait to see.
        self.written: dict[tuple[str, int], float] = {}
        self.stream: list[tuple[Any, Any]] = []
        self.latencies: list[float] = []
        self.errors: Counter[str] = Counter()
        self.build_seconds: list[float] = []
        # What the simulated agents believe they are doing (not read from DynamoDB: the
        # benchmark's own reads would count against the app's).
        self.states: dict[str, Any] = {}

    def setup(self) -> list[str]:
        from chalicelib.bootstrap import Container

        c: Container = self.container
        agents_table = c.dynamodb.Table(c.settings.routing.agents_table)
        ids = [f"agent{n:04d}" for n in range(self.args.agents)]
        with agents_table.batch_writer() as batch:
            for n, agent_id in enumerate(ids):
                batch.put_item(
                    Item={
                        "agent_id": agent_id,
                        "name": f"Agent {n:04d}",
                        "team": f"team{n % self.args.teams:02d}",
                        "worker_sid": f"WK{n:032x}",
                    }
                )
        self._record_writes()
        for agent_id in ids:
            c.presence.sign_in(agent_id)
        with self.lock:
            self.stream.clear()
        return ids

    def _record_writes(self) -> None:
        store = self.container.presence_store
        original = store.save
        bench = self

        def save(change: Any) -> int:
            changed_ms = original(change)
            with bench.lock:
                bench.written[(change.after.agent_id, change.after.version)] = time.monotonic()
                bench.stream.append((change.before, change.after))
                bench.states[change.after.agent_id] = change.after.state
            return changed_ms

        store.save = save

    def change(self, agent_id: str, rng: random.Random) -> None:
        """One step of an agent's day, chosen from what the agent is doing now."""
        from chalicelib.presence.domain import AgentState as S
        from chalicelib.presence.domain import Event

        service = self.container.presence
        state = self.states.get(agent_id)
        if state is None:
            return
        now = self.container.clock()
        task = f"WT{rng.getrandbits(64):032x}"
        roll = rng.random()
        if state == S.AVAILABLE:
            if roll < 0.5:
                service.apply_external(agent_id, Event.OFFERED, now, task)
            else:
                service.choose(agent_id, "break" if roll < 0.75 else "away")
        elif state == S.RINGING:
            event = Event.ACCEPTED if roll < 0.85 else Event.MISSED
            service.apply_external(agent_id, event, now, task)
        elif state == S.ON_CALL:
            service.apply_external(agent_id, Event.CALL_ENDED, now, task)
        else:
            service.choose(agent_id, "available")

    def changers(self, ids: list[str], rate: float | None, seconds: float, threads: int) -> int:
        """Drive changes at `rate` per second (None: as fast as they go) for `seconds`."""
        deadline = time.monotonic() + seconds
        done = Counter[str]()

        def run(worker: int) -> None:
            rng = random.Random(self.args.seed * 1000 + worker)
            interval = threads / rate if rate else 0.0
            next_at = time.monotonic() + rng.random() * interval
            while True:
                if interval:
                    next_at += rng.expovariate(1 / interval)
                    pause = next_at - time.monotonic()
                    if pause > 0:
                        time.sleep(pause)
                if time.monotonic() >= deadline:
                    return
                try:
                    self.change(rng.choice(ids), rng)
                    done["ok"] += 1
                except Exception as exc:  # noqa: BLE001 - counted and printed as a figure
                    self.errors[type(exc).__name__] += 1

        pool = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        return done["ok"]

    def boards(self, seconds: float, stop: threading.Event) -> dict[str, float]:
        """200 boards polling, spread over the containers' snapshots; records change latency."""
        from chalicelib.presence.board import BoardCache, timer_due

        c = self.container
        service = c.presence
        caches = [
            BoardCache(
                c.presence_store,
                settle=service.settle,
                effective=service.effective,
                is_due=timer_due(service.timers),
                refresh_ms=int(c.settings.presence.presence_board_refresh_seconds * 1000),
                clock=c.clock,
            )
            for _ in range(self.args.containers)
        ]
        rng = random.Random(self.args.seed)
        poll = self.args.poll_seconds
        boards = [
            {"cursor": "", "seen": {}, "cache": rng.choice(caches), "next": rng.random() * poll}
            for _ in range(self.args.boards)
        ]
        polls = not_modified = 0
        started = time.monotonic()
        while not stop.is_set() and time.monotonic() - started < seconds:
            board = min(boards, key=lambda b: b["next"])
            wait = started + board["next"] - time.monotonic()
            if wait > 0:
                time.sleep(min(wait, 0.05))
                continue
            board["next"] += poll
            builds = board["cache"].builds
            asked = time.monotonic()
            feed = board["cache"].snapshot().feed(board["cursor"] or None)
            if board["cache"].builds != builds:
                self.build_seconds.append(time.monotonic() - asked)
            polls += 1
            if feed is None:
                not_modified += 1
                continue
            board["cursor"] = feed["version"]
            now = time.monotonic()
            seen: dict[str, int] = board["seen"]
            for row in feed["agents"]:
                agent_id, version = row[0], row[6]
                if seen.get(agent_id, 0) >= version:
                    continue
                seen[agent_id] = version
                written = self.written.get((agent_id, version))
                if written is not None and not feed["full"]:
                    self.latencies.append(now - written)
        return {
            "polls": polls,
            "not_modified": not_modified,
            "builds": sum(cache.builds for cache in caches),
        }

    def stream_consumer(self, stop: threading.Event, counter: Counter[str]) -> None:
        """The stream's Lambda: one invocation per 1 s batching window with records in it."""
        from boto3.dynamodb.types import TypeSerializer

        from chalicelib.api.agents import handle_stream_records
        from chalicelib.presence.store import item_from_presence

        serializer = TypeSerializer()

        def image(p: Any) -> dict[str, Any]:
            return {k: serializer.serialize(v) for k, v in item_from_presence(p, 0).items()}

        while not stop.wait(1.0):
            with self.lock:
                batch, self.stream = self.stream, []
            if not batch:
                continue
            records = [
                ("MODIFY", image(before) if before.version else None, image(after))
                for before, after in batch
            ]
            for start in range(0, len(records), 500):  # batch_size=500
                handle_stream_records(records[start : start + 500], self.container)
                counter["invocations"] += 1
            counter["records"] += len(records)

    def run(self) -> list[str]:
        args = self.args
        # Before setup: clients copy the session's event hooks when they are created.
        counter = AwsRequestCounter(self.session)
        ids = self.setup()
        rate = args.agents / args.change_every
        stop = threading.Event()
        stream_counts: Counter[str] = Counter()
        board_figures: dict[str, float] = {}

        def boards() -> None:
            board_figures.update(self.boards(args.seconds + 3, stop))

        consumer = threading.Thread(target=self.stream_consumer, args=(stop, stream_counts))
        viewer = threading.Thread(target=boards)
        consumer.start()
        viewer.start()
        counter.reset()
        stored_before = len(self.written)
        started = time.monotonic()
        changes = self.changers(ids, rate, args.seconds, threads=4)
        elapsed = time.monotonic() - started
        time.sleep(3)  # let the boards catch the last changes
        stop.set()
        viewer.join()
        consumer.join()
        ops = Counter(counter.by_operation)
        stored = len(self.written) - stored_before  # requested changes + timers that fired
        scans = ops["Scan"]
        presence_writes = ops["UpdateItem"]
        history_batches = ops["BatchWriteItem"]
        twilio_posts = len(self.container.twilio._http_client.calls("POST"))

        # Highest sustained rate: changes unthrottled (8 threads) with the boards still polling.
        stop_max = threading.Event()
        viewer = threading.Thread(target=self.boards, args=(args.max_rate_seconds + 1, stop_max))
        viewer.start()
        self.latencies_steady = list(self.latencies)
        max_started = time.monotonic()
        max_changes = self.changers(ids, None, args.max_rate_seconds, threads=8)
        max_elapsed = time.monotonic() - max_started
        stop_max.set()
        viewer.join()

        latencies = self.latencies_steady
        polls = board_figures.get("polls", 0) or 1
        return [
            f"presence: {args.agents} agents in {args.teams} teams, {args.boards} boards polling "
            f"every {args.poll_seconds:g} s over {args.containers} Lambda containers, "
            f"moto in-process, {elapsed:.0f} s steady run",
            f"  change rate: target {rate:.1f}/s, reached {changes / elapsed:.1f}/s "
            f"({changes} changes; errors: {dict(self.errors) or 'none'})",
            f"  stored changes: {stored} ({stored - changes} by timers: wrap-up ends, lost "
            "heartbeats)",
            f"  DynamoDB writes per change (presence item): {presence_writes / stored:.3f} "
            f"UpdateItem ({presence_writes - stored} lost a version race and were redone); "
            f"reads per change: {ops['GetItem'] / stored:.3f} GetItem (consistent)",
            f"  history: {stream_counts['records']} records in {history_batches} BatchWriteItem "
            f"requests ({history_batches / max(changes, 1):.3f} requests per change, off the "
            "request path)",
            f"  board: {board_figures.get('polls', 0):.0f} polls "
            f"({board_figures.get('not_modified', 0):.0f} answered 304), "
            f"{board_figures.get('builds', 0):.0f} snapshot builds = {scans} Scan requests: "
            f"{scans / polls:.4f} DynamoDB reads per board refresh",
            f"  Lambda invocations per change: 1 (the API or TaskRouter event) + "
            f"{stream_counts['invocations'] / max(changes, 1):.3f} (stream consumer, "
            f"{stream_counts['invocations']} invocations) = "
            f"{1 + stream_counts['invocations'] / max(changes, 1):.3f}",
            f"  TaskRouter activity updates: {twilio_posts} for {changes} changes "
            "(ringing and on-call are not mirrored)",
            f"  change -> board latency: p50 {percentile(latencies, 50):.2f} s, "
            f"p99 {percentile(latencies, 99):.2f} s, max {max(latencies, default=0):.2f} s "
            f"({len(latencies)} observations)",
            f"  snapshot build (one Scan of {args.agents} items in moto, GIL shared with the "
            f"writers): p50 {percentile(self.build_seconds, 50):.2f} s, "
            f"p99 {percentile(self.build_seconds, 99):.2f} s",
            f"  highest sustained change rate on this machine (8 threads, unthrottled, boards "
            f"polling): {max_changes / max_elapsed:.0f} changes/s",
        ]
