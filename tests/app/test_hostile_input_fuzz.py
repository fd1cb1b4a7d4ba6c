"""No input gets a 5xx, and a refused request writes nothing: every route, fuzzed.

The routes come from Chalice's own table (`app.routes`), so a route added later is fuzzed too.
Each example sends one request with hostile parts (huge or non-numeric numbers, cursors of the
wrong shape, odd path parameters, broken JSON, forms built from a valid one with a few fields
replaced), signed as Twilio signs or not, signed in or not. Whatever the answer, it is below
500; when it is a refusal (4xx), DynamoDB, S3, SQS and Twilio hold exactly what they held.
"""

from __future__ import annotations

import base64
import json
import urllib.parse
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from chalicelib.platform.signatures import canonical_query
from ops.benchmarks.hostile_input import hostile_requests, signed_form
from ops.standin.rest import Rest
from ops.standin.server import InProcessTwilioHttp
from tests.conftest import FORM, PUBLIC_BASE_URL, make_settings, sign
from tests.data import put_agent, put_customer, sid
from tests.hostile import Route, every_route, stored_contents, writes_besides_denied_reads
from tests.standin.test_engine import AC as STANDIN_AC
from tests.standin.test_engine import TOKEN, build
from tests.standin.test_engine import WS as STANDIN_WS
from tests.standin.test_engine import WW as STANDIN_WW

ROUTES = every_route()

HUGE = "9" * 400
numbers = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.just(HUGE),
    st.just("1e400"),
    st.just("NaN"),
    st.just("-0"),
)
sids = st.sampled_from(["CA", "CF", "WT", "WR", "WK", "RE", "AC", "WS"]).map(
    lambda prefix: sid(prefix, 7)
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)
cursors = st.one_of(
    json_values.map(lambda v: base64.urlsafe_b64encode(json.dumps(v).encode()).decode()),
    st.fixed_dictionaries(
        {"p": json_values, "k": st.none() | st.dictionaries(st.text(max_size=12), json_values)}
    ).map(lambda v: base64.urlsafe_b64encode(json.dumps(v).encode()).decode()),
    st.text(max_size=40),
)
hostile_text = st.one_of(
    numbers,
    sids,
    cursors,
    st.text(max_size=30),
    st.text(alphabet="0123456789-:T.+Z", max_size=30),
    st.sampled_from(["", " ", "me", "0002-01-01", "9998-12-31", "2026-02-30", "{}", "[]", "null"]),
    st.just("x" * 1500),
)
QUERY_NAMES = [
    "from", "to", "since", "cursor", "limit", "agent", "customer", "team", "outcome",
    "conference", "agent_id", "task", "call", "kind", "leg",
]  # fmt: skip
queries = st.dictionaries(
    st.sampled_from(QUERY_NAMES) | st.sampled_from(QUERY_NAMES) | st.text(min_size=1, max_size=8),
    hostile_text,
    max_size=5,
)
path_values = st.from_regex(r"\A[A-Za-z0-9_.~-]{1,300}\Z") | sids

TWILIO_FIELDS = {
    "AccountSid": STANDIN_AC,
    "CallSid": sid("CA", 1),
    "ParentCallSid": sid("CA", 2),
    "From": "+81312345678",
    "To": "+81300000000",
    "Caller": "client:sato",
    "CallStatus": "in-progress",
    "Direction": "inbound",
    "CallDuration": "30",
    "Timestamp": "Tue, 25 Nov 2025 01:02:03 +0000",
    "SequenceNumber": "1",
    "Digits": "1",
    "ConferenceSid": sid("CF", 1),
    "FriendlyName": "conf",
    "StatusCallbackEvent": "participant-join",
    "RecordingSid": sid("RE", 1),
    "RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/RE",
    "RecordingStatus": "completed",
    "RecordingDuration": "12",
    "RecordingChannels": "2",
    "RecordingStartTime": "Tue, 25 Nov 2025 01:02:03 +0000",
    "WorkspaceSid": STANDIN_WS,
    "TaskSid": sid("WT", 1),
    "ReservationSid": sid("WR", 1),
    "WorkerSid": sid("WK", 1),
    "EventType": "task.created",
    "TaskAttributes": json.dumps({"call_sid": sid("CA", 1), "stage": "owner"}),
    "WorkerAttributes": json.dumps({"agent_id": "sato"}),
    "TaskAge": "3",
    "TimestampMs": "1764000000000",
}
forms = st.tuples(
    st.dictionaries(
        st.sampled_from(sorted(TWILIO_FIELDS)) | st.text(min_size=1, max_size=8),
        hostile_text | json_values.map(json.dumps),
        max_size=3,
    ),
    st.sets(st.sampled_from(sorted(TWILIO_FIELDS)), max_size=3),
).map(lambda t: {k: v for k, v in {**TWILIO_FIELDS, **t[0]}.items() if k not in t[1]})
JSON_FIELDS = ["state", "muted", "text", "to_agent", "to_team", "mode", "transfer_task_sid"]
json_bodies = st.one_of(
    st.dictionaries(st.sampled_from(JSON_FIELDS) | st.text(max_size=6), json_values, max_size=4)
    .map(json.dumps)
    .map(str.encode),
    json_values.map(json.dumps).map(str.encode),
    st.binary(max_size=64),
)
auth = st.sampled_from(["none", "agent", "supervisor", "garbage"])


class StandinHttp(InProcessTwilioHttp):
    """Twilio's REST API answered by the stand-in (as strict as Twilio), its writes counted."""

    def __init__(self, rest: Any) -> None:
        super().__init__(rest)
        self.writes = 0

    def request(self, method: str, uri: str, *args: Any, **kwargs: Any) -> Any:
        if method.upper() != "GET":
            self.writes += 1
        return super().request(method, uri, *args, **kwargs)


@pytest.fixture
def settings() -> Any:
    """The test settings, on the stand-in's account, workspace and token."""
    return make_settings(
        twilio_account_sid=STANDIN_AC,
        twilio_workspace_sid=STANDIN_WS,
        twilio_workflow_sid=STANDIN_WW,
        twilio_auth_token=TOKEN,
    )


@pytest.fixture
def twilio_http() -> StandinHttp:  # the container fixture's Twilio HTTP client
    standin, _, _ = build({"+81312345678": "sato"})
    return StandinHttp(Rest(standin))


@pytest.fixture
def seeded(resources: Any, settings: Any, staff_token: Any) -> dict[str, str]:
    put_customer(resources, settings, owner="sato", team="a")
    for n, agent_id in enumerate(["sato", "ito"], start=1):
        put_agent(resources, settings, agent_id, team="a")
        resources.Table(settings.routing.agents_table).update_item(
            Key={"agent_id": agent_id},
            UpdateExpression="SET worker_sid = :w",
            ExpressionAttributeValues={":w": f"WK{n:032x}"},  # the stand-in's workers
        )
    return {"agent": staff_token("sato"), "supervisor": staff_token("ito", supervisor=True)}


def _send(
    client: Any,
    route: Route,
    path: str,
    query: dict[str, str],
    body: bytes,
    headers: dict[str, str],
) -> Any:
    url = path + ("?" + canonical_query(query.items()) if query else "")
    return getattr(client.http, route.method.lower())(url, headers=headers, body=body)


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
@hypothesis_settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_input_answers_5xx_and_a_refusal_writes_nothing(
    route: Route,
    data: st.DataObject,
    client: Any,
    aws: Any,
    twilio_http: Any,
    seeded: dict[str, str],
) -> None:
    path = route.concrete(data.draw(path_values, label="path value"))
    query = data.draw(queries, label="query")
    headers: dict[str, str] = {}
    if route.is_webhook:
        form = data.draw(forms, label="form")
        body = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = FORM
        if data.draw(st.booleans(), label="signed"):
            signed_path = path + ("?" + canonical_query(query.items()) if query else "")
            headers["X-Twilio-Signature"] = sign(signed_path, form, token=TOKEN)
        else:
            headers["X-Twilio-Signature"] = data.draw(st.sampled_from(["", "x", "AAAA"]))
    else:
        body = data.draw(json_bodies, label="body") if route.method != "GET" else b""
        headers["Content-Type"] = "application/json"
        who = data.draw(auth, label="auth")
        if who in seeded:
            headers["Authorization"] = f"Bearer {seeded[who]}"
        elif who == "garbage":
            headers["Authorization"] = "Bearer " + data.draw(st.text(max_size=40))
    before, twilio_before = stored_contents(aws), twilio_http.writes
    response = _send(client, route, path, query, body, headers)
    assert response.status_code < 500, (response.status_code, response.body[:300])
    if response.status_code == 403:
        # A denied read is the one write a refusal makes, on purpose: the audit trail's record.
        assert writes_besides_denied_reads(before, stored_contents(aws)) == {}, "a 403 wrote"
    elif response.status_code >= 400:
        assert stored_contents(aws) == before, "a refused request wrote to AWS"
    if response.status_code >= 400:
        assert twilio_http.writes == twilio_before, "a refused request changed Twilio"


def test_the_fuzz_covers_every_route() -> None:
    from app import app

    assert {r.path for r in ROUTES} == set(app.routes)


@pytest.mark.parametrize(
    "request_",
    hostile_requests("", "TOKEN", account_sid=STANDIN_AC),
    ids=lambda r: f"{r[0]} {urllib.parse.unquote(r[1])[:60]}",
)
def test_a_replay_of_hostile_inputs_answers_no_5xx(
    request_: tuple[str, str, bytes | dict[str, str] | None, dict[str, str]],
    client: Any,
    aws: Any,
    twilio_http: Any,
    seeded: dict[str, str],
) -> None:
    """The inputs that used to answer 5xx or cost seconds (`python -m ops bench hostile-input`
    replays them against the local stack): each a 4xx now, and nothing written."""
    method, url, body, headers = request_
    headers = {k: v.replace("TOKEN", seeded["supervisor"]) for k, v in headers.items()}
    if isinstance(body, dict):
        body, headers = signed_form(PUBLIC_BASE_URL + url, body, TOKEN)
    before, twilio_before = stored_contents(aws), twilio_http.writes
    response = getattr(client.http, method.lower())(url, headers=headers, body=body or b"")
    assert 400 <= response.status_code < 500, (response.status_code, response.body[:300])
    assert stored_contents(aws) == before
    assert twilio_http.writes == twilio_before


def test_only_a_denied_read_in_the_audit_trail_is_excused() -> None:
    denied = '{"Attributes": {"outcome": {"S": "denied"}}}'
    granted = '{"Attributes": {"outcome": {"S": "granted"}}}'
    before = {"dynamodb:cc-local-audit": [], "dynamodb:cc-local-agents": ["a"]}
    assert (
        writes_besides_denied_reads(before, {**before, "dynamodb:cc-local-audit": [denied]}) == {}
    )
    assert writes_besides_denied_reads(
        before, {**before, "dynamodb:cc-local-audit": [granted]}
    ) == {"dynamodb:cc-local-audit": [granted]}
    assert writes_besides_denied_reads(before, {**before, "dynamodb:cc-local-agents": []}) == {
        "dynamodb:cc-local-agents": "items removed or changed"
    }
