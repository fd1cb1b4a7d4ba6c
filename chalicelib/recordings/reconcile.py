"""The recordings Twilio never told us about: a scheduled job asks for them.

The conference instruction can subscribe its recording callback to `completed` only (its
`conference_recording_status_callback_event` is not a parameter of the TaskRouter conference
instruction: chalicelib/routing/twiml.py). Twilio sends `absent` or `failed` only to
subscribers of those events
(https://support.twilio.com/hc/en-us/articles/360014251313), so a conference whose recording
failed never calls back, and a lost `completed` callback is never retried either. Without this
job such a conversation waits for its recording for ever.

Every run:
1. Candidates, cheaply: the conversations table's day-index, by local day and a `started_ms`
   range (the last LOOKBACK_HOURS before the wait), keeps the answered calls that ended more
   than `recording_reconcile_after_minutes` ago and whose record lists no recording. A call
   whose callback came lists it, so in a normal day almost nothing is left.
2. A candidate already settled by an earlier run has a `reconciled#<conversation>` item in the
   recordings table: skipped with one GetItem.
3. The conversation's conferences (its stored conference callbacks); for each, Twilio's list
   of the conference's recordings
   (https://www.twilio.com/docs/voice/api/conference-recording-resource#read-multiple-conferencerecording-resources):
   - `completed`, and never heard of: handled exactly as its callback would have been (the
     raw callback stored through the ledger, `accept_callback` queues the copy). A recording
     whose callback did come is left to it; the copy worker copies a recording once whatever
     is queued twice.
   - `absent` (or `failed`): stored through the ledger as the callback Twilio would have sent
     to a subscriber of that event, and noted in the recordings table (`no-media`): lost.
   - still `processing` (or in progress): not settled, asked again next run.
   - none at all: missing.
4. A conversation whose conferences are all settled gets its `reconciled#` item (outcome
   copied / lost / missing per conference), so no later run asks Twilio again.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from boto3.dynamodb.conditions import Key
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.conversations.events import CONFERENCE, RECORDING
from chalicelib.platform.errors import StorageUnavailable, TelephonyUnavailable
from chalicelib.platform.observability import count, logger

if TYPE_CHECKING:
    from chalicelib.platform.settings import RecordingSettings
    from chalicelib.recordings.pipeline import ConversationEvents, RecordingPipeline
    from chalicelib.recordings.store import RecordingStore

# How far back (before the wait) a run looks: a job down for a few hours catches up.
LOOKBACK_HOURS = 12
# Twilio's conference recording statuses that may still become `completed`.
PENDING_STATUSES = frozenset({"in-progress", "paused", "stopped", "processing"})


class ConferenceRecordings(Protocol):
    """Twilio's REST API (chalicelib/telephony/rest.py)."""

    def conference_recordings(self, conference_sid: str) -> list[dict[str, str]]: ...


class CallbackLedger(Protocol):
    """The conversations area's ledger (conversations/facts.py)."""

    def store_callback(
        self, source: str, form: Mapping[str, str], query: Mapping[str, str] | None = None
    ) -> bool: ...

    def record_call_fact(
        self, call_sid: str, fact: str, occurred_ms: int, data: dict[str, Any]
    ) -> None: ...


class RecentCalls:
    """The conversation records of calls that started in a time range, through the
    conversations table's day-index (partition `day`, the local day of `started_ms`; sort key
    `started_ms`): only the attributes the reconciliation reads."""

    def __init__(self, table: Any, timezone: str) -> None:
        self._table = table
        self._zone = ZoneInfo(timezone)

    def days(self, from_ms: int, to_ms: int) -> list[str]:
        first = datetime.fromtimestamp(from_ms / 1000, self._zone).date()
        last = datetime.fromtimestamp(to_ms / 1000, self._zone).date()
        return [
            first.fromordinal(d).isoformat() for d in range(first.toordinal(), last.toordinal() + 1)
        ]

    def started_between(self, from_ms: int, to_ms: int) -> Iterator[dict[str, Any]]:
        for day in self.days(from_ms, to_ms):
            kwargs: dict[str, Any] = {
                "IndexName": "day-index",
                "KeyConditionExpression": Key("day").eq(day)
                & Key("started_ms").between(from_ms, to_ms),
                # Names, not words: DynamoDB reserves many words, these may become some.
                "ProjectionExpression": "#c, #e, #a, #r",
                "ExpressionAttributeNames": {
                    "#c": "conversation_id",
                    "#e": "ended_ms",
                    "#a": "answered_by",
                    "#r": "recordings",
                },
            }
            try:
                while True:
                    page = self._table.query(**kwargs)
                    yield from (dict(i) for i in page.get("Items", []))
                    if "LastEvaluatedKey" not in page:
                        break
                    kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
            except (ClientError, BotoCoreError) as exc:
                raise StorageUnavailable(f"recent conversations query failed: {exc}") from exc


@dataclass
class ReconcileReport:
    candidates: int = 0
    already_settled: int = 0
    copied: list[str] = field(default_factory=list)  # recording sids fed to the copy
    lost: list[str] = field(default_factory=list)  # recording sids absent or failed
    missing: list[str] = field(default_factory=list)  # conference sids with no recording
    pending: list[str] = field(default_factory=list)  # conversations asked again next run
    failed: list[str] = field(default_factory=list)  # conversations Twilio could not answer for


def _conferences(events: list[Any]) -> tuple[list[str], set[str]]:
    """The conversation's conference sids (in order) and the recordings it has heard of."""
    conferences: dict[str, None] = {}
    heard: set[str] = set()
    for event in events:
        form = event.form
        if event.source == CONFERENCE and form.get("ConferenceSid"):
            conferences[form["ConferenceSid"]] = None
        if event.source == RECORDING and form.get("RecordingSid"):
            heard.add(form["RecordingSid"])
            if form.get("ConferenceSid"):
                conferences[form["ConferenceSid"]] = None
    return list(conferences), heard


class RecordingReconciler:
    def __init__(
        self,
        calls: RecentCalls,
        store: RecordingStore,
        events: ConversationEvents,
        ledger: CallbackLedger,
        pipeline: RecordingPipeline,
        twilio: ConferenceRecordings,
        settings: RecordingSettings,
    ) -> None:
        self._calls = calls
        self._store = store
        self._events = events
        self._ledger = ledger
        self._pipeline = pipeline
        self._twilio = twilio
        self._after_ms = settings.recording_reconcile_after_minutes * 60_000

    def candidates(self, now_ms: int) -> Iterator[dict[str, Any]]:
        """Answered calls that ended more than the wait ago and list no recording."""
        latest_end = now_ms - self._after_ms
        earliest_start = latest_end - LOOKBACK_HOURS * 3_600_000
        for record in self._calls.started_between(earliest_start, latest_end):
            ended = int(record.get("ended_ms") or 0)
            answered = bool(record.get("answered_by"))
            if ended and ended <= latest_end and answered and not record.get("recordings"):
                yield record

    def reconcile(self, now_ms: int) -> ReconcileReport:
        report = ReconcileReport()
        for record in self.candidates(now_ms):
            report.candidates += 1
            conversation_id = str(record["conversation_id"])
            if self._store.reconciled(conversation_id) is not None:
                report.already_settled += 1
                continue
            try:
                self._reconcile_one(conversation_id, now_ms, report)
            except TelephonyUnavailable as exc:
                # The next run asks again; nothing was settled for this conversation.
                report.failed.append(conversation_id)
                count("RecordingReconcileFailed")
                logger.warning(
                    "recording reconciliation could not ask twilio",
                    conversation_id=conversation_id,
                    problem=str(exc),
                )
        count("RecordingReconcileCandidates", report.candidates)
        logger.info(
            "recordings reconciled",
            candidates=report.candidates,
            already_settled=report.already_settled,
            copied=len(report.copied),
            lost=len(report.lost),
            missing=len(report.missing),
            pending=len(report.pending),
            failed=len(report.failed),
        )
        return report

    def _reconcile_one(self, conversation_id: str, now_ms: int, report: ReconcileReport) -> None:
        conferences, heard = _conferences(self._events.events(conversation_id))
        outcomes: dict[str, str] = {}
        settled = True
        for conference_sid in conferences:
            recordings = self._twilio.conference_recordings(conference_sid)
            if not recordings:
                outcomes[conference_sid] = "missing"
                report.missing.append(conference_sid)
                # On the conversation record too (`recordings_lost`), so reports show it; the
                # fact's key is its time, and the conversation is settled below, once.
                self._ledger.record_call_fact(
                    conversation_id, "recording_missing", now_ms, {"conference_sid": conference_sid}
                )
                count("RecordingMissing")
                logger.error(
                    "conference has no recording at twilio; none will come",
                    conversation_id=conversation_id,
                    conference_sid=conference_sid,
                )
                continue
            results = []
            for form in recordings:
                result = self._settle(conversation_id, form, heard, report)
                results.append(result)
            if "pending" in results:
                settled = False
            outcomes[conference_sid] = ",".join(sorted(set(results)))
        if not settled:
            report.pending.append(conversation_id)
            return
        self._store.mark_reconciled(
            conversation_id, outcomes, datetime.fromtimestamp(now_ms / 1000, UTC)
        )

    def _settle(
        self,
        conversation_id: str,
        form: dict[str, str],
        heard: set[str],
        report: ReconcileReport,
    ) -> str:
        from chalicelib.recordings.domain import RecordingCallback
        from chalicelib.telephony.forms import parse_form

        sid = form["RecordingSid"]
        status = form.get("RecordingStatus", "")
        if status in PENDING_STATUSES:
            return "pending"
        if sid in heard or self._store.get(sid) is not None:
            # Its callback came (or an earlier run fed it): the copy path has it.
            return "heard"
        context = {"conversation": conversation_id}
        self._ledger.store_callback(RECORDING, form, context)
        outcome = self._pipeline.accept_callback(parse_form(RecordingCallback, form), context)
        if outcome == "no-media":
            report.lost.append(sid)
            count("RecordingLost")
            logger.error(
                "recording lost at twilio; no callback announced it",
                conversation_id=conversation_id,
                recording_sid=sid,
                status=status,
                error_code=form.get("ErrorCode"),
            )
            return "lost"
        report.copied.append(sid)
        count("RecordingReconciledCopy")
        logger.warning(
            "completed recording never announced; copy queued",
            conversation_id=conversation_id,
            recording_sid=sid,
        )
        return "copied"
