"""Calls offered, answered and abandoned, counted from TaskRouter's event stream.

These three numbers are what the abandonment alarm and the dashboard's top row show. They are
counted from events rather than from our webhooks because TaskRouter is where a caller's wait
begins (task created), ends in an agent (reservation accepted) or ends without one (task
canceled). Only inbound call tasks count: follow-ups (voicemail, callback) and transfers are
work, not callers waiting.

Definitions follow Flex Insights: abandoned = the task was canceled while queued, i.e. the
caller hung up; a task canceled by its timeout ("Task TTL Exceeded") left the queue for the
fallback and is counted apart. TaskRouter retries an event whose callback failed, so a retried
event is counted again: the figures are for alarms and trends, the conversation records
(chalicelib/conversations/fold.py) are the exact numbers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.platform.observability import CALLS_ABANDONED, CALLS_ANSWERED, CALLS_OFFERED, count

if TYPE_CHECKING:
    from chalicelib.telephony.taskrouter_events import TaskRouterEvent

INBOUND_CALL = "inbound_call"
CALLS_TIMED_OUT_IN_QUEUE = "CallsTimedOutInQueue"


def outcome_metric(event: TaskRouterEvent) -> str | None:
    """The metric one event adds to, or None when it is not a caller's wait starting or ending."""
    if event.task_attributes.get("type") != INBOUND_CALL:
        return None
    if event.event_type == "task.created":
        return CALLS_OFFERED
    if event.event_type == "reservation.accepted":
        return CALLS_ANSWERED
    if event.event_type == "task.canceled":
        reason = event.task_canceled_reason.lower()
        if "ttl" in reason or "timeout" in reason:
            return CALLS_TIMED_OUT_IN_QUEUE
        return CALLS_ABANDONED
    return None


def count_call_outcomes(event: TaskRouterEvent) -> None:
    """TaskRouter event subscriber (chalicelib/api/taskrouter.py)."""
    metric = outcome_metric(event)
    if metric:
        count(metric)
