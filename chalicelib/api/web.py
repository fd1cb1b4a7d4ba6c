"""What every view shares: proving a webhook came from Twilio, and mapping our errors to HTTP.

Views stay three lines long: take the form (verified here), call one domain function, render.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from chalice import (
    BadRequestError,
    ChaliceViewError,
    ConflictError,
    CORSConfig,
    ForbiddenError,
    NotFoundError,
    Response,
)
from chalice.app import Request

from chalicelib import bootstrap
from chalicelib.platform.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    StorageUnavailable,
    TelephonyUnavailable,
)
from chalicelib.platform.limits import MAX_WEBHOOK_BODY_BYTES
from chalicelib.platform.local_stage import LOCAL_STAGES, LOCAL_WEB_ORIGIN
from chalicelib.platform.observability import bind_twilio_form, count, logger
from chalicelib.platform.signatures import Form, InvalidSignature, public_url, verify_twilio_request
from chalicelib.platform.versions import CLIENT_VERSION_HEADER, RESPONSE_HEADERS

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
    headers: Mapping[str, str] = request.headers or {}
    # Before the body is even looked at (app.py's `request_limits` refuses these too; this is
    # the same check where the form is read, for any caller that bypasses the middleware).
    if not headers.get(SIGNATURE_HEADER):
        raise InvalidSignature("missing X-Twilio-Signature")
    if len(request.raw_body or b"") > MAX_WEBHOOK_BODY_BYTES:
        raise InvalidInput(f"form is over {MAX_WEBHOOK_BODY_BYTES} bytes")
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
    bind_twilio_form(form)
    return form


class ServiceUnavailable(ChaliceViewError):
    """A dependency the request needs cannot be reached right now: 503, "try again".

    Answered, for instance, when the user pool's signing keys cannot be fetched: the caller's
    token may be good, so a 401 ("sign in again") would be wrong. Chalice answers a
    ChaliceViewError with its STATUS_CODE and `{"Code": <class name>, "Message": ...}`, the same
    body the agent API's other 503s carry (Code "ServiceUnavailable")."""

    STATUS_CODE = 503


def map_errors(view: V) -> V:
    """Map our errors to responses in one place for a view (Chalice middleware cannot see them).

    Dependency failures are left to the caller: the agent API answers them for the pages."""

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


def webhook(view: V) -> V:
    """`map_errors`, and a dependency that failed after its retries answers 503 (retried by
    senders that retry), never an unexplained 500; nothing was half-written (every write is
    idempotent)."""
    mapped = map_errors(view)

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return mapped(*args, **kwargs)
        except (StorageUnavailable, TelephonyUnavailable) as exc:
            count("WebhookDependencyFailed")
            logger.error("webhook dependency unavailable", problem=str(exc))
            return json_response({"error": "temporarily unavailable, retry"}, status_code=503)

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


class MissingWebOrigin(RuntimeError):
    """A deployed stage names no WEB_ORIGIN (or a malformed one): its pages would be refused."""


def web_origin(environ: Mapping[str, str] = os.environ) -> str:
    """The origin of the softphone pages, for CORS.

    Read from the environment, not Settings: CORS is fixed when routes are declared (import
    time), and API Gateway bakes it into the preflight answer when `chalice package` runs, which
    applies the stage's `environment_variables` (WEB_ORIGIN) before importing the app. Only a
    local stage (or none named) falls back to `make run`'s pages: a deployed stage without
    WEB_ORIGIN would bake http://127.0.0.1:8080 into its template and every page on CloudFront
    would be blocked, so packaging (and starting) such a stage fails here instead.
    """
    origin = environ.get("WEB_ORIGIN", "")
    stage = environ.get("STAGE", "")
    if not origin:
        if not stage or stage in LOCAL_STAGES:
            return LOCAL_WEB_ORIGIN
        raise MissingWebOrigin(
            f"stage {stage!r} has no WEB_ORIGIN: set the softphone site's origin "
            '(e.g. "WEB_ORIGIN": "https://dxxxx.cloudfront.net") in the environment_variables of '
            f"stage {stage!r} in .chalice/config.json (docs/deploy.md). Without it CORS would "
            f"allow only {LOCAL_WEB_ORIGIN} and the deployed pages could not call the API."
        )
    # A browser sends its Origin as scheme://host[:port]; anything more never matches it.
    scheme, _, host = origin.partition("://")
    if scheme not in ("http", "https") or not host or "/" in host:
        raise MissingWebOrigin(
            f"WEB_ORIGIN {origin!r} is not an origin: scheme://host[:port], no path or slash"
        )
    return origin


# Every route the web pages call uses this one CORS config (`@bp.route(..., cors=CORS)`): the
# pages live on another origin (127.0.0.1:8080 locally, CloudFront in the cloud), send the
# client version and a bearer token, and must be able to read the server's version headers.
CORS = CORSConfig(
    allow_origin=web_origin(),
    allow_headers=[CLIENT_VERSION_HEADER],
    expose_headers=list(RESPONSE_HEADERS),
    max_age=600,
)


def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object body ({} when empty); InvalidInput (400) for anything else."""
    try:
        body = json.loads(request.raw_body or b"{}")
    except (TypeError, ValueError) as exc:
        raise InvalidInput("body is not JSON") from exc
    if not isinstance(body, dict):
        raise InvalidInput("body must be a JSON object")
    return body


def json_text(body: Mapping[str, Any], name: str, max_chars: int = 64) -> str:
    """A short text field of a JSON body ("" when absent): InvalidInput naming it when it is not
    a string or too long (ids end up as DynamoDB keys and Twilio path segments)."""
    value = body.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a string")
    if len(value) > max_chars:
        raise InvalidInput(f"{name} is longer than {max_chars} characters")
    return value
