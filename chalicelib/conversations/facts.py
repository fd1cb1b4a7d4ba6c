"""Recording what happens on a call, once, and keeping its conversation record up to date.

Every part of the app that learns something about a call comes through here: the ingest routes
(leg, conference and recording callbacks), the TaskRouter event subscriber, the escalation flow
(`outside_hours`, `fallback_offered`, `voicemail_left`, `callback_requested`), the softphone
(`wrap_up_note`) and the price reconciliation job. Each event is stored raw with a conditional
put on its natural key, and that is all a webhook does: a retried callback costs one failed
conditional write, a new one one successful write (plus a link write the first time a task,
agent leg or conference is seen by this container).

The record is rebuilt off the webhook path, by the events table's stream consumer
(`rebuild_conversations`): a batch of stream records is grouped by conversation and each
conversation is folded once from all of its events, written under the `event_count` guard. A
read that must be current (`current_record`) folds the events itself when the stored record
is missing or built from fewer events than are stored. See docs/conversations.md, "Cost".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from chalicelib.conversations.events import (
    RECORDING,
    VOICEMAIL,
    Event,
    fact_event,
    recording_event,
    taskrouter_event,
)
from chalicelib.conversations.fold import CUSTOMER_IDENTIFIED, FoldPolicy, fold
from chalicelib.platform.errors import StorageUnavailable
from chalicelib.platform.observability import count, logger

if TYPE_CHECKING:
    from chalicelib.bootstrap import Container
    from chalicelib.telephony.taskrouter_events import TaskRouterEvent


def _now_s(container: Container) -> int:
    return container.clock() // 1000


def policy(container: Container) -> FoldPolicy:
    s = container.settings
    return FoldPolicy(
        short_abandon_ms=s.short_abandon_seconds * 1000,
        timezone=s.report_timezone,
        service_level_ms=s.service_level_seconds * 1000,
    )


def record_call_fact(
    container: Container, call_sid: str, fact: str, occurred_ms: int, data: dict[str, Any]
) -> None:
    """Store an app-level fact about the customer's call `call_sid` (idempotent).

    `fact` is one of outside_hours, fallback_offered, voicemail_left, callback_requested,
    wrap_up_note, customer_identified; `data` is small JSON-able detail (e.g. {"agent_id": ...,
    "note": ...}).
    Retry with the same `occurred_ms`: the pair (fact, occurred_ms) is the idempotency key.
    """
    store_event(container, fact_event(call_sid, fact, occurred_ms, data))


def store_callback(
    container: Container,
    source: str,
    form: Mapping[str, str],
    query: Mapping[str, str] | None = None,
) -> bool:
    """Store a recording status callback raw (`source`: "recording" or "voicemail").

    Called by the recordings route after it verified the signature; pass the request's query
    parameters if the callback URL carried our context. True if the callback was new.
    """
    if source not in (RECORDING, VOICEMAIL):
        raise ValueError(f"store_callback takes recording or voicemail, not {source!r}")
    return store_event(container, recording_event(source, form, query))


def store_taskrouter_event(event: TaskRouterEvent, container: Container) -> None:
    """EVENT_SUBSCRIBERS entry: keep every TaskRouter event, raw, before Twilio forgets the task."""
    stored = taskrouter_event(event.raw)
    if stored.conversation_id:
        store_event(container, stored)
    else:
        # Worker activity and other events about no call: kept raw, no conversation to rebuild.
        resource = event.resource_sid or event.worker_sid or event.task_sid or "workspace"
        container.conversation_events.put_unattached(stored, resource, _now_s(container))


def store_event(container: Container, event: Event) -> bool:
    """Store one event once (and the links it proves). True if new.

    The record is rebuilt by the stream consumer from the write, or here when
    `conversation_rebuild_inline` is set (the local stage, which has no stream consumers).
    """
    store = container.conversation_events
    now_s = _now_s(container)
    conversation = event.conversation_id
    if not conversation:
        conversation = store.resolve([event.pending_on]) or ""
        if not conversation:
            new = store.put_pending(event, now_s)
            # A link may have been written between our lookup and our put: look again, so
            # whichever of the two writes comes second moves the pending events.
            conversation = store.resolve([event.pending_on]) or ""
            if not conversation:
                count("ConversationEventsPending")
                return new
            if (
                _release(container, event.pending_on, conversation, now_s)
                and container.settings.conversation_rebuild_inline
            ):
                rebuild(container, conversation)
            return new
        event = replace(event, conversation_id=conversation)
    new = store.put(event, conversation, now_s)
    released = False
    for sid in event.links:
        if store.link(sid, conversation, now_s):
            released = _release(container, sid, conversation, now_s) or released
    if new or released:
        count("ConversationEventsStored")
        if container.settings.conversation_rebuild_inline:
            rebuild(container, conversation)
    else:
        count("ConversationEventsDuplicate")
    return new


def _release(container: Container, sid: str, conversation: str, now_s: int) -> bool:
    """Move the events waiting on `sid` into the conversation; True if any were new there."""
    store = container.conversation_events
    moved = False
    for waiting in store.pending(sid):
        moved = store.put(waiting, conversation, now_s) or moved
    return moved


def rebuild(container: Container, conversation_id: str) -> dict[str, Any]:
    """Fold the conversation's events into its record and write it."""
    events = container.conversation_events.events(conversation_id)
    record = fold(conversation_id, events, policy(container))
    identified = identify_customer(container, record)
    if identified is not None:
        # Stored just now: folded in without reading the call's events again.
        events = [*events, identified]
        record = fold(conversation_id, events, policy(container))
    written = container.conversations.put(record, len(events))
    logger.debug(
        "conversation rebuilt",
        call_sid=conversation_id,
        events=len(events),
        outcome=record.get("outcome"),
        written=written,
    )
    return record


def identify_customer(container: Container, record: dict[str, Any]) -> Event | None:
    """For a call routed to everyone because the directory could not be read, read it now
    (off the caller's path) and store who the customer is; the fact stored, or None.

    Without it the record of such a call has no owner, and the owner-reach rate silently
    leaves the call out. A failed read is left to the next rebuild; an unknown caller stays
    unknown (and costs one read per rebuild, for degraded calls only)."""
    if (
        not record.get("routing_degraded")
        or record.get("customer_id")
        or record.get("direction") == "outbound"
        or not record.get("caller")
    ):
        return None
    try:
        customer = container.customers.find_by_phone(str(record["caller"]))
    except StorageUnavailable as exc:
        logger.warning("customer still unknown after degraded route", problem=str(exc))
        return None
    if customer is None:
        return None
    fact = fact_event(
        str(record["conversation_id"]),
        CUSTOMER_IDENTIFIED,
        int(record.get("started_ms") or 0),
        {
            "customer_id": customer.customer_id,
            "customer_name": customer.name,
            "owner_agent_id": customer.owner_agent_id,
            "team": customer.team,
        },
    )
    store_event(container, fact)
    count("ConversationCustomerIdentified")
    return fact


def rebuild_conversations(conversation_ids: Iterable[str], container: Container) -> int:
    """Rebuild each conversation once, however many of its events the batch names.

    The stream consumer's work: every record of a batch names an event's partition, so a call's
    burst of callbacks (hang-up: leg completed, conference leave, task wrap-up...) costs one
    Query and one guarded put. Returns how many conversations were rebuilt.
    """
    unique = list(dict.fromkeys(c for c in conversation_ids if c))
    for conversation_id in unique:
        rebuild(container, conversation_id)
    count("ConversationsRebuilt", len(unique))
    return len(unique)


def current_record(container: Container, conversation_id: str) -> dict[str, Any] | None:
    """The conversation's record as of every event stored now; None if there is none.

    The stored record lags the events by the stream's delay (about a second). A reader that
    acts on it (the wrap-up note's permission check, GET /conversations/{id}, who may hear a
    recording) gets the stored record when it was folded from every stored event, and a fold
    of the events otherwise: one GetItem and one consistent Query, no write (the stream
    consumer writes it). Same shape as the stored item, `event_count` included.
    """
    record = container.conversations.get(conversation_id)
    events = container.conversation_events.events(conversation_id)
    if not events or (record is not None and int(record.get("event_count") or 0) >= len(events)):
        return record
    count("ConversationFoldedOnRead")
    folded = fold(conversation_id, events, policy(container))
    item = {k: v for k, v in folded.items() if v is not None and v != ""}
    item["event_count"] = len(events)
    return item
