"""The conversation events table's DynamoDB stream, played for tests as Lambda delivers it.

moto in-process does not run stream consumers, so tests that ingest callbacks and then read the
records call `deliver_stream(container)`: every item of the events table becomes an INSERT
record (DynamoDB JSON keys, KEYS_ONLY like the deployed stream), in batches of the event source
mapping's size, handed to the app's own `conversation_stream` handler. Delivering an item twice
is what Lambda's at-least-once delivery may do too; the consumer must not care.
"""

from __future__ import annotations

from typing import Any

from chalicelib.bootstrap import Container

STREAM_ARN = "arn:aws:dynamodb:ap-northeast-1:000000000000:table/test/stream/local"


def stream_record(pk: str, sk: str, sequence: int, event_name: str = "INSERT") -> dict[str, Any]:
    return {
        "eventID": f"{sequence:032x}",
        "eventName": event_name,
        "eventSource": "aws:dynamodb",
        "eventVersion": "1.1",
        "awsRegion": "ap-northeast-1",
        "dynamodb": {
            "Keys": {"pk": {"S": pk}, "sk": {"S": sk}},
            "StreamViewType": "KEYS_ONLY",
            "SizeBytes": len(pk) + len(sk),
            "SequenceNumber": str(sequence),
            "ApproximateCreationDateTime": 1_764_000_000,
        },
        "eventSourceARN": STREAM_ARN,
    }


def invoke(records: list[dict[str, Any]]) -> None:
    from chalicelib.api.conversations import conversation_stream

    conversation_stream({"Records": records}, None)


def deliver_stream(container: Container, batch_size: int = 100) -> int:
    """Every stored item's INSERT to the consumer; returns how many records were delivered."""
    table = container.dynamodb.Table(container.settings.conversations.conversation_events_table)
    keys: list[tuple[str, str]] = []
    kwargs: dict[str, Any] = {"ProjectionExpression": "pk, sk"}
    while True:
        page = table.scan(**kwargs)
        keys.extend((str(i["pk"]), str(i["sk"])) for i in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    records = [stream_record(pk, sk, n) for n, (pk, sk) in enumerate(keys, start=1)]
    for start in range(0, len(records), batch_size):
        invoke(records[start : start + batch_size])
    return len(records)
