"""Records rebuilt off the webhook path: the events stream's consumer and reads that fold.

A webhook stores its event and returns; `conversation_stream` (the events table's DynamoDB
stream) rebuilds each conversation named in a batch once. A read that acts on a record
(`current_record`) folds the events itself while the stream has not caught up.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.bootstrap import Container
from chalicelib.conversations.events import Event
from chalicelib.conversations.fold import fold
from ops.benchmarks.common import AwsRequestCounter
from tests import conversation_script as script
from tests.conftest import ENGINES
from tests.conversation_stream import deliver_stream, invoke, stream_record

pytestmark = ENGINES


def stored(container: Container, s: script.CallScript) -> list[Event]:
    for event in s.events():
        container.ledger.store_event(event)
    return container.conversation_events.events(s.call_sid)


def folded(container: Container, conversation_id: str) -> dict[str, Any]:
    """What folding every stored event gives, in the stored item's shape (via DynamoDB JSON)."""
    events = container.conversation_events.events(conversation_id)
    record = fold(conversation_id, events, container.ledger.policy)
    item = {k: v for k, v in record.items() if v is not None and v != ""}
    item["event_count"] = len(events)
    return dict(json.loads(json.dumps(item)))


def test_a_batch_rebuilds_each_conversation_once_as_a_fold_of_all_its_events(
    container: Container, aws: Any
) -> None:
    counter = AwsRequestCounter(aws)
    calls = [
        script.offered_five_times_then_answered_by_x(n=61),
        script.abandoned_in_queue(n=62),
        script.voicemail(n=63),
    ]
    keys: list[tuple[str, str]] = []
    for s in calls:
        stored(container, s)
        keys.extend((s.call_sid, e.key) for e in s.events())
    assert all(container.conversations.get(s.call_sid) is None for s in calls)

    # Every insert twice (at-least-once delivery), interleaved, plus records that name no
    # conversation: a link, a pending event, a worker event, and a TTL deletion.
    records = [stream_record(pk, sk, n) for n, (pk, sk) in enumerate(keys * 2)]
    records += [
        stream_record("L#" + calls[0].task_sid, "link", 9001),
        stream_record("P#CF" + "9" * 32, "recording#RE1#completed", 9002),
        stream_record("X#WK" + "1" * 32, "taskrouter#EV1", 9003),
        stream_record(calls[1].call_sid, "voice#old", 9004, event_name="REMOVE"),
    ]
    counter.reset()
    invoke(records)

    assert counter.by_operation["Query"] == len(calls)
    assert counter.by_operation["PutItem"] == len(calls)
    for s in calls:
        assert container.conversations.get(s.call_sid) == folded(container, s.call_sid)
    assert container.conversations.get(calls[0].call_sid)["missed_offers"] == 5  # type: ignore[index]


def test_a_rebuild_from_fewer_events_never_overwrites_a_newer_record(
    container: Container,
) -> None:
    s = script.answered_by_owner(n=64)
    events = stored(container, s)
    deliver_stream(container)
    newest = container.conversations.get(s.call_sid)
    older = fold(s.call_sid, events[:-3], container.ledger.policy)
    assert container.conversations.put(older, len(events) - 3) is False
    assert container.conversations.get(s.call_sid) == newest
    invoke([stream_record(s.call_sid, events[0].key, 1)])  # a late redelivery
    assert container.conversations.get(s.call_sid) == newest


def test_a_read_before_the_stream_folds_the_stored_events(container: Container) -> None:
    s = script.offered_five_times_then_answered_by_x(n=65)
    stored(container, s)
    assert container.conversations.get(s.call_sid) is None

    before_stream = container.ledger.current_record(s.call_sid)
    assert before_stream == folded(container, s.call_sid)
    assert before_stream is not None and before_stream["answered_by"] == "agent_x"

    deliver_stream(container)
    assert container.ledger.current_record(s.call_sid) == before_stream
    assert container.conversations.get(s.call_sid) == before_stream


def test_a_read_of_a_record_behind_its_events_sees_the_newer_event(container: Container) -> None:
    s = script.answered_by_owner(n=66)
    stored(container, s)
    deliver_stream(container)
    container.ledger.record_call_fact(
        s.call_sid, "wrap_up_note", script.T0 + 900_000, {"note": "call back"}
    )
    stale = container.conversations.get(s.call_sid)
    fresh = container.ledger.current_record(s.call_sid)
    assert stale is not None and fresh is not None
    assert fresh["event_count"] == stale["event_count"] + 1
    assert fresh == folded(container, s.call_sid)
    assert container.ledger.current_record("CA" + "0" * 32) is None


def test_a_webhook_stores_its_event_and_writes_a_known_link_only_once(
    container: Container, aws: Any
) -> None:
    counter = AwsRequestCounter(aws)
    s = script.answered_by_owner(n=67)
    task_events = [e for e in s.events() if e.source == "taskrouter"]
    voice = next(e for e in s.events() if e.source == "voice")
    assert len(task_events) >= 3

    counter.reset()
    container.ledger.store_event(voice)
    assert dict(counter.by_operation) == {"PutItem": 1}

    counter.reset()
    container.ledger.store_event(task_events[0])
    first = counter.total  # the event and the task's link (and any leg/conference it names)
    counter.reset()
    container.ledger.store_event(task_events[1])
    assert counter.by_operation["PutItem"] <= first
    assert "Query" not in counter.by_operation and "GetItem" not in counter.by_operation

    counter.reset()
    container.ledger.store_event(task_events[1])  # Twilio's retry of the same event
    assert dict(counter.by_operation) == {"PutItem": 1}


def degraded_route_answered_by_owner(n: int) -> script.CallScript:
    """The directory read failed at the incoming call: the task went to everyone with no
    customer; the customer's owner happened to answer."""
    s = script.CallScript(n=n, customer_id="", owner="", team="", stage="everyone")
    s.leg("ringing", 0).task("task.created", 1, routing_degraded=True)
    s.offer("owner", 1, 6, "accepted", routing_degraded=True)
    s.leg("completed", 60, duration=60)
    s.task("task.wrapup", 60, routing_degraded=True)
    return s


def test_a_degraded_route_learns_its_customer_when_the_record_is_rebuilt(
    container: Container, resources: Any
) -> None:
    from tests.data import put_customer

    s = degraded_route_answered_by_owner(n=71)
    put_customer(resources, container.settings, phone=s.caller, owner="owner", team="tokyo")
    stored(container, s)
    deliver_stream(container)
    record = container.conversations.get(s.call_sid)
    assert record is not None
    assert (record["customer_id"], record["owner_agent_id"], record["team"]) == (
        "C1",
        "owner",
        "tokyo",
    )
    assert record["answered_by"] == "owner" and record["routing_degraded"] is True
    assert record["answered_relation"] == "owner"  # counted in the owner-reach rate
    # Stored once as a fact: the next rebuild reads no directory and folds the same record.
    facts = [e for e in container.conversation_events.events(s.call_sid) if e.source == "fact"]
    assert [e.form["Fact"] for e in facts] == ["customer_identified"]


def test_a_degraded_route_from_an_unknown_caller_stays_without_customer(
    container: Container,
) -> None:
    s = degraded_route_answered_by_owner(n=72)
    stored(container, s)
    deliver_stream(container)
    record = container.conversations.get(s.call_sid)
    assert record is not None and not record.get("customer_id")
