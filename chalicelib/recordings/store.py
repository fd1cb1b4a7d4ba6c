"""The recordings table: one item per recording, the idempotency record of its copy and its
transcription.

Item key `pk` = `recording#RE...`: status (`received` -> `copied`), conversation_id, S3 key,
size, sha256, channel map, agent ids, what happened to Twilio's copy, transcription status and
keys. `conversation-index` (conversation_id, recording_sid) lists a conversation's recordings;
it is sparse: only copied recordings have a conversation_id.
`reconciled#<conversation id>`: the reconciliation settled that conversation's conferences
(recordings/reconcile.py); never has a conversation_id, so never listed as a recording.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.platform.errors import StorageUnavailable

CONVERSATION_INDEX = "conversation-index"


def _recording_key(recording_sid: str) -> dict[str, str]:
    return {"pk": f"recording#{recording_sid}"}


def _set_expression(fields: dict[str, Any], if_absent: Iterable[str] = ()) -> dict[str, Any]:
    keep = set(if_absent)
    names = {f"#{k}": k for k in fields}
    values = {f":{k}": v for k, v in fields.items()}
    parts = [f"#{k} = if_not_exists(#{k}, :{k})" if k in keep else f"#{k} = :{k}" for k in fields]
    return {
        "UpdateExpression": "SET " + ", ".join(parts),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }


class RecordingStore:
    def __init__(self, table: Any, retention_days: int = 365) -> None:
        self._table = table
        # Items expire (DynamoDB TTL on `expires_at`) with the recording they describe: the
        # bucket's lifecycle deletes the audio after as many days (RecordingRetentionDays).
        self._retention_s = retention_days * 86_400

    def _update(self, key: dict[str, str], what: str, **kwargs: Any) -> dict[str, Any]:
        try:
            result: dict[str, Any] = self._table.update_item(
                Key=key, ReturnValues="ALL_NEW", **kwargs
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable(f"{what} failed: {exc}") from exc
        return dict(result.get("Attributes", {}))

    def get(self, recording_sid: str) -> dict[str, Any] | None:
        try:
            item = self._table.get_item(Key=_recording_key(recording_sid)).get("Item")
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable(f"recording lookup failed: {exc}") from exc
        return dict(item) if item else None

    def mark_received(self, recording_sid: str, received_at: datetime, **facts: Any) -> str:
        """Note a callback; return the recording's status (`received` unless already copied)."""
        fields = {
            "recording_sid": recording_sid,
            "status": "received",
            "received_at": received_at.isoformat(),
            "expires_at": int(received_at.timestamp()) + self._retention_s,
            **{k: v for k, v in facts.items() if v not in ("", None)},
        }
        item = self._update(
            _recording_key(recording_sid),
            f"mark {recording_sid} received",
            **_set_expression(fields, if_absent=fields.keys()),
        )
        return str(item.get("status", "received"))

    def claim_copy(
        self, recording_sid: str, claimant: str, now: datetime, lease_seconds: int
    ) -> bool:
        """Claim the copy of one recording for `lease_seconds`, by a conditional write: two jobs
        of one recording (a redelivered message, the callback and the reconciliation) never copy
        it at once. False when it is copied already or another claimant's lease is running.
        A conditional update is atomic per item and refused with ConditionalCheckFailedException
        (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html)."""
        now_s = int(now.timestamp())
        try:
            self._table.update_item(
                Key=_recording_key(recording_sid),
                UpdateExpression="SET copy_claim = :me, copy_claimed_until = :until",
                ConditionExpression=(
                    "(attribute_not_exists(copy_claimed_until) OR copy_claimed_until < :now"
                    " OR copy_claim = :me) AND (attribute_not_exists(#status) OR #status <> :done)"
                ),
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":me": claimant,
                    ":until": now_s + lease_seconds,
                    ":now": now_s,
                    ":done": "copied",
                },
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise StorageUnavailable(f"claim {recording_sid} failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageUnavailable(f"claim {recording_sid} failed: {exc}") from exc
        return True

    def record(self, recording_sid: str, **fields: Any) -> dict[str, Any]:
        """Set fields of a recording's item (copy results, Twilio copy state, transcription)."""
        return self._update(
            _recording_key(recording_sid),
            f"update {recording_sid}",
            **_set_expression(
                {"recording_sid": recording_sid}
                | {k: v for k, v in fields.items() if v is not None}
            ),
        )

    def reconciled(self, conversation_id: str) -> dict[str, Any] | None:
        """What the reconciliation settled for a conversation (recordings/reconcile.py)."""
        try:
            item = self._table.get_item(Key={"pk": f"reconciled#{conversation_id}"}).get("Item")
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable(f"reconciliation lookup failed: {exc}") from exc
        return dict(item) if item else None

    def mark_reconciled(
        self, conversation_id: str, outcomes: dict[str, str], at: datetime
    ) -> dict[str, Any]:
        """Note that every conference of the conversation is settled: conference sid ->
        `copied`, `lost`, `heard` (its callback came) or `missing`. No run asks again."""
        return self._update(
            {"pk": f"reconciled#{conversation_id}"},
            f"mark {conversation_id} reconciled",
            **_set_expression(
                {
                    "reconciled_conversation": conversation_id,
                    "conferences": outcomes,
                    "reconciled_at": at.isoformat(),
                    "expires_at": int(at.timestamp()) + self._retention_s,
                }
            ),
        )

    def for_conversation(self, conversation_id: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "IndexName": CONVERSATION_INDEX,
            "KeyConditionExpression": Key("conversation_id").eq(conversation_id),
        }
        try:
            while True:
                page = self._table.query(**kwargs)
                items.extend(dict(i) for i in page.get("Items", []))
                if "LastEvaluatedKey" not in page:
                    return items
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable(f"recordings query failed: {exc}") from exc
