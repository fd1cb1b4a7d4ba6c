"""POST /twilio/taskrouter/assignment: a reservation answered with a jp1 conference."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import PUBLIC_BASE_URL, TwilioPoster
from tests.data import ACCOUNT_SID, sid

PATH = "/twilio/taskrouter/assignment"


def assignment_form(**overrides: str) -> dict[str, str]:
    form = {
        "AccountSid": ACCOUNT_SID,
        "WorkspaceSid": "WS" + "b" * 32,
        "WorkflowSid": "WW" + "c" * 32,
        "TaskQueueSid": sid("WQ", 1),
        "TaskSid": sid("WT", 1),
        "ReservationSid": sid("WR", 1),
        "WorkerSid": sid("WK", 1),
        "TaskAge": "3",
        "TaskPriority": "10",
        "TaskAttributes": json.dumps(
            {
                "type": "inbound_call",
                "call_sid": sid("CA", 1),
                "caller": "+81312345678",
                "customer_id": "C1",
                "stage": "owner",
                "from": "+81312345678",
            }
        ),
        "WorkerAttributes": json.dumps({"agent_id": "sato", "contact_uri": "client:sato"}),
    }
    form.update(overrides)
    return form


def test_reservation_gets_a_jp1_dual_channel_conference(
    twilio: TwilioPoster, twilio_http: Any
) -> None:
    response = twilio.post(PATH, assignment_form())
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    instruction = json.loads(response.body)
    assert instruction["instruction"] == "conference"
    assert instruction["region"] == "jp1"
    assert instruction["to"] == "client:sato"
    assert instruction["from"] == "+81312345678"
    assert instruction["recording_channels"] == "dual"
    assert instruction["end_conference_on_customer_exit"] is True
    assert instruction["post_work_activity_sid"].startswith("WA")
    # Each callback names the conversation, task, reservation and agent it reports on, its
    # query sorted by name (the form the signature check rebuilds: test_callback_signatures.py).
    context = (
        f"?agent=sato&conversation={sid('CA', 1)}&reservation={sid('WR', 1)}&task={sid('WT', 1)}"
    )
    assert instruction["conference_recording_status_callback"] == (
        PUBLIC_BASE_URL + "/twilio/recordings/status" + context
    )
    assert instruction["conference_status_callback"] == (
        PUBLIC_BASE_URL + "/twilio/conference/status" + context
    )
    assert instruction["status_callback"] == PUBLIC_BASE_URL + "/twilio/voice/status" + context
    assert twilio_http.requests == [], "answering a reservation needs no REST call"


def test_worker_without_contact_uri_is_reached_by_client_identity(twilio: TwilioPoster) -> None:
    form = assignment_form(WorkerAttributes=json.dumps({"agent_id": "tanaka"}))
    assert json.loads(twilio.post(PATH, form).body)["to"] == "client:tanaka"


def test_region_comes_from_configuration(client: Any, container: Any) -> None:
    from tests.conftest import TwilioPoster, make_settings

    container.settings = make_settings(conference_region="sg1")
    response = TwilioPoster(client).post(PATH, assignment_form())
    assert json.loads(response.body)["region"] == "sg1"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"TaskAttributes": "{not json"}, "TaskAttributes"),
        ({"TaskAttributes": "[1, 2]"}, "TaskAttributes"),
        ({"TaskSid": "WT123"}, "TaskSid"),
        ({"WorkerAttributes": "{}"}, "WorkerAttributes"),
    ],
)
def test_malformed_reservation_is_400(
    twilio: TwilioPoster, change: dict[str, str], problem: str
) -> None:
    response = twilio.post(PATH, assignment_form(**change))
    assert response.status_code == 400
    assert problem in response.body.decode()


def test_unsigned_reservation_is_403(twilio: TwilioPoster) -> None:
    assert twilio.post(PATH, assignment_form(), signature=None).status_code == 403
