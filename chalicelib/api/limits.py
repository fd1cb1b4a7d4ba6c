"""Limits before work, applied to every HTTP request by app.py's middleware.

Kept out of the views so no route can forget them, a route added later included: a webhook
without X-Twilio-Signature, an oversized body or a query with too many parameters is refused
here (chalicelib/platform/limits.py says why each limit is what it is) before a view parses
anything, and nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from chalice import Response
from chalice.app import Request

from chalicelib.api.web import CORS, json_response
from chalicelib.platform.limits import refusal_for
from chalicelib.platform.observability import count, logger
from chalicelib.telephony.webhooks import is_twilio_path


def request_limits(request: Request, get_response: Callable[[Request], Response]) -> Response:
    headers: Mapping[str, str] = request.headers or {}
    webhook = is_twilio_path(request.path or "")
    # `raw_body` is what API Gateway already holds in memory (base64-decoded for a binary
    # body): its length costs nothing, unlike a parse of it.
    refusal = refusal_for(
        webhook, headers, request.query_params, request.raw_body, request.uri_params
    )
    if refusal is None:
        return get_response(request)
    count("RequestRefusedByLimits")
    logger.warning("request refused before work", status=refusal.status, reason=refusal.message)
    # The pages read the refusal only if CORS lets them; Twilio ignores the header.
    cors = {} if webhook else CORS.get_access_control_headers()
    return json_response(
        {"Code": refusal.code, "Message": refusal.message},
        status_code=refusal.status,
        headers=cors,
    )
