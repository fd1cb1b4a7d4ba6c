"""The escalation timeline's Lambda steps (invoked by Step Functions) and the fallback voice flow.

The steps are their own Lambda functions (not routes of the API handler): the state machine
invokes them and the API handler starts the state machine, so one function doing both would be a
circular dependency in the packaged template.
"""

from __future__ import annotations

import re
from typing import Any

from chalice import Blueprint, Response

from chalicelib import bootstrap
from chalicelib.api.web import FORM, twilio_form, webhook
from chalicelib.api.web import twiml as twiml_response
from chalicelib.platform.errors import InvalidInput
from chalicelib.telephony import webhooks

escalation = Blueprint(__name__)

ENTER_STAGE_FUNCTION = "escalation_enter_stage"
FALLBACK_FUNCTION = "escalation_fallback"
TASK_SID = re.compile(r"^WT[0-9a-fA-F]{32}$")


@escalation.lambda_function(name=ENTER_STAGE_FUNCTION)
def enter_stage(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return bootstrap.container().escalation_steps.enter_stage_step(event)


@escalation.lambda_function(name=FALLBACK_FUNCTION)
def offer_fallback(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return bootstrap.container().escalation_steps.fallback_step(event)


# --- the fallback voice flow (Twilio webhooks, all signed) -------------------------------------


@escalation.route(webhooks.FALLBACK, methods=["POST"], content_types=[FORM])
@webhook
def fallback_menu() -> Response:
    from chalicelib.escalation.fallback import FallbackCall
    from chalicelib.telephony.forms import parse_form

    parse_form(FallbackCall, twilio_form(escalation.current_request))
    return twiml_response(bootstrap.container().fallback.menu())


@escalation.route(webhooks.FALLBACK_CHOICE, methods=["POST"], content_types=[FORM])
@webhook
def fallback_choice() -> Response:
    from chalicelib.escalation.fallback import FallbackCall
    from chalicelib.routing.waiting import KEY_PARAMETER, WAIT_KEYS
    from chalicelib.telephony.forms import parse_form

    request = escalation.current_request
    call = parse_form(FallbackCall, twilio_form(request))
    # A key pressed while waiting in the queue arrives by redirect (routing/waiting.py), with
    # the fallback's key in the query instead of a `Digits` field.
    query: dict[str, str] = dict(request.query_params or {})
    key = query.get(KEY_PARAMETER, "")
    if key:
        if key not in WAIT_KEYS.values():
            raise InvalidInput("not a fallback key")
        call = call.model_copy(update={"digits": key})
    return twiml_response(bootstrap.container().fallback.choose(call))


@escalation.route(webhooks.VOICEMAIL, methods=["POST"], content_types=[FORM])
@webhook
def voicemail() -> Response:
    from chalicelib.escalation.fallback import VoicemailRecorded
    from chalicelib.telephony.forms import parse_form

    recorded = parse_form(VoicemailRecorded, twilio_form(escalation.current_request))
    return twiml_response(bootstrap.container().fallback.voicemail_recorded(recorded))


@escalation.route(webhooks.QUEUE_EXIT, methods=["POST"], content_types=[FORM])
@webhook
def queue_exit() -> Response:
    from chalicelib.escalation.fallback import FallbackCall
    from chalicelib.telephony.forms import parse_form

    call = parse_form(FallbackCall, twilio_form(escalation.current_request))
    return twiml_response(bootstrap.container().fallback.queue_exit(call))


@escalation.route(webhooks.CALLBACK_CONNECT, methods=["POST"], content_types=[FORM])
@webhook
def callback_connect(task_sid: str) -> Response:
    twilio_form(escalation.current_request)
    if not TASK_SID.match(task_sid):
        raise InvalidInput("not a task sid")
    return twiml_response(bootstrap.container().fallback.callback_connect(task_sid))
