"""DynamoDB adapter for the do-not-call list: one item per number (E.164), written by
`python -m ops import-dnc`, read once per outbound call.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.platform.errors import StorageUnavailable


class DoNotCallTable:
    def __init__(self, table: Any) -> None:
        self._table = table

    def contains(self, phone_e164: str) -> bool:
        try:
            item = self._table.get_item(
                Key={"phone": phone_e164}, ProjectionExpression="phone"
            ).get("Item")
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable(f"do-not-call lookup failed: {exc}") from exc
        return item is not None
