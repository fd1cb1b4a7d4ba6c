"""The Cognito user pool's signing keys (JWKS), fetched once and cached per cold start.

`requests` (already shipped as twilio's dependency) rather than urllib, so moto's in-process mock
serves the pool's JWKS in tests exactly as Cognito does in the cloud.

"Never fetched" is `None`, not `0.0`: `time.monotonic()` has an arbitrary origin and starts near
zero in a fresh Lambda micro-VM, so `now - 0.0 > interval` was false for the first minute of a
container and every token was refused. A failed fetch is retried after a short, growing pause
(never a whole refetch interval), and while the keys cannot be had `key()` raises
`StorageUnavailable`, which the API answers with 503 (chalicelib/api/auth.py), not 401: the
token may be perfectly good.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from chalicelib.platform.errors import StorageUnavailable

# Cognito rotates keys rarely; an unknown `kid` triggers a refetch, at most once a minute.
REFETCH_INTERVAL_SECONDS = 60.0
# After a failed fetch: wait 1 s, then 2, 4, 8, at most 8 s, so a page retrying a 503 gets in
# within seconds of the keys coming back, and an outage costs one request every few seconds.
RETRY_FIRST_SECONDS = 1.0
RETRY_MAX_SECONDS = 8.0


class JwksKeys:
    def __init__(
        self,
        jwks_url: str,
        timeout: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = jwks_url
        self._timeout = timeout
        self._clock = clock
        self._keys: dict[str, Any] = {}
        self._fetched_at: float | None = None  # last successful fetch; None: never
        self._retry_at: float | None = None  # after a failure: no fetch before this
        self._retry_delay = RETRY_FIRST_SECONDS
        self._failure = ""
        self._lock = threading.Lock()

    def key(self, kid: str) -> Any | None:
        """The public key for `kid`; None if the pool has no such key (the token is forged or
        stale); raises StorageUnavailable when the keys cannot be read right now."""
        with self._lock:
            if kid in self._keys:
                return self._keys[kid]
            now = self._clock()
            if self._retry_at is not None and now < self._retry_at:
                raise StorageUnavailable(
                    f"the user pool's keys are unavailable (retry in "
                    f"{self._retry_at - now:.1f} s): {self._failure}"
                )
            recent = (
                self._fetched_at is not None and now - self._fetched_at < REFETCH_INTERVAL_SECONDS
            )
            if self._retry_at is None and recent:
                return None  # fetched recently: an unknown kid is not the pool's
            try:
                keys = self._fetch()
            except StorageUnavailable as exc:
                self._failure = str(exc)
                self._retry_at = now + self._retry_delay
                self._retry_delay = min(self._retry_delay * 2, RETRY_MAX_SECONDS)
                raise
            self._keys = keys
            self._fetched_at = now
            self._retry_at = None
            self._retry_delay = RETRY_FIRST_SECONDS
            return self._keys.get(kid)

    def _fetch(self) -> dict[str, Any]:
        import requests
        from jwt.algorithms import RSAAlgorithm
        from jwt.exceptions import InvalidKeyError

        try:
            response = requests.get(self._url, timeout=self._timeout)
            response.raise_for_status()
            keys = response.json()["keys"]
            return {k["kid"]: RSAAlgorithm.from_jwk(json.dumps(k)) for k in keys if "kid" in k}
        except (requests.RequestException, InvalidKeyError, ValueError, KeyError, TypeError) as exc:
            raise StorageUnavailable(f"cannot read the user pool's keys: {exc}") from exc
