"""Issue 2's figures: requests per incoming call, handler latency, cold-start proxy.

Runs the real app in-process against moto with the demo data, signing every request with
twilio's RequestValidator, and a recording fake in place of Twilio's HTTP client.

The figures are the routed path's (the caller enqueued into TaskRouter, then the reservation
answered) whatever day and hour it is: by default the app runs with a calendar open around
the clock. `--hours configured` keeps the configured calendar instead (BUSINESS_HOURS, else
the bundled one), and `--at` sets the app's clock, so the closed-hours path (the fallback menu,
no `<Task>`) can be measured too: those calls are counted and timed apart from the routed ones.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree

from ops.benchmarks.common import AwsRequestCounter, percentile, use_moto_in_process
from ops.chalice_config import ROOT

FORM = "application/x-www-form-urlencoded"
ALWAYS = "always"
CONFIGURED = "configured"


def _expect_ok(response: Any) -> None:
    if response.status_code != 200:
        raise RuntimeError(f"the app answered {response.status_code}: {response.body!r}")


def task_attributes(twiml: bytes | str) -> dict[str, Any] | None:
    """The task attributes the incoming call's TwiML enqueues (`<Enqueue><Task>`), or None when
    it answers with the closed-hours fallback menu (`<Gather>`) instead."""
    root = ElementTree.fromstring(twiml)  # noqa: S314 - our own TwiML (VoiceResponse), not input
    task = root.find("./Enqueue/Task")
    if task is not None:
        attributes: dict[str, Any] = json.loads(task.text or "")
        return attributes
    if root.find("./Gather") is not None:
        return None
    raise RuntimeError(f"neither an enqueued task nor the fallback menu: {twiml!r}")


def aware_datetime(text: str) -> datetime:
    """`--at`: an ISO 8601 moment with its UTC offset, e.g. 2026-12-05T23:00+09:00."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 date and time") from exc
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no UTC offset (e.g. +09:00)")
    return moment


def fresh_import_cpu_seconds(statement: str, runs: int) -> float:
    """Median CPU time (user + system) of `statement` in a fresh interpreter: a cold-start
    proxy that the machine's other work inflates far less than it inflates wall time."""
    timings = []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([sys.executable, "-c", statement], check=True, cwd=ROOT)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        timings.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(timings)


@dataclass
class CallPath:
    """What the incoming calls that took one path (routed, or closed hours) measured."""

    incoming_ms: list[float]
    aws_requests: list[int]

    def add(self, milliseconds: float, aws_requests: int) -> None:
        self.incoming_ms.append(milliseconds)
        self.aws_requests.append(aws_requests)


def _calendar_text(hours: str) -> tuple[str, str]:
    """(the BUSINESS_HOURS value the app runs with, how the output names it)."""
    from chalicelib.escalation.business_hours import around_the_clock, load_calendar

    configured = os.environ.get("BUSINESS_HOURS", "")
    zone = load_calendar(configured).default.time_zone.key
    if hours == ALWAYS:
        return around_the_clock(zone), f"open around the clock, {zone} (--hours {ALWAYS})"
    source = "BUSINESS_HOURS" if configured else "the bundled business_hours.json"
    return configured, f"{source}, {zone} (--hours {CONFIGURED})"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops bench incoming-call")
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--hours",
        choices=(ALWAYS, CONFIGURED),
        default=ALWAYS,
        help=f"business hours: {ALWAYS} (default; every call takes the routed path) or "
        f"{CONFIGURED} (BUSINESS_HOURS, else the bundled calendar; closed hours are timed apart)",
    )
    parser.add_argument(
        "--at",
        type=aware_datetime,
        help="the app's clock at the first call, e.g. 2026-12-05T23:00+09:00 (default: now)",
    )
    parser.add_argument(
        "--runs", type=int, default=5, help="fresh processes per cold-start figure (median)"
    )
    args = parser.parse_args(argv)
    if args.calls < 1 or args.runs < 1:
        parser.error("--calls and --runs must be at least 1")

    use_moto_in_process()
    import boto3
    from chalice.test import Client
    from moto import mock_aws
    from twilio.request_validator import RequestValidator

    from app import app
    from chalicelib import bootstrap
    from chalicelib.escalation.business_hours import load_calendar
    from chalicelib.platform.settings import Settings
    from chalicelib.telephony import webhooks
    from ops.chalice_config import stage_environment
    from ops.demo import AGENTS_CSV, CUSTOMERS_CSV
    from ops.imports import import_agents, import_customers
    from ops.infra import create_local_resources
    from ops.presence_seed import seed_demo_presence
    from tests.fakes.twilio_http import RecordingHttpClient

    business_hours, calendar_name = _calendar_text(args.hours)
    calendar = load_calendar(business_hours)
    rng = random.Random(args.seed)
    routed = CallPath([], [])
    closed = CallPath([], [])
    assignment_ms: list[float] = []
    stages: dict[str, int] = {}
    with mock_aws():
        settings = Settings.from_environment(
            {
                **stage_environment("local"),
                "PUBLIC_BASE_URL": "https://bench.example/api",
                "BUSINESS_HOURS": business_hours,
            }
        )
        session = boto3.session.Session(region_name=settings.aws_region)
        create_local_resources(session, settings)
        dynamodb = session.resource("dynamodb")
        agents = dynamodb.Table(settings.routing.agents_table)
        import_agents(AGENTS_CSV, agents)
        import_customers(
            CUSTOMERS_CSV, dynamodb.Table(settings.routing.customers_table), agents, "JP"
        )
        seed_demo_presence(dynamodb.Table(settings.presence.presence_table), agents)
        phones = [
            i["phone"] for i in dynamodb.Table(settings.routing.customers_table).scan()["Items"]
        ]

        twilio_http = RecordingHttpClient()
        container = bootstrap.Container(
            settings=settings, boto_session=session, twilio_http_client=twilio_http
        )
        if args.at is not None:
            # The app's clock starts at --at and runs at the wall clock's pace.
            offset_ms = int(args.at.timestamp() * 1000) - int(time.time() * 1000)
            container.clock = lambda: int(time.time() * 1000) + offset_ms
        first_call_at = datetime.fromtimestamp(container.clock() / 1000, UTC)
        bootstrap.use(container)
        counter = AwsRequestCounter(session)
        validator = RequestValidator(container.twilio_credentials.auth_token)

        def post(client: Any, path: str, form: dict[str, str]) -> Any:
            signature = validator.compute_signature(settings.url(path), form)
            return client.http.post(
                path,
                headers={"Content-Type": FORM, "X-Twilio-Signature": signature},
                body=urllib.parse.urlencode(form),
            )

        # The app's metrics are printed (EMF) per request; they are not this script's output.
        try:
            with Client(app) as client, contextlib.redirect_stdout(io.StringIO()):
                for n in range(args.calls):
                    caller = (
                        rng.choice(phones)
                        if rng.random() < 0.8
                        else f"+8190{rng.randint(10**7, 10**8 - 1)}"
                    )
                    form = {
                        "CallSid": f"CA{n:032x}",
                        "AccountSid": settings.telephony.twilio_account_sid,
                        "From": caller,
                        "To": settings.telephony.company_number,
                        "CallStatus": "ringing",
                        "Direction": "inbound",
                    }
                    counter.reset()
                    started = time.perf_counter()
                    response = post(client, webhooks.INCOMING, form)
                    elapsed_ms = (time.perf_counter() - started) * 1000
                    _expect_ok(response)
                    attributes = task_attributes(response.body)
                    if attributes is None:
                        closed.add(elapsed_ms, counter.total)
                        continue
                    routed.add(elapsed_ms, counter.total)
                    stages[attributes["stage"]] = stages.get(attributes["stage"], 0) + 1

                    reservation = {
                        "AccountSid": settings.telephony.twilio_account_sid,
                        "WorkspaceSid": settings.telephony.twilio_workspace_sid,
                        "TaskSid": f"WT{n:032x}",
                        "ReservationSid": f"WR{n:032x}",
                        "WorkerSid": f"WK{n:032x}",
                        "TaskAttributes": json.dumps(attributes),
                        "WorkerAttributes": json.dumps({"agent_id": "sato.haruto"}),
                    }
                    started = time.perf_counter()
                    response = post(client, webhooks.TASKROUTER_ASSIGNMENT, reservation)
                    assignment_ms.append((time.perf_counter() - started) * 1000)
                    _expect_ok(response)
        finally:
            bootstrap.use(None)

    app_import = fresh_import_cpu_seconds("import app", args.runs)
    boto_import = fresh_import_cpu_seconds("import boto3", args.runs)
    # What a traced Lambda adds on its first invocation: the X-Ray SDK and its patching.
    traced = fresh_import_cpu_seconds(
        "import app; from chalicelib.platform.observability import tracer; tracer()", args.runs
    )

    zone = calendar.default.time_zone
    local = first_call_at.astimezone(zone)
    clock = f"--at {args.at.isoformat()}" if args.at is not None else "the wall clock"
    open_then = "open" if calendar.is_open(None, first_call_at) else "closed"
    print(f"business hours: {calendar_name}; the company hours are {open_then} at the first call")
    print(f"app clock: {clock}; first call {local:%a %Y-%m-%d %H:%M} {zone.key}")
    print(
        f"incoming calls: {args.calls} (seed {args.seed}): {len(routed.incoming_ms)} routed, "
        f"first stage {stages}; {len(closed.incoming_ms)} outside hours (fallback menu)"
    )
    for name, path in (("routed", routed), ("outside hours", closed)):
        if path.aws_requests:
            mean_aws = sum(path.aws_requests) / len(path.aws_requests)
            goal = " (goal <= 2)" if path is routed else ""
            print(
                f"AWS requests per incoming call, {name}: max {max(path.aws_requests)}, "
                f"mean {mean_aws:.2f}{goal}"
            )
    print(f"Twilio REST requests in the whole run: {len(twilio_http.requests)} (goal 0)")
    for name, timings in (
        ("incoming-call", routed.incoming_ms),
        ("incoming-call outside hours", closed.incoming_ms),
        ("assignment", assignment_ms),
    ):
        if timings:
            p50, p99 = percentile(timings, 50), percentile(timings, 99)
            print(f"{name} handler (moto in-process): p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    if not routed.incoming_ms:
        print("no call took the routed path (closed hours): `--hours always` measures it")
    ratio = app_import / boto_import
    print(
        f"cold-start proxy (CPU time, median of {args.runs} fresh processes): import app "
        f"{app_import * 1000:.0f} ms, import boto3 {boto_import * 1000:.0f} ms: "
        f"{ratio:.2f}x (goal <= 2x)"
    )
    print(
        f"  plus the X-Ray tracer, built on the first traced invocation: "
        f"{(traced - app_import) * 1000:.0f} ms"
    )
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        print("  (PYTHONDONTWRITEBYTECODE is set: each process compiled chalicelib from source)")
    return 0
