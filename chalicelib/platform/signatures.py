"""Proof that a webhook came from Twilio, checked in one place and failing closed.

The signature covers the URL Twilio called and every posted parameter, so it is checked against
the configured public base URL plus the route's path (the URL seen inside API Gateway or
`chalice local` is not the one Twilio signed) and against the raw form, not a model of it.
https://www.twilio.com/docs/usage/webhooks/webhooks-security
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import parse_qsl, urlencode


class InvalidSignature(Exception):
    """The request does not carry a valid X-Twilio-Signature for the URL it was sent to."""


class Form(dict[str, str]):
    """A posted form. Repeated keys keep every value for the signature; lookups see the first."""

    def __init__(self, pairs: Sequence[tuple[str, str]]) -> None:
        super().__init__()
        self._all: dict[str, list[str]] = {}
        for key, value in pairs:
            self._all.setdefault(key, []).append(value)
            self.setdefault(key, value)

    def getall(self, key: str) -> list[str]:
        """Used by twilio's RequestValidator for repeated parameters."""
        return self._all[key]

    @classmethod
    def parse(cls, body: bytes | str) -> Form:
        try:
            text = body.decode("utf-8") if isinstance(body, bytes) else body
            return cls(parse_qsl(text, keep_blank_values=True))
        except ValueError as exc:  # not UTF-8: Twilio never sends that
            raise InvalidSignature("unparseable form body") from exc


def public_url(base_url: str, path: str, query: Mapping[str, str] | None = None) -> str:
    url = base_url.rstrip("/") + path
    if query:
        url += "?" + urlencode(list(query.items()))
    return url


def verify_twilio_request(
    auth_token: str,
    url: str,
    form: Form,
    signature: str | None,
    signature_settings: str | None = None,
) -> None:
    """Raise InvalidSignature unless `signature` is Twilio's for this URL and form."""
    # Imported here: twilio's validator is not needed to declare the routes (cold start).
    from twilio.request_validator import RequestValidator, get_signature_algorithm

    if not signature:
        raise InvalidSignature("missing X-Twilio-Signature")
    validator = RequestValidator(auth_token)
    algorithm = get_signature_algorithm(signature_settings)
    if not validator.validate(url, form, signature, algorithm=algorithm):
        raise InvalidSignature("X-Twilio-Signature does not match")
