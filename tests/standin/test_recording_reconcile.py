"""Recordings that never call back are found by the reconciliation job, as deployed.

The conference instruction subscribes the recording callback to `completed` only (it has no
`conference_recording_status_callback_event`: chalicelib/routing/twiml.py), and Twilio calls
back on `absent`/`failed` only for subscribers of those events
(https://support.twilio.com/hc/en-us/articles/360014251313). The stand-in's chaos knob
(`Conference.recording_fault`) makes four answered calls' recordings: absent (Twilio keeps an
`absent` recording, https://www.twilio.com/docs/api/errors/16102), failed (no recording
resource), completed but unannounced (its callback lost), and one that goes right. The app runs
in-process with its scheduled functions on the virtual clock (ops/standin/lambdas.py), so the
job (`reconcile_recordings`, every 10 minutes) asks Twilio's Conference Recording list
(https://www.twilio.com/docs/voice/api/conference-recording-resource#read-multiple-conferencerecording-resources)
as it would on AWS.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from ops.standin.engine import CallerPlan
from ops.standin.harness import Stack
from tests.standin.floor import available_floor

FAULTS = ("absent", "failed", "unannounced", "")
WAIT_MINUTES = 30  # RecordingSettings.recording_reconcile_after_minutes' default
LIST = "/Recordings.json"


@dataclass
class Day:
    stack: Stack
    calls: dict[str, str]  # fault -> the customer's CallSid
    conferences: dict[str, str]  # fault -> ConferenceSid
    recordings: dict[str, str]  # fault -> RecordingSid
    lists_after_first_settle: int
    media_after_first_settle: int


def list_requests(stack: Stack) -> int:
    return sum(
        1
        for e in stack.rest.exchanges or []
        if e.method == "GET" and "/Conferences/" in e.path and e.path.endswith(LIST)
    )


def media_fetches(stack: Stack) -> int:
    counters = stack.standin.stats.counters
    return sum(n for name, n in counters.items() if name.startswith("RecordingMediaFetched"))


@pytest.fixture(scope="module")
def day() -> Iterator[Day]:
    with available_floor(8, seed=5) as (stack, _agents, customers):
        s = stack.standin
        owned = [c for c in customers if c["owner_agent_id"]][: len(FAULTS)]
        calls: dict[str, str] = {}
        for fault, customer in zip(FAULTS, owned, strict=True):
            plan = CallerPlan(
                caller=customer["phone"],
                patience=300.0,
                talk_seconds=60.0,
                customer_id=customer["customer_id"],
                owner_agent_id=customer["owner_agent_id"],
                team=customer["team"],
            )
            calls[fault] = s.place_call(plan)
            s.clock.run(until=s.now() + 5)
        # The knob is set while the conference is live: its recording goes wrong at the end.
        conferences: dict[str, str] = {}
        deadline = s.now() + 600
        while len(conferences) < len(FAULTS) and s.now() < deadline:
            for fault, sid in calls.items():
                conference_sid = s.calls[sid].conference_sid
                if fault not in conferences and conference_sid:
                    s.conferences[conference_sid].recording_fault = fault
                    conferences[fault] = conference_sid
            s.clock.run(until=s.now() + 2)
        assert len(conferences) == len(FAULTS), conferences
        truths = [stack.truth.get(sid) for sid in calls.values()]
        deadline = s.now() + 900
        while any(t.ended_at is None for t in truths) and s.now() < deadline:
            s.clock.run(until=s.now() + 10)
        recordings = {f: s.conferences[cf].recording_sid for f, cf in conferences.items()}
        # Past the wait and at least one run of the job.
        s.clock.run(until=s.now() + (WAIT_MINUTES + 12) * 60)
        lists, media = list_requests(stack), media_fetches(stack)
        # Another hour of runs: a settled conversation is not asked about again.
        s.clock.run(until=s.now() + 3600)
        yield Day(stack, calls, conferences, recordings, lists, media)


def events_of(day: Day, fault: str) -> list[Any]:
    return day.stack.container.conversation_events.events(day.calls[fault])


def test_a_completed_recording_nobody_announced_is_copied(day: Day) -> None:
    store = day.stack.container.recording_store
    sid = day.recordings["unannounced"]
    assert day.stack.standin.recordings[sid].status == "completed"
    item = store.get(sid)
    assert item is not None and item["status"] == "copied", item
    assert item["conversation_id"] == day.calls["unannounced"]
    # Stored as the callback would have been: the conversation record lists it.
    record = day.stack.container.conversations.get(day.calls["unannounced"])
    assert record is not None and [r["sid"] for r in record["recordings"]] == [sid], record
    settled = store.reconciled(day.calls["unannounced"])
    assert settled is not None
    assert settled["conferences"] == {day.conferences["unannounced"]: "copied"}


def test_an_absent_recording_is_recorded_lost(day: Day) -> None:
    store = day.stack.container.recording_store
    sid = day.recordings["absent"]
    item = store.get(sid)
    assert item is not None and item["twilio_status"] == "absent", item
    assert item["status"] != "copied" and item.get("error_code") == "16102", item
    stored = [e.form for e in events_of(day, "absent") if e.form.get("RecordingSid") == sid]
    assert [f["RecordingStatus"] for f in stored] == ["absent"], stored
    settled = store.reconciled(day.calls["absent"])
    assert settled is not None
    assert settled["conferences"] == {day.conferences["absent"]: "lost"}
    # The conversation record says so, for reports and supervisors.
    record = day.stack.container.ledger.current_record(day.calls["absent"])
    assert record is not None and record["recordings_lost"] == [{"sid": sid, "status": "absent"}]


def test_a_conference_with_no_recording_at_all_is_recorded_missing(day: Day) -> None:
    store = day.stack.container.recording_store
    assert day.recordings["failed"] not in day.stack.standin.recordings
    assert store.get(day.recordings["failed"]) is None
    settled = store.reconciled(day.calls["failed"])
    assert settled is not None
    assert settled["conferences"] == {day.conferences["failed"]: "missing"}
    record = day.stack.container.ledger.current_record(day.calls["failed"])
    assert record is not None and record["recordings_lost"] == [{"sid": "", "status": "missing"}]


def test_the_announced_recording_is_left_to_its_callback(day: Day) -> None:
    store = day.stack.container.recording_store
    item = store.get(day.recordings[""])
    assert item is not None and item["status"] == "copied", item
    # Its record listed the recording long before the wait: never a candidate.
    assert store.reconciled(day.calls[""]) is None


def test_nothing_is_copied_twice_and_settled_calls_are_not_asked_again(day: Day) -> None:
    # The two recordings with media were each downloaded once: the normal one by its callback,
    # the unannounced one by the job; no run afterwards fetched or listed anything more.
    assert day.media_after_first_settle == 2
    assert media_fetches(day.stack) == 2
    assert day.lists_after_first_settle == 3
    assert list_requests(day.stack) == day.lists_after_first_settle
    counters = day.stack.app_counters
    assert counters is not None and counters["RecordingCopied"] == 2, counters
    assert counters["RecordingCopySkippedDuplicate"] == 0, counters


# What chalicelib/telephony/rest.py `conference_recordings` reads of each listed recording.
LIST_READS = (
    "sid",
    "status",
    "error_code",
    "duration",
    "channels",
    "source",
    "start_time",
    "account_sid",
    "conference_sid",
)


def test_the_job_asks_and_the_standin_answers_as_twilios_api_documents(day: Day) -> None:
    """The request is Twilio's ListConferenceRecording operation with its parameters, and each
    reply has the fields the adapter reads, typed as Twilio's OpenAPI description says, and no
    field the description does not name (tests/openapi: @twilio/cli-core's description)."""
    from tests.openapi import twilio_spec
    from tests.openapi.test_standin_openapi import url_of

    exchanges = [
        e
        for e in day.stack.rest.exchanges or []
        if e.method == "GET" and "/Conferences/" in e.path and e.path.endswith(LIST)
    ]
    assert len(exchanges) == 3
    statuses = set()
    problems: list[str] = []
    for exchange in exchanges:
        url = url_of(exchange)
        found = twilio_spec.find_operation(exchange.method, url)
        assert found is not None, url
        operation = found[0]
        assert operation.operation_id == "ListConferenceRecording"
        problems += twilio_spec.request_problems(
            exchange.method, url, exchange.query, exchange.form
        )
        body = json.loads(exchange.reply.body)
        statuses |= {r["status"] for r in body["recordings"]}
        problems += twilio_spec.response_problems(
            operation, exchange.reply.status, body, LIST_READS
        )
    assert not problems, problems
    # The absent one and the unannounced completed one were listed; the failed one was not.
    assert statuses == {"absent", "completed"}


def test_the_lost_callback_arriving_after_the_job_copies_nothing_again(day: Day) -> None:
    """Twilio's delivery is at-least-once and unordered: the unannounced recording's callback
    may still come after the job copied it. It is answered `duplicate` and fetches nothing.
    (Runs last: it changes the day the tests above read.)"""
    from ops.standin import payloads

    s = day.stack.standin
    conference = s.conferences[day.conferences["unannounced"]]
    recording = s.recordings[day.recordings["unannounced"]]
    assert conference.recording_callback
    counters = day.stack.app_counters
    assert counters is not None
    duplicates = counters["RecordingCallbackDuplicate"]
    s.delivery.callback(
        conference.recording_callback,
        payloads.recording_callback(
            account_sid=s.account.account_sid,
            recording_sid=recording.sid,
            recording_url=s.recorder.recording_url(recording.sid),
            status="completed",
            duration=recording.duration,
            channels=recording.channels,
            start_time=recording.start,
            source=recording.source,
            conference_sid=conference.sid,
        ),
    )
    s.clock.run(until=s.now() + 120)
    assert counters["RecordingCallbackDuplicate"] == duplicates + 1
    assert media_fetches(day.stack) == 2
    assert counters["RecordingCopied"] == 2
