"""The audit table (infra/resources.json AuditTable) and the reports' per-day roll-ups in the
analytics bucket: the only file of the area that talks to AWS.

Key: `day` (UTC date) + `seq` (zero-padded at_ms, then a random id so two reads in the same
millisecond are two entries); `agent-index` (agent_id, seq) answers one agent's reads. Entries
expire through DynamoDB TTL (`expires_at`, epoch seconds) after the retention days.
"""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Mapping
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


ROLLUP_PREFIX = "report-rollups"


# What the two objects of a day both carry (the rules the day was folded with).
_ROLLUP_HEADER = ("version", "day", "service_level_ms", "timezone")


class RollupBucket:
    """A local day's roll-up as two gzipped JSON objects, rewritten whole (folding a day again
    is idempotent): `report-rollups/day=YYYY-MM-DD/all.json.gz`, the whole day (what a report
    without a filter reads), and `.../parts.json.gz`, the day per team and per rep (read for a
    filtered report only)."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3 = s3
        self._bucket = bucket

    @staticmethod
    def key(day: str, view: str) -> str:
        return f"{ROLLUP_PREFIX}/day={day}/{view}.json.gz"

    def _read(self, key: str) -> dict[str, Any] | None:
        try:
            body = self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        except ClientError as exc:
            # A missing key is NoSuchKey (404) only for a caller allowed s3:ListBucket on the
            # bucket, else AccessDenied (403): the API's role has both grants
            # (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html, Permissions).
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                return None
            raise StorageUnavailable(f"roll-up read failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageUnavailable(f"roll-up read failed: {exc}") from exc
        value: dict[str, Any] = json.loads(gzip.decompress(body))
        return value

    def get(self, day: str, parts: bool = True) -> dict[str, Any] | None:
        """The day's roll-up (`all`, and `teams` and `reps` when `parts`); None when the day has
        none, or its two objects were not folded together (a write cut between them)."""
        whole = self._read(self.key(day, "all"))
        if whole is None or not parts:
            return whole
        detail = self._read(self.key(day, "parts"))
        if detail is None or any(detail.get(k) != whole.get(k) for k in _ROLLUP_HEADER):
            return None
        return {**detail, **whole}

    def put(self, day: str, rollup: Mapping[str, Any]) -> None:
        header = {k: rollup[k] for k in _ROLLUP_HEADER}
        # The parts first: a day whose `all` is there has its parts too (get checks both).
        self._write(
            self.key(day, "parts"), {**header, "teams": rollup["teams"], "reps": rollup["reps"]}
        )
        self._write(self.key(day, "all"), {**header, "all": rollup["all"]})

    def _write(self, key: str, value: Mapping[str, Any]) -> None:
        body = gzip.compress(json.dumps(value, separators=(",", ":")).encode(), compresslevel=6)
        try:
            self._s3.put_object(
                Bucket=self._bucket, Key=key, Body=body, ContentType="application/gzip"
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable(f"roll-up write failed: {exc}") from exc
