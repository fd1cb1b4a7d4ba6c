"""Issue 5's figures: fold throughput, report run time for a month, DynamoDB requests per webhook.

1. Fold: ~1M events of ~100k synthetic conversations (Twilio's field names, a realistic mix of
   outcomes and missed offers), grouped per conversation and folded; events/s printed, for the
   fold alone and for rebuilding events from stored raw forms plus the fold.
2. Report: a month for 300 agents (~600k conversation records): KPIs, terminal table and the
   HTML report with its three charts; run time printed.
3. Webhook cost: a call's callbacks stored through conversation_facts on moto, counting every
   DynamoDB request with a botocore hook: per new event, per duplicate, per call; with the
   record rebuilt inline (before) and by the events stream's consumer (after).

`python -m ops bench conversations [--conversations 100000] [--records 600000]`
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import defaultdict
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from chalicelib.conversations import events as ce
from chalicelib.conversations.fold import FoldPolicy, fold

T0 = 1_764_000_000_000
AGENTS = [f"agent{i:03d}" for i in range(300)]
TEAMS = [f"team{i:02d}" for i in range(30)]


def _rfc(ms: int) -> str:
    return format_datetime(datetime.fromtimestamp(ms / 1000, UTC))


def synthetic_call(n: int, rng: random.Random, start_ms: int) -> list[ce.Event]:
    """One inbound call's callbacks: the caller's leg, the task, 0-5 offers, the conference."""
    call = f"CA{n:032x}"
    task = f"WT{n:032x}"
    owner = rng.choice(AGENTS)
    team = TEAMS[AGENTS.index(owner) % len(TEAMS)]
    attrs = json.dumps(
        {
            "type": "inbound_call",
            "call_sid": call,
            "caller": f"+8131{n % 10**8:08d}",
            "customer_id": f"C{n % 20000}",
            "owner_agent_id": owner,
            "team": team,
            "stage": "owner",
        }
    )
    events: list[ce.Event] = []
    seq = 0
    ev = 0

    def leg(status: str, at: int, duration: int = 0) -> None:
        nonlocal seq
        form = {
            "CallSid": call,
            "CallStatus": status,
            "From": f"+8131{n % 10**8:08d}",
            "To": "+81300000000",
            "Direction": "inbound",
            "SequenceNumber": str(seq),
            "Timestamp": _rfc(at),
        }
        if status == "completed":
            form["CallDuration"] = str(duration)
        seq += 1
        events.append(ce.voice_event(form))

    def taskrouter(kind: str, at: int, **extra: str) -> None:
        nonlocal ev
        ev += 1
        form = {
            "Sid": f"EV{n:024x}{ev:08x}",
            "EventType": kind,
            "TaskSid": task,
            "TaskAttributes": attrs,
            "Timestamp": str(at // 1000),
            "TimestampMs": str(at),
            **extra,
        }
        events.append(ce.taskrouter_event(form))

    def conference(kind: str, at: int, participant: str) -> None:
        form = {
            "ConferenceSid": f"CF{n:032x}",
            "StatusCallbackEvent": kind,
            "CallSid": participant,
            "SequenceNumber": str(len(events)),
            "Timestamp": _rfc(at),
        }
        events.append(ce.conference_event(form, {"conversation": call}))

    leg("ringing", start_ms)
    taskrouter("task.created", start_ms + 1000)
    t = start_ms + 1000
    roll = rng.random()
    missed = rng.choice((0, 0, 0, 1, 1, 2, 5))
    for r in range(missed):
        worker = json.dumps({"agent_id": owner, "team": team})
        rsid = f"WR{n:024x}{r:08x}"
        taskrouter("reservation.created", t, ReservationSid=rsid, WorkerAttributes=worker)
        taskrouter("reservation.timeout", t + 20000, ReservationSid=rsid)
        t += 20000
    if roll < 0.85:  # answered
        agent = owner if missed == 0 else rng.choice(AGENTS)
        rsid = f"WR{n:024x}{99:08x}"
        worker = json.dumps({"agent_id": agent, "team": team})
        answer = t + rng.randint(1000, 8000)
        taskrouter("reservation.created", t, ReservationSid=rsid, WorkerAttributes=worker)
        taskrouter("reservation.accepted", answer, ReservationSid=rsid)
        conference("participant-join", answer, call)
        end = answer + rng.randint(30_000, 600_000)
        conference("participant-leave", end, call)
        leg("completed", end, (end - start_ms) // 1000)
        taskrouter("task.wrapup", end)
        taskrouter("task.completed", end + 30_000)
    else:  # the caller gives up
        end = t + rng.randint(1000, 60_000)
        leg("completed", end, (end - start_ms) // 1000)
        taskrouter("task.canceled", end, TaskCanceledReason="hangup")
    return events


def bench_fold(conversations: int, seed: int) -> None:
    rng = random.Random(seed)
    calls: dict[str, list[ce.Event]] = {}
    for n in range(conversations):
        events = synthetic_call(n, rng, T0 + n * 2000)
        calls[events[0].conversation_id] = events
    total = sum(len(e) for e in calls.values())
    policy = FoldPolicy()
    started, cpu = time.perf_counter(), time.process_time()
    outcomes: dict[str, int] = defaultdict(int)
    for conversation_id, events in calls.items():
        outcomes[str(fold(conversation_id, events, policy)["outcome"])] += 1
    fold_s, fold_cpu = time.perf_counter() - started, time.process_time() - cpu

    # As a webhook rebuilds: events come back from the store as raw forms and are re-read.
    stored = {
        cid: [(e.source, dict(e.form), dict(e.context)) for e in events]
        for cid, events in calls.items()
    }
    started, cpu = time.perf_counter(), time.process_time()
    for conversation_id, items in stored.items():
        fold(
            conversation_id,
            [ce.from_stored(s, f, c, conversation_id) for s, f, c in items],
            policy,
        )
    full_s, full_cpu = time.perf_counter() - started, time.process_time() - cpu
    print(f"fold: {total:,} events, {conversations:,} conversations (wall; CPU in brackets)")
    print(
        f"  fold only:                {fold_s:6.2f} s  {total / fold_s:10,.0f} events/s"
        f"  [{fold_cpu:.2f} s CPU, {total / fold_cpu:,.0f}/s]"
    )
    print(
        f"  from stored forms + fold: {full_s:6.2f} s  {total / full_s:10,.0f} events/s"
        f"  [{full_cpu:.2f} s CPU, {total / full_cpu:,.0f}/s]"
    )
    print(f"  outcomes: {dict(sorted(outcomes.items()))}")


def synthetic_records(count: int, seed: int) -> list[dict[str, Any]]:
    """Conversation records as fold writes them, for a month of a 300-agent floor."""
    rng = random.Random(seed)
    month_ms = 30 * 86400 * 1000
    outcomes = (
        ["answered"] * 80
        + ["abandoned_in_queue"] * 6
        + ["abandoned_while_ringing"] * 3
        + ["short_abandon"] * 4
        + ["voicemail"] * 3
        + ["callback"] * 2
        + ["outside_hours"] * 1
        + ["failed"] * 1
    )
    # Wrap-up codes from the call's number, not the generator: the other fields stay as before.
    codes = ("商談化", "不在", "折り返し依頼", "対象外", "")
    records = []
    for n in range(count):
        owner = rng.choice(AGENTS)
        outcome = rng.choice(outcomes)
        answered = outcome == "answered"
        wait = int(rng.expovariate(1 / 15000))
        started = T0 + rng.randrange(month_ms)
        agent = owner if rng.random() < 0.6 else rng.choice(AGENTS)
        offers = [{"agent_id": owner, "outcome": "timed_out"}] * rng.choice((0, 0, 0, 1, 2))
        if answered:
            offers = [*offers, {"agent_id": agent, "outcome": "answered"}]
        records.append(
            {
                "conversation_id": f"CA{n:032x}",
                "direction": "outbound" if rng.random() < 0.1 else "inbound",
                "outcome": outcome,
                "customer_id": f"C{rng.randrange(20000)}",
                "owner_agent_id": owner,
                "team": TEAMS[AGENTS.index(owner) % len(TEAMS)],
                "started_ms": started,
                "hour": (started // 3_600_000 + 9) % 24,
                "weekday": (started // 86_400_000 + 3) % 7,
                "queue_wait_ms": wait,
                "answered_by": agent if answered else "",
                "answered_relation": ("owner" if agent == owner else "team") if answered else "",
                "talk_ms": rng.randint(30_000, 600_000) if answered else 0,
                "hold_ms": rng.choice((0, 0, 0, 15_000)) if answered else 0,
                "wrap_ms": rng.randint(0, 60_000) if answered else 0,
                "offers": offers,
                "cost_micros": rng.randint(5_000, 60_000),
                "wrap_up_code": codes[n % len(codes)] if answered else "",
            }
        )
    return records


def compute_empty() -> dict[str, Any]:
    from chalicelib.conversations.kpis import compute

    return compute([])


def bench_report(count: int, seed: int) -> None:
    from datetime import date

    from ops.report import Period, build

    records = synthetic_records(count, seed)
    import ops.report

    ops.report.charts(compute_empty())  # matplotlib's one-off import and font cache, not timed
    started, cpu = time.perf_counter(), time.process_time()
    _text, html_text, _ = build(records, Period(date(2025, 11, 1), date(2025, 11, 30)), 20_000)
    took, took_cpu = time.perf_counter() - started, time.process_time() - cpu
    print(f"report: {count:,} conversation records (a month, 300 agents)")
    print(
        f"  KPIs + terminal table + HTML with 3 charts: {took:.2f} s wall, {took_cpu:.2f} s CPU"
        f" ({len(html_text):,} B of HTML)"
    )


def bench_webhook_cost(seed: int) -> None:
    """DynamoDB requests per webhook and per call, with the record rebuilt inline on every new
    event (as before the stream) and by the events stream's consumer (as deployed)."""
    from ops.benchmarks.common import use_moto_in_process

    use_moto_in_process()
    print("webhook cost (DynamoDB requests, moto, 200 calls, callbacks shuffled):")
    for inline in (True, False):
        _webhook_cost(seed, inline)


def _webhook_cost(seed: int, inline: bool) -> None:
    import contextlib
    import io

    import boto3
    from moto import mock_aws

    from chalicelib import bootstrap
    from chalicelib.platform.settings import Settings
    from ops.benchmarks.common import AwsRequestCounter
    from ops.infra import create_local_resources
    from ops.stage import stage_environment

    rng = random.Random(seed)
    with mock_aws(), contextlib.redirect_stdout(io.StringIO()):
        settings = Settings.from_environment(
            {
                **stage_environment("local"),
                "PUBLIC_BASE_URL": "https://bench.example/api",
                "CONVERSATION_REBUILD_INLINE": "true" if inline else "false",
            }
        )
        session = boto3.session.Session(region_name=settings.aws_region)
        create_local_resources(session, settings)
        container = bootstrap.Container(settings=settings, boto_session=session)
        counter = AwsRequestCounter(session)
        # After the counter: a client created before it hooked the session is not counted.
        ledger = container.ledger
        new_counts: list[int] = []
        dup_counts: list[int] = []
        per_call: list[int] = []
        stream_per_call: list[int] = []
        rebuilds: list[int] = []
        for n in range(200):
            events = synthetic_call(n, rng, T0 + n * 60_000)
            rng.shuffle(events)
            call_total = 0
            for event in events:
                counter.reset()
                ledger.store_event(event)
                new_counts.append(counter.total)
                call_total += counter.total
            per_call.append(call_total)
            for event in events[:3]:
                counter.reset()
                ledger.store_event(event)
                dup_counts.append(counter.total)
            if not inline:
                # The stream consumer: a call's events in batches as a 1 s window groups them.
                # Worst case here: one batch per distinct second of Twilio's clock.
                seconds = {e.occurred_ms // 1000 for e in events}
                counter.reset()
                for _ in seconds:
                    ledger.rebuild_conversations([events[0].conversation_id])
                stream_per_call.append(counter.total)
                rebuilds.append(len(seconds))
    mode = "before: rebuilt inline" if inline else "after: rebuilt by the stream"
    print(f"  {mode}")
    print(
        f"    per new event (webhook):  avg {sum(new_counts) / len(new_counts):.2f}, "
        f"max {max(new_counts)}"
    )
    print(f"    per duplicate (webhook):  avg {sum(dup_counts) / len(dup_counts):.2f}")
    print(
        f"    per call (webhooks):      avg {sum(per_call) / len(per_call):.1f} requests for "
        f"{len(new_counts) / len(per_call):.1f} events"
    )
    if stream_per_call:
        print(
            f"    per call (stream, off the webhook path): avg "
            f"{sum(stream_per_call) / len(stream_per_call):.1f} requests in "
            f"{sum(rebuilds) / len(rebuilds):.1f} rebuilds (one per batch naming the call; "
            "worst case: every event in its own batch)"
        )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops bench conversations")
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--records", type=int, default=600_000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--skip", nargs="*", default=[], choices=["fold", "report", "webhook"])
    args = parser.parse_args(argv)
    if "fold" not in args.skip:
        bench_fold(args.conversations, args.seed)
    if "report" not in args.skip:
        bench_report(args.records, args.seed)
    if "webhook" not in args.skip:
        bench_webhook_cost(args.seed)
    return 0
