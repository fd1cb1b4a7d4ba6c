"""Conversations: the ingest webhooks, the staff API over the records, and the scheduled jobs.

Ingest: every call leg's status callback and the conference's, signed by Twilio, stored raw
(chalicelib.conversations.facts). TaskRouter events arrive through the shared events route
(chalicelib.api.taskrouter.EVENT_SUBSCRIBERS); recording callbacks through the recordings
route, which calls the ledger's `store_callback`. The events table's stream
(`conversation_stream`) folds them into the conversation records, off the webhook path.
"""

from __future__ import annotations

import os
from typing import Any

from chalice import Blueprint, Cron, Rate, Response
from chalice.app import DynamoDBEvent

from chalicelib import bootstrap
from chalicelib.api.auth import require_staff
from chalicelib.api.supervision import audited
from chalicelib.api.web import CORS, FORM, json_response, twilio_form, webhook
from chalicelib.platform.errors import NotFound, StorageUnavailable
from chalicelib.platform.observability import logger, metrics
from chalicelib.telephony import webhooks

conversations = Blueprint(__name__)


# Chalice needs the stream ARN when the app is imported (aws/chalice#1882); deployed stages get
# the table's own stream through infra/resources.json (ConversationStream's event source), as
# presence does. The default names the local table; `chalice local` runs no stream consumers
# (the local stage rebuilds inline, CONVERSATION_REBUILD_INLINE).
CONVERSATION_EVENTS_STREAM_ARN = os.environ.get(
    "CONVERSATION_EVENTS_STREAM_ARN",
    "arn:aws:dynamodb:ap-northeast-1:000000000000:table/cc-local-conversation-events/stream/local",
)


def _stored() -> Response:
    # Twilio only needs a 2xx for a status callback; the body is ignored.
    return Response(body="", status_code=204)


def _unavailable(exc: StorageUnavailable, **keys: Any) -> Response:
    # 503 so a retrying sender (connection overrides, TaskRouter) tries again; the event is
    # idempotent, so a retry that finds it stored changes nothing.
    logger.error("call event not stored", reason=str(exc), **keys)
    return json_response({"error": "event store unavailable, retry"}, status_code=503)


@conversations.route(webhooks.VOICE_STATUS, methods=["POST"], content_types=[FORM])
@webhook
def voice_status() -> Response:
    from chalicelib.conversations.events import CallStatusCallback, voice_event
    from chalicelib.telephony.forms import parse_form

    request = conversations.current_request
    form = twilio_form(request)
    callback = parse_form(CallStatusCallback, form)
    event = voice_event(form, request.query_params)
    try:
        bootstrap.container().ledger.store_event(event)
        _outbound_leg_report(request.query_params or {}, form, event.occurred_ms)
    except StorageUnavailable as exc:
        return _unavailable(exc, call_sid=callback.call_sid)
    return _stored()


def _outbound_leg_report(query: Any, form: Any, occurred_ms: int) -> None:
    """The customer's leg of an outbound call (its URL names the rep, `dialled_by`) reached a
    final status: the rep's call is over (chalicelib.softphone.outbound)."""
    from chalicelib.platform.signatures import callback_url

    agent_id, conversation = query.get("dialled_by") or "", query.get("conversation") or ""
    if not agent_id or not conversation:
        return
    c = bootstrap.container()
    status = str(form.get("CallStatus", ""))
    c.outbound_calls.customer_leg_ended(
        agent_id,
        conversation,
        status,
        occurred_ms or c.clock(),
        callback_url(c.settings.url(webhooks.OUTBOUND_NOT_CONNECTED), {"status": status}),
        query.get("colleague") or "",
    )


@conversations.route(webhooks.CONFERENCE_STATUS, methods=["POST"], content_types=[FORM])
@webhook
def conference_status() -> Response:
    from chalicelib.conversations.events import ConferenceStatusCallback, conference_event
    from chalicelib.telephony.forms import parse_form

    request = conversations.current_request
    form = twilio_form(request)
    callback = parse_form(ConferenceStatusCallback, form)
    c = bootstrap.container()
    try:
        c.ledger.store_event(conference_event(form, request.query_params))
    except StorageUnavailable as exc:
        return _unavailable(exc, conference_sid=callback.conference_sid)
    _start_live_transcript(form, dict(request.query_params or {}))
    return _stored()


def _start_live_transcript(form: dict[str, str], query: dict[str, str]) -> None:
    """The customer's leg joined the agent's conference (inbound or outbound): the call is
    bridged, transcribe it.

    A failure here never fails the callback (its event is stored): the call goes on without a
    live transcript, counted and logged (chalicelib/transcripts/live.py)."""
    from chalicelib.transcripts.domain import customer_leg_joined

    joined = customer_leg_joined(form, query)
    if joined is None:
        return
    leg, conversation = joined
    try:
        bootstrap.container().live_transcripts.start_on_customer_leg(
            leg, query.get("agent", ""), conversation_id=conversation
        )
    except StorageUnavailable as exc:
        logger.warning("live transcript not claimed", call_sid=conversation, problem=str(exc))


# --- the staff API -------------------------------------------------------------------------
@conversations.route("/conversations", methods=["GET"], cors=CORS)
@webhook
def list_conversations() -> Response:
    from urllib.parse import urlencode

    from chalicelib.conversations.search import search_from_params
    from chalicelib.supervision.access import scoped_search
    from chalicelib.supervision.audit import CONVERSATION_LIST

    request = conversations.current_request
    staff = require_staff(request)
    c = bootstrap.container()
    asked: dict[str, str] = dict(request.query_params or {})

    def search() -> dict[str, Any]:
        # A rep lists their own calls only; `agent=me` is the softphone's "your recent calls".
        # Run inside the audited check: a malformed query or cursor is a 400 that records no read.
        params = scoped_search(asked, staff.agent_id, staff.is_supervisor)
        query = search_from_params(params, c.settings.conversations.report_timezone, c.clock())
        if params.get("text") is not None:
            # Words said on calls (live transcripts): an agent finds only their own calls'.
            from chalicelib.transcripts.live import search_transcripts

            found = search_transcripts(
                c.transcript_store,
                query.days,
                query.from_ms,
                query.to_ms,
                params["text"],
                query.limit,
                only_agent="" if staff.is_supervisor else staff.agent_id,
            )
            return {"conversations": found, "next_cursor": None}
        items, cursor = c.conversations.search(query, params.get("cursor"))
        return {"conversations": items, "next_cursor": cursor}

    body = audited(request, staff, CONVERSATION_LIST, urlencode(sorted(asked.items())), search)
    return json_response(body)


@conversations.route("/conversations/{call_sid}", methods=["GET"], cors=CORS)
@webhook
def get_conversation(call_sid: str) -> Response:
    from chalicelib.supervision.access import check_may_read
    from chalicelib.supervision.audit import CONVERSATION

    request = conversations.current_request
    staff = require_staff(request)
    # Right after a call the stream may not have rebuilt the record yet: fold if it is behind.
    record = bootstrap.container().ledger.current_record(call_sid)
    if record is None:
        raise NotFound(f"no conversation {call_sid}")
    audited(
        request,
        staff,
        CONVERSATION,
        call_sid,
        lambda: check_may_read(record, call_sid, staff.agent_id, staff.is_supervisor),
    )
    return json_response(record, headers={"Cache-Control": "no-store"})


@conversations.route("/kpis/today", methods=["GET"], cors=CORS)
@webhook
def kpis_today() -> Response:
    require_staff(conversations.current_request)
    c = bootstrap.container()
    return json_response(c.kpi_feed.today_kpis(c.clock()))


# --- the events stream ------------------------------------------------------------------------
@conversations.on_dynamodb_record(
    stream_arn=CONVERSATION_EVENTS_STREAM_ARN,
    batch_size=100,
    maximum_batching_window_in_seconds=1,
    name="conversation_stream",
)
def conversation_stream(event: DynamoDBEvent) -> None:
    """Rebuild the conversations a batch of stored events belongs to, each once.

    Only inserts into a conversation's partition matter (links, pending and worker events have
    prefixed partitions; TTL deletions change no record). Raising makes Lambda retry the batch:
    rebuilding is idempotent and guarded, so a retry only repeats work.
    """
    from chalicelib.conversations.store import conversation_of_partition

    try:
        rebuilt = bootstrap.container().ledger.rebuild_conversations(
            conversation_of_partition(record.keys)
            for record in event
            if record.event_name == "INSERT"
        )
        logger.info("conversations rebuilt from stream", conversations=rebuilt)
    finally:
        if metrics.metric_set:
            metrics.flush_metrics()


# --- scheduled jobs ------------------------------------------------------------------------
@conversations.schedule(Rate(10, unit=Rate.MINUTES))
def reconcile_conversation_prices(event: Any) -> None:
    """Fetch the price of every ended leg Twilio has rated since the last run."""
    c = bootstrap.container()
    c.price_reconciler.reconcile_prices(c.clock())


@conversations.schedule(Rate(5, unit=Rate.MINUTES))
def backfill_taskrouter_events(event: Any) -> None:
    """Store the TaskRouter events of the last window the events webhook may have lost.

    TaskRouter documents no retry of an event callback answered 5xx
    (https://www.twilio.com/docs/taskrouter/api/event/reference); its Events resource keeps
    them (https://www.twilio.com/docs/taskrouter/api/event). chalicelib/conversations/backfill.py
    """
    bootstrap.container().taskrouter_event_backfill.run()


# 16:30 UTC = 01:30 in Tokyo: the previous local day is complete (calls run past midnight).
@conversations.schedule(Cron(30, 16, "*", "*", "?", "*"))
def export_conversations(event: Any) -> None:
    """Export yesterday's conversations, and re-export the day before (its late prices)."""
    c = bootstrap.container()
    c.conversation_export.export_recent_days(c.clock(), days=(1, 2))
