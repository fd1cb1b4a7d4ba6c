"""Issue 20's memory figures: what each Lambda function holds, measured, to size its MemorySize.

Every function of the app is the same bundle (`app.py` and chalicelib), so each cold start
imports the whole app; what differs is the work. Three measurements, all in processes that hold
nothing but the app (moto, the Twilio stand-in and the pages run in other processes):

1. Cold start: `import app` in fresh interpreters (the local stage's settings): peak resident
   memory (VmHWM) and CPU seconds. Lambda gives a function CPU in proportion to its memory, one
   vCPU at 1,769 MB (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html),
   so the CPU seconds of the import, stretched by 1,769 / MemorySize, are a floor for a cold
   start's duration at that size: the figure that matters for Twilio's webhooks.
2. The API under traffic: `make run`'s stack with its gentle day of calls for `--seconds`; the
   peak of the API process (chalice local serves the same app the API function runs; it also
   holds chalice local's own HTTP server, so the figure errs high).
3. The stream workers on real records: the records the traffic left in the local DynamoDB
   streams (presence, conversation events, live transcripts), up to a full batch, fed to each
   function in its own fresh process with the API's environment, through chalice's test client
   (the handler Lambda calls).
4. The copy worker copying one stereo recording of each `--copy-minutes` length, through the
   app's own REST adapter from a local media endpoint to the moto server's S3: the slope of its
   peak per minute of audio says how long a recording a MemorySize can copy.

The figures are this machine's; Lambda's runtime adds its own bootstrap process to the peak it
reports (`Max Memory Used`), so the sizes in .chalice/config.json keep a margin over them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from ops.chalice_config import ROOT

ONE_VCPU_MB = 1769
# Batch sizes as app.py declares them (the presence stream's is 500).
STREAMS = {
    "presence_stream": ("PRESENCE_TABLE", 500),
    "conversation_stream": ("CONVERSATION_EVENTS_TABLE", 100),
    "transcript_stream": ("LIVE_TRANSCRIPTS_TABLE", 100),
}
COPY_WORKER = "copy_worker"


def memory_kb(pid: int | str = "self") -> dict[str, int]:
    """VmHWM (peak resident) and VmRSS of a process, in kB (Linux /proc)."""
    found: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmHWM", "VmRSS"):
            found[name] = int(value.split()[0])
    return found


def in_a_fresh_process(env: dict[str, str], *mode: str) -> dict[str, Any]:
    """Run this module in `mode` in a fresh interpreter with `env`: the figures it prints."""
    out = subprocess.run(
        [sys.executable, "-m", "ops.benchmarks.memory", *mode],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(mode)} failed:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _cold_import() -> dict[str, Any]:
    from ops.stage import local_environment

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TWILIO_"))}
    env.update(local_environment(), POWERTOOLS_TRACE_DISABLED="true")
    return in_a_fresh_process(env, "--import")


def import_app() -> int:
    """`--import`: the app's import alone."""
    started = time.process_time()
    import app  # noqa: F401 - the import is what is measured

    print(json.dumps({"cpu": time.process_time() - started, **memory_kb()}))
    return 0


def _process_of(marker: str, port: int) -> int:
    """The pid of the process whose command line holds `marker` and `port`."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        words = [a.decode(errors="replace") for a in argv]
        if any(marker in w for w in words) and str(port) in words:
            return int(entry.name)
    raise RuntimeError(f"no process runs {marker} on port {port}")


def _environ(pid: int) -> dict[str, str]:
    pairs = (Path(f"/proc/{pid}/environ").read_bytes()).split(b"\0")
    return dict(p.decode().split("=", 1) for p in pairs if b"=" in p)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def stream_records(env: dict[str, str], table: str, limit: int) -> list[dict[str, Any]]:
    """Up to `limit` records of the table's stream, as Lambda delivers them."""
    import boto3

    session = boto3.session.Session(
        region_name=env["AWS_DEFAULT_REGION"], aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - moto's dummy credentials
    )  # fmt: skip
    endpoint = env["AWS_ENDPOINT_URL"]
    arn = (
        session.client("dynamodb", endpoint_url=endpoint)
        .describe_table(TableName=table)["Table"]
        .get("LatestStreamArn")
    )
    if not arn:
        return []
    streams = session.client("dynamodbstreams", endpoint_url=endpoint)
    records: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator and len(records) < limit:
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            if not page["Records"]:
                break
            records.extend({**_jsonable(r), "eventSourceARN": arn} for r in page["Records"])
            iterator = page.get("NextShardIterator")
    return records[-limit:]


def run_function(
    env: dict[str, str], function: str, records: list[dict[str, Any]]
) -> dict[str, Any]:
    """One invocation of `function` with `records`, in a fresh process: its memory and time."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({"Records": records}, handle)
    try:
        return in_a_fresh_process(env, "--invoke", function, handle.name)
    finally:
        os.unlink(handle.name)


def invoke(function: str, event_file: str) -> int:
    """`--invoke`: runs in the fresh process of run_function."""
    import logging

    logging.disable(logging.CRITICAL)
    started = time.process_time()
    from chalice.test import Client

    import app as application

    imported = memory_kb()
    event = json.loads(Path(event_file).read_text())
    with Client(application.app, stage_name="local", project_dir=str(ROOT)) as client:
        began = time.perf_counter()
        client.lambda_.invoke(function, event)
        seconds = time.perf_counter() - began
    print(json.dumps({
        "records": len(event["Records"]), "import_kb": imported["VmHWM"], **memory_kb(),
        "seconds": seconds, "cpu": time.process_time() - started,
    }))  # fmt: skip
    return 0


def first_call(env: dict[str, str]) -> dict[str, Any]:
    """A fresh process answering one signed incoming call: the webhook's real cold start."""
    return in_a_fresh_process(env, "--first-call")


def answer_first_call() -> int:
    """`--first-call`: import the app and answer one incoming call as Twilio sends it."""
    import logging
    import secrets
    import urllib.parse

    logging.disable(logging.CRITICAL)
    started = time.process_time()
    from chalice.test import Client
    from twilio.request_validator import RequestValidator

    import app as application
    from chalicelib.platform.settings import get_settings, load_twilio_credentials
    from chalicelib.telephony import webhooks

    with Client(application.app, stage_name="local", project_dir=str(ROOT)) as client:
        settings = get_settings()
        form = {
            "CallSid": "CA" + secrets.token_hex(16),
            "AccountSid": settings.telephony.twilio_account_sid,
            "From": "+81345550199",
            "To": settings.telephony.company_number,
            "CallStatus": "ringing",
            "Direction": "inbound",
            "ApiVersion": "2010-04-01",
        }
        token = load_twilio_credentials(settings).auth_token
        signature = RequestValidator(token).compute_signature(settings.url(webhooks.INCOMING), form)
        began = time.perf_counter()
        response = client.http.post(
            webhooks.INCOMING,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": signature,
            },
            body=urllib.parse.urlencode(form),
        )
        seconds = time.perf_counter() - began
    if response.status_code != 200:
        raise RuntimeError(f"the incoming call answered {response.status_code}: {response.body!r}")
    print(json.dumps({"cpu": time.process_time() - started, "seconds": seconds, **memory_kb()}))
    return 0


class _TwilioMedia:
    """Twilio's recording media endpoint for the copy worker's measurement: a stereo WAV of the
    asked length for any recording, deletes accepted. Served on 127.0.0.1 as the app's
    TWILIO_API_BASE_URL, so the download goes through the app's own REST adapter and requests."""

    def __init__(self, minutes: float) -> None:
        import http.server
        import threading

        from ops.standin.wav import recording_wav

        media = recording_wav(minutes * 60, channels=2)
        self.size = len(media)

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if not self.path.split("?")[0].endswith(".wav"):
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "audio/x-wav")
                self.send_header("Content-Length", str(len(media)))
                self.end_headers()
                self.wfile.write(media)

            def do_DELETE(self) -> None:
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def copy_one(env: dict[str, str], minutes: float) -> dict[str, Any]:
    """The copy worker copying one `minutes`-long stereo recording, in a fresh process."""
    import secrets

    media = _TwilioMedia(minutes)
    job = {
        "recording_sid": "RE" + secrets.token_hex(16),
        "account_sid": env.get("TWILIO_ACCOUNT_SID", "AC" + "0" * 32),
        "conference_sid": "CF" + secrets.token_hex(16),
        "call_sid": "CA" + secrets.token_hex(16),
        "channels": 2,
        "duration_seconds": int(minutes * 60),
        "source": "conference",
        "started_at": datetime.now().astimezone().isoformat(),
    }
    record = {
        "messageId": secrets.token_hex(8), "receiptHandle": "bench", "body": json.dumps(job),
        "eventSource": "aws:sqs", "attributes": {}, "messageAttributes": {},
        "eventSourceARN": f"arn:aws:sqs:{env['AWS_DEFAULT_REGION']}:123456789012:queue",
    }  # fmt: skip
    try:
        figure = run_function({**env, "TWILIO_API_BASE_URL": media.url}, COPY_WORKER, [record])
    finally:
        media.stop()
    figure["media_bytes"] = media.size
    return figure


def recommended_mb(peak_kb: float, margin: float = 1.5) -> int:
    """The smallest multiple of 64 MB over the peak with its margin (128 MB at least)."""
    needed = peak_kb / 1024 * margin
    return max(128, int(-(-needed // 64) * 64))


def _mb(kb: float) -> str:
    return f"{kb / 1024:.0f} MB"


def main(argv: list[str]) -> int:
    if argv[:1] == ["--invoke"]:
        return invoke(argv[1], argv[2])
    if argv[:1] == ["--first-call"]:
        return answer_first_call()
    if argv[:1] == ["--import"]:
        return import_app()
    parser = argparse.ArgumentParser(prog="python -m ops bench memory")
    parser.add_argument("--seconds", type=int, default=120, help="of the gentle day's traffic")
    parser.add_argument("--runs", type=int, default=3, help="fresh interpreters for cold starts")
    parser.add_argument(
        "--copy-minutes", type=float, nargs="+", default=[10.0, 60.0],
        help="lengths of the stereo recordings the copy worker copies (two or more: a slope)",
    )  # fmt: skip
    args = parser.parse_args(argv)

    from ops.local_process import local_stack_process

    colds = [_cold_import() for _ in range(args.runs)]
    cold_cpu = statistics.median(c["cpu"] for c in colds)
    cold_kb = max(c["VmHWM"] for c in colds)
    print(f"cold start, import app ({args.runs} fresh processes): peak {_mb(cold_kb)}, "
          f"CPU {cold_cpu:.2f} s (median)")  # fmt: skip

    with local_stack_process(simulate=True) as stack:
        print(f"local stack up; the gentle day plays for {args.seconds} s ...", flush=True)
        time.sleep(args.seconds)
        api = _process_of("ops.chalice_local", stack.ports.api)
        api_memory = memory_kb(api)
        served = len(re.findall(r'"(?:GET|POST|PUT|DELETE) /', stack.text()))
        print(f"API process after {args.seconds} s of traffic (>= {served} requests in the "
              f"last lines of its log): peak {_mb(api_memory['VmHWM'])}, "
              f"now {_mb(api_memory['VmRSS'])}")  # fmt: skip
        env = _environ(api)
        firsts = [first_call(env) for _ in range(args.runs)]
        first_cpu = statistics.median(f["cpu"] for f in firsts)
        first_kb = max(f["VmHWM"] for f in firsts)
        print(f"cold start, import app + the first incoming call ({args.runs} fresh processes): "
              f"peak {_mb(first_kb)}, CPU {first_cpu:.2f} s (median)")  # fmt: skip
        for size in (128, 256, 512, 1024, 1769):
            print(
                f"  at {size:>4} MB that CPU alone takes >= {first_cpu * ONE_VCPU_MB / size:.1f} s"
            )
        figures: dict[str, dict[str, Any]] = {}
        for function, (table_key, batch) in STREAMS.items():
            records = stream_records(env, env[table_key], batch)
            if records:
                figures[function] = run_function(env, function, records)
            else:
                print(f"{function}: no stream records to feed it")
        copies = {minutes: copy_one(env, minutes) for minutes in args.copy_minutes}
    for function, figure in figures.items():
        print(f"{function}: {figure['records']} records, after import {_mb(figure['import_kb'])}, "
              f"peak {_mb(figure['VmHWM'])}, {figure['seconds']:.2f} s handling "
              f"(CPU {figure['cpu']:.2f} s with the import), "
              f"recommended >= {recommended_mb(figure['VmHWM'])} MB")  # fmt: skip
    for minutes, figure in copies.items():
        print(f"{COPY_WORKER}: one {minutes:g}-minute stereo recording "
              f"({_mb(figure['media_bytes'] / 1024)}): peak {_mb(figure['VmHWM'])}, "
              f"{figure['seconds']:.2f} s")  # fmt: skip
    if len(copies) >= 2:
        (short, low), (long, high) = min(copies.items()), max(copies.items())
        per_minute_kb = (high["VmHWM"] - low["VmHWM"]) / (long - short)
        base_kb = low["VmHWM"] - per_minute_kb * short
        for size in (512, 1024, 2048, 3008):
            minutes = (size * 1024 / 1.2 - base_kb) / per_minute_kb
            print(f"  at {size:>4} MB (a 20% margin) it copies recordings up to ~{minutes:.0f} min")
    print(
        f"API: recommended >= {recommended_mb(api_memory['VmHWM'])} MB for memory; "
        f"for a cold first call's CPU under 1 s, >= {int(first_cpu * ONE_VCPU_MB)} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
