"""AWS Lambda's side for the in-process app: table streams, schedules and SQS queues.

The deployed app reacts to more than HTTP: the presence table's stream mirrors states to
TaskRouter, schedules sweep and reconcile, an SQS queue copies recordings. In-process runs have
no Lambda service, so this plays it on the stand-in's virtual clock, reading the app's own event
source declarations (`app.event_sources`) and calling the same handlers Lambda would.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
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
RESOURCES = Path(__file__).resolve().parents[2] / "infra" / "resources.json"


class LambdaRuntime:
    def __init__(
        self,
        app: Any,
        session: Any,
        clock: Scheduler,
        stream_poll_seconds: float = 1.0,
        skip: frozenset[str] = frozenset(),
        writes: Writes | None = None,
        queues: Mapping[str, str] | None = None,
    ) -> None:
        self._app = app
        # The queue each SQS handler reads, by handler name, where the stack binds another queue
        # than the name the handler declares (deployed_queues()).
        self._queues = dict(queues or {})
        self._visibility: dict[str, float] = {}
        # Without a tracker (tables in a moto server process) every poll diffs the whole table.
        self._writes = writes
        self._session = session
        self._clock = clock
        self._poll = stream_poll_seconds
        self._skip = skip
        self.invocations: dict[str, int] = {}
        self.failures: dict[str, int] = {}
        self.last_error: dict[str, str] = {}
        # Handlers whose latest invocation failed: a stream batch or message still to retry.
        self.failing: set[str] = set()
        self._tables: dict[str, tuple[str, list[str]]] = {}
        # Per stream: each item as last delivered (its digest for a KEYS_ONLY stream).
        self._snapshots: dict[str, dict[tuple[str, ...], Any]] = {}
        self._views: dict[str, str] = {}
        self._batch_sizes: dict[str, int] = {}
        self._sequence = 1
        # EventBridge rules: handler name -> event pattern (on_cw_event).
        self._rules: dict[str, dict[str, Any]] = {}
        # Events whose handler still failed after Lambda's asynchronous retries.
        self.events_lost: list[tuple[str, str]] = []

    def start(self) -> None:
        from chalice.app import (
            CloudWatchEventConfig,
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
                self._batch_sizes[source.name] = int(source.batch_size or 100)
                self._open_stream(source.name, table)
                self._clock.after(self._poll, self._poll_stream, source.name)
            elif isinstance(source, ScheduledEventConfig) and isinstance(
                source.schedule_expression, Rate
            ):
                seconds = _rate_seconds(source.schedule_expression)
                self._clock.after(seconds, self._scheduled, source.name, seconds)
            elif isinstance(source, SQSEventConfig):
                queue = self._queues.get(source.name, source.queue)
                self._clock.after(self._poll, self._poll_queue, source.name, queue)
            elif isinstance(source, CloudWatchEventConfig):
                self._rules[source.name] = dict(source.event_pattern)

    def put_event(self, event: dict[str, Any]) -> None:
        """EventBridge: every rule whose pattern matches invokes its function asynchronously,
        which Lambda retries twice (after about 1 and 2 minutes) before giving the event up."""
        for name, pattern in self._rules.items():
            if matches(pattern, event):
                self._clock.after(0, self._invoke_async, name, event, 0)

    def _invoke_async(self, name: str, event: dict[str, Any], retries: int) -> None:
        if self._invoke(name, event):
            return
        if retries < 2:
            self._clock.after(60.0 * (retries + 1), self._invoke_async, name, event, retries + 1)
        else:
            self.events_lost.append((name, str(event.get("id", ""))))

    def _invoke(self, name: str, event: dict[str, Any]) -> bool:
        handler = self._app.handler_map[name]
        self.invocations[name] = self.invocations.get(name, 0) + 1
        try:
            handler(event, _Context(name))
        except Exception as exc:  # noqa: BLE001 - Lambda would retry; we count and retry too
            self._failed(name, repr(exc))
            return False
        self.failing.discard(name)
        return True

    def _failed(self, name: str, error: str) -> None:
        """Count a failure of the handler `name`; it stays failing until an invocation succeeds."""
        self.last_error[name] = error
        self.failures[name] = self.failures.get(name, 0) + 1
        self.failing.add(name)

    def _open_stream(self, name: str, table: str) -> None:
        # moto 5.2's in-process DynamoDB Streams API answers "Not yet implemented" to this
        # botocore, so the stream is played by diffing the table between polls: every net
        # change reaches the handler (INSERT/MODIFY/REMOVE, with the images the table's
        # StreamViewType carries), but two changes of one item within a poll interval arrive
        # as one. A KEYS_ONLY stream keeps only a digest of each item, not the item.
        description = self._session.client("dynamodb").describe_table(TableName=table)["Table"]
        keys = [k["AttributeName"] for k in description["KeySchema"]]
        view = description.get("StreamSpecification", {}).get("StreamViewType")
        self._tables[name] = (table, keys)
        self._views[name] = view or "NEW_AND_OLD_IMAGES"
        self._snapshots[name] = {
            key: self._kept(name, item) for key, item in self._scan(table, keys).items()
        }
        if self._writes is not None:
            self._writes.watch_table(table)

    def _kept(self, name: str, item: dict[str, Any]) -> Any:
        if self._views[name] == "KEYS_ONLY":
            return hash(json.dumps(item, sort_keys=True))
        return item

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
        self._polled(name, self._deliver_stream, name)
        self._clock.after(self._poll, self._poll_stream, name)

    def _polled(self, name: str, poll: Callable[..., bool | None], *args: Any) -> bool:
        """One poll of an event source; False when the source is gone for good. Lambda's poller
        outlives a source it cannot read (the moto server stopping under a gentle day): the
        failure is counted as the handler's and the next poll tries again, instead of the
        poller's thread dying with it."""
        try:
            return poll(*args) is not False
        except Exception as exc:  # noqa: BLE001 - reported through failures, like _invoke
            # In-process sources never fail to read (moto in this process): if one does, the
            # stand-in is broken, and the run's checks must not call it recovered.
            self._failed(name, f"reading the source: {exc!r}")
            return True

    def _deliver_stream(self, name: str) -> None:
        table, keys = self._tables[name]
        view = self._views[name]
        snapshot = self._snapshots[name]
        written = self._writes.take_keys(table) if self._writes is not None else None
        if written is None:
            current = self._scan(table, keys)
            changed: set[tuple[str, ...]] = snapshot.keys() | current.keys()
            after: dict[tuple[str, ...], dict[str, Any] | None] = {
                key: current.get(key) for key in changed
            }
        else:
            # Only the items the app wrote since the last poll can have changed.
            after = self._read_keys(table, keys, written)
        # (key, what the snapshot keeps after it, the stream record)
        changes: list[tuple[tuple[str, ...], Any, dict[str, Any]]] = []
        for key in sorted(after):
            new = after[key]
            old_kept = snapshot.get(key)
            new_kept = self._kept(name, new) if new is not None else None
            if old_kept == new_kept:
                continue
            event = "INSERT" if old_kept is None else "REMOVE" if new is None else "MODIFY"
            stream: dict[str, Any] = {
                "Keys": _unkey(key, keys),
                "StreamViewType": view,
                "SizeBytes": len(repr(new if new is not None else old_kept)),
                "SequenceNumber": str(self._sequence),
                "ApproximateCreationDateTime": self._clock.now(),
            }
            self._sequence += 1
            if old_kept is not None and view in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES"):
                stream["OldImage"] = old_kept
            if new is not None and view in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES"):
                stream["NewImage"] = new
            changes.append((key, new_kept, _stream_record(event, stream, table)))
        # Lambda hands a shard's records over in batches of the event source's size, in order,
        # and a failed batch blocks the ones after it until it succeeds.
        size = self._batch_sizes.get(name, 100)
        for start in range(0, len(changes), size):
            batch = changes[start : start + size]
            if not self._invoke(name, {"Records": [record for _, _, record in batch]}):
                if self._writes is not None and written is not None:
                    self._writes.give_back(table, {key for key, _, _ in changes[start:]})
                break
            for key, kept, _ in batch:
                if kept is None:
                    snapshot.pop(key, None)
                else:
                    snapshot[key] = kept

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
        busy = self._writes is None or self._writes.queue_busy(queue)
        if busy and not self._polled(name, self._deliver_queue, name, queue):
            return  # this stack has no such queue: nothing will ever arrive
        self._clock.after(self._poll, self._poll_queue, name, queue)

    def _deliver_queue(self, name: str, queue: str) -> bool:
        """Hand the handler a message; False if this stack has no such queue, which is the
        handler's failure: its messages would wait for ever (the recording copies did, unseen,
        while the handler's declared name was looked up instead of the stack's queue)."""
        sqs = self._session.client("sqs")
        try:
            url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        except sqs.exceptions.QueueDoesNotExist:
            self._failed(name, f"no such queue: {queue}")
            return False
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=1, AttributeNames=["ApproximateReceiveCount"]
        ).get("Messages", [])
        if self._writes is not None:
            self._writes.queue_seen(queue, bool(messages))
        for message in messages:
            record = {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:ap-northeast-1:000000000000:{queue}",
            }
            if self._invoke(name, {"Records": [record]}):
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            else:
                self._back_after_visibility_timeout(queue, url, message["ReceiptHandle"])
        return True

    def _back_after_visibility_timeout(self, queue: str, url: str, receipt: str) -> None:
        """A message whose handler failed is received again after the queue's visibility
        timeout, counted on the virtual clock: moto counts it in real seconds, so a failed copy
        job (VisibilityTimeout 1800) would not come back within a day that runs in minutes."""
        if os.environ.get("AWS_ENDPOINT_URL"):
            return  # a moto server (make run): real time, and moto's own timeout applies
        sqs = self._session.client("sqs")
        if url not in self._visibility:
            attributes = sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["VisibilityTimeout"]
            )
            self._visibility[url] = float(attributes["Attributes"].get("VisibilityTimeout", 30))
        timeout = self._visibility[url]
        self._clock.after(timeout, self._visible_again, queue, url, receipt)

    def _visible_again(self, queue: str, url: str, receipt: str) -> None:
        sqs = self._session.client("sqs")
        # Already received again, or handled and deleted: nothing to make visible.
        with contextlib.suppress(
            sqs.exceptions.MessageNotInflight, sqs.exceptions.ReceiptHandleIsInvalid
        ):
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=receipt, VisibilityTimeout=0)
        if self._writes is not None:
            self._writes.queue_due(queue)


def matches(pattern: Any, event: Any) -> bool:
    """EventBridge's content filtering, the part our rules use: nested fields, a list of allowed
    values, and `{"prefix": ...}`. Every field the pattern names must be in the event."""
    if isinstance(pattern, dict):
        return isinstance(event, dict) and all(
            key in event and matches(value, event[key]) for key, value in pattern.items()
        )
    if isinstance(pattern, list):
        return any(_allowed(option, event) for option in pattern)
    return False


def _allowed(option: Any, value: Any) -> bool:
    if isinstance(option, dict):
        if set(option) == {"prefix"}:
            return isinstance(value, str) and value.startswith(option["prefix"])
        raise ValueError(f"event pattern operator not played by the stand-in: {option}")
    return option == value


def deployed_queues(settings: Any) -> dict[str, str]:
    """The queue each SQS handler reads on this stack, by handler name, as the deployed template
    binds it: infra/resources.json replaces the event source Chalice generates from the
    handler's declared queue name with the stack's own queue (`Fn::Sub: ${Queue.Arn}`), whose
    `contact-center:setting` metadata names the Settings field that holds its name here."""
    resources = json.loads(RESOURCES.read_text(encoding="utf-8"))["Resources"]
    bound: dict[str, str] = {}
    for logical_id, resource in resources.items():
        events = resource.get("Properties", {}).get("Events", {})
        for event in events.values():
            queue = event.get("Properties", {}).get("Queue")
            ref = re.fullmatch(r"\$\{(\w+)\.Arn\}", queue.get("Fn::Sub", "")) if queue else None
            if ref is None:
                continue
            setting = resources[ref.group(1)]["Metadata"]["contact-center:setting"]
            bound[_handler_name(logical_id)] = str(settings.flat()[setting])
    return bound


def _handler_name(logical_id: str) -> str:
    """Chalice names a function's resource after its handler: copy_worker -> CopyWorker."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", logical_id).lower()


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


def _unkey(key: tuple[str, ...], keys: list[str]) -> dict[str, Any]:
    return {name: json.loads(part) for name, part in zip(keys, key, strict=True)}


def _stream_record(event: str, stream: dict[str, Any], table: str) -> dict[str, Any]:
    return {
        "eventID": uuid.uuid4().hex,
        "eventName": event,
        "eventSource": "aws:dynamodb",
        "eventVersion": "1.1",
        "awsRegion": "ap-northeast-1",
        "dynamodb": stream,
        "eventSourceARN": f"{TABLE_ARN}/{table}/stream/local",
    }


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

    def queue_busy(self, queue: str) -> bool:
        return queue in self._queues_sent

    def queue_seen(self, queue: str, had_messages: bool) -> None:
        if not had_messages:
            self._queues_sent.discard(queue)

    def queue_due(self, queue: str) -> None:
        """A message is back in `queue` (its visibility timeout ended): poll it again."""
        self._queues_sent.add(queue)


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
