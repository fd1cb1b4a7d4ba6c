"""Twilio Voice webhooks: the incoming call."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib import bootstrap
from chalicelib.api.web import FORM, twilio_form, webhook
from chalicelib.api.web import twiml as twiml_response
from chalicelib.telephony import webhooks

voice = Blueprint(__name__)


@voice.route(webhooks.INCOMING, methods=["POST"], content_types=[FORM])
@webhook
def incoming_call() -> Response:
    from chalicelib.escalation.fallback import is_open
    from chalicelib.routing import twiml
    from chalicelib.routing.inbound import route_incoming_call
    from chalicelib.telephony.forms import IncomingCall, parse_form

    form = twilio_form(voice.current_request)
    call = parse_form(IncomingCall, form)
    c = bootstrap.container()
    plan = route_incoming_call(
        call, c.customers, c.presence_reader, c.settings.telephony.default_country
    )
    if not is_open(c.calendar, plan, c.now()):
        return twiml_response(c.fallback.outside_hours(call.call_sid, plan))
    return twiml_response(
        twiml.enqueue_call(
            plan,
            c.settings.telephony.twilio_workflow_sid,
            c.settings.routing.task_timeout_seconds,
            action_url=c.settings.url(webhooks.QUEUE_EXIT),
        )
    )
