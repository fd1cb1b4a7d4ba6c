"""What every view shares: proving a webhook came from Twilio, and mapping our errors to HTTP.

Views stay three lines long: take the form (verified here), call one domain function, render.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar

from chalice import BadRequestError, ConflictError, ForbiddenError, NotFoundError, Response
from chalice.app import Request

from chalicelib import bootstrap
from chalicelib.errors import Conflict, InvalidInput, NotFound
from chalicelib.observability import count, logger
from chalicelib.security import Form, InvalidSignature, public_url, verify_twilio_request

FORM = "application/x-www-form-urlencoded"
SIGNATURE_HEADER = "x-twilio-signature"
SIGNATURE_SETTINGS_HEADER = "x-twilio-webhooks-signature-settings"

V = TypeVar("V", bound=Callable[..., Any])


def route_path(request: Request) -> str:
    """The path of the route Twilio called, path parameters filled in, without stage prefix."""
    path = request.path
    for name, value in (request.uri_params or {}).items():
        path = path.replace("{" + name + "}", value)
    return path


def twilio_form(request: Request) -> Form:
    """The posted form, once Twilio's signature over it and the public URL checks out."""
    settings = bootstrap.container().settings
    form = Form.parse(request.raw_body or b"")
    url = public_url(settings.public_base_url, route_path(request), request.query_params)
    verify_twilio_request(
        bootstrap.container().twilio_credentials.auth_token,
        url,
        form,
        request.headers.get(SIGNATURE_HEADER),
        request.headers.get(SIGNATURE_SETTINGS_HEADER),
    )
    return form


def webhook(view: V) -> V:
    """Map our errors to responses in one place for a view (Chalice middleware cannot see them)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except InvalidSignature as exc:
            count("WebhookSignatureRejected")
            logger.warning("webhook signature rejected", reason=str(exc))
            raise ForbiddenError("invalid X-Twilio-Signature") from exc
        except InvalidInput as exc:
            count("WebhookBadRequest")
            logger.warning("bad request", problem=str(exc))
            raise BadRequestError(str(exc)) from exc
        except NotFound as exc:
            raise NotFoundError(str(exc)) from exc
        except Conflict as exc:
            raise ConflictError(str(exc)) from exc

    return wrapper  # type: ignore[return-value]


def twiml(body: str) -> Response:
    return Response(body=body, status_code=200, headers={"Content-Type": "text/xml"})


def json_response(
    body: Any, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status_code=status_code,
        headers={"Content-Type": "application/json", **(headers or {})},
    )
