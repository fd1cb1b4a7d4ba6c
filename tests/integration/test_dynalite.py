"""dynalite as the second DynamoDB engine refuses what DynamoDB refuses where moto is lenient (the
reason it is here, docs/presence.md): moto creates a table named "p"."""

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
