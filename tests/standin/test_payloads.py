"""The stand-in's forms use Twilio's documented names and formats, nothing invented."""

from __future__ import annotations

import json
from email.utils import parsedate_to_datetime

from ops.standin import payloads
from tests.standin import documented

AC = "AC" + "1" * 32


def voice() -> dict[str, str]:
    return payloads.voice_request(
        account_sid=AC,
        call_sid="CA" + "2" * 32,
        from_="+81312345678",
        to="+81300000000",
        call_status="ringing",
        direction="inbound",
    )


def test_incoming_call_has_the_documented_parameters_only() -> None:
    form = voice()
    assert set(form) >= documented.VOICE_REQUEST_REQUIRED
    assert set(form) <= documented.VOICE_REQUEST
    assert form["ApiVersion"] == "2010-04-01"


def test_status_callback_has_sequence_number_and_rfc2822_timestamp() -> None:
    form = payloads.call_status_callback(
        voice(), call_status="completed", sequence_number=3, timestamp=1736874192, call_duration=61
    )
    assert set(form) >= documented.STATUS_CALLBACK_REQUIRED
    assert set(form) <= documented.STATUS_CALLBACK
    assert form["Timestamp"] == "Tue, 14 Jan 2025 17:03:12 +0000"
    assert parsedate_to_datetime(form["Timestamp"]).timestamp() == 1736874192
    assert form["SequenceNumber"] == "3"
    assert form["CallDuration"] == "61"
    assert form["Duration"] == "2", "billed minutes, rounded up"
    assert form["CallbackSource"] == "call-progress-events"


def test_taskrouter_event_uses_lowercase_resource_type_and_epoch_timestamps() -> None:
    form = payloads.taskrouter_event(
        event_sid="EV" + "3" * 32,
        event_type="reservation.created",
        account_sid=AC,
        workspace_sid="WS" + "4" * 32,
        workspace_name="cc",
        resource_type="Reservation",
        resource_sid="WR" + "5" * 32,
        timestamp=1736874192.25,
        description="Reservation created",
        data={"TaskSid": "WT" + "6" * 32, "ReservationSid": "WR" + "5" * 32},
    )
    assert set(form) >= documented.TASKROUTER_EVENT_COMMON
    assert set(form) <= documented.TASKROUTER_EVENT_COMMON | documented.TASKROUTER_EVENT_DATA
    assert form["ResourceType"] == "reservation"
    assert form["Timestamp"] == "1736874192"
    assert form["TimestampMs"] == "1736874192250"


def test_assignment_callback_is_exactly_the_documented_set() -> None:
    form = payloads.assignment_callback(
        account_sid=AC,
        workspace_sid="WS" + "4" * 32,
        workflow_sid="WW" + "7" * 32,
        task_queue_sid="WQ" + "8" * 32,
        task_sid="WT" + "6" * 32,
        reservation_sid="WR" + "5" * 32,
        worker_sid="WK" + "9" * 32,
        task_age=3,
        task_priority=10,
        task_attributes={"call_sid": "CA1", "caller": "+8131"},
        worker_attributes={"agent_id": "sato"},
    )
    assert set(form) == documented.ASSIGNMENT_CALLBACK
    assert json.loads(form["TaskAttributes"])["caller"] == "+8131"


def test_conference_callback_fields_and_event_names() -> None:
    form = payloads.conference_callback(
        account_sid=AC,
        conference_sid="CF" + "a" * 32,
        friendly_name="WT" + "6" * 32,
        event="conference-end",
        sequence_number=5,
        timestamp=1736874192,
        extra={"ReasonConferenceEnded": "participant-with-end-conference-on-exit-left"},
    )
    assert set(form) <= documented.CONFERENCE_CALLBACK
    assert form["StatusCallbackEvent"] in documented.CONFERENCE_EVENTS
    assert form["ReasonConferenceEnded"] in documented.CONFERENCE_END_REASONS
    parsedate_to_datetime(form["Timestamp"])


def test_conference_recording_callback_has_conference_sid_and_no_call_sid() -> None:
    form = payloads.recording_callback(
        account_sid=AC,
        recording_sid="RE" + "b" * 32,
        recording_url=f"https://api.twilio.com/2010-04-01/Accounts/{AC}/Recordings/RE" + "b" * 32,
        status="completed",
        duration=95,
        channels=2,
        start_time=1736874192,
        source="StartConferenceRecordingAPI",
        conference_sid="CF" + "a" * 32,
    )
    assert set(form) <= documented.RECORDING_CALLBACK
    assert form["RecordingSource"] in documented.RECORDING_SOURCES
    assert form["CallSid"] == ""
    assert form["ConferenceSid"].startswith("CF")
    assert form["ErrorCode"] == "0"
    assert not form["RecordingUrl"].endswith((".wav", ".mp3"))
