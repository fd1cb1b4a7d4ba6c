"""DynamoDB storage of presence: one item per agent, written only by conditional writes.

The item keeps `agent_id`, `team` and `state` as routing reads them (`PresenceReader` and the
`team-index`), plus what the domain needs (`version`, `reason`, `since_ms`, timers). A change is
an UpdateItem conditioned on the version the change was computed from, so two concurrent updates
cannot both win; the loser gets `VersionConflict` carrying the current item and recomputes.

History is not written here: the table's stream carries every change (old and new image) to
`PresenceHistory`, in batches, off the agent's request path (see docs/presence.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.platform.errors import StorageUnavailable
from chalicelib.presence.domain import AgentState, Change, Presence

Clock = Callable[[], int]

_OPTIONAL = ("resume", "wrap_up_until_ms")


def wall_clock_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


class VersionConflict(Exception):
    """Someone else changed the agent first; `current` is what they left (None: no item)."""

    def __init__(self, current: Presence | None) -> None:
        super().__init__("presence changed concurrently")
        self.current = current


def presence_from_item(item: dict[str, Any]) -> Presence:
    def number(name: str) -> int:
        value = item.get(name)
        return int(value) if value is not None else 0

    try:
        state = AgentState(str(item.get("state", AgentState.OFFLINE)))
    except ValueError:
        state = AgentState.OFFLINE
    resume = item.get("resume")
    until = item.get("wrap_up_until_ms")
    return Presence(
        agent_id=str(item["agent_id"]),
        team=str(item.get("team", "")),
        state=state,
        reason=str(item.get("reason", "")),
        since_ms=number("since_ms"),
        version=number("version"),
        resume=AgentState(str(resume)) if resume in set(AgentState) else None,
        wrap_up_until_ms=int(until) if until is not None else None,
        last_seen_ms=number("last_seen_ms"),
        event_ms=number("event_ms"),
        name=str(item.get("name", "")),
        worker_sid=str(item.get("worker_sid", "")),
        wrapped_task=str(item.get("wrapped_task", "")),
        event_task=str(item.get("event_task", "")),
        event_step=number("event_step"),
        call_sid=str(item.get("call_sid", "")),
    )


def item_from_presence(p: Presence, changed_ms: int) -> dict[str, Any]:
    item: dict[str, Any] = {
        "agent_id": p.agent_id,
        "team": p.team,
        "state": p.state.value,
        "reason": p.reason,
        "since_ms": p.since_ms,
        "version": p.version,
        "last_seen_ms": p.last_seen_ms,
        "event_ms": p.event_ms,
        "name": p.name,
        "worker_sid": p.worker_sid,
        "wrapped_task": p.wrapped_task,
        "event_task": p.event_task,
        "event_step": p.event_step,
        "call_sid": p.call_sid,
        # Server time of the write: what the board's `since` cursor compares.
        "changed_ms": changed_ms,
    }
    if p.resume is not None:
        item["resume"] = p.resume.value
    if p.wrap_up_until_ms is not None:
        item["wrap_up_until_ms"] = p.wrap_up_until_ms
    return item


def _is_condition_failure(exc: ClientError) -> bool:
    code: str = exc.response.get("Error", {}).get("Code", "")
    return code == "ConditionalCheckFailedException"


class PresenceStore:
    def __init__(self, table: Any, clock: Clock = wall_clock_ms) -> None:
        self._table = table
        self._clock = clock

    def get(self, agent_id: str) -> Presence | None:
        try:
            item = self._table.get_item(Key={"agent_id": agent_id}, ConsistentRead=True).get("Item")
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable(f"presence read failed: {exc}") from exc
        return presence_from_item(item) if item else None

    def save(self, change: Change) -> int:
        """Write `change.after` if the item is still at `change.before.version`; return changed_ms.

        `last_seen_ms` is only written when the change moves it: heartbeats update it without
        a version, and a change computed from an older read must not take it back.
        """
        before, after = change.before, change.after
        changed_ms = self._clock()
        item = item_from_presence(after, changed_ms)
        if after.last_seen_ms == before.last_seen_ms:
            del item["last_seen_ms"]
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        sets: list[str] = []
        for n, (key, value) in enumerate(item.items()):
            if key == "agent_id":
                continue
            names[f"#a{n}"] = key
            values[f":v{n}"] = value
            sets.append(f"#a{n} = :v{n}")
        removes = [f"#r{n}" for n, key in enumerate(_OPTIONAL) if key not in item]
        names.update({f"#r{n}": key for n, key in enumerate(_OPTIONAL) if key not in item})
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        if before.version == 0:
            condition = "attribute_not_exists(agent_id)"
        else:
            condition = "#version = :expected"
            names["#version"] = "version"
            values[":expected"] = before.version
        try:
            self._table.update_item(
                Key={"agent_id": after.agent_id},
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if _is_condition_failure(exc):
                old = exc.response.get("Item")
                current = presence_from_item(_deserialize(old)) if old else self.get(after.agent_id)
                raise VersionConflict(current) from exc
            raise StorageUnavailable(f"presence write failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageUnavailable(f"presence write failed: {exc}") from exc
        return changed_ms

    def touch(self, agent_id: str, now_ms: int) -> Presence | None:
        """Record a heartbeat; None if the agent is not signed in. Not a change: no version."""
        try:
            item = self._table.update_item(
                Key={"agent_id": agent_id},
                UpdateExpression="SET last_seen_ms = :now",
                ConditionExpression="attribute_exists(agent_id) AND #s <> :offline",
                ExpressionAttributeNames={"#s": "state"},
                ExpressionAttributeValues={":now": now_ms, ":offline": AgentState.OFFLINE.value},
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except ClientError as exc:
            if _is_condition_failure(exc):
                return None
            raise StorageUnavailable(f"heartbeat write failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageUnavailable(f"heartbeat write failed: {exc}") from exc
        return presence_from_item(item)

    def scan(self) -> Iterator[tuple[Presence, int]]:
        """Every agent's presence with the server time of its last change (eventually consistent).

        1000 agents are ~250 KB: one or two Scan pages.
        """
        kwargs: dict[str, Any] = {}
        try:
            while True:
                page = self._table.scan(**kwargs)
                for item in page.get("Items", []):
                    yield presence_from_item(item), int(item.get("changed_ms", 0) or 0)
                if "LastEvaluatedKey" not in page:
                    return
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable(f"presence scan failed: {exc}") from exc


_deserializer = TypeDeserializer()


def _deserialize(image: dict[str, Any]) -> dict[str, Any]:
    return {key: _deserializer.deserialize(value) for key, value in image.items()}


@dataclass(frozen=True)
class HistoryEvent:
    agent_id: str
    team: str
    from_state: str
    to_state: str
    reason: str
    at_ms: int
    version: int


def history_from_stream(
    old_image: dict[str, Any] | None, new_image: dict[str, Any] | None
) -> HistoryEvent | None:
    """The history event one stream record stands for, if the state or reason changed.

    Images are in DynamoDB's typed JSON, as the stream delivers them.
    """
    if not new_image:
        return None
    new = presence_from_item(_deserialize(new_image))
    old = presence_from_item(_deserialize(old_image)) if old_image else None
    if old is not None and (old.state, old.reason) == (new.state, new.reason):
        return None  # a heartbeat, or a TaskRouter event that only moved the watermark
    return HistoryEvent(
        agent_id=new.agent_id,
        team=new.team,
        from_state=old.state.value if old else AgentState.OFFLINE.value,
        to_state=new.state.value,
        reason=new.reason,
        at_ms=new.since_ms,
        version=new.version,
    )


def presence_from_stream(image: dict[str, Any] | None) -> Presence | None:
    return presence_from_item(_deserialize(image)) if image else None


class PresenceHistory:
    """The change log for occupancy metrics; idempotent (a retried batch overwrites itself)."""

    def __init__(self, table: Any, retention_days: int) -> None:
        self._table = table
        self._retention_s = retention_days * 86400

    def record(self, events: Iterable[HistoryEvent]) -> int:
        written = 0
        try:
            with self._table.batch_writer(overwrite_by_pkeys=["agent_id", "seq"]) as batch:
                for event in events:
                    at = datetime.fromtimestamp(event.at_ms / 1000, UTC)
                    batch.put_item(
                        Item={
                            "agent_id": event.agent_id,
                            "seq": f"{event.at_ms:013d}#{event.version:010d}",
                            "day": at.strftime("%Y-%m-%d"),
                            "team": event.team,
                            "from": event.from_state,
                            "to": event.to_state,
                            "reason": event.reason,
                            "at": at.isoformat(timespec="milliseconds"),
                            "at_ms": event.at_ms,
                            "version": event.version,
                            "expires_at": event.at_ms // 1000 + self._retention_s,
                        }
                    )
                    written += 1
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable(f"presence history write failed: {exc}") from exc
        return written

    def for_agent(self, agent_id: str) -> list[dict[str, Any]]:
        from boto3.dynamodb.conditions import Key

        try:
            return list(
                self._table.query(KeyConditionExpression=Key("agent_id").eq(agent_id))["Items"]
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable(f"presence history read failed: {exc}") from exc
