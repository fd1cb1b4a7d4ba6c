"""A recording fake of twilio's HTTP client: the boundary where tests replace Twilio's REST API.

Every request the app makes through twilio's own `Client` lands here, is recorded, and gets a
canned response (200 and `{}` unless a route says otherwise). Tests assert the exact calls.

Every request any instance records is also kept for the whole test session (SESSION_REQUESTS):
tests/openapi/test_twilio_openapi.py checks each against Twilio's OpenAPI description once
every other test has run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from twilio.http import HttpClient
from twilio.http.response import Response


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    url: str
    params: dict[str, Any]
    data: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    auth_user: str = ""  # the Basic auth user: the account SID, or an API key's SID

    @property
    def path(self) -> str:
        return re.sub(r"^https://[^/]+", "", self.url)

    @property
    def host(self) -> str:
        return self.url.split("/")[2]


# Every request recorded in this test session, by any RecordingHttpClient, in order.
SESSION_REQUESTS: list[RecordedRequest] = []

# A responder returns (status, body) or (status, body, response headers).
Responder = Callable[[RecordedRequest], tuple[Any, ...]]


@dataclass
class RecordingHttpClient(HttpClient):
    requests: list[RecordedRequest] = field(default_factory=list)
    routes: list[tuple[str, re.Pattern[str], Responder]] = field(default_factory=list)
    # When set, Basic auth users and their passwords Twilio would accept (the account SID and
    # its auth token, API key SIDs and their secrets: https://www.twilio.com/docs/iam/api-keys);
    # anything else is answered 401 / 20003, as Twilio does.
    accepted_auth: dict[str, str] | None = None

    def __post_init__(self) -> None:
        import logging

        super().__init__(logger=logging.getLogger("fake-twilio"), is_async=False)

    def respond(
        self, method: str, path_pattern: str, responder: Responder | tuple[int, Any]
    ) -> None:
        """Answer requests matching `method` and the `path_pattern` regex (searched in the URL)."""
        func: Responder = responder if callable(responder) else (lambda _r, fixed=responder: fixed)
        self.routes.insert(0, (method.upper(), re.compile(path_pattern), func))

    def fail(self, method: str, path_pattern: str, status: int = 500) -> None:
        self.respond(
            method,
            path_pattern,
            (status, {"code": 20500, "message": "fake failure", "status": status}),
        )

    def request(
        self,
        method: str,
        uri: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        recorded = RecordedRequest(
            method.upper(),
            uri,
            dict(params or {}),
            dict(data or {}),
            dict(headers or {}),
            auth[0] if auth else "",
        )
        self.requests.append(recorded)
        SESSION_REQUESTS.append(recorded)
        if self.accepted_auth is not None and (
            auth is None or self.accepted_auth.get(auth[0]) != auth[1]
        ):
            refusal = {"code": 20003, "message": "Authenticate", "status": 401}
            return Response(401, json.dumps(refusal))
        for route_method, pattern, responder in self.routes:
            if route_method == recorded.method and pattern.search(uri):
                status, body, *extra = responder(recorded)
                break
        else:
            status, body, extra = 200, {}, []
        text = body if isinstance(body, str | bytes) else json.dumps(body)
        return Response(
            status,
            text if isinstance(text, str) else text.decode("latin-1"),
            headers=extra[0] if extra else None,
        )

    def calls(self, method: str | None = None, path_contains: str = "") -> list[RecordedRequest]:
        return [
            r
            for r in self.requests
            if (method is None or r.method == method.upper()) and path_contains in r.url
        ]
