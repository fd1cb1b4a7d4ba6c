"""Ingest: signed callbacks stored once, raw, and folded into the conversation record."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.bootstrap import Container
from chalicelib.platform.signatures import callback_url
from tests import conversation_script as script
from tests.conftest import TwilioPoster
from tests.conversation_stream import deliver_stream

PATHS = {
    "voice": "/twilio/voice/status",
    "conference": "/twilio/conference/status",
    "taskrouter": "/twilio/taskrouter/events",
}


def play(twilio: TwilioPoster, container: Container, s: script.CallScript) -> None:
    """Post the call's callbacks as Twilio does, then let the events stream rebuild records."""
    post(twilio, container, s)
    deliver_stream(container)


def post(twilio: TwilioPoster, container: Container, s: script.CallScript) -> None:
    for kind, form, query in s.callbacks:
        if kind in PATHS:
            # As the app hands Twilio its callback URLs (their query sorted).
            path = callback_url(PATHS[kind], query or {})
            response = twilio.post(path, form)
            assert response.status_code in (200, 204), response.body
        elif kind in ("recording", "voicemail"):
            container.ledger.store_callback(kind, form, query)
        else:
            container.ledger.record_call_fact(
                s.call_sid, form["fact"], int(form["at"]), json.loads(form["data"])
            )


def stored_events(resources: Any, container: Container, pk: str) -> list[dict[str, Any]]:
    table = resources.Table(container.settings.conversations.conversation_events_table)
    return table.query(KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": pk})[
        "Items"
    ]


def test_a_whole_call_posted_as_twilio_does_becomes_one_answered_record(
    twilio: TwilioPoster, container: Container, resources: Any
) -> None:
    s = script.offered_five_times_then_answered_by_x()
    play(twilio, container, s)
    record = container.conversations.get(s.call_sid)
    assert record is not None
    assert record["outcome"] == "answered"
    assert record["missed_offers"] == 5
    assert record["answered_by"] == "agent_x"
    assert len(stored_events(resources, container, s.call_sid)) == len(s.callbacks)


def test_duplicated_callbacks_change_nothing(
    twilio: TwilioPoster, container: Container, resources: Any
) -> None:
    s = script.answered_by_owner()
    play(twilio, container, s)
    before = container.conversations.get(s.call_sid)
    play(twilio, container, s)
    assert container.conversations.get(s.call_sid) == before
    assert len(stored_events(resources, container, s.call_sid)) == len(s.callbacks)


def test_conference_recording_without_call_sid_waits_for_its_conference_then_links(
    twilio: TwilioPoster, container: Container
) -> None:
    s = script.answered_by_owner(n=21)
    recording = next(form for kind, form, _ in s.callbacks if kind == "recording")
    assert container.ledger.store_callback("recording", recording) is True
    assert container.ledger.store_callback("recording", recording) is False
    assert container.conversations.get(s.call_sid) is None
    play(twilio, container, s)
    record = container.conversations.get(s.call_sid)
    assert record is not None
    assert [r["sid"] for r in record["recordings"]] == [recording["RecordingSid"]]


def test_agent_leg_without_our_context_is_linked_by_the_task_worker_call_sid(
    twilio: TwilioPoster, container: Container
) -> None:
    s = script.answered_by_owner(n=22)
    agent_leg = s.agent_leg_sid(1)
    # Drop our query context from the agent leg's callbacks, as an older assignment would.
    s.callbacks = [
        (kind, form, {} if form.get("CallSid") == agent_leg and kind == "voice" else query)
        for kind, form, query in s.callbacks
    ]
    play(twilio, container, s)
    record = container.conversations.get(s.call_sid)
    assert record is not None
    assert record["legs"] == 2
    assert container.conversations.get(agent_leg) is None


def test_worker_events_are_kept_raw_without_a_conversation(
    twilio: TwilioPoster, container: Container, resources: Any
) -> None:
    form = {
        "Sid": script.sid("EV", 77),
        "AccountSid": script.ACCOUNT_SID,
        "WorkspaceSid": script.WORKSPACE,
        "EventType": "worker.activity.update",
        "ResourceType": "worker",
        "ResourceSid": "WK" + "1" * 32,
        "WorkerSid": "WK" + "1" * 32,
        "Timestamp": "1764000000",
        "TimestampMs": "1764000000000",
    }
    assert twilio.post(PATHS["taskrouter"], form).status_code == 200
    assert len(stored_events(resources, container, "X#WK" + "1" * 32)) == 1


def test_unsigned_status_callback_is_refused(twilio: TwilioPoster) -> None:
    s = script.short_abandon()
    _, form, _ = s.callbacks[0]
    assert twilio.post(PATHS["voice"], form, signature=None).status_code == 403


def test_status_callback_without_call_sid_is_400(twilio: TwilioPoster) -> None:
    s = script.short_abandon()
    _, form, _ = s.callbacks[0]
    assert twilio.post(PATHS["voice"], {**form, "CallSid": ""}).status_code == 400
