"""Supervisors: the audit trail of reads (`GET /audit`) and the helper every staff read of a
conversation, recording or transcript goes through (`audited`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from chalice import Blueprint, ForbiddenError, Response
from chalice.app import Request

from chalicelib import bootstrap
from chalicelib.api.auth import Staff, require_staff, require_supervisor
from chalicelib.api.web import CORS, json_body, json_response, webhook
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


# --- listen, whisper, barge ------------------------------------------------------------------
# `{conversation_id}`: the customer's call sid, as GET /conversations/{call_sid} names it.
MONITOR_PATH = "/supervisor/calls/{conversation_id}/monitor"


@supervision.route(MONITOR_PATH, methods=["POST"], cors=CORS)
@webhook
def monitor_call(conversation_id: str) -> Response:
    """`{"mode": "listen" | "whisper" | "barge"}`: the supervisor's softphone joins the live call
    (rings it), or switches mode in place. 403 reps, 404 unknown, 409 not live."""
    request = supervision.current_request
    staff = require_supervisor(request)
    mode = str(json_body(request).get("mode") or "")
    body = bootstrap.container().monitoring.monitor(conversation_id, staff.agent_id, mode)
    return json_response(body)


@supervision.route(MONITOR_PATH, methods=["DELETE"], cors=CORS)
@webhook
def stop_monitoring(conversation_id: str) -> Response:
    staff = require_supervisor(supervision.current_request)
    body = bootstrap.container().monitoring.stop(conversation_id, staff.agent_id)
    return json_response(body)


@supervision.route("/conversations/{call_sid}/monitoring", methods=["GET"], cors=CORS)
@webhook
def monitoring_state(call_sid: str) -> Response:
    """Who monitors the call now: the rep's page shows it (the rep on the call, or a
    supervisor)."""
    staff = require_staff(supervision.current_request)
    state = bootstrap.container().monitoring.state(call_sid)
    if state["agent_id"] != staff.agent_id and not staff.is_supervisor:
        raise ForbiddenError("only the agent on this call and supervisors")
    return json_response(state, headers={"Cache-Control": "no-store"})


# --- forcing a rep's state -------------------------------------------------------------------
@supervision.route("/supervisor/agents/{agent_id}/state", methods=["PUT"], cors=CORS)
@webhook
def force_agent_state(agent_id: str) -> Response:
    """`{"state": "away" | "offline"}`: put a rep away or sign them out (supervisors only)."""
    from chalicelib.supervision.force import force_state

    request = supervision.current_request
    staff = require_supervisor(request)
    state = str(json_body(request).get("state") or "")
    c = bootstrap.container()
    return json_response(force_state(c.presence, c.agents, staff.agent_id, agent_id, state))


# --- the live floor --------------------------------------------------------------------------
@supervision.route("/supervisor/floor", methods=["GET"], cors=CORS)
@webhook
def floor() -> Response:
    """The floor page's feed (web/floor): one shared snapshot per container, no DynamoDB read
    per viewer (chalicelib/supervision/floor.py)."""
    require_supervisor(supervision.current_request)
    snapshot = bootstrap.container().supervisor_floor.snapshot()
    return Response(
        body=snapshot.reply,
        status_code=200,
        headers={"Content-Type": "application/json", "Cache-Control": "no-store"},
    )


# --- reports ---------------------------------------------------------------------------------
@supervision.route("/reports", methods=["GET"], cors=CORS)
@webhook
def reports() -> Response:
    """`?from=&to=&team=&agent=&by=day|week|month` (supervisors): chalicelib/supervision/
    reports.py; the reports page (web/reports) draws it."""
    request = supervision.current_request
    require_supervisor(request)
    body = bootstrap.container().reports.report(dict(request.query_params or {}))
    return json_response(body, headers={"Cache-Control": "no-store"})
