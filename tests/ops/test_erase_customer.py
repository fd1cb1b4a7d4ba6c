"""`python -m ops erase-customer ID` on moto: every trace of one customer gone, others kept."""

from __future__ import annotations

import io
import json
from typing import Any

import pyarrow.parquet as pq

from chalicelib import bootstrap
from chalicelib.conversations.events import voice_event
from chalicelib.conversations.export import object_key
from chalicelib.recordings.domain import transcript_keys
from ops.erase import erase_customer
from tests.data import put_customer, sid
from tests.hostile import stored_contents

DAY = "2025-11-25"
STARTED = "Tue, 25 Nov 2025 01:02:03 +0000"  # 10:02 in Tokyo


def _call(container: bootstrap.Container, n: int, caller: str, customer_id: str = "") -> str:
    call_sid = sid("CA", n)
    for status in ("ringing", "completed"):
        form = {
            "AccountSid": "AC" + "a" * 32,
            "CallSid": call_sid,
            "CallStatus": status,
            "From": caller,
            "To": "+81300000000",
            "Direction": "inbound",
            "Timestamp": STARTED,
            "SequenceNumber": "0" if status == "ringing" else "1",
        }
        container.ledger.store_event(voice_event(form))
    if customer_id:  # as TaskRouter's task attributes or a late identification name them
        container.ledger.record_call_fact(
            call_sid,
            "customer_identified",
            1_764_032_523_000,
            {"customer_id": customer_id, "customer_name": "x", "owner_agent_id": "", "team": ""},
        )
    container.ledger.rebuild_conversations([call_sid])
    return call_sid


def _recording(container: bootstrap.Container, aws: Any, settings: Any, n: int, call: str) -> str:
    from datetime import UTC, datetime

    key = f"recordings/2025/11/25/{call}/{sid('RE', n)}.wav"
    s3 = aws.client("s3")
    for body in (b"first", b"second"):  # two versions: an overwrite keeps the first
        s3.put_object(Bucket=settings.recordings.recordings_bucket, Key=key, Body=body)
    for extra in transcript_keys(key):
        s3.put_object(Bucket=settings.recordings.recordings_bucket, Key=extra, Body=b"{}")
    store = container.recording_store
    store.mark_received(sid("RE", n), datetime(2025, 11, 25, tzinfo=UTC))
    store.record(sid("RE", n), key=key, conversation_id=call, status="copied")
    return key


def _exported_ids(aws: Any, settings: Any) -> set[str]:
    body = (
        aws.client("s3")
        .get_object(Bucket=settings.conversations.analytics_bucket, Key=object_key(DAY))["Body"]
        .read()
    )
    return set(pq.read_table(io.BytesIO(body)).column("conversation_id").to_pylist())


def test_erasing_a_customer_removes_every_trace_and_keeps_everyone_else(
    container: bootstrap.Container, aws: Any, resources: Any, settings: Any
) -> None:
    put_customer(resources, settings, phone="+81312345678", customer_id="C1")
    put_customer(resources, settings, phone="+81398765432", customer_id="C1", name="Sakura 2")
    put_customer(resources, settings, phone="+81311112222", customer_id="C2", name="Other")
    # One call identified by the index, one only by the caller's number.
    erased = [_call(container, 1, "+81312345678", "C1"), _call(container, 2, "+81398765432")]
    kept = _call(container, 3, "+81311112222", "C2")
    erased_key = _recording(container, aws, settings, 1, erased[0])
    kept_key = _recording(container, aws, settings, 3, kept)
    container.conversation_export.export_one_day(DAY)
    assert _exported_ids(aws, settings) == {*erased, kept}

    report = erase_customer("C1", aws, settings)

    assert sorted(report.conversations) == sorted(erased)
    assert report.customer_rows == 2
    assert report.events == 5  # two callbacks per call, one identification
    assert report.recording_items == 1
    assert report.s3_object_versions == 4  # two audio versions, raw output, speaker turns
    assert report.export_days_rewritten == [DAY]
    # The reports' roll-up of the day no longer names the customer.
    assert report.report_rollup_days_rewritten == [DAY]
    rollup = container.report_rollups.get(DAY)
    assert rollup is not None and rollup["all"]["customers"]["id"] == ["C2"]
    assert "C1" not in json.dumps(rollup)
    assert _exported_ids(aws, settings) == {kept}
    contents = repr(stored_contents(aws))
    for trace in [*erased, "+81312345678", "+81398765432", erased_key, sid("RE", 1)]:
        assert trace not in contents, trace
    for trace in [kept, "+81311112222", kept_key, sid("RE", 3)]:
        assert trace in contents, trace
    assert container.ledger.current_record(kept) is not None


def test_erasing_twice_finds_nothing_the_second_time(
    container: bootstrap.Container, aws: Any, resources: Any, settings: Any
) -> None:
    put_customer(resources, settings, phone="+81312345678", customer_id="C1")
    _call(container, 1, "+81312345678")
    erase_customer("C1", aws, settings)
    before = stored_contents(aws)
    again = erase_customer("C1", aws, settings)
    assert (again.customer_rows, again.conversations, again.events) == (0, [], 0)
    assert stored_contents(aws) == before
