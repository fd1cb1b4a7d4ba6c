"""TaskRouter webhooks: the assignment callback and the event callback."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from chalice import Blueprint, Response

from chalicelib import bootstrap
from chalicelib.api.web import FORM, json_response, twilio_form, webhook
from chalicelib.conversations.call_metrics import count_call_outcomes
from chalicelib.telephony import webhooks

if TYPE_CHECKING:
    from chalicelib.bootstrap import Container
    from chalicelib.telephony.taskrouter_events import Subscriber, TaskRouterEvent

taskrouter = Blueprint(__name__)


# Every part of the app that learns from TaskRouter events, in the order they run, by name:
# each picks its subscriber out of the container.
EVENT_SUBSCRIBERS: tuple[tuple[str, Callable[[Container], Subscriber]], ...] = (
    ("count_call_outcomes", lambda c: count_call_outcomes),
    ("store_taskrouter_event", lambda c: c.ledger.store_taskrouter_event),
    ("on_taskrouter_event", lambda c: c.escalation_steps.on_taskrouter_event),
    ("update_presence", lambda c: c.presence_events.update_presence),
    ("hand_over_voicemail", lambda c: c.fallback.hand_over_voicemail),
)


def _bound(name: str, pick: Callable[[Container], Subscriber], c: Container) -> Subscriber:
    """The subscriber, its service built inside the call `dispatch` guards: a service that
    cannot be built (a bad setting, a client that fails) fails that subscriber alone."""

    def subscriber(event: TaskRouterEvent) -> None:
        pick(c)(event)

    subscriber.__qualname__ = name
    return subscriber


@taskrouter.route(webhooks.TASKROUTER_ASSIGNMENT, methods=["POST"], content_types=[FORM])
@webhook
def assignment() -> Response:
    from chalicelib.routing.assignment import instruction_for
    from chalicelib.telephony.forms import ReservationAssignment, parse_form

    form = twilio_form(taskrouter.current_request)
    reservation = parse_form(ReservationAssignment, form)
    return json_response(instruction_for(reservation, bootstrap.container().settings))


@taskrouter.route(webhooks.TASKROUTER_EVENTS, methods=["POST"], content_types=[FORM])
@webhook
def taskrouter_event() -> Response:
    from chalicelib.telephony.taskrouter_events import TaskRouterEvent, dispatch

    form = twilio_form(taskrouter.current_request)
    event = TaskRouterEvent.from_form(form)
    c = bootstrap.container()
    failed = dispatch(event, [_bound(name, pick, c) for name, pick in EVENT_SUBSCRIBERS])
    if failed:
        # 503 so the callback is retried; every subscriber is idempotent.
        return json_response({"failed": failed}, status_code=503)
    return json_response({"ok": True})
