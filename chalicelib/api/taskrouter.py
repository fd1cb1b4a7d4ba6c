"""TaskRouter webhooks: the assignment callback."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib import bootstrap
from chalicelib.assignment import instruction_for
from chalicelib.models import ReservationAssignment, parse_form
from chalicelib.web import FORM, json_response, twilio_form, webhook

taskrouter = Blueprint(__name__)

ASSIGNMENT_PATH = "/twilio/taskrouter/assignment"


@taskrouter.route(ASSIGNMENT_PATH, methods=["POST"], content_types=[FORM])
@webhook
def assignment() -> Response:
    form = twilio_form(taskrouter.current_request)
    reservation = parse_form(ReservationAssignment, form)
    return json_response(instruction_for(reservation, bootstrap.container().settings))
