"""The fallback voice flow: the keypad menu, voicemail and callback tasks, outside hours, and
the callback reaching the customer with the agent already on the line."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from chalicelib.bootstrap import Container
from chalicelib.escalation.business_hours import around_the_clock
from tests.conftest import PUBLIC_BASE_URL, TwilioPoster, make_settings
from tests.data import ACCOUNT_SID, incoming_call_form, put_customer, put_presence, sid
from tests.fakes.taskrouter import FakeTaskRouter
from tests.fakes.twilio_http import RecordingHttpClient

CALL = incoming_call_form()["CallSid"]
CALLER = "+81312345678"
ALWAYS_CLOSED = json.dumps({"time_zone": "Asia/Tokyo", "weekly": {}})
ALWAYS_OPEN = around_the_clock()


def form(**extra: str) -> dict[str, str]:
    return {"CallSid": CALL, "AccountSid": ACCOUNT_SID, "From": CALLER, **extra}


def xml(response: Any) -> ET.Element:
    assert response.status_code == 200, response.body
    assert response.headers["Content-Type"] == "text/xml"
    return ET.fromstring(response.body)


@pytest.fixture
def taskrouter(twilio_http: RecordingHttpClient) -> FakeTaskRouter:
    return FakeTaskRouter(twilio_http)


@pytest.fixture
def customer(resources: Any, settings: Any) -> None:
    put_customer(resources, settings, phone=CALLER, owner="sato", team="tokyo")


@pytest.fixture
def facts(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> list[tuple[str, str, dict[str, Any]]]:
    """The facts handed to the conversations area (issue 5), at its ledger's boundary."""
    recorded: list[tuple[str, str, dict[str, Any]]] = []

    def record_call_fact(call_sid: str, fact: str, occurred_ms: int, data: dict[str, Any]) -> None:
        assert occurred_ms > 1_700_000_000_000
        recorded.append((call_sid, fact, data))

    monkeypatch.setattr(container.ledger, "record_call_fact", record_call_fact)
    return recorded


def test_menu_offers_voicemail_and_callback_in_japanese(twilio: TwilioPoster) -> None:
    root = xml(twilio.post("/twilio/voice/fallback", form()))
    gather = root.find("Gather")
    assert gather is not None
    assert gather.get("numDigits") == "1"
    assert gather.get("action") == PUBLIC_BASE_URL + "/twilio/voice/fallback/choice"
    say = gather.find("Say")
    assert say is not None and say.get("language") == "ja-JP" and "1" in (say.text or "")
    redirect = root.find("Redirect")
    assert redirect is not None, "silence must not drop the caller"


def test_unsigned_fallback_request_is_rejected(twilio: TwilioPoster) -> None:
    for path in (
        "/twilio/voice/fallback",
        "/twilio/voice/fallback/choice",
        "/twilio/voice/voicemail",
        "/twilio/voice/queue-exit",
    ):
        assert twilio.post(path, form(), signature=None).status_code == 403


@pytest.mark.parametrize(("digits", "warned"), [("1", False), ("", False), ("7", True)])
def test_voicemail_is_recorded_for_1_silence_or_a_wrong_key(
    twilio: TwilioPoster, digits: str, warned: bool
) -> None:
    root = xml(twilio.post("/twilio/voice/fallback/choice", form(Digits=digits)))
    record = root.find("Record")
    assert record is not None
    assert record.get("action") == PUBLIC_BASE_URL + "/twilio/voice/voicemail"
    assert record.get("recordingStatusCallback") == PUBLIC_BASE_URL + "/twilio/recordings/status"
    says = [s.text for s in root.findall("Say")]
    assert ("入力が確認できませんでした。" in says) is warned


def test_voicemail_becomes_a_low_priority_task_for_the_owner(
    twilio: TwilioPoster,
    taskrouter: FakeTaskRouter,
    customer: None,
    facts: list[Any],
    settings: Any,
) -> None:
    recording = sid("RE", 1)
    response = twilio.post(
        "/twilio/voice/voicemail",
        form(
            RecordingSid=recording,
            RecordingUrl=f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{recording}",
            RecordingDuration="14",
        ),
    )
    assert xml(response).find("Hangup") is not None
    [task] = taskrouter.created()
    assert task.attributes["type"] == "voicemail"
    assert task.attributes["original_call_sid"] == CALL
    assert task.attributes["owner_agent_id"] == "sato"
    assert task.attributes["recording_sid"] == recording
    assert task.priority < 10, "below live callers"
    assert task.timeout == settings.escalation.followup_task_timeout_seconds
    assert task.channel == "voice"
    assert [(f[0], f[1]) for f in facts] == [(CALL, "voicemail_left")]


def test_hang_up_without_a_message_leaves_a_callback_task(
    twilio: TwilioPoster, taskrouter: FakeTaskRouter, customer: None, facts: list[Any]
) -> None:
    twilio.post("/twilio/voice/voicemail", form(RecordingDuration="0"))
    [task] = taskrouter.created()
    assert task.attributes["type"] == "callback"
    assert task.attributes["callback_number"] == CALLER


def test_callback_request_becomes_a_task_and_rings_the_customer_when_accepted(
    twilio: TwilioPoster,
    taskrouter: FakeTaskRouter,
    customer: None,
    facts: list[Any],
    settings: Any,
) -> None:
    root = xml(twilio.post("/twilio/voice/fallback/choice", form(Digits="2")))
    assert root.find("Hangup") is not None
    [task] = taskrouter.created("callback")
    assert task.attributes["callback_number"] == CALLER
    assert task.attributes["original_call_sid"] == CALL
    assert task.attributes["owner_agent_id"] == "sato"
    assert [(f[0], f[1]) for f in facts] == [(CALL, "callback_requested")]

    # Later, the owner's reservation: ring the owner first, then the customer.
    assignment = twilio.post(
        "/twilio/taskrouter/assignment",
        {
            "AccountSid": ACCOUNT_SID,
            "WorkspaceSid": "WS" + "b" * 32,
            "TaskSid": task.sid,
            "ReservationSid": sid("WR", 9),
            "WorkerSid": sid("WK", 9),
            "TaskAttributes": json.dumps(task.attributes),
            "WorkerAttributes": json.dumps({"agent_id": "sato"}),
        },
    )
    instruction = json.loads(assignment.body)
    connect_url = f"{PUBLIC_BASE_URL}/twilio/voice/callback/{task.sid}/connect"
    assert instruction == {
        "instruction": "call",
        "accept": True,
        "to": "client:sato",
        "from": CALLER,
        "url": connect_url,
        "status_callback_url": PUBLIC_BASE_URL + "/twilio/voice/status",
    }
    taskrouter.set_status(task.sid, "assigned")
    agent_leg = {"CallSid": sid("CA", 99), "AccountSid": ACCOUNT_SID, "From": CALLER}
    root = xml(twilio.post(f"/twilio/voice/callback/{task.sid}/connect", agent_leg))
    dial = root.find("Dial")
    assert dial is not None
    assert dial.get("callerId") == settings.telephony.company_number
    # When the call with the customer ends, the callback task must end too (nothing else does).
    assert dial.get("action") == f"{PUBLIC_BASE_URL}/twilio/voice/task-leg/ended?task={task.sid}"
    number = dial.find("Number")
    assert number is not None and number.text == CALLER


def test_withheld_number_cannot_ask_for_a_callback(
    twilio: TwilioPoster, taskrouter: FakeTaskRouter
) -> None:
    root = xml(twilio.post("/twilio/voice/fallback/choice", form(Digits="2", From="anonymous")))
    assert root.find("Record") is not None
    assert taskrouter.created() == []


def test_voicemail_task_is_simply_accepted(twilio: TwilioPoster) -> None:
    response = twilio.post(
        "/twilio/taskrouter/assignment",
        {
            "AccountSid": ACCOUNT_SID,
            "WorkspaceSid": "WS" + "b" * 32,
            "TaskSid": sid("WT", 3),
            "ReservationSid": sid("WR", 3),
            "WorkerSid": sid("WK", 3),
            "TaskAttributes": json.dumps({"type": "voicemail", "original_call_sid": CALL}),
            "WorkerAttributes": json.dumps({"agent_id": "sato"}),
        },
    )
    assert json.loads(response.body) == {"instruction": "accept"}


def voicemail_accepted(n: int) -> dict[str, str]:
    return {
        "AccountSid": ACCOUNT_SID,
        "WorkspaceSid": "WS" + "b" * 32,
        "Sid": sid("EV", n),
        "EventType": "reservation.accepted",
        "ResourceType": "reservation",
        "ResourceSid": sid("WR", 3),
        "TaskSid": sid("WT", 3),
        "ReservationSid": sid("WR", 3),
        "WorkerSid": sid("WK", 3),
        "TaskAttributes": json.dumps({"type": "voicemail", "original_call_sid": CALL}),
        "WorkerAttributes": json.dumps({"agent_id": "sato"}),
        "Timestamp": "1738688580",
        "TimestampMs": "1738688580000",
    }


def test_an_accepted_voicemail_task_goes_to_wrapping_so_it_never_holds_the_agent(
    twilio: TwilioPoster, twilio_http: Any
) -> None:
    updates: list[dict[str, str]] = []

    def update(request: Any) -> tuple[int, Any]:
        updates.append(dict(request.data))
        if len(updates) > 1:  # TaskRouter refuses to wrap a task already wrapping
            return 400, {"code": 20001, "message": "not assigned", "status": 400}
        return 200, {"sid": sid("WT", 3), "assignment_status": "wrapping", "attributes": "{}"}

    twilio_http.respond("POST", f"/Tasks/{sid('WT', 3)}$", update)
    for n in (1, 2):  # TaskRouter delivered the event twice
        assert twilio.post("/twilio/taskrouter/events", voicemail_accepted(n)).status_code == 200
    assert updates[0] == {"AssignmentStatus": "wrapping", "Reason": "voicemail handed over"}


@pytest.mark.parametrize(
    ("result", "menu"),
    [
        ("bridged", False),
        ("hangup", False),
        ("leave", True),
        ("system-error", True),
        # Our fallback step redirected it by REST (voice/twiml/enqueue): the same menu.
        ("redirected", True),
    ],
)
def test_leaving_the_queue_unanswered_goes_to_the_menu(
    twilio: TwilioPoster, result: str, menu: bool
) -> None:
    root = xml(twilio.post("/twilio/voice/queue-exit", form(QueueResult=result)))
    assert (root.find("Gather") is not None) is menu


def test_outside_hours_caller_hears_the_message_and_goes_straight_to_the_menu(
    twilio: TwilioPoster,
    container: Any,
    customer: None,
    resources: Any,
    facts: list[Any],
) -> None:
    put_presence(resources, container.settings, "sato", "available")
    container.settings = make_settings(business_hours=ALWAYS_CLOSED)
    root = xml(twilio.post("/twilio/voice/incoming", incoming_call_form()))
    assert root.find("Enqueue") is None, "nobody is watching the queue"
    assert "営業時間外" in (root.find("Say").text or "")  # type: ignore[union-attr]
    assert root.find("Gather") is not None
    assert [(f[0], f[1]) for f in facts] == [(CALL, "outside_hours")]


def test_open_hours_caller_is_enqueued_with_the_queue_exit_action(
    twilio: TwilioPoster, container: Any, facts: list[Any]
) -> None:
    container.settings = make_settings(business_hours=ALWAYS_OPEN)
    root = xml(twilio.post("/twilio/voice/incoming", incoming_call_form()))
    enqueue = root.find("Enqueue")
    assert enqueue is not None
    assert enqueue.get("action") == PUBLIC_BASE_URL + "/twilio/voice/queue-exit"
    assert facts == []


def test_prompts_follow_the_configured_language(twilio: TwilioPoster, container: Any) -> None:
    container.settings = make_settings(prompt_language="en-US")
    root = xml(twilio.post("/twilio/voice/fallback", form()))
    say = root.find("Gather/Say")
    assert say is not None and say.get("language") == "en-US"
    assert "press 1" in (say.text or "")


@pytest.mark.parametrize(
    ("tokyo_time", "open_"),
    [("2026-12-07T10:00", True), ("2026-12-05T10:00", False), ("2026-12-07T19:00", False)],
)
def test_business_hours_are_read_on_the_containers_clock(
    twilio: TwilioPoster, container: Any, customer: None, tokyo_time: str, open_: bool
) -> None:
    """The bundled calendar (weekdays 09:00-18:00 Tokyo) against the container's clock, not the
    wall's: a rehearsed Monday stays open when the rehearsal runs on a Saturday."""
    container.settings = make_settings(business_hours="")
    moment = datetime.fromisoformat(tokyo_time).replace(tzinfo=ZoneInfo("Asia/Tokyo"))
    container.clock = lambda: int(moment.timestamp() * 1000)
    root = xml(twilio.post("/twilio/voice/incoming", incoming_call_form()))
    assert (root.find("Enqueue") is not None) is open_
