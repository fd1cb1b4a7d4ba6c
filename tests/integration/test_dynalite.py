"""dynalite as the second DynamoDB engine: it is up, it is what the tests talk to, and it refuses
what DynamoDB refuses where moto is lenient (the reason it is here, docs/presence.md)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError


@pytest.mark.parametrize("dynamodb_engine", ["dynalite"], indirect=True)
def test_a_table_name_dynamodb_refuses_is_refused(aws: Any) -> None:
    # Table names are 3 to 255 characters of [a-zA-Z0-9_.-]
    # (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html).
    client = aws.client("dynamodb")
    with pytest.raises(ClientError) as refused:
        client.create_table(
            TableName="p",
            KeySchema=[{"AttributeName": "agent_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "agent_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    assert refused.value.response["Error"]["Code"] == "ValidationException"


@pytest.mark.parametrize("dynamodb_engine", ["dynalite"], indirect=True)
def test_an_empty_key_value_is_refused(resources: Any, settings: Any) -> None:
    # "The minimum length of a key attribute of type String is 1" (same page, Data types).
    table = resources.Table(settings.presence.presence_table)
    with pytest.raises(ClientError) as refused:
        table.put_item(Item={"agent_id": "", "state": "available"})
    assert refused.value.response["Error"]["Code"] == "ValidationException"
