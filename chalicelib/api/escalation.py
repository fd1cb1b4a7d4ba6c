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
from chalicelib.escalation import fallback
from chalicelib.escalation.fallback import FallbackCall, VoicemailRecorded
from chalicelib.escalation.steps import enter_stage_step, fallback_step
from chalicelib.platform.errors import InvalidInput
from chalicelib.telephony.forms import parse_form

escalation = Blueprint(__name__)

ENTER_STAGE_FUNCTION = "escalation_enter_stage"
FALLBACK_FUNCTION = "escalation_fallback"
TASK_SID = re.compile(r"^WT[0-9a-fA-F]{32}$")


@escalation.lambda_function(name=ENTER_STAGE_FUNCTION)
def enter_stage(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return enter_stage_step(event, bootstrap.container())


@escalation.lambda_function(name=FALLBACK_FUNCTION)
def offer_fallback(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return fallback_step(event, bootstrap.container())


# --- the fallback voice flow (Twilio webhooks, all signed) -------------------------------------


@escalation.route(fallback.FALLBACK_PATH, methods=["POST"], content_types=[FORM])
@webhook
def fallback_menu() -> Response:
    parse_form(FallbackCall, twilio_form(escalation.current_request))
    return twiml_response(fallback.menu(bootstrap.container()))


@escalation.route(fallback.CHOICE_PATH, methods=["POST"], content_types=[FORM])
@webhook
def fallback_choice() -> Response:
    call = parse_form(FallbackCall, twilio_form(escalation.current_request))
    return twiml_response(fallback.choose(bootstrap.container(), call))


@escalation.route(fallback.VOICEMAIL_PATH, methods=["POST"], content_types=[FORM])
@webhook
def voicemail() -> Response:
    recorded = parse_form(VoicemailRecorded, twilio_form(escalation.current_request))
    return twiml_response(fallback.voicemail_recorded(bootstrap.container(), recorded))


@escalation.route(fallback.QUEUE_EXIT_PATH, methods=["POST"], content_types=[FORM])
@webhook
def queue_exit() -> Response:
    call = parse_form(FallbackCall, twilio_form(escalation.current_request))
    return twiml_response(fallback.queue_exit(bootstrap.container(), call))


@escalation.route(fallback.CALLBACK_CONNECT_PATH, methods=["POST"], content_types=[FORM])
@webhook
def callback_connect(task_sid: str) -> Response:
    twilio_form(escalation.current_request)
    if not TASK_SID.match(task_sid):
        raise InvalidInput("not a task sid")
    return twiml_response(fallback.callback_connect(bootstrap.container(), task_sid))
