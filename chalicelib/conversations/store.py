"""DynamoDB adapters for the conversation event store and the conversation records.

Event store (one table, `conversation_events_table`), items by partition key `pk`:
- `<customer call sid>` / `<event key>`: one raw callback of that conversation, stored once
  (conditional put on the natural key; a retried callback is a no-op).
- `P#<sid>` / `<event key>`: a callback whose conversation is not known yet (an agent leg
  TaskRouter dialled, a conference recording), filed under the sid that will link it.
- `L#<sid>` / `link`: that sid belongs to conversation `conversation_id`.
- `X#<resource sid>` / `<event key>`: TaskRouter events about no call (worker activity), kept raw.
- `W#<job>` / `watermark`: how far a reconciliation job has read (`until_ms`), no expiry.
Every item expires (`expires_at`, TTL) after the retention period.

Conversation records (`conversations_table`): one item per conversation, `conversation_id`,
rewritten whole by the events stream's consumer, guarded by `event_count` (the event set only
grows, so a record folded from more events is newer; a slower concurrent rebuild cannot
overwrite it).
GSIs: day-index (all attributes: export, KPIs, unfiltered listing), customer-index,
agent-index, team-index (summaries for the filtered listing), the sparse cost-pending-index and
the sparse live-index (conversations not ended: the supervisors' floor).
"""

from __future__ import annotations

import base64
import json
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.conversations.events import Event, from_stored
from chalicelib.platform.errors import InvalidInput, StorageUnavailable

LINK_SORT_KEY = "link"
PENDING_PREFIX = "P#"
LINK_PREFIX = "L#"
OTHER_PREFIX = "X#"
WATERMARK_PREFIX = "W#"
WATERMARK_SORT_KEY = "watermark"


def conversation_of_partition(keys: Mapping[str, Any] | None) -> str:
    """The conversation an event item's stream keys (DynamoDB JSON) belong to; "" for a link,
    pending or unattached item (prefixed partitions)."""
    pk = str(((keys or {}).get("pk") or {}).get("S") or "")
    if pk.startswith((PENDING_PREFIX, LINK_PREFIX, OTHER_PREFIX, WATERMARK_PREFIX)):
        return ""
    return pk


def _conditional_failed(exc: ClientError) -> bool:
    code = exc.response.get("Error", {}).get("Code")
    return bool(code == "ConditionalCheckFailedException")


def _plain(value: Any) -> Any:
    """DynamoDB's Decimals back to ints (we store no fractions) and containers to plain ones."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | set | tuple):
        return [_plain(v) for v in value]
    return value


# Links this container has written or found written, remembered so a call's later TaskRouter
# events (each naming the same task) skip the write; ~100 bytes each.
KNOWN_LINKS_KEPT = 20_000


class EventStore:
    def __init__(self, table: Any, retention_days: int) -> None:
        self._table = table
        self._retention_s = retention_days * 86400
        self._known_links: OrderedDict[tuple[str, str], None] = OrderedDict()

    def _item(self, pk: str, event: Event, now_s: int) -> dict[str, Any]:
        occurred_s = event.occurred_ms // 1000 or now_s
        return {
            "pk": pk,
            "sk": event.key,
            "source": event.source,
            "occurred_ms": event.occurred_ms,
            "form": dict(event.form),
            "context": dict(event.context),
            "expires_at": occurred_s + self._retention_s,
        }

    def _put_new(self, item: dict[str, Any]) -> bool:
        try:
            self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(sk)")
        except ClientError as exc:
            if _conditional_failed(exc):
                return False
            raise StorageUnavailable(f"event store write failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageUnavailable(f"event store write failed: {exc}") from exc
        return True

    def put(self, event: Event, conversation_id: str, now_s: int) -> bool:
        """Store the event under its conversation; False if it was already there."""
        return self._put_new(self._item(conversation_id, event, now_s))

    def record_cost(self, conversation_id: str, item: str, usd: str, now_s: int) -> bool:
        """A cost of the conversation other than a Twilio leg's (e.g. its live transcript),
        stored as a price event so the record's cost folds it in; stored once."""
        from chalicelib.conversations.events import price_event

        return self.put(price_event(conversation_id, item, usd, "USD"), conversation_id, now_s)

    def put_pending(self, event: Event, now_s: int) -> bool:
        return self._put_new(self._item(PENDING_PREFIX + event.pending_on, event, now_s))

    def put_unattached(self, event: Event, resource_sid: str, now_s: int) -> bool:
        return self._put_new(self._item(OTHER_PREFIX + resource_sid, event, now_s))

    def link(self, sid: str, conversation_id: str, now_s: int) -> bool:
        """Record that `sid` belongs to the conversation; False if that was already known.

        A link is never rewritten, so once this container has written it or seen its
        conditional put fail, it is known and asking again would only repeat that failure.
        A put that raised is not remembered: the retried event writes the link again.
        """
        known = (sid, conversation_id)
        if known in self._known_links:
            self._known_links.move_to_end(known)
            return False
        new = self._put_new(
            {
                "pk": LINK_PREFIX + sid,
                "sk": LINK_SORT_KEY,
                "conversation_id": conversation_id,
                "expires_at": now_s + self._retention_s,
            }
        )
        self._known_links[known] = None
        if len(self._known_links) > KNOWN_LINKS_KEPT:
            self._known_links.popitem(last=False)
        return new

    def watermark(self, job: str) -> int | None:
        """Epoch ms up to which the job `job` has read its source; None if it never ran."""
        try:
            item = self._table.get_item(
                Key={"pk": WATERMARK_PREFIX + job, "sk": WATERMARK_SORT_KEY}, ConsistentRead=True
            ).get("Item")
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable(f"watermark read failed: {exc}") from exc
        return int(item["until_ms"]) if item else None

    def set_watermark(self, job: str, until_ms: int) -> None:
        try:
            self._table.put_item(
                Item={"pk": WATERMARK_PREFIX + job, "sk": WATERMARK_SORT_KEY, "until_ms": until_ms}
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable(f"watermark write failed: {exc}") from exc

    def resolve(self, sids: Iterable[str]) -> str | None:
        """The conversation any of these sids is linked to, read strongly consistent."""
        for sid in dict.fromkeys(s for s in sids if s):
            try:
                item = self._table.get_item(
                    Key={"pk": LINK_PREFIX + sid, "sk": LINK_SORT_KEY}, ConsistentRead=True
                ).get("Item")
            except (ClientError, BotoCoreError) as exc:
                raise StorageUnavailable(f"link lookup failed: {exc}") from exc
            if item:
                return str(item["conversation_id"])
        return None

    def _query(self, pk: str) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(pk),
            "ConsistentRead": True,
        }
        try:
            while True:
                page = self._table.query(**kwargs)
                yield from page.get("Items", [])
                if "LastEvaluatedKey" not in page:
                    return
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable(f"event store read failed: {exc}") from exc

    def events(self, conversation_id: str) -> list[Event]:
        """Every event of the conversation (strongly consistent: includes the one just put)."""
        return [
            from_stored(
                str(item["source"]),
                {k: str(v) for k, v in item.get("form", {}).items()},
                {k: str(v) for k, v in item.get("context", {}).items()},
                conversation_id,
            )
            for item in self._query(conversation_id)
        ]

    def pending(self, sid: str) -> list[Event]:
        return [
            from_stored(
                str(item["source"]),
                {k: str(v) for k, v in item.get("form", {}).items()},
                {k: str(v) for k, v in item.get("context", {}).items()},
                "",
            )
            for item in self._query(PENDING_PREFIX + sid)
        ]


# Attributes the filtered listings (customer, agent, team indexes) project: a summary row.
SUMMARY_ATTRIBUTES = (
    "conversation_id",
    "direction",
    "customer_id",
    "customer_name",
    "caller",
    "team",
    "started_ms",
    "ended_ms",
    "outcome",
    "answered_by",
    "answered_relation",
    "stage_reached",
    "queue_wait_ms",
    "talk_ms",
    "missed_offers",
    "cost_micros",
)
# The outcomes a follow-up inbox lists (issue 18).
FOLLOW_UP_OUTCOMES = ("voicemail", "callback")
INDEX_FOR_FILTER = {
    "customer_id": "customer-index",
    "agent_id": "agent-index",
    "team": "team-index",
}
# The attribute each filtered index is partitioned by.
INDEX_HASH_KEY = {"customer_id": "customer_id", "agent_id": "answered_by", "team": "team"}


@dataclass(frozen=True)
class ConversationQuery:
    """GET /conversations: at most one of customer/agent/team, plus outcome and a time range."""

    from_ms: int
    to_ms: int
    days: tuple[str, ...]  # the local days (newest first) the range covers, for day-index
    customer_id: str = ""
    agent_id: str = ""
    team: str = ""
    outcome: str = ""
    limit: int = 50


def encode_cursor(position: Mapping[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(position, default=str).encode()).decode()


def decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        position = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError) as exc:
        raise InvalidInput("cursor is not one this API returned") from exc
    if not isinstance(position, dict):
        raise InvalidInput("cursor is not one this API returned")
    return position


def _record(item: Mapping[str, Any]) -> dict[str, Any]:
    """A stored record as the fold makes it: `expires_at` is the table's, not the record's."""
    return {k: v for k, v in _plain(item).items() if k != "expires_at"}


def cursor_position(
    position: Mapping[str, Any], hash_keys: Sequence[str]
) -> tuple[int, dict[str, Any] | None]:
    """The partition a cursor resumes at and its start key, checked against the search's own
    partitions: a start key must be exactly the index's key (its hash key, `started_ms`, the
    table's `conversation_id`), each of its type, or DynamoDB refuses the Query
    (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_Query.html,
    ExclusiveStartKey) and a hand-made cursor would surface as a 503."""
    refused = InvalidInput("cursor is not one this API returned for this search")
    p, key = position.get("p", 0), position.get("k")
    if type(p) is not int or not 0 <= p <= len(hash_keys):
        raise refused
    if key is None:
        return p, None
    if p == len(hash_keys) or not isinstance(key, dict):
        raise refused
    expected = {"conversation_id": str, hash_keys[p]: str, "started_ms": int}
    if set(key) != set(expected) or not all(type(key[k]) is t for k, t in expected.items()):
        raise refused
    if not all(key[k] for k in expected if expected[k] is str) or not (
        0 <= key["started_ms"] < 10**15
    ):
        raise refused
    return p, dict(key)


class ConversationTable:
    def __init__(self, table: Any, retention_days: int = 1095) -> None:
        self._table = table
        # A record expires (DynamoDB TTL on `expires_at`) this long after its call started.
        self._retention_s = retention_days * 86_400

    def put(self, record: Mapping[str, Any], event_count: int) -> bool:
        """Write the record unless one folded from at least as many events is already there."""
        item = {k: v for k, v in record.items() if v is not None and v != ""}
        item["event_count"] = event_count
        started_ms = item.get("started_ms")
        if isinstance(started_ms, int | Decimal) and not isinstance(started_ms, bool):
            item["expires_at"] = int(started_ms) // 1000 + self._retention_s
        try:
            self._table.put_item(
                Item=item,
                ConditionExpression="attribute_not_exists(conversation_id) OR event_count < :n",
                ExpressionAttributeValues={":n": event_count},
            )
        except ClientError as exc:
            if _conditional_failed(exc):
                return False
            raise StorageUnavailable(f"conversation write failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageUnavailable(f"conversation write failed: {exc}") from exc
        return True

    def get(self, conversation_id: str) -> dict[str, Any] | None:
        try:
            item = self._table.get_item(Key={"conversation_id": conversation_id}).get("Item")
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable(f"conversation read failed: {exc}") from exc
        return _record(item) if item else None

    def _pages(self, kwargs: dict[str, Any]) -> Iterator[tuple[list[dict[str, Any]], Any]]:
        try:
            while True:
                page = self._table.query(**kwargs)
                yield [_plain(i) for i in page.get("Items", [])], page.get("LastEvaluatedKey")
                if "LastEvaluatedKey" not in page:
                    return
                kwargs = {**kwargs, "ExclusiveStartKey": page["LastEvaluatedKey"]}
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable(f"conversation query failed: {exc}") from exc

    def day(self, day: str) -> Iterator[dict[str, Any]]:
        """Every conversation that started on a local day (day-index, all attributes)."""
        kwargs = {"IndexName": "day-index", "KeyConditionExpression": Key("day").eq(day)}
        for items, _ in self._pages(kwargs):
            yield from (_record(i) for i in items)

    def cost_pending(self, limit: int) -> list[dict[str, Any]]:
        """Ended conversations still missing a leg's price, oldest first."""
        kwargs: dict[str, Any] = {
            "IndexName": "cost-pending-index",
            "KeyConditionExpression": Key("cost_pending").eq("1"),
            "Limit": limit,
        }
        found: list[dict[str, Any]] = []
        for items, _ in self._pages(kwargs):
            found.extend(items)
            if len(found) >= limit:
                break
        return found[:limit]

    def live(self, since_ms: int) -> list[dict[str, Any]]:
        """Conversations not ended that started since `since_ms` (the sparse live-index: callers
        waiting and calls in progress, a few hundred items at most); newest first."""
        kwargs: dict[str, Any] = {
            "IndexName": "live-index",
            "KeyConditionExpression": Key("live").eq("1") & Key("started_ms").gte(since_ms),
            "ScanIndexForward": False,
        }
        found: list[dict[str, Any]] = []
        for items, _ in self._pages(kwargs):
            found.extend(items)
        return found

    def search(
        self, query: ConversationQuery, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of conversations, newest first, and the cursor of the next page."""
        filters = [(f, getattr(query, f)) for f in INDEX_FOR_FILTER if getattr(query, f)]
        if len(filters) > 1:
            raise InvalidInput("filter by one of customer, agent or team at a time")
        in_range = Key("started_ms").between(query.from_ms, query.to_ms)
        if filters:
            name, value = filters[0]
            partitions = [(INDEX_FOR_FILTER[name], INDEX_HASH_KEY[name], value)]
        else:
            partitions = [("day-index", "day", day) for day in query.days]
        position: dict[str, Any] = decode_cursor(cursor) if cursor else {"p": 0, "k": None}
        p, start_key = cursor_position(position, [hash_key for _, hash_key, _ in partitions])
        results: list[dict[str, Any]] = []
        while p < len(partitions) and len(results) < query.limit:
            index, hash_key, value = partitions[p]
            kwargs: dict[str, Any] = {
                "IndexName": index,
                "KeyConditionExpression": Key(hash_key).eq(value) & in_range,
                "ScanIndexForward": False,
                "Limit": query.limit - len(results),
            }
            if query.outcome:
                kwargs["FilterExpression"] = Attr("outcome").eq(query.outcome)
            if start_key:
                kwargs["ExclusiveStartKey"] = start_key
            try:
                page = self._table.query(**kwargs)
            except (ClientError, BotoCoreError) as exc:
                raise StorageUnavailable(f"conversation query failed: {exc}") from exc
            results.extend(_plain(i) for i in page.get("Items", []))
            start_key = _plain(page.get("LastEvaluatedKey"))
            if not start_key:
                p += 1
        more = p < len(partitions)
        next_cursor = encode_cursor({"p": p, "k": start_key}) if more else None
        return [summary(r) for r in results], next_cursor

    def follow_ups_of_team(self, team: str, from_ms: int, limit: int) -> list[dict[str, Any]]:
        """The team's voicemails and callback requests since `from_ms`, newest first, as whole
        records (the team index projects a summary: one GetItem each, at most `limit`)."""
        found: list[dict[str, Any]] = []
        for outcome in FOLLOW_UP_OUTCOMES:
            query = ConversationQuery(
                from_ms=from_ms, to_ms=2**53, days=(), team=team, outcome=outcome, limit=limit
            )
            found.extend(self.search(query, None)[0])
        found.sort(key=lambda r: int(r.get("started_ms") or 0), reverse=True)
        records = [self.get(str(r["conversation_id"])) for r in found[:limit]]
        return [r for r in records if r is not None]


def summary(record: Mapping[str, Any]) -> dict[str, Any]:
    return {k: record[k] for k in SUMMARY_ATTRIBUTES if k in record}
