"""The Cognito user pool's signing keys (JWKS), fetched once and cached per cold start.

`requests` (already shipped as twilio's dependency) rather than urllib, so moto's in-process mock
serves the pool's JWKS in tests exactly as Cognito does in the cloud.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from chalicelib.platform.errors import StorageUnavailable

# Cognito rotates keys rarely; an unknown `kid` triggers a refetch, at most once a minute.
REFETCH_INTERVAL_SECONDS = 60.0


class JwksKeys:
    def __init__(self, jwks_url: str, timeout: float = 3.0) -> None:
        self._url = jwks_url
        self._timeout = timeout
        self._keys: dict[str, Any] = {}
        self._fetched_at = 0.0
        self._lock = threading.Lock()

    def key(self, kid: str) -> Any | None:
        with self._lock:
            if (
                kid not in self._keys
                and time.monotonic() - self._fetched_at > REFETCH_INTERVAL_SECONDS
            ):
                self._keys = self._fetch()
                self._fetched_at = time.monotonic()
            return self._keys.get(kid)

    def _fetch(self) -> dict[str, Any]:
        import requests
        from jwt.algorithms import RSAAlgorithm

        try:
            response = requests.get(self._url, timeout=self._timeout)
            response.raise_for_status()
            keys = response.json()["keys"]
        except (requests.RequestException, ValueError, KeyError) as exc:
            raise StorageUnavailable(f"cannot read the user pool's keys: {exc}") from exc
        return {k["kid"]: RSAAlgorithm.from_jwk(json.dumps(k)) for k in keys if "kid" in k}
