"""The user pool's signing keys: fetched on first use even at monotonic time zero, retried after
a failure with a short growing pause, and "unavailable" (not "unknown key") while they cannot be
had. The JWKS is served over real HTTP by a local server whose answers the tests switch."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from chalicelib.platform.errors import StorageUnavailable
from chalicelib.platform.signing_keys import (
    REFETCH_INTERVAL_SECONDS,
    RETRY_FIRST_SECONDS,
    RETRY_MAX_SECONDS,
    JwksKeys,
)


class JwksServer:
    """A JWKS endpoint on 127.0.0.1 that counts its requests and can be made to fail."""

    def __init__(self) -> None:
        self.jwk: dict[str, Any] = json.loads(
            RSAAlgorithm.to_jwk(rsa.generate_private_key(65537, 2048).public_key())
        )
        self.jwk["kid"] = "kid-1"
        self.status = 200
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests += 1
                body = json.dumps({"keys": [server.jwk]}).encode()
                self.send_response(server.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/.well-known/jwks.json"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class Clock:
    """time.monotonic as a fresh Lambda micro-VM sees it: starting at zero."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def jwks() -> Iterator[JwksServer]:
    server = JwksServer()
    yield server
    server.close()


def test_first_token_of_a_fresh_container_is_checked_against_fetched_keys(
    jwks: JwksServer,
) -> None:
    clock = Clock()  # monotonic time 0: a new micro-VM
    keys = JwksKeys(jwks.url, clock=clock)
    assert keys.key("kid-1") is not None
    assert jwks.requests == 1


def test_unknown_kid_refetches_at_most_once_per_interval(jwks: JwksServer) -> None:
    clock = Clock()
    keys = JwksKeys(jwks.url, clock=clock)
    assert keys.key("kid-1") is not None
    clock.now = REFETCH_INTERVAL_SECONDS - 1
    assert keys.key("forged") is None
    assert jwks.requests == 1
    clock.now = REFETCH_INTERVAL_SECONDS + 1
    assert keys.key("forged") is None
    assert jwks.requests == 2
    assert keys.key("kid-1") is not None  # known keys never refetch
    assert jwks.requests == 2


def test_a_failed_fetch_is_unavailable_and_retried_after_a_short_growing_pause(
    jwks: JwksServer,
) -> None:
    clock = Clock()
    keys = JwksKeys(jwks.url, clock=clock)
    jwks.status = 500
    with pytest.raises(StorageUnavailable):
        keys.key("kid-1")
    assert jwks.requests == 1
    # Within the pause: no request reaches the endpoint (no hammering), still unavailable.
    clock.now = RETRY_FIRST_SECONDS / 2
    with pytest.raises(StorageUnavailable):
        keys.key("kid-1")
    assert jwks.requests == 1
    # After it: one more try, which fails again and doubles the pause.
    clock.now = RETRY_FIRST_SECONDS
    with pytest.raises(StorageUnavailable):
        keys.key("kid-1")
    assert jwks.requests == 2
    clock.now = RETRY_FIRST_SECONDS + 2 * RETRY_FIRST_SECONDS - 0.01
    with pytest.raises(StorageUnavailable):
        keys.key("kid-1")
    assert jwks.requests == 2
    # The pause never grows past RETRY_MAX_SECONDS, far below the refetch interval.
    for _ in range(10):
        clock.now += RETRY_MAX_SECONDS
        with pytest.raises(StorageUnavailable):
            keys.key("kid-1")
    assert jwks.requests == 12
    assert RETRY_MAX_SECONDS < REFETCH_INTERVAL_SECONDS
    # The keys come back: the next try after the pause gets them, and the pause resets.
    jwks.status = 200
    clock.now += RETRY_MAX_SECONDS
    assert keys.key("kid-1") is not None
    assert jwks.requests == 13


def test_an_unreachable_endpoint_is_unavailable_not_an_unknown_key() -> None:
    server = JwksServer()
    url = server.url
    server.close()  # nothing listens there any more
    keys = JwksKeys(url, timeout=1.0, clock=Clock())
    with pytest.raises(StorageUnavailable, match="cannot read the user pool's keys"):
        keys.key("kid-1")


def test_a_garbled_answer_is_unavailable(jwks: JwksServer) -> None:
    jwks.jwk = {"kid": "kid-1", "kty": "RSA", "n": "!!", "e": "AQAB"}
    with pytest.raises(StorageUnavailable):
        JwksKeys(jwks.url, clock=Clock()).key("kid-1")
