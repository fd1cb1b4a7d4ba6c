"""Issue 2's figures: requests per incoming call, handler latency, cold-start proxy.

Runs the real app in-process against moto with the demo data, signing every request with
twilio's RequestValidator, and a recording fake in place of Twilio's HTTP client.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import random
import time
import urllib.parse
from typing import Any

from ops.benchmarks.common import (
    AwsRequestCounter,
    fresh_import_seconds,
    percentile,
    use_moto_in_process,
)

FORM = "application/x-www-form-urlencoded"


def _expect_ok(response: Any) -> None:
    if response.status_code != 200:
        raise RuntimeError(f"the app answered {response.status_code}: {response.body!r}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops bench incoming-call")
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    use_moto_in_process()
    import boto3
    from chalice.test import Client
    from moto import mock_aws
    from twilio.request_validator import RequestValidator

    from app import app
    from chalicelib import bootstrap
    from chalicelib.platform.settings import Settings
    from ops.demo import AGENTS_CSV, CUSTOMERS_CSV
    from ops.imports import import_agents, import_customers
    from ops.infra import create_local_resources
    from ops.presence_seed import seed_demo_presence
    from ops.stage import stage_environment
    from tests.fakes.twilio_http import RecordingHttpClient

    rng = random.Random(args.seed)
    with mock_aws():
        settings = Settings.from_environment(
            {**stage_environment("local"), "PUBLIC_BASE_URL": "https://bench.example/api"}
        )
        session = boto3.session.Session(region_name=settings.aws_region)
        create_local_resources(session, settings)
        dynamodb = session.resource("dynamodb")
        agents = dynamodb.Table(settings.agents_table)
        import_agents(AGENTS_CSV, agents)
        import_customers(CUSTOMERS_CSV, dynamodb.Table(settings.customers_table), agents, "JP")
        seed_demo_presence(dynamodb.Table(settings.presence_table), agents)
        phones = [i["phone"] for i in dynamodb.Table(settings.customers_table).scan()["Items"]]

        twilio_http = RecordingHttpClient()
        container = bootstrap.Container(
            settings=settings, boto_session=session, twilio_http_client=twilio_http
        )
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

        incoming_ms: list[float] = []
        assignment_ms: list[float] = []
        aws_per_call: list[int] = []
        stages: dict[str, int] = {}
        # The app's metrics are printed (EMF) per request; they are not this script's output.
        with Client(app) as client, contextlib.redirect_stdout(io.StringIO()):
            for n in range(args.calls):
                caller = (
                    rng.choice(phones)
                    if rng.random() < 0.8
                    else f"+8190{rng.randint(10**7, 10**8 - 1)}"
                )
                form = {
                    "CallSid": f"CA{n:032x}",
                    "AccountSid": settings.twilio_account_sid,
                    "From": caller,
                    "To": settings.company_number,
                    "CallStatus": "ringing",
                    "Direction": "inbound",
                }
                counter.reset()
                started = time.perf_counter()
                response = post(client, "/twilio/voice/incoming", form)
                incoming_ms.append((time.perf_counter() - started) * 1000)
                aws_per_call.append(counter.total)
                _expect_ok(response)
                task_json = (
                    response.body.decode().split("<Task", 1)[1].split(">", 1)[1].split("</Task>")[0]
                )
                attributes = json.loads(task_json)
                stages[attributes["stage"]] = stages.get(attributes["stage"], 0) + 1

                reservation = {
                    "AccountSid": settings.twilio_account_sid,
                    "WorkspaceSid": settings.twilio_workspace_sid,
                    "TaskSid": f"WT{n:032x}",
                    "ReservationSid": f"WR{n:032x}",
                    "WorkerSid": f"WK{n:032x}",
                    "TaskAttributes": json.dumps(attributes),
                    "WorkerAttributes": json.dumps({"agent_id": "sato.haruto"}),
                }
                started = time.perf_counter()
                response = post(client, "/twilio/taskrouter/assignment", reservation)
                assignment_ms.append((time.perf_counter() - started) * 1000)
                _expect_ok(response)
        bootstrap.use(None)

    app_import = fresh_import_seconds("import app")
    boto_import = fresh_import_seconds("import boto3")
    # What a traced Lambda adds on its first invocation: the X-Ray SDK and its patching.
    traced = fresh_import_seconds(
        "import app; from chalicelib.platform.observability import tracer; tracer()"
    )
    mean_aws = sum(aws_per_call) / len(aws_per_call)
    print(f"incoming calls: {args.calls} (seed {args.seed}); first stage: {stages}")
    print(
        f"AWS requests per incoming call: max {max(aws_per_call)}, mean {mean_aws:.2f} (goal <= 2)"
    )
    print(f"Twilio REST requests in the whole run: {len(twilio_http.requests)} (goal 0)")
    for name, timings in (("incoming-call", incoming_ms), ("assignment", assignment_ms)):
        p50, p99 = percentile(timings, 50), percentile(timings, 99)
        print(f"{name} handler (moto in-process): p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    ratio = app_import / boto_import
    print(
        f"cold-start proxy: import app {app_import * 1000:.0f} ms, import boto3 "
        f"{boto_import * 1000:.0f} ms: {ratio:.2f}x (goal <= 2x)"
    )
    print(
        f"  plus the X-Ray tracer, built on the first traced invocation: "
        f"{(traced - app_import) * 1000:.0f} ms"
    )
    return 0
