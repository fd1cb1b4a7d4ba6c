"""The rehearsal's DynamoDB throttling fault: faithful to what botocore and DynamoDB do."""

from __future__ import annotations

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from ops.simulate import throttle_dynamodb


def _create_table(session: boto3.session.Session) -> None:
    session.client("dynamodb").create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def test_a_call_fails_only_when_every_attempt_is_throttled_and_is_then_not_written() -> None:
    with mock_aws():
        session = boto3.session.Session(region_name="ap-northeast-1")
        fault = throttle_dynamodb(0.5, seed=7)
        _create_table(session)
        fault(session)
        # The app's budget: one retry, two attempts in all.
        client = session.client(
            "dynamodb", config=Config(retries={"max_attempts": 1, "mode": "standard"})
        )
        failed: list[str] = []
        codes: set[str] = set()
        for n in range(200):
            key = f"k{n}"
            try:
                client.put_item(TableName="t", Item={"k": {"S": key}})
            except ClientError as exc:
                codes.add(exc.response["Error"]["Code"])
                failed.append(key)
        assert codes == {"ProvisionedThroughputExceededException"}
        counter = fault.counter  # type: ignore[attr-defined]
        assert counter["failed"] == len(failed)
        # Two attempts at 50% each: about a quarter fail, and more attempts were throttled.
        assert 20 < len(failed) < 80 < counter["throttled"]
        unhooked = boto3.session.Session(region_name="ap-northeast-1").client("dynamodb")
        stored = {item["k"]["S"] for item in unhooked.scan(TableName="t")["Items"]}
        assert stored.isdisjoint(failed)  # DynamoDB does not execute a throttled request
        assert len(stored) == 200 - len(failed)


def test_control_plane_calls_are_never_throttled() -> None:
    with mock_aws():
        session = boto3.session.Session(region_name="ap-northeast-1")
        throttle_dynamodb(1.0, seed=1)(session)
        _create_table(session)
        assert session.client("dynamodb").describe_table(TableName="t")["Table"]["TableName"] == "t"
