"""Supervisors: the audit trail of reads (`GET /audit`) and the helper every staff read of a
conversation, recording or transcript goes through (`audited`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from chalice import Blueprint, ForbiddenError, Response
from chalice.app import Request

from chalicelib import bootstrap
from chalicelib.api.auth import Staff, require_supervisor
from chalicelib.api.web import CORS, json_response, webhook
from chalicelib.platform.observability import count, logger

supervision = Blueprint(__name__)

T = TypeVar("T")


def origin_of(request: Request) -> dict[str, str]:
    """Where a request came from: API Gateway's source IP and the browser's user agent."""
    context = request.context or {}
    identity = context.get("identity") or {}
    headers: Mapping[str, str] = request.headers or {}
    return {
        "source_ip": str(identity.get("sourceIp") or ""),
        "user_agent": str(headers.get("user-agent") or ""),
    }


def audited(request: Request, staff: Staff, read: str, subject: str, check: Callable[[], T]) -> T:
    """Run `check` (which raises `NotYours` or the recordings' `NotAllowed` to refuse), and
    record the read in the audit trail either way; a refusal is a 403."""
    from chalicelib.recordings.pipeline import NotAllowed
    from chalicelib.supervision.access import NotYours

    trail = bootstrap.container().audit
    origin = origin_of(request)
    try:
        result = check()
    except (NotYours, NotAllowed) as exc:
        count("ReadDenied")
        logger.warning("read denied", agent_id=staff.agent_id, read=read)
        trail.record(staff.agent_id, staff.is_supervisor, read, subject, origin, "denied")
        raise ForbiddenError(str(exc)) from exc
    trail.record(staff.agent_id, staff.is_supervisor, read, subject, origin)
    return result


@supervision.route("/audit", methods=["GET"], cors=CORS)
@webhook
def audit_trail() -> Response:
    request = supervision.current_request
    require_supervisor(request)
    body = bootstrap.container().audit.query(dict(request.query_params or {}))
    return json_response(body, headers={"Cache-Control": "no-store"})
