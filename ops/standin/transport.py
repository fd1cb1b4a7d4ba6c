"""How the stand-in reaches the app: over HTTP (the running local stack) or in-process.

Either way a request is signed as Twilio signs it: HMAC-SHA1 over the full URL Twilio was
configured with (the app's public base URL + path + query, exactly as the app gave it) and the
sorted form, using twilio's own RequestValidator with the local auth token.

And either way the app sees the query as API Gateway would hand it over: API Gateway's REST API
passes the function the parsed parameters, "except that the order of the request parameters is
not preserved"
(https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html),
while `chalice local` and chalice's LocalGateway keep the order they were sent. So by default the
query reaches the app in another order than the one signed (`QueryOrder`), and a signature check
that relied on the order would fail every rehearsal.
"""

from __future__ import annotations

import json
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from twilio.request_validator import RequestValidator

FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Reply:
    status: int  # 0 when the connection failed
    body: str
    elapsed_ms: float


class Transport(Protocol):
    public_base_url: str

    def post(self, url: str, form: Mapping[str, str]) -> Reply: ...

    def call_json(self, method: str, path: str, token: str, body: Any = None) -> Reply:
        """A JSON request from a browser page (the softphone) with a Cognito ID token."""


class QueryOrder:
    """The order in which the app is handed a URL's query, as API Gateway might present it.

    Seeded, so a seeded day stays the same day; a query of two or more parameters always reaches
    the app in an order other than the one Twilio signed (when one exists). `keep=True` presents
    it as sent (what `chalice local` does), for comparison."""

    def __init__(self, seed: int = 0, keep: bool = False) -> None:
        self._random = random.Random(seed)
        self._keep = keep

    def present(self, url: str) -> str:
        """`url` with its query's parameters reordered (the signature stays the original's)."""
        parts = urllib.parse.urlsplit(url)
        pairs = parts.query.split("&") if parts.query else []
        if self._keep or len(set(pairs)) < 2:
            return url
        shuffled = list(pairs)
        while shuffled == pairs:
            self._random.shuffle(shuffled)
        return urllib.parse.urlunsplit(parts._replace(query="&".join(shuffled)))


def _headers(url: str, form: Mapping[str, str], token: str) -> dict[str, str]:
    return {
        "Content-Type": FORM,
        "X-Twilio-Signature": RequestValidator(token).compute_signature(url, dict(form)),
        "User-Agent": "TwilioProxy/1.1",
        "I-Twilio-Idempotency-Token": "",
    }


class HttpTransport:
    """POSTs to the running app (e.g. `chalice local` of `make run`)."""

    def __init__(
        self,
        public_base_url: str,
        auth_token: str,
        timeout: float = 15.0,
        query_order: QueryOrder | None = None,
    ) -> None:
        self.public_base_url = public_base_url.rstrip("/")
        self._token = auth_token
        self._timeout = timeout
        self.query_order = query_order or QueryOrder()

    def post(self, url: str, form: Mapping[str, str]) -> Reply:
        started = time.perf_counter()
        request = urllib.request.Request(
            self.query_order.present(url),
            data=urllib.parse.urlencode(form).encode(),
            headers=_headers(url, form, self._token),
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                body = response.read().decode()
                status = response.status
        except urllib.error.HTTPError as exc:
            body, status = exc.read().decode(errors="replace"), exc.code
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            body, status = "", 0
        return Reply(status, body, (time.perf_counter() - started) * 1000)

    def call_json(self, method: str, path: str, token: str, body: Any = None) -> Reply:
        started = time.perf_counter()
        request = urllib.request.Request(
            self.public_base_url + path,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            method=method,
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                text, status = response.read().decode(), response.status
        except urllib.error.HTTPError as exc:
            text, status = exc.read().decode(errors="replace"), exc.code
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            text, status = "", 0
        return Reply(status, text, (time.perf_counter() - started) * 1000)


class InProcessTransport:
    """Hands requests to the Chalice app in this process (chalice's LocalGateway, no socket)."""

    def __init__(
        self,
        app: Any,
        public_base_url: str,
        auth_token: str,
        query_order: QueryOrder | None = None,
    ) -> None:
        from chalice.config import Config
        from chalice.local import LocalGateway

        self.public_base_url = public_base_url.rstrip("/")
        self._token = auth_token
        self._gateway = LocalGateway(app, Config())
        self.query_order = query_order or QueryOrder()

    def post(self, url: str, form: Mapping[str, str]) -> Reply:
        from chalice.local import LocalGatewayException

        if not url.startswith(self.public_base_url):
            return Reply(0, f"not an app URL: {url}", 0.0)
        target = urllib.parse.urlsplit(self.query_order.present(url))
        path = target.path[len(urllib.parse.urlsplit(self.public_base_url).path) :] or "/"
        if target.query:
            path += "?" + target.query
        started = time.perf_counter()
        try:
            response = self._gateway.handle_request(
                method="POST",
                path=path,
                headers=_headers(url, form, self._token),
                body=urllib.parse.urlencode(form).encode(),
            )
            status, raw = int(response["statusCode"]), response.get("body") or b""
        except LocalGatewayException as exc:
            status, raw = exc.CODE, exc.body or b""
        body = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
        return Reply(status, body, (time.perf_counter() - started) * 1000)

    def call_json(self, method: str, path: str, token: str, body: Any = None) -> Reply:
        from chalice.local import LocalGatewayException

        started = time.perf_counter()
        try:
            response = self._gateway.handle_request(
                method=method,
                path=path,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                body=b"" if body is None else json.dumps(body).encode(),
            )
            status, raw = int(response["statusCode"]), response.get("body") or b""
        except LocalGatewayException as exc:
            status, raw = exc.CODE, exc.body or b""
        text = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
        return Reply(status, text, (time.perf_counter() - started) * 1000)
