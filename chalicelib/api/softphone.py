"""The softphone's API: its Twilio token, outbound calls, call control and the wrap-up note.

Agent-facing routes take a Cognito bearer token (chalicelib.auth) and use the shared CORS
config; the TwiML App's voice URL is a signed Twilio webhook like every other `/twilio/*` view.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, TypeVar

from chalice import Blueprint, ForbiddenError, Response

from chalicelib import bootstrap, softphone_twiml
from chalicelib.access_tokens import voice_token
from chalicelib.assignment import RECORDING_STATUS_PATH, VOICE_STATUS_PATH
from chalicelib.auth import require_staff
from chalicelib.calls import OutboundRequest, decide_outbound
from chalicelib.config import ConfigurationError
from chalicelib.errors import StorageUnavailable, TelephonyUnavailable
from chalicelib.models import parse_form
from chalicelib.observability import count, logger
from chalicelib.web import CORS, FORM, json_response, twilio_form, twiml, webhook

softphone = Blueprint(__name__)

TOKEN_PATH = "/agents/me/token"  # noqa: S105 - a route, not a secret
OUTBOUND_PATH = "/twilio/voice/outbound"

V = TypeVar("V", bound=Callable[..., Any])


def agent_api(view: V) -> V:
    """Our errors as responses for the pages: 400/403/404/409 via `webhook`, 503 when a
    dependency is down (the page retries), never a bare 500 for a known failure."""
    mapped = webhook(view)

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return mapped(*args, **kwargs)
        except (TelephonyUnavailable, StorageUnavailable, ConfigurationError) as exc:
            count("SoftphoneDependencyFailed")
            logger.error("softphone request failed on a dependency", problem=str(exc))
            return json_response(
                {"Code": "ServiceUnavailable", "Message": "try again in a moment"},
                status_code=503,
                headers={"Retry-After": "2"},
            )

    return wrapper  # type: ignore[return-value]


def _agent_record(agent_id: str) -> dict[str, Any]:
    record = bootstrap.container().agents.get(agent_id)
    if record is None:
        raise ForbiddenError(f"{agent_id} is not an agent of this contact center")
    return record


def client_identity(record: dict[str, Any]) -> str:
    """The identity the agent's browser registers with Twilio (reservations ring `client:<it>`)."""
    return str(record.get("client_identity") or record["agent_id"])


@softphone.route(TOKEN_PATH, methods=["GET"], cors=CORS)
@agent_api
def agent_token() -> Response:
    staff = require_staff(softphone.current_request)
    c = bootstrap.container()
    identity = client_identity(_agent_record(staff.agent_id))
    token = voice_token(
        c.twilio_credentials,
        identity,
        c.settings.twilio_twiml_app_sid,
        c.settings.voice_token_ttl_seconds,
        now=int(time.time()),
    )
    count("VoiceTokensIssued")
    logger.info("voice token issued", agent_id=staff.agent_id, expires_at=token.expires_at)
    return json_response(token.as_json(), headers={"Cache-Control": "no-store"})


@softphone.route(OUTBOUND_PATH, methods=["POST"], content_types=[FORM])
@webhook
def outbound_call() -> Response:
    """The TwiML App's voice URL: the softphone dials a customer."""
    form = twilio_form(softphone.current_request)
    settings = bootstrap.container().settings
    decision = decide_outbound(parse_form(OutboundRequest, form), settings.default_country)
    if decision.refused == "not_an_agent":
        return twiml(softphone_twiml.refuse_non_agent())
    if decision.refused:
        return twiml(softphone_twiml.refuse_invalid_number())
    return twiml(
        softphone_twiml.dial_out(
            softphone_twiml.OutboundDial(
                number_e164=decision.number_e164,
                caller_id=settings.company_number,
                ring_seconds=settings.outbound_ring_seconds,
                leg_status_callback=settings.url(VOICE_STATUS_PATH),
                recording_status_callback=settings.url(RECORDING_STATUS_PATH),
            )
        )
    )
