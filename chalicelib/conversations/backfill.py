"""TaskRouter events the webhook never stored, read back from TaskRouter's Events resource.

TaskRouter documents no retry of its event callbacks: it asks for a 204 within 15 s and says
nothing of a 5xx (https://www.twilio.com/docs/taskrouter/api/event/reference). The events
route answers 503 when a subscriber fails, so when the ledger's write fails (DynamoDB
throttled) the event may never come again, and the conversation record is folded without it
(a lost `reservation.accepted` turns an answered call into a long wait). TaskRouter keeps every
event for 30 days as the Events resource (https://www.twilio.com/docs/taskrouter/api/event);
this job reads the last window of it every few minutes and stores each event through the
ledger, which is idempotent on the event sid: an event the webhook already stored costs one
failed conditional write.

The watermark (`W#taskrouter_events` in the events table) is where the last run stopped; each
run reads from it minus an overlap (events are logged by Twilio's clock, a late one may land
just behind the last run's end) up to now. It only advances past events that were stored: a
failed write keeps it at that event, so the next run reads it again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from chalicelib.platform.errors import InvalidInput, StorageUnavailable
from chalicelib.platform.observability import count, logger
from chalicelib.telephony.taskrouter_events import TaskRouterEvent

if TYPE_CHECKING:
    from chalicelib.conversations.facts import ConversationLedger
    from chalicelib.conversations.store import EventStore

JOB = "taskrouter_events"
# A first run (or one after the watermark was lost) reads this far back.
FIRST_WINDOW_MS = 15 * 60_000
# Each run reads this far behind the last run's end again.
OVERLAP_MS = 10 * 60_000
# Never further back than this: tasks' attributes are redacted after 30 days (ListEvent's
# StartDate), and a job stopped for longer than a day would read a day's events in one run.
MAX_LOOKBACK_MS = 24 * 3600_000
# Seconds a run spends storing events before it leaves the rest to the next run.
RUN_BUDGET_S = 40.0


class EventSource(Protocol):
    """TwilioGateway.taskrouter_events."""

    def taskrouter_events(self, start_ms: int, end_ms: int) -> list[dict[str, str]]: ...


@dataclass
class BackfillReport:
    start_ms: int = 0
    end_ms: int = 0
    read: int = 0
    stored: int = 0
    malformed: int = 0
    failed: list[str] = field(default_factory=list)
    unreached: int = 0
    watermark_ms: int = 0


class TaskRouterEventBackfill:
    def __init__(
        self,
        source: EventSource,
        ledger: ConversationLedger,
        events: EventStore,
        clock: Callable[[], int],
        budget_s: float = RUN_BUDGET_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._ledger = ledger
        self._events = events
        self._clock = clock
        self._budget_s = budget_s
        self._monotonic = monotonic

    def run(self) -> BackfillReport:
        """Read the window since the watermark (minus the overlap) and store every event.

        TelephonyUnavailable (Twilio unreachable) and StorageUnavailable on the watermark
        propagate: the run failed, the watermark stays, the next run reads the window again.
        """
        now = self._clock()
        mark = self._events.watermark(JOB)
        start = (now - FIRST_WINDOW_MS) if mark is None else (mark - OVERLAP_MS)
        start = max(start, now - MAX_LOOKBACK_MS)
        report = BackfillReport(start_ms=start, end_ms=now)
        forms = self._source.taskrouter_events(start, now)
        report.read = len(forms)
        failed_at: list[int] = []
        # Oldest first, within a time budget (a Lambda's timeout is 60 s by default): what is
        # left when it runs out is read again next run, from the first event not reached.
        forms.sort(key=_occurred_ms)
        deadline = self._monotonic() + self._budget_s
        for n, form in enumerate(forms):
            if self._monotonic() > deadline:
                report.unreached = len(forms) - n
                failed_at.append(_occurred_ms(form))
                count("TaskRouterEventsBackfillOverBudget")
                break
            try:
                event = TaskRouterEvent.from_form(form)
            except InvalidInput:
                report.malformed += 1
                logger.warning("taskrouter event not readable", event_sid=form.get("Sid"))
                continue
            try:
                if self._ledger.keep_taskrouter_event(event):
                    report.stored += 1
            except StorageUnavailable as exc:
                report.failed.append(event.event_sid)
                failed_at.append(event.occurred_ms)
                logger.warning(
                    "taskrouter event not backfilled", event_sid=event.event_sid, reason=str(exc)
                )
        # Stop at the earliest event not stored (read again next run, overlap or not).
        report.watermark_ms = min([now, *(at + OVERLAP_MS for at in failed_at)])
        self._events.set_watermark(JOB, report.watermark_ms)
        count("TaskRouterEventsRead", report.read)
        count("TaskRouterEventsBackfilled", report.stored)
        if report.failed:
            count("TaskRouterEventsBackfillFailed", len(report.failed))
        logger.info(
            "taskrouter events backfilled",
            read=report.read,
            stored=report.stored,
            failed=len(report.failed),
            malformed=report.malformed,
            unreached=report.unreached,
        )
        return report


def _occurred_ms(form: Mapping[str, str]) -> int:
    try:
        return int(form.get("TimestampMs") or 0) or int(form.get("Timestamp") or 0) * 1000
    except ValueError:
        return 0
