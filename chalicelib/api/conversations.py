"""Conversations: the ingest webhooks, the staff API over the records, and the scheduled jobs.

Ingest: every call leg's status callback and the conference's, signed by Twilio, stored raw and
folded into the conversation record (chalicelib.conversation_facts). TaskRouter events arrive
through the shared events route (chalicelib.api.taskrouter.EVENT_SUBSCRIBERS); recording
callbacks through the recordings route, which calls `conversation_facts.store_callback`.
"""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib import bootstrap
from chalicelib.conversation_events import (
    CallStatusCallback,
    ConferenceStatusCallback,
    conference_event,
    voice_event,
)
from chalicelib.conversation_facts import store_event
from chalicelib.errors import StorageUnavailable
from chalicelib.models import parse_form
from chalicelib.observability import logger
from chalicelib.web import FORM, json_response, twilio_form, webhook

conversations = Blueprint(__name__)

VOICE_STATUS_PATH = "/twilio/voice/status"
CONFERENCE_STATUS_PATH = "/twilio/conference/status"


def _stored() -> Response:
    # Twilio only needs a 2xx for a status callback; the body is ignored.
    return Response(body="", status_code=204)


def _unavailable(exc: StorageUnavailable, **keys: str) -> Response:
    # 503 so a retrying sender (connection overrides, TaskRouter) tries again; the event is
    # idempotent, so a retry that finds it stored changes nothing.
    logger.error("call event not stored", reason=str(exc), **keys)
    return json_response({"error": "event store unavailable, retry"}, status_code=503)


@conversations.route(VOICE_STATUS_PATH, methods=["POST"], content_types=[FORM])
@webhook
def voice_status() -> Response:
    request = conversations.current_request
    form = twilio_form(request)
    callback = parse_form(CallStatusCallback, form)
    try:
        store_event(bootstrap.container(), voice_event(form, request.query_params))
    except StorageUnavailable as exc:
        return _unavailable(exc, call_sid=callback.call_sid)
    return _stored()


@conversations.route(CONFERENCE_STATUS_PATH, methods=["POST"], content_types=[FORM])
@webhook
def conference_status() -> Response:
    request = conversations.current_request
    form = twilio_form(request)
    callback = parse_form(ConferenceStatusCallback, form)
    try:
        store_event(bootstrap.container(), conference_event(form, request.query_params))
    except StorageUnavailable as exc:
        return _unavailable(exc, conference_sid=callback.conference_sid)
    return _stored()
