"""The client/server version handshake, applied to every HTTP request by app.py's middleware.

Kept out of the views so no route can forget it: a page too old to work is refused here with a
426 the page can read (CORS headers included, or the browser would hide it as a network error),
and every response, refused or not, carries the versions the server supports.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from chalice import Response
from chalice.app import Request

from chalicelib import bootstrap
from chalicelib.api.web import CORS, json_response
from chalicelib.platform.observability import count, logger
from chalicelib.platform.versions import CLIENT_VERSION_HEADER, UPGRADE_REQUIRED, VersionPolicy


def version_policy() -> VersionPolicy:
    settings = bootstrap.container().settings
    return VersionPolicy(
        server=settings.softphone.server_version,
        min_client=settings.softphone.min_client_version,
        latest_client=settings.softphone.latest_client_version,
    )


def client_version_handshake(
    request: Request, get_response: Callable[[Request], Response]
) -> Response:
    policy = version_policy()
    headers: Mapping[str, str] = request.headers or {}
    refusal = policy.refusal(headers.get(CLIENT_VERSION_HEADER))
    if refusal is None:
        response = get_response(request)
    else:
        count("ClientVersionRefused")
        logger.info(
            "client version refused",
            client_version=refusal.client_version,
            min_client_version=policy.min_client,
        )
        response = json_response(
            refusal.body(), status_code=UPGRADE_REQUIRED, headers=CORS.get_access_control_headers()
        )
    response.headers.update(policy.headers())
    return response
