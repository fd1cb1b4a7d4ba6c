"""TaskRouter webhooks: the assignment callback and the event callback."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib import bootstrap
from chalicelib.api.web import FORM, json_response, twilio_form, webhook
from chalicelib.conversations.call_metrics import count_call_outcomes
from chalicelib.conversations.facts import store_taskrouter_event
from chalicelib.escalation.fallback import hand_over_voicemail
from chalicelib.escalation.steps import on_taskrouter_event
from chalicelib.presence.events import update_presence
from chalicelib.routing.assignment import instruction_for
from chalicelib.telephony.forms import ReservationAssignment, parse_form
from chalicelib.telephony.taskrouter_events import Subscriber, TaskRouterEvent, dispatch

taskrouter = Blueprint(__name__)

ASSIGNMENT_PATH = "/twilio/taskrouter/assignment"
EVENTS_PATH = "/twilio/taskrouter/events"

# Every part of the app that learns from TaskRouter events, in the order they run.
EVENT_SUBSCRIBERS: tuple[Subscriber, ...] = (
    count_call_outcomes,
    store_taskrouter_event,
    on_taskrouter_event,
    update_presence,
    hand_over_voicemail,
)


@taskrouter.route(ASSIGNMENT_PATH, methods=["POST"], content_types=[FORM])
@webhook
def assignment() -> Response:
    form = twilio_form(taskrouter.current_request)
    reservation = parse_form(ReservationAssignment, form)
    return json_response(instruction_for(reservation, bootstrap.container().settings))


@taskrouter.route(EVENTS_PATH, methods=["POST"], content_types=[FORM])
@webhook
def taskrouter_event() -> Response:
    form = twilio_form(taskrouter.current_request)
    event = TaskRouterEvent.from_form(form)
    failed = dispatch(event, bootstrap.container(), EVENT_SUBSCRIBERS)
    if failed:
        # 503 so the callback is retried; every subscriber is idempotent.
        return json_response({"failed": failed}, status_code=503)
    return json_response({"ok": True})
