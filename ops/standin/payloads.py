"""The forms Twilio posts, built field by field with Twilio's own parameter names.

Kept apart from the engine so tests can hold each builder against Twilio's documented
parameter lists (tests/standin/test_payloads.py) rather than against what the app happens to read.
Timestamps: voice, conference and recording callbacks carry RFC 2822 text; TaskRouter events
carry epoch seconds (`Timestamp`) and milliseconds (`TimestampMs`).
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

API_VERSION = "2010-04-01"


def rfc2822(epoch: float) -> str:
    """`Tue, 14 Jan 2025 17:03:12 +0000`, as in Twilio's voice/conference/recording callbacks."""
    return format_datetime(datetime.fromtimestamp(int(epoch), UTC))


def iso8601(epoch: float) -> str:
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _geo(prefix: str, country: str) -> dict[str, str]:
    return {
        f"{prefix}City": "",
        f"{prefix}State": "",
        f"{prefix}Zip": "",
        f"{prefix}Country": country,
    }


def voice_request(
    *,
    account_sid: str,
    call_sid: str,
    from_: str,
    to: str,
    call_status: str,
    direction: str,
    country: str = "JP",
    parent_call_sid: str = "",
) -> dict[str, str]:
    """Twilio's standard voice request parameters (the incoming-call webhook and TwiML fetches).
    https://www.twilio.com/docs/voice/twiml#request-parameters"""
    form = {
        "AccountSid": account_sid,
        "ApiVersion": API_VERSION,
        "CallSid": call_sid,
        "CallStatus": call_status,
        "Called": to,
        "Caller": from_,
        "Direction": direction,
        "From": from_,
        "To": to,
        **_geo("From", country),
        **_geo("To", country),
        **_geo("Caller", country),
        **_geo("Called", country),
    }
    if parent_call_sid:
        form["ParentCallSid"] = parent_call_sid
    return form


def call_status_callback(
    base: dict[str, str],
    *,
    call_status: str,
    sequence_number: int,
    timestamp: float,
    call_duration: int | None = None,
) -> dict[str, str]:
    """A call progress event (statusCallback). https://www.twilio.com/docs/voice/api/call-resource#statuscallback"""
    form = {
        **base,
        "CallStatus": call_status,
        "CallbackSource": "call-progress-events",
        "SequenceNumber": str(sequence_number),
        "Timestamp": rfc2822(timestamp),
    }
    if call_duration is not None:
        form["CallDuration"] = str(call_duration)
        # Billed minutes, rounded up (0 for calls that never connected).
        form["Duration"] = str(math.ceil(call_duration / 60))
    if call_status in {"busy", "no-answer", "failed"}:
        form["SipResponseCode"] = {"busy": "486", "no-answer": "487", "failed": "500"}[call_status]
    return form


def assignment_callback(
    *,
    account_sid: str,
    workspace_sid: str,
    workflow_sid: str,
    task_queue_sid: str,
    task_sid: str,
    reservation_sid: str,
    worker_sid: str,
    task_age: int,
    task_priority: int,
    task_attributes: dict[str, Any],
    worker_attributes: dict[str, Any],
) -> dict[str, str]:
    """The AssignmentCallbackUrl request.
    https://www.twilio.com/docs/taskrouter/handle-assignment-callbacks"""
    return {
        "AccountSid": account_sid,
        "WorkspaceSid": workspace_sid,
        "WorkflowSid": workflow_sid,
        "TaskQueueSid": task_queue_sid,
        "TaskSid": task_sid,
        "ReservationSid": reservation_sid,
        "WorkerSid": worker_sid,
        "TaskAge": str(task_age),
        "TaskPriority": str(task_priority),
        "TaskAttributes": json.dumps(task_attributes, ensure_ascii=False),
        "WorkerAttributes": json.dumps(worker_attributes, ensure_ascii=False),
    }


def taskrouter_event(
    *,
    event_sid: str,
    event_type: str,
    account_sid: str,
    workspace_sid: str,
    workspace_name: str,
    resource_type: str,
    resource_sid: str,
    timestamp: float,
    description: str,
    data: dict[str, str],
) -> dict[str, str]:
    """An EventCallbackUrl request: the common fields plus the event's own data fields.
    ResourceType arrives lowercase in practice. https://www.twilio.com/docs/taskrouter/api/event/reference"""
    return {
        "Sid": event_sid,
        "EventType": event_type,
        "AccountSid": account_sid,
        "WorkspaceSid": workspace_sid,
        "WorkspaceName": workspace_name,
        "EventDescription": description,
        "ResourceType": resource_type.lower(),
        "ResourceSid": resource_sid,
        "Timestamp": str(int(timestamp)),
        "TimestampMs": str(int(timestamp * 1000)),
        **data,
    }


def conference_callback(
    *,
    account_sid: str,
    conference_sid: str,
    friendly_name: str,
    event: str,
    sequence_number: int,
    timestamp: float,
    call_sid: str = "",
    participant: dict[str, Any] | None = None,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """A conference status callback.
    https://www.twilio.com/docs/voice/api/conference-resource#conference-status-callback"""
    form = {
        "AccountSid": account_sid,
        "ConferenceSid": conference_sid,
        "FriendlyName": friendly_name,
        "StatusCallbackEvent": event,
        "SequenceNumber": str(sequence_number),
        "Timestamp": rfc2822(timestamp),
    }
    if call_sid:
        form["CallSid"] = call_sid
    if participant is not None:
        form.update(
            {
                "Muted": str(bool(participant.get("muted"))).lower(),
                "Hold": str(bool(participant.get("hold"))).lower(),
                "Coaching": str(bool(participant.get("coaching"))).lower(),
                "EndConferenceOnExit": str(bool(participant.get("end_on_exit"))).lower(),
                "StartConferenceOnEnter": "true",
            }
        )
        if participant.get("label"):
            form["ParticipantLabel"] = str(participant["label"])
        if participant.get("coaching") and participant.get("call_sid_to_coach"):
            form["CallSidToCoach"] = str(participant["call_sid_to_coach"])
    form.update(extra or {})
    return form


def recording_callback(
    *,
    account_sid: str,
    recording_sid: str,
    recording_url: str,
    status: str,
    duration: int,
    channels: int,
    start_time: float,
    source: str,
    call_sid: str = "",
    conference_sid: str = "",
) -> dict[str, str]:
    """A recordingStatusCallback request. A conference recording has ConferenceSid and no
    CallSid; RecordingUrl has no extension. https://www.twilio.com/docs/voice/api/recording#recordingstatuscallback"""
    form = {
        "AccountSid": account_sid,
        "CallSid": call_sid,
        "RecordingSid": recording_sid,
        "RecordingUrl": recording_url,
        "RecordingStatus": status,
        "RecordingDuration": str(duration),
        "RecordingChannels": str(channels),
        "RecordingStartTime": rfc2822(start_time),
        "RecordingSource": source,
        "ErrorCode": "0",
    }
    if conference_sid:
        form["ConferenceSid"] = conference_sid
    return form
