"""The rehearsal's moto speed-ups answer exactly what moto itself answers."""

from __future__ import annotations

from typing import Any

import boto3
from boto3.dynamodb.conditions import Attr, Key
from moto import mock_aws

from ops.standin import fastmoto
from ops.standin.lambdas import Writes


def exchange() -> list[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="ap-northeast-1")
        client.create_table(
            TableName="events",
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk", "team")
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "by-team",
                    "KeySchema": [{"AttributeName": "team", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        table = boto3.resource("dynamodb", region_name="ap-northeast-1").Table("events")
        for i in range(40):
            table.put_item(
                Item={
                    "pk": f"CA{i % 4}",
                    "sk": f"{i:04d}",
                    "team": f"t{i % 3}",
                    "n": i,
                    "blob": b"\x00\xff",
                    "form": {"CallStatus": "ringing", "list": [1, "x", True, None]},
                    "tags": {"a", "b"},
                }
            )
        out: list[Any] = [
            table.query(KeyConditionExpression=Key("pk").eq("CA1"), ConsistentRead=True),
            table.query(
                KeyConditionExpression=Key("pk").eq("CA2") & Key("sk").gt("0010"),
                Limit=3,
                ScanIndexForward=False,
            ),
            table.query(KeyConditionExpression=Key("pk").eq("nobody")),
            table.query(IndexName="by-team", KeyConditionExpression=Key("team").eq("t1")),
            table.query(
                KeyConditionExpression=Key("pk").eq("CA3"), FilterExpression=Attr("n").gt(20)
            ),
            table.get_item(Key={"pk": "CA0", "sk": "0000"}),
            table.update_item(
                Key={"pk": "CA0", "sk": "0000"},
                UpdateExpression="SET n = n + :one",
                ExpressionAttributeValues={":one": 1},
                ReturnValues="ALL_NEW",
            ),
            table.scan(Limit=7),
        ]
        try:
            table.put_item(
                Item={"pk": "CA0", "sk": "0000"}, ConditionExpression="attribute_not_exists(sk)"
            )
        except client.exceptions.ConditionalCheckFailedException as exc:
            out.append(exc.response["Error"])
        for response in out:
            response.pop("ResponseMetadata", None)
        return out


def test_patched_moto_answers_queries_and_writes_exactly_as_moto_does() -> None:
    plain = exchange()
    with fastmoto.patched():
        fast = exchange()
    assert fast == plain
    assert len(plain[0]["Items"]) == 10


def presence_table(client: Any, **options: Any) -> None:
    client.create_table(
        TableName="presence",
        KeySchema=[{"AttributeName": "agent_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "agent_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        **options,
    )


def test_writes_tracker_sees_the_keys_the_app_writes() -> None:
    with mock_aws():
        session = boto3.session.Session(region_name="ap-northeast-1")
        writes = Writes()
        writes.install(session)
        presence_table(session.client("dynamodb"))
        writes.watch_table("presence")
        table = session.resource("dynamodb").Table("presence")
        table.put_item(Item={"agent_id": "sato", "state": "available"})
        table.update_item(
            Key={"agent_id": "ito"},
            UpdateExpression="SET #s = :s",
            ExpressionAttributeNames={"#s": "state"},
            ExpressionAttributeValues={":s": "away"},
        )
        with table.batch_writer() as batch:
            batch.delete_item(Key={"agent_id": "kato"})
        table.get_item(Key={"agent_id": "abe"})
        assert writes.take_keys("presence") == {
            ('{"S": "sato"}',),
            ('{"S": "ito"}',),
            ('{"S": "kato"}',),
        }
        assert writes.take_keys("presence") == set()


def test_a_run_keeps_no_copies_of_items_and_no_unread_stream_records() -> None:
    from moto.dynamodb.models.dynamo_type import Item

    with mock_aws(), fastmoto.patched():
        presence_table(
            boto3.client("dynamodb", region_name="ap-northeast-1"),
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        table = boto3.resource("dynamodb", region_name="ap-northeast-1").Table("presence")
        for state in ("available", "ringing", "on_call", "wrap_up"):
            table.put_item(Item={"agent_id": "sato", "state": state})
            table.get_item(Key={"agent_id": "sato"})
        from moto.dynamodb.models import dynamodb_backends

        moto_table = dynamodb_backends["123456789012"]["ap-northeast-1"].get_table("presence")
        assert table.get_item(Key={"agent_id": "sato"})["Item"]["state"] == "wrap_up"
        assert list(Item.instances_tracked) == []  # type: ignore[attr-defined]
        assert moto_table.stream_shard is not None and moto_table.stream_shard.items == []
    # moto's own bookkeeping is back after the run
    with mock_aws():
        client = boto3.client("dynamodb", region_name="ap-northeast-1")
        presence_table(client)
        client.put_item(TableName="presence", Item={"agent_id": {"S": "sato"}})
        assert len(Item.instances_tracked) >= 1  # type: ignore[attr-defined]
