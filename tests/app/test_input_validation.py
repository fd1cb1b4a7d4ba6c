"""Every parameter validated into a 400 that names it; authentication before any look-up."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from chalicelib.conversations.store import cursor_position
from chalicelib.platform.errors import InvalidInput
from tests.conftest import TwilioPoster
from tests.data import put_agent, sid
from tests.hostile import every_route, stored_contents

API_ROUTES = [r for r in every_route() if not r.is_webhook]


@pytest.mark.parametrize("route", API_ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_every_api_route_answers_401_before_looking_anything_up(
    client: Any, resources: Any, settings: Any, route: Any
) -> None:
    """Same answer whether the agent named in the body exists or not: nothing to enumerate."""
    put_agent(resources, settings, "sato")
    answers = set()
    for agent in ("sato", "nobody"):
        body = json.dumps({"to_agent": agent, "mode": "cold", "text": "x", "state": "available"})
        response = getattr(client.http, route.method.lower())(
            route.concrete(sid("CF", 1)),
            headers={"Content-Type": "application/json"},
            body=body.encode(),
        )
        answers.add((response.status_code, response.body))
    assert len(answers) == 1, answers
    assert next(iter(answers))[0] == 401


def _cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


@pytest.mark.parametrize(
    "position",
    [
        {"p": "0", "k": None},
        {"p": True, "k": None},
        {"p": -1, "k": None},
        {"p": 2, "k": None},
        {"p": 0, "k": {"day": "2026-01-01"}},
        {"p": 0, "k": {"day": 5, "started_ms": 1, "conversation_id": "CA1"}},
        {"p": 0, "k": {"day": "d", "started_ms": "1", "conversation_id": "CA1"}},
        {"p": 0, "k": {"day": "d", "started_ms": 10**40, "conversation_id": "CA1"}},
        {"p": 0, "k": {"customer_id": "C1", "started_ms": 1, "conversation_id": "CA1"}},
        {"p": 0, "k": ["day"]},
    ],
)
def test_a_cursor_of_the_wrong_shape_is_refused(position: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput, match="cursor"):
        cursor_position(position, ["day"])


def test_a_cursor_this_api_returns_is_accepted() -> None:
    key = {"day": "2026-01-01", "started_ms": 1_764_000_000_000, "conversation_id": "CA1"}
    assert cursor_position({"p": 0, "k": key}, ["day", "day"]) == (0, key)
    assert cursor_position({"p": 2, "k": None}, ["day", "day"]) == (2, None)


def test_bad_cursor_key_is_400_not_503(client: Any, staff_token: Any) -> None:
    token = staff_token("boss", supervisor=True)
    cursor = _cursor({"p": 0, "k": {"day": 5}})
    response = client.http.get(
        f"/conversations?cursor={cursor}", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 400
    assert b"cursor" in response.body


@pytest.mark.parametrize("since", ["9" * 40, "1.2.3.4", "a.b.c", "\u00b2.1.1"])
def test_a_board_since_that_is_not_a_version_is_400(
    client: Any, staff_token: Any, since: str
) -> None:
    import urllib.parse

    token = staff_token("boss", supervisor=True)
    response = client.http.get(
        "/presence?since=" + urllib.parse.quote(since),
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 400
    assert b"since" in response.body


def test_a_path_parameter_longer_than_any_id_is_400(client: Any) -> None:
    response = client.http.get("/conversations/" + "A" * 200)
    assert response.status_code == 400
    assert b"call_sid" in response.body


@pytest.mark.parametrize(
    ("body", "named"),
    [({"to_agent": 5}, "to_agent"), ({"to_team": "x" * 65}, "to_team"), ({"mode": []}, "mode")],
)
def test_transfer_fields_of_the_wrong_type_are_400_naming_them(
    client: Any, resources: Any, settings: Any, staff_token: Any, body: Any, named: str
) -> None:
    put_agent(resources, settings, "sato")
    token = staff_token("sato")
    response = client.http.post(
        f"/calls/{sid('CF', 1)}/transfer",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        body=json.dumps(body).encode(),
    )
    assert response.status_code == 400
    assert named.encode() in response.body


RECORDING = {
    "AccountSid": "AC" + "a" * 32,
    "RecordingSid": sid("RE", 1),
    "ConferenceSid": sid("CF", 1),
    "RecordingStatus": "completed",
    "RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/RE1",
    "RecordingChannels": "2",
}
LEG = {
    "AccountSid": "AC" + "a" * 32,
    "CallSid": sid("CA", 1),
    "CallStatus": "completed",
    "Timestamp": "Tue, 25 Nov 2025 01:02:03 +0000",
}
EVENT = {
    "Sid": sid("EV", 1),
    "AccountSid": "AC" + "a" * 32,
    "EventType": "task.created",
    "TaskSid": sid("WT", 1),
}


@pytest.mark.parametrize(
    ("path", "form", "field"),
    [
        ("/twilio/recordings/status", RECORDING, "RecordingDuration"),
        ("/twilio/voice/status", LEG, "CallDuration"),
        ("/twilio/voice/status", LEG, "SequenceNumber"),
        ("/twilio/taskrouter/events", EVENT, "TimestampMs"),
        ("/twilio/taskrouter/events", EVENT, "TaskAge"),
    ],
)
@pytest.mark.parametrize("value", ["9" * 400, "-1", "ten"])
def test_a_callback_number_out_of_range_is_400_naming_it_and_nothing_is_stored(
    twilio: TwilioPoster, aws: Any, path: str, form: dict[str, str], field: str, value: str
) -> None:
    before = stored_contents(aws)
    response = twilio.post(path, {**form, field: value})
    assert response.status_code == 400, response.body
    assert field.encode() in response.body
    assert stored_contents(aws) == before
