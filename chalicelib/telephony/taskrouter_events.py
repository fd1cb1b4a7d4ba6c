"""TaskRouter's event callbacks, parsed once and handed to every part of the app that cares.

Presence (ringing / on call / wrap-up / missed), escalation (start and stop the timeline) and
conversations (the analytics record) all learn from the same event stream. Each subscriber is
idempotent and order-independent: TaskRouter retries and does not promise order.
https://www.twilio.com/docs/taskrouter/api/event/reference
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pydantic import Field, field_validator

from chalicelib.platform.observability import count, logger
from chalicelib.telephony.forms import (
    MAX_EPOCH_MS,
    MAX_EPOCH_SECONDS,
    TwilioForm,
    json_object,
    parse_form,
)


class TaskRouterEvent(TwilioForm):
    event_sid: str = Field(alias="Sid", pattern=r"^EV[0-9a-fA-F]{32}$")
    event_type: str = Field(alias="EventType", min_length=1)
    account_sid: str = Field(alias="AccountSid", min_length=1)
    workspace_sid: str = Field(alias="WorkspaceSid", default="")
    # Arrives lowercase in practice (`task`, `reservation`, `worker`); normalised here.
    resource_type: str = Field(alias="ResourceType", default="")
    resource_sid: str = Field(alias="ResourceSid", default="")
    # Epoch seconds and milliseconds; TimestampMs is preferred when present.
    timestamp: int = Field(alias="Timestamp", default=0, ge=0, le=MAX_EPOCH_SECONDS)
    timestamp_ms: int = Field(alias="TimestampMs", default=0, ge=0, le=MAX_EPOCH_MS)
    task_sid: str = Field(alias="TaskSid", default="")
    reservation_sid: str = Field(alias="ReservationSid", default="")
    worker_sid: str = Field(alias="WorkerSid", default="")
    task_queue_sid: str = Field(alias="TaskQueueSid", default="")
    task_assignment_status: str = Field(alias="TaskAssignmentStatus", default="")
    task_canceled_reason: str = Field(alias="TaskCanceledReason", default="")
    task_age: int = Field(alias="TaskAge", default=0, ge=0, le=MAX_EPOCH_SECONDS)
    worker_activity_name: str = Field(alias="WorkerActivityName", default="")
    worker_previous_activity_name: str = Field(alias="WorkerPreviousActivityName", default="")
    task_attributes: dict[str, Any] = Field(alias="TaskAttributes", default_factory=dict)
    worker_attributes: dict[str, Any] = Field(alias="WorkerAttributes", default_factory=dict)
    # The whole form as Twilio posted it, for the raw event store (set by `from_form`).
    raw: dict[str, str] = Field(default_factory=dict, exclude=True)

    _parse_json = field_validator("task_attributes", "worker_attributes", mode="before")(
        json_object
    )

    @field_validator("resource_type", mode="after")
    @classmethod
    def _lowercase(cls, value: str) -> str:
        return value.lower()

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> TaskRouterEvent:
        return parse_form(cls, form).model_copy(update={"raw": dict(form)})

    @property
    def occurred_ms(self) -> int:
        return self.timestamp_ms or self.timestamp * 1000


Subscriber = Callable[[TaskRouterEvent], None]


def dispatch(event: TaskRouterEvent, subscribers: Iterable[Subscriber]) -> list[str]:
    """Give the event to every subscriber; return the names of those that failed.

    One subscriber failing must not starve the others (a presence write failing must not lose
    the analytics event), so every one runs and failures are reported together.
    """
    failed: list[str] = []
    for subscriber in subscribers:
        # A bound method's __qualname__ is its function's: `PresenceEvents.update_presence`.
        name = getattr(subscriber, "__qualname__", repr(subscriber))
        try:
            subscriber(event)
        except Exception:  # noqa: BLE001 - reported below and answered with a retryable 503
            failed.append(name)
            count("TaskRouterEventHandlerFailed")
            logger.exception(
                "taskrouter event handler failed",
                handler=name,
                event_type=event.event_type,
                task_sid=event.task_sid or None,
                event_sid=event.event_sid,
            )
    return failed
