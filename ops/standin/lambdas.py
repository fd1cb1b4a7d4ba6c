"""AWS Lambda's side for the in-process app: table streams, schedules and SQS queues.

The deployed app reacts to more than HTTP: the presence table's stream mirrors states to
TaskRouter, schedules sweep and reconcile, an SQS queue copies recordings. In-process runs have
no Lambda service, so this plays it on the stand-in's virtual clock, reading the app's own event
source declarations (`app.event_sources`) and calling the same handlers Lambda would.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ops.standin.clock import Scheduler


@dataclass
class _Context:
    function_name: str
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:ap-northeast-1:000000000000:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


TABLE_ARN = "arn:aws:dynamodb:ap-northeast-1:000000000000:table"


class LambdaRuntime:
    def __init__(
        self,
        app: Any,
        session: Any,
        clock: Scheduler,
        stream_poll_seconds: float = 1.0,
        skip: frozenset[str] = frozenset(),
        writes: Writes | None = None,
    ) -> None:
        self._app = app
        # Without a tracker (tables in a moto server process) every poll diffs the whole table.
        self._writes = writes
        self._session = session
        self._clock = clock
        self._poll = stream_poll_seconds
        self._skip = skip
        self.invocations: dict[str, int] = {}
        self.failures: dict[str, int] = {}
        self.last_error: dict[str, str] = {}
        self._tables: dict[str, tuple[str, list[str]]] = {}
        self._snapshots: dict[str, dict[tuple[str, ...], dict[str, Any]]] = {}
        self._sequence = 1

    def start(self) -> None:
        from chalice.app import (
            DynamoDBEventConfig,
            Rate,
            ScheduledEventConfig,
            SQSEventConfig,
        )

        for source in self._app.event_sources:
            if source.name in self._skip:
                continue
            if isinstance(source, DynamoDBEventConfig):
                table = source.stream_arn.split(":table/")[1].split("/")[0]
                self._open_stream(source.name, table)
                self._clock.after(self._poll, self._poll_stream, source.name)
            elif isinstance(source, ScheduledEventConfig) and isinstance(
                source.schedule_expression, Rate
            ):
                seconds = _rate_seconds(source.schedule_expression)
                self._clock.after(seconds, self._scheduled, source.name, seconds)
            elif isinstance(source, SQSEventConfig):
                self._clock.after(self._poll, self._poll_queue, source.name, source.queue)

    def _invoke(self, name: str, event: dict[str, Any]) -> bool:
        handler = self._app.handler_map[name]
        self.invocations[name] = self.invocations.get(name, 0) + 1
        try:
            handler(event, _Context(name))
        except Exception as exc:  # noqa: BLE001 - Lambda would retry; we count and retry too
            self.last_error[name] = repr(exc)
            self.failures[name] = self.failures.get(name, 0) + 1
            return False
        return True

    def _open_stream(self, name: str, table: str) -> None:
        # moto 5.2's in-process DynamoDB Streams API answers "Not yet implemented" to this
        # botocore, so the stream is played by diffing the table between polls: every net
        # change reaches the handler (INSERT/MODIFY/REMOVE with both images), but two changes
        # of one item within a poll interval arrive as one.
        description = self._session.client("dynamodb").describe_table(TableName=table)["Table"]
        self._tables[name] = (table, [k["AttributeName"] for k in description["KeySchema"]])
        self._snapshots[name] = self._scan(table, self._tables[name][1])
        if self._writes is not None:
            self._writes.watch_table(table)

    def _scan(self, table: str, keys: list[str]) -> dict[tuple[str, ...], dict[str, Any]]:
        fast = _moto_items(table)
        if fast is not None:
            return {_key(item, keys): item for item in fast}
        dynamodb = self._session.client("dynamodb")
        items: dict[tuple[str, ...], dict[str, Any]] = {}
        kwargs: dict[str, Any] = {"TableName": table}
        while True:
            page = dynamodb.scan(**kwargs)
            for item in page.get("Items", []):
                items[_key(item, keys)] = item
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _poll_stream(self, name: str) -> None:
        table, keys = self._tables[name]
        before = self._snapshots[name]
        written = self._writes.take_keys(table) if self._writes is not None else None
        if written is None:
            after = self._scan(table, keys)
            changed = before.keys() | after.keys()
        else:
            # Only the items the app wrote since the last poll can have changed.
            after = dict(before)
            for key, item in self._read_keys(table, keys, written).items():
                if item is None:
                    after.pop(key, None)
                else:
                    after[key] = item
            changed = set(written)
        records = []
        for key in sorted(changed):
            old, new = before.get(key), after.get(key)
            if old == new:
                continue
            event = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
            image = new or old or {}
            stream: dict[str, Any] = {
                "Keys": {k: image[k] for k in keys},
                "StreamViewType": "NEW_AND_OLD_IMAGES",
                "SizeBytes": len(repr(image)),
                "SequenceNumber": str(self._sequence),
                "ApproximateCreationDateTime": self._clock.now(),
            }
            self._sequence += 1
            if old is not None:
                stream["OldImage"] = old
            if new is not None:
                stream["NewImage"] = new
            records.append(
                {
                    "eventID": uuid.uuid4().hex,
                    "eventName": event,
                    "eventSource": "aws:dynamodb",
                    "eventVersion": "1.1",
                    "awsRegion": "ap-northeast-1",
                    "dynamodb": stream,
                    "eventSourceARN": f"{TABLE_ARN}/{table}/stream/local",
                }
            )
        if not records or self._invoke(name, {"Records": records}):
            self._snapshots[name] = after
        elif written is not None:
            self._writes.give_back(table, written)  # on failure the same changes come again
        self._clock.after(self._poll, self._poll_stream, name)

    def _read_keys(
        self, table: str, keys: list[str], wanted: set[tuple[str, ...]]
    ) -> dict[tuple[str, ...], dict[str, Any] | None]:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends
        from moto.dynamodb.models.dynamo_type import DynamoType

        moto_table = dynamodb_backends[DEFAULT_ACCOUNT_ID]["ap-northeast-1"].get_table(table)
        found: dict[tuple[str, ...], dict[str, Any] | None] = {}
        for key in wanted:
            values = [DynamoType(json.loads(part)) for part in key]
            item = moto_table.get_item(values[0], values[1] if len(values) > 1 else None)
            found[key] = item.to_json()["Attributes"] if item is not None else None
        return found

    def _scheduled(self, name: str, seconds: float) -> None:
        self._invoke(
            name,
            {
                "version": "0",
                "id": str(uuid.uuid4()),
                "detail-type": "Scheduled Event",
                "source": "aws.events",
                "account": "000000000000",
                "time": datetime.fromtimestamp(self._clock.now(), UTC).strftime(
                    "%Y-%m-%dT%H:%M:%SZ"
                ),
                "region": "ap-northeast-1",
                "resources": [f"arn:aws:events:ap-northeast-1:000000000000:rule/{name}"],
                "detail": {},
            },
        )
        self._clock.after(seconds, self._scheduled, name, seconds)

    def _poll_queue(self, name: str, queue: str) -> None:
        if self._writes is not None and not self._writes.queue_busy(queue, self._clock.now()):
            self._clock.after(self._poll, self._poll_queue, name, queue)
            return
        sqs = self._session.client("sqs")
        try:
            url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        except sqs.exceptions.QueueDoesNotExist:
            return
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1).get("Messages", [])
        if self._writes is not None:
            self._writes.queue_seen(queue, bool(messages), self._clock.now())
        for message in messages:
            record = {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:ap-northeast-1:000000000000:{queue}",
            }
            if self._invoke(name, {"Records": [record]}):
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            elif self._writes is not None:
                # Back after the visibility timeout: keep polling until then.
                self._writes.queue_retry(queue, self._clock.now() + 60)
        self._clock.after(self._poll, self._poll_queue, name, queue)


def _rate_seconds(rate: Any) -> float:
    unit = {"minutes": 60, "minute": 60, "hours": 3600, "hour": 3600, "days": 86400, "day": 86400}
    return float(rate.value) * unit[str(rate.unit).lower()]


def _moto_items(table: str) -> list[dict[str, Any]] | None:
    """The table's items straight from moto's in-process backend (a Scan through botocore costs
    ~0.1 s in moto, too slow to run every virtual second); None if that is not available,
    as when the tables live in a moto server process (`make run`)."""
    if os.environ.get("AWS_ENDPOINT_URL"):
        return None
    try:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        backend = dynamodb_backends[DEFAULT_ACCOUNT_ID]["ap-northeast-1"]
        return [item.to_json()["Attributes"] for item in backend.get_table(table).all_items()]
    except (ImportError, KeyError, AttributeError):
        return None


def _key(item: dict[str, Any], keys: list[str]) -> tuple[str, ...]:
    return tuple(json.dumps(item[k], sort_keys=True) for k in keys)


WRITE_OPERATIONS = frozenset(
    {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
)


class Writes:
    """What the app wrote, seen at the botocore boundary (`before-call`), so the stream and
    queue emulation only look where something can have changed.

    A poll every virtual second that diffs a 300-row table or asks SQS for messages costs more
    than the day's calls; DynamoDB Streams and Lambda's SQS poller only have work after a
    write, which this tracks. A write that then fails is harmless (the diff finds no change).
    """

    def __init__(self) -> None:
        self._keys: dict[str, set[tuple[str, ...]]] = {}
        self._key_names: dict[str, list[str]] = {}
        self._queues_sent: set[str] = set()
        self._queues_retry_until: dict[str, float] = {}
        self._session: Any = None

    def install(self, session: Any) -> None:
        self._session = session
        session.events.register("before-call.dynamodb", self._dynamodb_call)
        session.events.register("before-call.sqs", self._sqs_call)

    def watch_table(self, table: str) -> None:
        description = self._session.client("dynamodb").describe_table(TableName=table)["Table"]
        self._key_names[table] = [k["AttributeName"] for k in description["KeySchema"]]
        self._keys.setdefault(table, set())

    def take_keys(self, table: str) -> set[tuple[str, ...]]:
        taken = self._keys.get(table, set())
        self._keys[table] = set()
        return taken

    def give_back(self, table: str, keys: set[tuple[str, ...]]) -> None:
        self._keys.setdefault(table, set()).update(keys)

    def _dynamodb_call(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        if model.name not in WRITE_OPERATIONS or not self._key_names:
            return
        for table, item in _written(model.name, _body(params)):
            names = self._key_names.get(table)
            if names is not None and all(n in item for n in names):
                self._keys[table].add(_key(item, names))

    def _sqs_call(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        if model.name in {"SendMessage", "SendMessageBatch"}:
            url = str(_body(params).get("QueueUrl", ""))
            self._queues_sent.add(url.rsplit("/", 1)[-1])

    def queue_busy(self, queue: str, now: float) -> bool:
        return queue in self._queues_sent or self._queues_retry_until.get(queue, 0.0) > now

    def queue_seen(self, queue: str, had_messages: bool, now: float) -> None:
        if not had_messages:
            self._queues_sent.discard(queue)

    def queue_retry(self, queue: str, until: float) -> None:
        self._queues_retry_until[queue] = max(self._queues_retry_until.get(queue, 0.0), until)


def _body(params: dict[str, Any]) -> dict[str, Any]:
    body = params.get("body") or b"{}"
    if isinstance(body, bytes):
        body = body.decode()
    try:
        parsed = json.loads(body)
    except json.JSONDecodeError:
        return {}  # a query-protocol body (form encoded): not one we track
    return parsed if isinstance(parsed, dict) else {}


def _written(operation: str, body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    if operation == "PutItem":
        return [(body["TableName"], body.get("Item", {}))]
    if operation in {"UpdateItem", "DeleteItem"}:
        return [(body["TableName"], body.get("Key", {}))]
    if operation == "BatchWriteItem":
        return [
            (table, r.get("PutRequest", {}).get("Item") or r.get("DeleteRequest", {}).get("Key"))
            for table, requests in body.get("RequestItems", {}).items()
            for r in requests
        ]
    written = []
    for action in body.get("TransactItems", []):
        for kind, detail in action.items():
            if kind != "ConditionCheck":
                written.append((detail["TableName"], detail.get("Item") or detail.get("Key") or {}))
    return written
