"""The backfill job's mapping of TaskRouter's Event resource to the callback form, and its
watermark (chalicelib/conversations/backfill.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chalicelib.conversations.backfill import FIRST_WINDOW_MS, OVERLAP_MS, TaskRouterEventBackfill
from chalicelib.conversations.events import taskrouter_event
from chalicelib.platform.errors import StorageUnavailable, TelephonyUnavailable
from chalicelib.telephony.rest import event_callback_form
from chalicelib.telephony.taskrouter_events import TaskRouterEvent
from tests.data import ACCOUNT_SID, sid

SPEC = Path(__file__).parents[1] / (
    "openapi/node_modules/@twilio/cli-core/src/services/twilio-api/twilio_taskrouter_v1.json"
)
WS = "WS" + "b" * 32


def twilios_example_event() -> dict[str, Any]:
    """The Event in ListEvent's `readFull` example of Twilio's OpenAPI description."""
    spec = json.loads(SPEC.read_text(encoding="utf-8"))
    operation = spec["paths"]["/v1/Workspaces/{WorkspaceSid}/Events"]["get"]
    example = operation["responses"]["200"]["content"]["application/json"]["examples"]
    [event] = example["readFull"]["value"]["events"]
    return dict(event)


def test_twilios_own_example_maps_to_the_callback_our_parser_reads() -> None:
    form = event_callback_form(twilios_example_event())
    event = TaskRouterEvent.from_form(form)
    assert event.event_sid == "EV" + "a" * 32 and event.event_type == "worker.activity"
    assert event.resource_type == "worker" and event.resource_sid == "WK" + "a" * 32
    assert event.worker_sid == "WK" + "a" * 32 and event.worker_activity_name == "Offline"
    assert event.worker_attributes == {}
    assert event.occurred_ms == 987654321111 and form["Timestamp"] == "987654321"
    assert form["WorkspaceName"] == "WorkspaceName"
    assert form["WorkerTimeInPreviousActivityMs"] == "26123"
    assert form["EventDescription"] == "Worker JustinWorker updated to Idle Activity"


def reservation_accepted(at_ms: int, event_n: int = 1, call_n: int = 1) -> dict[str, Any]:
    """An Event resource as the API renders it: snake_case, data fields in event_data."""
    return {
        "account_sid": ACCOUNT_SID,
        "workspace_sid": WS,
        "sid": sid("EV", event_n),
        "event_type": "reservation.accepted",
        "description": "Reservation accepted",
        "resource_type": "reservation",
        "resource_sid": sid("WR", event_n),
        "event_date": "2026-01-01T00:00:00Z",
        "event_date_ms": at_ms,
        "event_data": {
            "task_sid": sid("WT", call_n),
            "task_attributes": json.dumps({"call_sid": sid("CA", call_n), "type": "inbound_call"}),
            "task_age": 12,
            "reservation_sid": sid("WR", event_n),
            "worker_sid": sid("WK", 1),
            "worker_name": "sato",
            "worker_attributes": json.dumps({"agent_id": "sato", "team": "a"}),
            "workspace_name": "cc",
        },
    }


def test_a_reservation_event_lands_in_its_call_with_the_fields_the_fold_reads() -> None:
    form = event_callback_form(reservation_accepted(1_780_000_000_123))
    stored = taskrouter_event(TaskRouterEvent.from_form(form).raw)
    assert stored.conversation_id == sid("CA", 1) and stored.occurred_ms == 1_780_000_000_123
    assert sid("WT", 1) in stored.links
    assert form["ReservationSid"] == sid("WR", 1) and form["WorkerName"] == "sato"
    assert json.loads(form["WorkerAttributes"])["agent_id"] == "sato"
    assert form["TaskAge"] == "12"  # numbers become the callback's text


def test_without_event_date_ms_the_iso_date_is_the_time() -> None:
    resource = {**reservation_accepted(0), "event_date_ms": None}
    resource["event_date"] = "2026-01-01T00:00:05Z"
    assert event_callback_form(resource)["TimestampMs"] == "1767225605000"


class FakeSource:
    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.events = events
        self.windows: list[tuple[int, int]] = []
        self.down = False

    def taskrouter_events(self, start_ms: int, end_ms: int) -> list[dict[str, str]]:
        self.windows.append((start_ms, end_ms))
        if self.down:
            raise TelephonyUnavailable("twilio down")
        return [
            event_callback_form(e) for e in self.events if start_ms <= e["event_date_ms"] <= end_ms
        ]


class FakeLedger:
    def __init__(self) -> None:
        self.stored: set[str] = set()
        self.failing: set[str] = set()

    def keep_taskrouter_event(self, event: TaskRouterEvent) -> bool:
        if event.event_sid in self.failing:
            raise StorageUnavailable("throttled")
        new = event.event_sid not in self.stored
        self.stored.add(event.event_sid)
        return new


class FakeMarks:
    def __init__(self) -> None:
        self.marks: dict[str, int] = {}

    def watermark(self, job: str) -> int | None:
        return self.marks.get(job)

    def set_watermark(self, job: str, until_ms: int) -> None:
        self.marks[job] = until_ms


T0 = 1_780_000_000_000
MINUTE = 60_000


def job(source: FakeSource, ledger: FakeLedger, marks: FakeMarks, now: list[int]) -> Any:
    return TaskRouterEventBackfill(source, ledger, marks, lambda: now[0])  # type: ignore[arg-type]


def test_runs_read_from_the_watermark_with_overlap_and_store_each_event_once() -> None:
    source = FakeSource(
        [reservation_accepted(T0 - MINUTE, 1), reservation_accepted(T0 + 3 * MINUTE, 2)]
    )
    ledger, marks, now = FakeLedger(), FakeMarks(), [T0]
    first = job(source, ledger, marks, now).run()
    assert source.windows == [(T0 - FIRST_WINDOW_MS, T0)]
    assert (first.read, first.stored, marks.marks["taskrouter_events"]) == (1, 1, T0)
    now[0] = T0 + 5 * MINUTE
    second = job(source, ledger, marks, now).run()
    assert source.windows[-1] == (T0 - OVERLAP_MS, T0 + 5 * MINUTE)
    # The overlap reads the first event again: already stored, not counted as new.
    assert (second.read, second.stored) == (2, 1)
    assert ledger.stored == {sid("EV", 1), sid("EV", 2)}


def test_a_failed_write_holds_the_watermark_until_the_event_is_stored() -> None:
    late = T0 + 2 * MINUTE
    source = FakeSource([reservation_accepted(late, 1), reservation_accepted(late + MINUTE, 2)])
    ledger, marks, now = FakeLedger(), FakeMarks(), [T0 + 5 * MINUTE]
    ledger.failing = {sid("EV", 1)}
    report = job(source, ledger, marks, now).run()
    assert report.failed == [sid("EV", 1)] and ledger.stored == {sid("EV", 2)}
    # Every next run reads the failed event again, however long the fault lasts.
    for _ in range(6):
        now[0] += 5 * MINUTE
        job(source, ledger, marks, now).run()
        assert source.windows[-1][0] <= late
    assert source.windows[-1][0] == late  # and no further back than it
    ledger.failing = set()
    now[0] += 5 * MINUTE
    job(source, ledger, marks, now).run()
    assert sid("EV", 1) in ledger.stored and marks.marks["taskrouter_events"] == now[0]


def test_twilio_down_fails_the_run_and_keeps_the_watermark() -> None:
    source, ledger, marks, now = FakeSource([]), FakeLedger(), FakeMarks(), [T0]
    marks.marks["taskrouter_events"] = T0 - 20 * MINUTE
    source.down = True
    with pytest.raises(TelephonyUnavailable):
        job(source, ledger, marks, now).run()
    assert marks.marks["taskrouter_events"] == T0 - 20 * MINUTE


def test_a_malformed_event_is_skipped_not_fatal() -> None:
    bad = {**reservation_accepted(T0 - MINUTE, 1), "sid": "not-an-event-sid"}
    source = FakeSource([bad, reservation_accepted(T0 - MINUTE, 2)])
    ledger, marks, now = FakeLedger(), FakeMarks(), [T0]
    report = job(source, ledger, marks, now).run()
    assert (report.malformed, report.stored) == (1, 1)


def test_a_run_out_of_time_leaves_the_rest_to_the_next_run() -> None:
    events = [reservation_accepted(T0 - 10 * MINUTE + n * MINUTE, n + 1) for n in range(6)]
    source, ledger, marks, now = FakeSource(events[::-1]), FakeLedger(), FakeMarks(), [T0]
    ticks = iter(range(100))  # a second per look at the clock: 3.5 s stores three
    backfill = TaskRouterEventBackfill(
        source,
        ledger,  # type: ignore[arg-type]
        marks,  # type: ignore[arg-type]
        lambda: now[0],
        budget_s=3.5,
        monotonic=lambda: float(next(ticks)),
    )
    report = backfill.run()
    # Oldest first: the three oldest stored, the rest not reached.
    assert ledger.stored == {sid("EV", n) for n in (1, 2, 3)} and report.unreached == 3
    now[0] += 5 * MINUTE
    job(source, ledger, marks, now).run()
    assert source.windows[-1][0] <= events[3]["event_date_ms"]
    assert ledger.stored == {sid("EV", n) for n in range(1, 7)}
