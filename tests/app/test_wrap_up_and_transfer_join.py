"""The wrap-up note, and how a colleague taking a transfer is put into the customer's call."""

from __future__ import annotations

import json
import urllib.parse
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from tests.app.test_assignment import assignment_form
from tests.conftest import PUBLIC_BASE_URL, TwilioPoster
from tests.data import ACCOUNT_SID, sid

CALL = sid("CA", 1)


def post_note(client: Any, token: str, text: Any, call_sid: str = CALL) -> Any:
    return client.http.post(
        f"/conversations/{call_sid}/note",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "X-Client-Version": "1.0.0",
        },
        body=json.dumps({"text": text}),
    )


@pytest.fixture
def conversation(resources: Any, container: Any) -> None:
    resources.Table(container.settings.conversations.conversations_table).put_item(
        Item={
            "conversation_id": CALL,
            "answered_by": "sato",
            "offers": [{"agent_id": "tanaka", "outcome": "rejected"}],
        }
    )


def test_agent_who_took_the_call_saves_a_note_on_its_conversation(
    client: Any, staff_token: Any, container: Any, conversation: None
) -> None:
    response = post_note(client, staff_token("sato"), "  Wants a quote for 200 units.  ")
    assert response.status_code == 201
    assert json.loads(response.body)["saved"] is True
    (fact,) = [e for e in container.conversation_events.events(CALL) if e.form.get("Fact")]
    assert fact.form["Fact"] == "wrap_up_note"
    assert json.loads(fact.form["Data"]) == {
        "agent_id": "sato",
        "note": "Wants a quote for 200 units.",
    }


def test_agent_who_was_not_on_the_call_cannot_write_its_note(
    client: Any, staff_token: Any, conversation: None
) -> None:
    assert post_note(client, staff_token("tanaka"), "not mine").status_code == 403


def test_supervisor_may_annotate_any_call(
    client: Any, staff_token: Any, conversation: None
) -> None:
    assert post_note(client, staff_token("boss", supervisor=True), "escalated").status_code == 201


def test_unknown_call_is_404_for_the_page_to_retry(
    client: Any, staff_token: Any, resources: Any
) -> None:
    assert post_note(client, staff_token("sato"), "x", call_sid=sid("CA", 99)).status_code == 404


def test_empty_or_oversized_notes_are_refused(
    client: Any, staff_token: Any, conversation: None
) -> None:
    token = staff_token("sato")
    for text in ("", "   ", None, 42, "x" * 4001):
        assert post_note(client, token, text).status_code == 400, text


def transfer_task_form() -> dict[str, str]:
    attributes = {
        "type": "transfer",
        "call_sid": CALL,
        "caller": "+81312345678",
        "stage": "owner",
        "owner_agent_id": "suzuki",
        "conference": {"sid": sid("CF", 1), "name": sid("WT", 1), "participants": {}},
    }
    return assignment_form(
        TaskAttributes=json.dumps(attributes),
        WorkerAttributes=json.dumps({"agent_id": "suzuki", "contact_uri": "client:suzuki"}),
    )


def test_transfer_reservation_rings_the_colleague_into_the_existing_conference(
    twilio: TwilioPoster, twilio_http: Any
) -> None:
    response = twilio.post("/twilio/taskrouter/assignment", transfer_task_form())
    assert response.status_code == 200
    instruction = json.loads(response.body)
    url = instruction.pop("url")
    status_url = instruction.pop("status_callback_url")
    assert instruction == {
        "instruction": "call",
        "accept": True,
        "to": "client:suzuki",
        "from": "+81312345678",
        "timeout": 20,
    }
    status_path, _, status_query = status_url.partition("?")
    assert status_path == PUBLIC_BASE_URL + "/twilio/voice/status"
    # The colleague's leg is tied to the customer's conversation, as an agent leg is.
    assert urllib.parse.parse_qs(status_query)["conversation"] == [CALL]
    path, _, query = url.partition("?")
    assert path == PUBLIC_BASE_URL + "/twilio/voice/transfer/join"
    assert urllib.parse.parse_qs(query) == {
        "conference": [sid("WT", 1)],
        "agent_id": ["suzuki"],
        "task": [sid("WT", 1)],
    }
    assert twilio_http.requests == []


def join_form() -> dict[str, str]:
    return {
        "CallSid": sid("CA", 3),
        "AccountSid": ACCOUNT_SID,
        "From": "+81312345678",
        "To": "client:suzuki",
        "CallStatus": "in-progress",
        "Direction": "outbound-api",
    }


def test_colleague_answering_joins_the_conference_with_their_label(twilio: TwilioPoster) -> None:
    # The join URL as the app builds it: its query sorted (test_callback_signatures.py).
    path = "/twilio/voice/transfer/join?agent_id=suzuki&conference=" + sid("WT", 1)
    response = twilio.post(path, join_form())
    assert response.status_code == 200
    conference = ET.fromstring(response.body).find("Dial/Conference")
    assert conference is not None
    assert conference.text == sid("WT", 1)
    assert conference.attrib["participantLabel"] == "agent:suzuki"
    assert conference.attrib["endConferenceOnExit"] == "false"
    assert conference.attrib["statusCallback"] == PUBLIC_BASE_URL + "/twilio/conference/status"


def test_join_url_cannot_be_pointed_at_another_conference(twilio: TwilioPoster) -> None:
    from tests.conftest import sign

    signed = "/twilio/voice/transfer/join?agent_id=suzuki&conference=" + sid("WT", 1)
    forged = "/twilio/voice/transfer/join?agent_id=suzuki&conference=" + sid("WT", 2)
    response = twilio.post(forged, join_form(), signature=sign(signed, join_form()))
    assert response.status_code == 403


TRANSFER_TASK = sid("WT", 7)
JOIN = f"/twilio/voice/transfer/join?agent_id=suzuki&conference={sid('WT', 1)}&task={TRANSFER_TASK}"
LEFT = f"/twilio/voice/task-leg/ended?task={TRANSFER_TASK}"


def task_answer(status: str) -> tuple[int, dict[str, Any]]:
    return 200, {"sid": TRANSFER_TASK, "assignment_status": status, "attributes": "{}"}


@pytest.mark.parametrize("status", ["reserved", "assigned"])
def test_a_transfer_still_on_is_joined_and_its_leg_end_is_asked_for(
    twilio: TwilioPoster, twilio_http: Any, status: str
) -> None:
    twilio_http.respond("GET", f"/Tasks/{TRANSFER_TASK}$", task_answer(status))
    response = twilio.post(JOIN, join_form())
    dial = ET.fromstring(response.body).find("Dial")
    assert dial is not None and dial.find("Conference") is not None
    assert dial.attrib["action"] == PUBLIC_BASE_URL + LEFT


@pytest.mark.parametrize("status", ["canceled", "completed", "wrapping"])
def test_a_transfer_called_off_while_it_rang_is_not_joined(
    twilio: TwilioPoster, twilio_http: Any, status: str
) -> None:
    twilio_http.respond("GET", f"/Tasks/{TRANSFER_TASK}$", task_answer(status))
    response = twilio.post(JOIN, join_form())
    assert response.status_code == 200
    root = ET.fromstring(response.body)
    assert root.find("Dial") is None
    assert root.find("Hangup") is not None


def test_twilio_failing_on_the_check_still_joins_the_colleague(
    twilio: TwilioPoster, twilio_http: Any
) -> None:
    twilio_http.fail("GET", f"/Tasks/{TRANSFER_TASK}$", status=503)
    response = twilio.post(JOIN, join_form())
    assert ET.fromstring(response.body).find("Dial/Conference") is not None


def test_the_colleagues_leg_leaving_wraps_their_task_once(
    twilio: TwilioPoster, twilio_http: Any
) -> None:
    updates: list[dict[str, str]] = []

    def update(request: Any) -> tuple[int, dict[str, Any]]:
        updates.append(dict(request.data))
        # Twilio refuses to wrap a task that is no longer assigned: a retried callback.
        return (
            (200, task_answer("wrapping")[1])
            if len(updates) == 1
            else (
                400,
                {"code": 20001, "message": "not assigned", "status": 400},
            )
        )

    twilio_http.respond("POST", f"/Tasks/{TRANSFER_TASK}$", update)
    form = {**join_form(), "CallStatus": "completed", "DialCallStatus": "completed"}
    for _ in range(2):
        response = twilio.post(LEFT, form)
        assert response.status_code == 200
        assert ET.fromstring(response.body).find("Hangup") is not None
    assert updates[0] == {"AssignmentStatus": "wrapping", "Reason": "agent leg ended"}
    assert len(updates) == 2


def test_a_leg_end_naming_no_task_sid_is_a_bad_request(twilio: TwilioPoster) -> None:
    response = twilio.post("/twilio/voice/task-leg/ended?task=nope", join_form())
    assert response.status_code == 400


def test_an_unsigned_leg_end_changes_nothing(twilio: TwilioPoster, twilio_http: Any) -> None:
    assert twilio.post(LEFT, join_form(), signature=None).status_code == 403
    assert twilio_http.requests == []
