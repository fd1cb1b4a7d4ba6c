"""Proof that a webhook came from Twilio, checked in one place and failing closed.

The signature covers the URL Twilio called and every posted parameter, so it is checked against
the configured public base URL plus the route's path (the URL seen inside API Gateway or
`chalice local` is not the one Twilio signed) and against the raw form, not a model of it.
https://www.twilio.com/docs/usage/webhooks/webhooks-security

A callback URL's query is part of what Twilio signs ("the webhook URL set in Twilio", exactly as
given, query included), but API Gateway's REST API hands the function the parsed query
parameters, and "the order of the request parameters is not preserved"
(https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html,
`queryStringParameters` / `multiValueQueryStringParameters`). The raw query string is gone, so
the query's form is fixed by convention instead: `callback_url` writes it in one canonical form
(pairs sorted, percent-encoded) and `public_url` writes the parameters it was handed back in
that same form, whatever order they arrive in. Every callback URL with a query is built here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import parse_qsl, quote, urlencode

from chalicelib.platform.errors import InvalidInput
from chalicelib.platform.limits import MAX_FORM_FIELDS


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
    def parse(cls, body: bytes | str, max_fields: int = MAX_FORM_FIELDS) -> Form:
        # Counted before parsing: a form of 100,000 empty fields is small but slow to parse.
        separators = body.count(b"&") if isinstance(body, bytes) else body.count("&")
        if separators >= max_fields:
            raise InvalidInput(f"form has more than {max_fields} fields")
        try:
            text = body.decode("utf-8") if isinstance(body, bytes) else body
            return cls(parse_qsl(text, keep_blank_values=True))
        except ValueError as exc:  # not UTF-8: Twilio never sends that
            raise InvalidSignature("unparseable form body") from exc


def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    """A query string in the one form our callback URLs take: pairs sorted by name (then value),
    each percent-encoded. `quote`, not urlencode's default `quote_plus`: a space is `%20`, never
    `+`, so there is no doubt how it decodes."""
    return urlencode(sorted(pairs), quote_via=quote)


def callback_url(url: str, query: Mapping[str, str]) -> str:
    """`url` with `query`, in the form Twilio will request (and sign) and `public_url` rebuilds.

    Parameters without a value are left out: none of our callbacks needs a blank one."""
    pairs = [(name, value) for name, value in query.items() if value]
    return f"{url}?{canonical_query(pairs)}" if pairs else url


def public_url(base_url: str, path: str, query: Mapping[str, str] | None = None) -> str:
    """The URL Twilio signed: our public base URL, the route's path and the query as parsed by
    API Gateway (in any order), written back in `callback_url`'s canonical form."""
    url = base_url.rstrip("/") + path
    if query:
        # Chalice's `request.query_params` is a MultiDict: every value of a repeated name counts.
        getlist = getattr(query, "getlist", None)
        pairs = [
            (name, value)
            for name in query
            for value in (getlist(name) if getlist else [query[name]])
        ]
        url += "?" + canonical_query(pairs)
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
