"""Posting a webhook to our API exactly as Twilio does: form-encoded and signed."""

from __future__ import annotations

import secrets
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping

from twilio.request_validator import RequestValidator


def new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def post_signed(
    url: str, form: Mapping[str, str], auth_token: str, timeout: float = 15.0
) -> tuple[int, str]:
    """POST `form` to `url` with Twilio's signature; return (status, body)."""
    signature = RequestValidator(auth_token).compute_signature(url, dict(form))
    request = urllib.request.Request(
        url,
        data=urllib.parse.urlencode(form).encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
            "User-Agent": "TwilioProxy/1.1",
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
