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

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol

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
    from chalicelib.conversations.store import ConversationTable, EventStore
    from chalicelib.platform.settings import ConversationSettings
    from chalicelib.routing.plan import Customer
    from chalicelib.telephony.taskrouter_events import TaskRouterEvent


class Customers(Protocol):
    """The CRM directory (chalicelib/routing/store.py), read again for a degraded route."""

    def find_by_phone(self, phone_e164: str) -> Customer | None: ...


def policy_from(settings: ConversationSettings) -> FoldPolicy:
    """The fold's reporting rules, from the stage's settings."""
    return FoldPolicy(
        short_abandon_ms=settings.short_abandon_seconds * 1000,
        timezone=settings.report_timezone,
        service_level_ms=settings.service_level_seconds * 1000,
    )


class ConversationLedger:
    """Stores a call's events once and keeps its conversation record a fold of them.

    `rebuild_inline` rebuilds the record on every new event (the local stage, which has no
    stream consumers); otherwise the events table's stream does (`rebuild_conversations`).
    """

    def __init__(
        self,
        events: EventStore,
        conversations: ConversationTable,
        customers: Customers,
        clock: Callable[[], int],
        policy: FoldPolicy,
        rebuild_inline: bool = False,
    ) -> None:
        self._events = events
        self._conversations = conversations
        self._customers = customers
        self._clock = clock
        self.policy = policy
        self._rebuild_inline = rebuild_inline

    def _now_s(self) -> int:
        return self._clock() // 1000

    def record_call_fact(
        self, call_sid: str, fact: str, occurred_ms: int, data: dict[str, Any]
    ) -> None:
        """Store an app-level fact about the customer's call `call_sid` (idempotent).

        `fact` is one of outside_hours, fallback_offered, voicemail_left, callback_requested,
        wrap_up_note, customer_identified; `data` is small JSON-able detail (e.g. {"agent_id":
        ..., "note": ...}).
        Retry with the same `occurred_ms`: the pair (fact, occurred_ms) is the idempotency key.
        """
        self.store_event(fact_event(call_sid, fact, occurred_ms, data))

    def store_callback(
        self, source: str, form: Mapping[str, str], query: Mapping[str, str] | None = None
    ) -> bool:
        """Store a recording status callback raw (`source`: "recording" or "voicemail").

        Called by the recordings route after it verified the signature; pass the request's
        query parameters if the callback URL carried our context. True if the callback was new.
        """
        if source not in (RECORDING, VOICEMAIL):
            raise ValueError(f"store_callback takes recording or voicemail, not {source!r}")
        return self.store_event(recording_event(source, form, query))

    def store_taskrouter_event(self, event: TaskRouterEvent) -> None:
        """EVENT_SUBSCRIBERS entry: keep every TaskRouter event, raw, before Twilio forgets the
        task."""
        self.keep_taskrouter_event(event)

    def keep_taskrouter_event(self, event: TaskRouterEvent) -> bool:
        """Store a TaskRouter event once, idempotent on its sid (the events webhook and the
        backfill job, chalicelib/conversations/backfill.py, both store it). True if new."""
        stored = taskrouter_event(event.raw)
        if stored.conversation_id:
            return self.store_event(stored)
        # Worker activity and other events about no call: kept raw, no conversation to
        # rebuild.
        resource = event.resource_sid or event.worker_sid or event.task_sid or "workspace"
        return self._events.put_unattached(stored, resource, self._now_s())

    def store_event(self, event: Event) -> bool:
        """Store one event once (and the links it proves). True if new.

        The record is rebuilt by the stream consumer from the write, or here when
        `rebuild_inline` is set (the local stage, which has no stream consumers).
        """
        store = self._events
        now_s = self._now_s()
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
                if self._release(event.pending_on, conversation, now_s) and self._rebuild_inline:
                    self.rebuild(conversation)
                return new
            event = replace(event, conversation_id=conversation)
        new = store.put(event, conversation, now_s)
        released = False
        for sid in event.links:
            if store.link(sid, conversation, now_s):
                released = self._release(sid, conversation, now_s) or released
        if new or released:
            count("ConversationEventsStored")
            if self._rebuild_inline:
                self.rebuild(conversation)
        else:
            count("ConversationEventsDuplicate")
        return new

    def _release(self, sid: str, conversation: str, now_s: int) -> bool:
        """Move the events waiting on `sid` into the conversation; True if any were new there."""
        store = self._events
        moved = False
        for waiting in store.pending(sid):
            moved = store.put(waiting, conversation, now_s) or moved
        return moved

    def rebuild(self, conversation_id: str) -> dict[str, Any]:
        """Fold the conversation's events into its record and write it."""
        events = self._events.events(conversation_id)
        record = fold(conversation_id, events, self.policy)
        identified = self.identify_customer(record)
        if identified is not None:
            # Stored just now: folded in without reading the call's events again.
            events = [*events, identified]
            record = fold(conversation_id, events, self.policy)
        written = self._conversations.put(record, len(events))
        logger.debug(
            "conversation rebuilt",
            call_sid=conversation_id,
            events=len(events),
            outcome=record.get("outcome"),
            written=written,
        )
        return record

    def identify_customer(self, record: dict[str, Any]) -> Event | None:
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
            customer = self._customers.find_by_phone(str(record["caller"]))
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
        self.store_event(fact)
        count("ConversationCustomerIdentified")
        return fact

    def rebuild_conversations(self, conversation_ids: Iterable[str]) -> int:
        """Rebuild each conversation once, however many of its events the batch names.

        The stream consumer's work: every record of a batch names an event's partition, so a
        call's burst of callbacks (hang-up: leg completed, conference leave, task wrap-up...)
        costs one Query and one guarded put. Returns how many conversations were rebuilt.
        """
        unique = list(dict.fromkeys(c for c in conversation_ids if c))
        for conversation_id in unique:
            self.rebuild(conversation_id)
        count("ConversationsRebuilt", len(unique))
        return len(unique)

    def current_record(self, conversation_id: str) -> dict[str, Any] | None:
        """The conversation's record as of every event stored now; None if there is none.

        The stored record lags the events by the stream's delay (about a second). A reader that
        acts on it (the wrap-up note's permission check, GET /conversations/{id}, who may hear a
        recording) gets the stored record when it was folded from every stored event, and a
        fold of the events otherwise: one GetItem and one consistent Query, no write (the
        stream consumer writes it). Same shape as the stored item, `event_count` included.
        """
        record = self._conversations.get(conversation_id)
        events = self._events.events(conversation_id)
        if not events or (
            record is not None and int(record.get("event_count") or 0) >= len(events)
        ):
            return record
        count("ConversationFoldedOnRead")
        folded = fold(conversation_id, events, self.policy)
        item = {k: v for k, v in folded.items() if v is not None and v != ""}
        item["event_count"] = len(events)
        return item
