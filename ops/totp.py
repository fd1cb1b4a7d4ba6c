"""RFC 6238 time-based one-time passwords as Cognito's TOTP MFA computes them.

Cognito's software tokens are the authenticator apps' usual TOTP: HMAC-SHA1 over 30-second steps,
6 digits, the secret handed out base32-encoded by AssociateSoftwareToken
(https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-settings-mfa-totp.html).
A code from the step before or after is accepted as well, the clock drift RFC 6238 section 5.2
recommends allowing (https://www.rfc-editor.org/rfc/rfc6238#section-5.2).

Used by the strict Cognito stand-in (the server's check), by the local demo (`python -m ops totp`)
and by the tests (the authenticator app's side). The standard library is enough.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

STEP_SECONDS = 30
DIGITS = 6
# Steps either side of now a code may come from.
DRIFT_STEPS = 1


def new_secret() -> str:
    """A fresh base32 secret of 160 bits (RFC 4226's recommended length), no padding."""
    return base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")


def code_at(secret: str, at: float) -> str:
    """The code an authenticator app shows at Unix time `at` (RFC 4226 dynamic truncation)."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    counter = int(at // STEP_SECONDS).to_bytes(8, "big")
    digest = hmac.new(key, counter, hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = int.from_bytes(digest[offset : offset + 4], "big") & 0x7FFFFFFF
    return f"{value % 10**DIGITS:0{DIGITS}d}"


def current_code(secret: str) -> str:
    return code_at(secret, time.time())


def verify(secret: str, code: str, at: float | None = None) -> bool:
    """True when `code` is the code of the step of `at` (now) or of one step either side."""
    now = time.time() if at is None else at
    if len(code) != DIGITS or not code.isdigit():
        return False
    return any(
        hmac.compare_digest(code_at(secret, now + drift * STEP_SECONDS), code)
        for drift in range(-DRIFT_STEPS, DRIFT_STEPS + 1)
    )
