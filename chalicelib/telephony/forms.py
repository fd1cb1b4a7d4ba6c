"""What Twilio posts to us, as pydantic models with Twilio's own field names as aliases.

Only the fields we use are declared; Twilio adds fields over time and they are ignored here (the
signature check has already covered them). JSON carried inside form fields (TaskRouter's
`TaskAttributes`, `WorkerAttributes`) is parsed here so bad JSON is a 400, not a crash later.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from chalicelib.platform.errors import InvalidInput

# Bounds for the numbers Twilio posts, so a forged or broken one is a 400 here and never a
# 38-digit overflow in DynamoDB later (Number: "up to 38 digits of precision",
# https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html).
# A call or recording lasts at most a day: Twilio ends a call at its maximum duration
# (https://www.twilio.com/docs/api/errors/32015; `<Dial timeLimit>`, default 4 hours, is
# capped at 24 hours: https://www.twilio.com/docs/voice/twiml/dial#timelimit).
MAX_CALL_SECONDS = 86_400
MAX_EPOCH_SECONDS = 10**11  # the year 5138: any real timestamp is below it
MAX_EPOCH_MS = MAX_EPOCH_SECONDS * 1000
MAX_SEQUENCE_NUMBER = 10**9


class TwilioForm(BaseModel):
    # defer_build: a model's validator is built on its first use, not at import, so a cold
    # start only pays for the forms the invoked route actually parses.
    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True, defer_build=True)


class IncomingCall(TwilioForm):
    call_sid: str = Field(alias="CallSid", pattern=r"^CA[0-9a-fA-F]{32}$")
    account_sid: str = Field(alias="AccountSid", min_length=1)
    from_: str = Field(alias="From", default="")
    to: str = Field(alias="To", default="")
    call_status: str = Field(alias="CallStatus", default="ringing")
    direction: str = Field(alias="Direction", default="inbound")


def json_object(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    try:
        parsed = json.loads(value or "{}")
    except (TypeError, json.JSONDecodeError) as exc:
        raise ValueError("is not valid JSON") from exc
    if not isinstance(parsed, dict):
        raise ValueError("must be a JSON object")
    return parsed


class ReservationAssignment(TwilioForm):
    """TaskRouter's assignment callback: a reservation waiting for our instruction."""

    account_sid: str = Field(alias="AccountSid", min_length=1)
    workspace_sid: str = Field(alias="WorkspaceSid", min_length=1)
    task_sid: str = Field(alias="TaskSid", pattern=r"^WT[0-9a-fA-F]{32}$")
    reservation_sid: str = Field(alias="ReservationSid", pattern=r"^WR[0-9a-fA-F]{32}$")
    worker_sid: str = Field(alias="WorkerSid", pattern=r"^WK[0-9a-fA-F]{32}$")
    task_attributes: dict[str, Any] = Field(alias="TaskAttributes")
    worker_attributes: dict[str, Any] = Field(alias="WorkerAttributes")

    _parse_json = field_validator("task_attributes", "worker_attributes", mode="before")(
        json_object
    )


M = TypeVar("M", bound=BaseModel)


def parse_form(model: type[M], form: Mapping[str, str]) -> M:
    """Build `model` from a form, turning validation errors into one readable InvalidInput."""
    try:
        return model.model_validate(dict(form))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}"
            for err in exc.errors()
        )
        raise InvalidInput(problems) from exc
