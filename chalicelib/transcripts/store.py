"""The live transcripts table: the only file of this area that talks to DynamoDB.

One partition per customer call (`call_sid`, the conversation id), sort key `sk`:
- `line#<TranscriptionSid>#<SequenceId, 10 digits>`: one final utterance (speaker, text, at_ms),
  written with a plain put of the same content whatever the retry, so a duplicated callback
  writes nothing new; `sentiment`/`scores` are added by the scorer, only where absent.
- `session#<TranscriptionSid>#<event>`: transcription-started / -stopped / -error, to tell a
  live transcript from a finished one.
- `start`: the claim of the call's transcription (conditional put): a duplicated join callback
  starts nothing twice. Carries the agent and the local day.
- `summary`: rebuilt whole from the lines by the scorer (never appended to, so the order in
  which lines arrive cannot matter): the customer's mood so far, keyword hits, the call's text.
  `day-index` (day, started_ms) finds a day's transcripts for the text search; `flagged-index`
  (flagged_day, flagged_ms) is sparse: only calls flagged for a supervisor.
The stream (KEYS_ONLY) feeds `transcript_stream` (chalicelib/api/transcripts.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.platform.errors import StorageUnavailable
from chalicelib.transcripts.domain import CallMood, Utterance

DAY_INDEX = "day-index"
FLAGGED_INDEX = "flagged-index"
# DynamoDB items stop at 400 KB; the summary keeps the call's text for the search up to this.
SUMMARY_TEXT_LIMIT = 100_000


def line_key(call_sid: str, transcription_sid: str, sequence: int) -> dict[str, str]:
    return {"call_sid": call_sid, "sk": f"line#{transcription_sid}#{sequence:010d}"}


def _decimal(value: float) -> Decimal:
    return Decimal(str(round(value, 4)))


def _line_item(u: Utterance) -> dict[str, Any]:
    item: dict[str, Any] = {
        **line_key(u.call_sid, u.transcription_sid, u.sequence),
        "transcription_sid": u.transcription_sid,
        "sequence": u.sequence,
        "at_ms": u.at_ms,
        "speaker": u.speaker,
        "text": u.text,
    }
    if u.confidence is not None:
        item["confidence"] = _decimal(u.confidence)
    return item


def utterance_from_item(item: dict[str, Any]) -> Utterance:
    scores = {k: float(v) for k, v in (item.get("scores") or {}).items()}
    confidence = item.get("confidence")
    return Utterance(
        call_sid=str(item["call_sid"]),
        transcription_sid=str(item["transcription_sid"]),
        sequence=int(item["sequence"]),
        at_ms=int(item["at_ms"]),
        speaker=item["speaker"],
        text=str(item["text"]),
        confidence=None if confidence is None else float(confidence),
        sentiment=item.get("sentiment"),
        scores=scores,
    )


class TranscriptStore:
    """`retention_days`: every item expires (DynamoDB TTL on `expires_at`, epoch seconds) that
    long after the moment it describes: what callers said is personal data (issue 20)."""

    def __init__(self, table: Any, retention_days: int = 365) -> None:
        self._table = table
        self._retention_s = retention_days * 86_400

    def _expires(self, at_ms: int) -> int:
        return at_ms // 1000 + self._retention_s

    def _guard(self, what: str, operation: Any) -> Any:
        try:
            return operation()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return None
            raise StorageUnavailable(f"{what} failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageUnavailable(f"{what} failed: {exc}") from exc

    def claim_start(self, call_sid: str, agent_id: str, day: str, started_ms: int) -> bool:
        """True once per call: whoever claims first starts the transcription."""
        done = self._guard(
            "transcript start claim",
            lambda: self._table.put_item(
                Item={
                    "call_sid": call_sid,
                    "sk": "start",
                    "agent_id": agent_id,
                    "day": day,
                    "started_ms": started_ms,
                    "expires_at": self._expires(started_ms),
                },
                ConditionExpression=Attr("call_sid").not_exists(),
            ),
        )
        return done is not None

    def release_start(self, call_sid: str) -> None:
        """The start failed: let the next join callback (a transfer's, say) try again."""
        self._guard(
            "transcript start release",
            lambda: self._table.delete_item(Key={"call_sid": call_sid, "sk": "start"}),
        )

    def put_line(self, utterance: Utterance) -> None:
        # A retried callback carries the same line: the put rewrites identical content. Only
        # the scorer's fields would be lost, so they are kept (written only if absent).
        self._guard(
            "transcript line",
            lambda: self._table.put_item(
                Item={**_line_item(utterance), "expires_at": self._expires(utterance.at_ms)},
                ConditionExpression=Attr("sentiment").not_exists(),
            ),
        )

    def put_session_event(
        self, call_sid: str, transcription_sid: str, event: str, at_ms: int
    ) -> None:
        self._guard(
            "transcript session event",
            lambda: self._table.put_item(
                Item={
                    "call_sid": call_sid,
                    "sk": f"session#{transcription_sid}#{event}",
                    "event": event,
                    "at_ms": at_ms,
                    "expires_at": self._expires(at_ms),
                }
            ),
        )

    def partition(self, call_sid: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"KeyConditionExpression": Key("call_sid").eq(call_sid)}
        while True:
            page = self._guard("transcript read", lambda: self._table.query(**kwargs))
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def set_sentiment(self, utterance: Utterance, sentiment: str, scores: dict[str, float]) -> None:
        self._guard(
            "transcript sentiment",
            lambda: self._table.update_item(
                Key=line_key(utterance.call_sid, utterance.transcription_sid, utterance.sequence),
                UpdateExpression="SET sentiment = :s, scores = :c",
                ConditionExpression=Attr("sk").exists(),
                ExpressionAttributeValues={
                    ":s": sentiment,
                    ":c": {k: _decimal(v) for k, v in scores.items()},
                },
            ),
        )

    def put_summary(
        self,
        call_sid: str,
        start: dict[str, Any],
        lines: Iterable[Utterance],
        mood: CallMood,
        live: bool,
        now_ms: int,
    ) -> dict[str, Any]:
        ordered = list(lines)
        text = "\n".join(u.text for u in ordered)[:SUMMARY_TEXT_LIMIT]
        item: dict[str, Any] = {
            "call_sid": call_sid,
            "sk": "summary",
            "agent_id": str(start.get("agent_id") or ""),
            "line_count": len(ordered),
            "scored_lines": mood.scored_lines,
            "negative": _decimal(mood.negative),
            "keywords": list(mood.keywords),
            "reasons": list(mood.reasons),
            "flagged": mood.flagged,
            "live": live,
            "text": text,
            "updated_ms": now_ms,
            "expires_at": self._expires(now_ms),
        }
        if mood.sentiment:
            item["sentiment"] = mood.sentiment
        if start.get("day"):
            item["day"] = start["day"]
            item["started_ms"] = int(start.get("started_ms") or 0)
            if mood.flagged:
                item["flagged_day"] = start["day"]
                item["flagged_ms"] = now_ms
        self._guard("transcript summary", lambda: self._table.put_item(Item=item))
        return item

    def flagged(self, day: str) -> list[dict[str, Any]]:
        page = self._guard(
            "flagged calls",
            lambda: self._table.query(
                IndexName=FLAGGED_INDEX,
                KeyConditionExpression=Key("flagged_day").eq(day),
                ScanIndexForward=False,
                Limit=200,
            ),
        )
        return list(page.get("Items", []))

    def search_day(self, day: str, word: str, limit: int) -> list[dict[str, Any]]:
        """The day's transcripts whose text contains `word`, newest first (a filtered Query of
        the day's summaries: read capacity scales with the day's calls, not with matches)."""
        found: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "IndexName": DAY_INDEX,
            "KeyConditionExpression": Key("day").eq(day),
            "FilterExpression": Attr("text").contains(word),
            "ScanIndexForward": False,
        }
        while len(found) < limit:
            page = self._guard("transcript search", lambda: self._table.query(**kwargs))
            found.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return found[:limit]
