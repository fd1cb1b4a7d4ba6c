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
    from chalicelib.routing.greeting import load_greetings
    from chalicelib.routing.inbound import route_incoming_call
    from chalicelib.telephony.forms import IncomingCall, parse_form
    from chalicelib.telephony.prompts import load_prompts

    form = twilio_form(voice.current_request)
    call = parse_form(IncomingCall, form)
    c = bootstrap.container()
    plan = route_incoming_call(
        call, c.customers, c.presence_reader, c.settings.telephony.default_country
    )
    if not is_open(c.calendar, plan, c.now()):
        return twiml_response(c.fallback.outside_hours(call.call_sid, plan))
    s = c.settings
    greeting = load_greetings(s.routing.greetings).for_call(
        call.to, plan.customer.team if plan.customer else None
    )
    prompts = load_prompts(s.escalation.prompt_language, s.escalation.prompts)
    return twiml_response(
        twiml.enqueue_call(
            plan,
            s.telephony.twilio_workflow_sid,
            s.routing.task_timeout_seconds,
            action_url=s.url(webhooks.QUEUE_EXIT),
            wait_url=s.url(webhooks.QUEUE_WAIT),
            greeting=(greeting, prompts),
        )
    )


@voice.route(webhooks.QUEUE_WAIT, methods=["POST"], content_types=[FORM])
@webhook
def queue_wait() -> Response:
    from chalicelib.routing.waiting import QueueWaitRequest
    from chalicelib.telephony.forms import parse_form

    request = parse_form(QueueWaitRequest, twilio_form(voice.current_request))
    return twiml_response(bootstrap.container().queue_wait.wait(request))


@voice.route(webhooks.QUEUE_WAIT_CHOICE, methods=["POST"], content_types=[FORM])
@webhook
def queue_wait_choice() -> Response:
    from chalicelib.routing.waiting import QueueWaitKey
    from chalicelib.telephony.forms import parse_form

    pressed = parse_form(QueueWaitKey, twilio_form(voice.current_request))
    return twiml_response(bootstrap.container().queue_wait.key_pressed(pressed))
