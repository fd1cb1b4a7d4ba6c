"""The audit table (infra/resources.json AuditTable): the only file of the area that talks to
AWS.

Key: `day` (UTC date) + `seq` (zero-padded at_ms, then a random id so two reads in the same
millisecond are two entries); `agent-index` (agent_id, seq) answers one agent's reads. Entries
expire through DynamoDB TTL (`expires_at`, epoch seconds) after the retention days.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.platform.errors import StorageUnavailable
from chalicelib.supervision.audit import AuditEntry, utc_days

AGENT_INDEX = "agent-index"
# One answer of GET /audit holds at most this many entries (newest first).
MAX_ENTRIES = 1000


def _seq(at_ms: int) -> str:
    return f"{at_ms:013d}"


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in item.items() if k not in ("day", "seq", "expires_at")}
    out["at_ms"] = int(out.get("at_ms", 0))
    return out


class AuditTable:
    def __init__(self, table: Any, retention_days: int) -> None:
        self._table = table
        self._retention_s = retention_days * 86400

    def append(self, entry: AuditEntry) -> None:
        at = datetime.fromtimestamp(entry.at_ms / 1000, UTC)
        item = {
            **entry.as_json(),
            "day": at.strftime("%Y-%m-%d"),
            "seq": f"{_seq(entry.at_ms)}#{uuid.uuid4().hex}",
            "at": at.isoformat(timespec="milliseconds"),
            "expires_at": entry.at_ms // 1000 + self._retention_s,
        }
        try:
            self._table.put_item(Item=item)
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable(f"audit write failed: {exc}") from exc

    def between(self, from_ms: int, to_ms: int, agent_id: str) -> list[dict[str, Any]]:
        """Entries from `from_ms` to `to_ms` (inclusive), newest first, at most MAX_ENTRIES."""
        in_range = Key("seq").between(_seq(from_ms), _seq(to_ms) + "#~")
        if agent_id:
            queries = [{"IndexName": AGENT_INDEX, "condition": Key("agent_id").eq(agent_id)}]
        else:
            days = reversed(utc_days(from_ms, to_ms))
            queries = [{"condition": Key("day").eq(day)} for day in days]
        found: list[dict[str, Any]] = []
        for q in queries:
            kwargs: dict[str, Any] = {
                "KeyConditionExpression": q["condition"] & in_range,
                "ScanIndexForward": False,
            }
            if "IndexName" in q:
                kwargs["IndexName"] = q["IndexName"]
            while len(found) < MAX_ENTRIES:
                kwargs["Limit"] = MAX_ENTRIES - len(found)
                try:
                    page = self._table.query(**kwargs)
                except (ClientError, BotoCoreError) as exc:
                    raise StorageUnavailable(f"audit query failed: {exc}") from exc
                found.extend(_plain(i) for i in page.get("Items", []))
                if not page.get("LastEvaluatedKey"):
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return found[:MAX_ENTRIES]
