"""Issue 20's figures: hostile requests against `make run`'s stack, on free ports.

Starts the local stack (moto server, `chalice local`, the pages) as `make run` does, on free
ports bound to 127.0.0.1, then times:
- a 5 MB unsigned POST to /twilio/voice/incoming (refused before parsing: 403 within 1 s);
- a signed incoming call right after it (the stack keeps answering);
- GET /conversations with a 9,000-year range, signed in (400 within 1 s);
- a replay of hostile inputs (bad numbers, cursors, oversized fields, huge query strings):
  the count of 5xx answers, which must be 0.
Prints the figures; asserts nothing (a benchmark is a script that prints).

    python -m ops bench hostile-input
"""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from chalicelib.telephony import webhooks

FIVE_MB = 5 * 1024 * 1024


def _request(
    url: str, data: bytes | None = None, headers: dict[str, str] | None = None, method: str = "GET"
) -> tuple[int, bytes, float]:
    started = time.perf_counter()
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
    return status, body, time.perf_counter() - started


HostileRequest = tuple[str, str, "bytes | dict[str, str] | None", dict[str, str]]

ACCOUNT = "AC" + "0" * 32
CALL, CONFERENCE, TASK = "CA" + "1" * 32, "CF" + "1" * 32, "WT" + "1" * 32
RECORDING, WORKER, RESERVATION = "RE" + "1" * 32, "WK" + "1" * 32, "WR" + "1" * 32


def hostile_requests(api: str, token: str, account_sid: str = ACCOUNT) -> list[HostileRequest]:
    """(method, url, body, headers) of inputs that used to answer 5xx or cost too much. A dict
    body is a Twilio form, to be signed for the URL by whoever sends it (`signed_form`)."""
    auth = {"Authorization": f"Bearer {token}"}
    json_headers = {**auth, "Content-Type": "application/json"}
    form = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "x"}
    huge = "9" * 400

    def cursor(value: Any) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()

    recording = {
        "AccountSid": account_sid, "RecordingSid": RECORDING, "ConferenceSid": CONFERENCE,
        "RecordingStatus": "completed", "RecordingDuration": huge, "RecordingChannels": "2",
        "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/{account_sid}/Recordings/RE",
    }  # fmt: skip
    leg = {
        "AccountSid": account_sid, "CallSid": CALL, "CallStatus": "completed",
        "CallDuration": huge, "SequenceNumber": huge, "Timestamp": "Tue, 99 Nov 99999 01:02:03",
        "From": "+81312345678", "To": "+81300000000", "Direction": "inbound",
    }  # fmt: skip
    conference = {
        "AccountSid": account_sid, "ConferenceSid": CONFERENCE, "FriendlyName": TASK,
        "StatusCallbackEvent": "participant-join", "CallSid": CALL, "SequenceNumber": huge,
        "Timestamp": huge,
    }  # fmt: skip
    event = {
        "AccountSid": account_sid, "WorkspaceSid": "WS" + "0" * 32, "EventType": "task.created",
        "TaskSid": TASK, "TaskAttributes": json.dumps({"call_sid": CALL, "stage": huge}),
        "TimestampMs": huge, "TaskAge": huge, "Timestamp": huge,
    }  # fmt: skip
    conversations = api + "/conversations?"
    return [
        ("GET", conversations + "from=0002-01-01&to=9998-12-31", None, auth),
        ("GET", conversations + "from=" + huge, None, auth),
        ("GET", conversations + "to=99999999999999999999", None, auth),
        ("GET", conversations + "from=abc", None, auth),
        ("GET", conversations + "from=%C2%B2", None, auth),
        ("GET", conversations + "limit=" + "9" * 50, None, auth),
        ("GET", conversations + "cursor=" + cursor({"p": "x", "k": None}), None, auth),
        ("GET", conversations + "cursor=" + cursor({"p": 0, "k": {"day": 5}}), None, auth),
        ("GET", conversations + "cursor=" + cursor({"p": 0, "k": {"nope": "x"}}), None, auth),
        ("GET", conversations + "cursor=" + cursor({"p": 10**30, "k": None}), None, auth),
        ("GET", conversations + "cursor=" + cursor([1, 2]), None, auth),
        ("GET", conversations + "cursor=%%%", None, auth),
        ("GET", conversations + "&".join(f"p{i}=1" for i in range(100)), None, auth),
        ("GET", api + "/presence?since=" + huge, None, auth),
        ("GET", api + "/presence?since=1.2.3.4", None, auth),
        ("GET", api + "/presence?since=%C2%B2.1.1", None, auth),
        ("GET", api + "/conversations/" + "A" * 2000, None, auth),
        ("POST", api + "/calls/CF0/transfer", b'{"to_agent": "sato"}', {}),
        ("POST", api + "/calls/CF0/transfer", b'{"to_agent": 5}', json_headers),
        ("POST", api + "/calls/CF0/mute", b"[1", json_headers),
        ("PUT", api + "/agents/me/status", b'{"state": ["x"]}', json_headers),
        ("POST", api + "/conversations/CA0/note", b'{"text": 7}', json_headers),
        ("POST", api + webhooks.RECORDING_STATUS, recording, {}),
        ("POST", api + webhooks.VOICE_STATUS, leg, {}),
        ("POST", api + webhooks.CONFERENCE_STATUS, conference, {}),
        ("POST", api + webhooks.TASKROUTER_EVENTS, event, {}),
        ("POST", api + webhooks.TASKROUTER_EVENTS, b"EventType=" + b"%ff" * 100, form),
        ("POST", api + webhooks.INCOMING, b"&" * 10_000, form),
    ]


def signed_form(url: str, form: dict[str, str], auth_token: str) -> tuple[bytes, dict[str, str]]:
    """A form body and the headers Twilio would send it with, signed for `url`."""
    from twilio.request_validator import RequestValidator

    return urllib.parse.urlencode(form).encode(), {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": RequestValidator(auth_token).compute_signature(url, form),
    }


def main(argv: list[str] | None = None) -> int:
    from chalicelib.platform.settings import LOCAL_AUTH_TOKEN
    from ops.cognito_local import LocalPool, ensure_user, id_token
    from ops.local_process import local_stack_process
    from ops.webhooks import new_sid, post_signed

    with local_stack_process(timeout=180) as running:
        api = running.api_url
        import boto3

        cognito: Any = boto3.session.Session(
            region_name=running.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - moto's dummy credentials
        ).client("cognito-idp", endpoint_url=running.moto_url)
        pool = LocalPool(running.pool_id, running.client_id)
        ensure_user(cognito, pool, "bench-hostile", supervisor=True)
        token = id_token(cognito, pool, "bench-hostile")

        status, body, seconds = _request(
            api + webhooks.INCOMING,
            data=b"CallSid=" + b"A" * FIVE_MB,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            method="POST",
        )
        print(f"5 MB unsigned POST {webhooks.INCOMING}: {status} in {seconds:.3f} s")
        print(f"  answer: {body[:80]!r}")

        started = time.perf_counter()
        call_status, _ = post_signed(
            api + webhooks.INCOMING,
            {
                "CallSid": new_sid("CA"),
                "AccountSid": "AC" + "0" * 32,
                "From": "+81312345678",
                "To": "+81300000000",
                "CallStatus": "ringing",
            },
            LOCAL_AUTH_TOKEN,
        )
        print(
            f"signed incoming call right after: {call_status} in "
            f"{time.perf_counter() - started:.3f} s"
        )

        status, body, seconds = _request(
            api + "/conversations?from=0002-01-01&to=9998-12-31",
            headers={"Authorization": f"Bearer {token}"},
        )
        print(f"GET /conversations, 9,000-year range: {status} in {seconds:.3f} s ({body[:80]!r})")

        answers: dict[int, int] = {}
        worst = 0.0
        five_xx: list[str] = []
        for method, url, data, headers in hostile_requests(api, token):
            if isinstance(data, dict):
                data, headers = signed_form(url, data, LOCAL_AUTH_TOKEN)
            status, body, seconds = _request(url, data=data, headers=headers, method=method)
            answers[status] = answers.get(status, 0) + 1
            worst = max(worst, seconds)
            if status >= 500:
                five_xx.append(f"{method} {url[:100]} -> {status} {body[:100]!r}")
        statuses = dict(sorted(answers.items()))
        print(f"hostile replay: {sum(answers.values())} requests, answers by status {statuses}")
        print(f"hostile replay: slowest answer {worst:.3f} s, 5xx answers {len(five_xx)}")
        for line in five_xx:
            print("  5xx:", line)
    return 0
