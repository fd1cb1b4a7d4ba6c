"""What a request may weigh before we spend anything on it: checked on headers and sizes alone.

The API function also answers the incoming call, so one request must not be able to take its
memory or its second: an unsigned 5 MB form used to be parsed whole (+265 MB, 1.4 s) before the
signature header was even looked at. These checks run first (chalicelib/api/limits.py, app.py's
middleware, for every route, new ones included), on numbers the request states, never on a
parse of it.

Sizes:
- Twilio's webhooks are forms of a few dozen fields: a voice or status callback is well under
  2 KB; the largest are TaskRouter's event and assignment callbacks, which carry the task's and
  the worker's JSON attributes, themselves capped by TaskRouter's resource configuration limits
  (https://www.twilio.com/docs/taskrouter/limits, "Resource Configuration Limits"). Twilio's own
  ceiling for any webhook payload it sends is 1 MB
  (https://www.twilio.com/docs/api/errors/17564); ours, 64 KiB, is twenty times the largest form
  our own task attributes make and far below what would hurt a 128 MB function.
- The agent API's JSON bodies are a few fields; the largest is a wrap-up note (4,000 characters,
  at most 4 bytes each in UTF-8).
- Query strings: the widest route takes eight parameters (GET /conversations).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

MAX_WEBHOOK_BODY_BYTES = 64 * 1024
MAX_API_BODY_BYTES = 32 * 1024
# Twilio's largest form (a TaskRouter event) has about 60 fields.
MAX_FORM_FIELDS = 200
MAX_QUERY_PARAMETERS = 16
MAX_QUERY_VALUE_CHARS = 1024
# Path parameters are sids (34 characters) and agent ids: a DynamoDB partition key holds at most
# 2048 bytes (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html,
# "Partition key value"), so a longer one would be refused by DynamoDB as a 503, not by us.
MAX_PATH_PARAMETER_CHARS = 128


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused before any work: the HTTP status and a message naming the cause."""

    status: int
    code: str
    message: str


def body_size(headers: Mapping[str, str], body: bytes | str | None) -> int:
    """The larger of the stated and the actual size: a lying Content-Length gains nothing."""
    stated = str(headers.get("content-length") or "").strip()
    declared = int(stated) if stated.isascii() and stated.isdigit() and len(stated) < 16 else 0
    return max(declared, len(body or b""))


def refusal_for(
    webhook: bool,
    headers: Mapping[str, str],
    query: Mapping[str, str] | None,
    body: bytes | str | None,
    path_parameters: Mapping[str, str] | None = None,
) -> Refusal | None:
    """Why this request must not be worked on, or None. Reads sizes and header presence only.
    `webhook`: a route Twilio calls (the caller knows them: chalicelib/telephony/webhooks.py)."""
    # A webhook without the header cannot be Twilio's: refused before its body is read.
    if webhook and not str(headers.get("x-twilio-signature") or ""):
        return Refusal(403, "ForbiddenError", "missing X-Twilio-Signature")
    limit = MAX_WEBHOOK_BODY_BYTES if webhook else MAX_API_BODY_BYTES
    size = body_size(headers, body)
    if size > limit:
        return Refusal(413, "PayloadTooLarge", f"body of {size} bytes is over {limit}")
    for name, value in (path_parameters or {}).items():
        if len(value) > MAX_PATH_PARAMETER_CHARS:
            return Refusal(
                400, "BadRequestError", f"{name} is longer than {MAX_PATH_PARAMETER_CHARS}"
            )
    if query:
        if len(query) > MAX_QUERY_PARAMETERS:
            return Refusal(
                400, "BadRequestError", f"more than {MAX_QUERY_PARAMETERS} query parameters"
            )
        getlist = getattr(query, "getlist", None)
        for name in query:
            values = getlist(name) if getlist else [query[name]]
            if len(values) > 1 and not webhook:
                return Refusal(400, "BadRequestError", f"query parameter {name!r} is repeated")
            if len(name) > 64 or any(len(v) > MAX_QUERY_VALUE_CHARS for v in values):
                return Refusal(400, "BadRequestError", f"query parameter {name[:64]!r} too long")
    return None
