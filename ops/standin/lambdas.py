"""AWS Lambda's side for the in-process app: table streams, schedules and SQS queues.

The deployed app reacts to more than HTTP: the presence table's stream mirrors states to
TaskRouter, schedules sweep and reconcile, an SQS queue copies recordings. In-process runs have
no Lambda service, so this plays it on the stand-in's virtual clock, reading the app's own event
source declarations (`app.event_sources`) and calling the same handlers Lambda would.
"""

from __future__ import annotations

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
    ) -> None:
        self._app = app
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

    def _scan(self, table: str, keys: list[str]) -> dict[tuple[str, ...], dict[str, Any]]:
        fast = _moto_items(table)
        if fast is not None:
            return {tuple(str(item[k]) for k in keys): item for item in fast}
        dynamodb = self._session.client("dynamodb")
        items: dict[tuple[str, ...], dict[str, Any]] = {}
        kwargs: dict[str, Any] = {"TableName": table}
        while True:
            page = dynamodb.scan(**kwargs)
            for item in page.get("Items", []):
                items[tuple(str(item[k]) for k in keys)] = item
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _poll_stream(self, name: str) -> None:
        table, keys = self._tables[name]
        before = self._snapshots[name]
        after = self._scan(table, keys)
        records = []
        for key in before.keys() | after.keys():
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
            self._snapshots[name] = after  # on failure the same changes are offered again
        self._clock.after(self._poll, self._poll_stream, name)

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
        sqs = self._session.client("sqs")
        try:
            url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        except sqs.exceptions.QueueDoesNotExist:
            return
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1).get("Messages", [])
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
