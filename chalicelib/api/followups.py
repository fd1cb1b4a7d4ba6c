"""The follow-up inbox (issue 18): a rep's voicemails and callback requests, and closing them;
the supervisors' list of overdue ones for the board."""

from __future__ import annotations

import re

from chalice import Blueprint, ForbiddenError, Response

from chalicelib import bootstrap
from chalicelib.api.auth import require_staff, require_supervisor
from chalicelib.api.web import CORS, json_response, webhook
from chalicelib.platform.errors import InvalidInput

followups = Blueprint(__name__)

CALL_SID = r"^CA[0-9a-fA-F]{32}$"


def _team_of(agent_id: str) -> str:
    agent = bootstrap.container().agents.get(agent_id) or {}
    return str(agent.get("team") or "")


@followups.route("/agents/me/followups", methods=["GET"], cors=CORS)
@webhook
def my_followups() -> Response:
    staff = require_staff(followups.current_request)
    c = bootstrap.container()
    body = c.follow_up_inbox.inbox(staff.agent_id, _team_of(staff.agent_id), c.clock())
    # Signed links and call content: never cached by a browser or proxy.
    return json_response(body, headers={"Cache-Control": "no-store"})


@followups.route("/followups/{call_sid}/done", methods=["POST"], cors=CORS)
@webhook
def followup_done(call_sid: str) -> Response:
    from chalicelib.escalation.followups import NotYours

    staff = require_staff(followups.current_request)
    if not re.match(CALL_SID, call_sid):
        raise InvalidInput("not a call sid")
    c = bootstrap.container()
    try:
        body = c.follow_up_inbox.done(
            call_sid, staff.agent_id, _team_of(staff.agent_id), staff.is_supervisor, c.clock()
        )
    except NotYours as exc:
        raise ForbiddenError(str(exc)) from exc
    return json_response(body)


@followups.route("/followups/overdue", methods=["GET"], cors=CORS)
@webhook
def overdue_followups() -> Response:
    require_supervisor(followups.current_request)
    c = bootstrap.container()
    teams = sorted({str(a.get("team") or "") for a in c.agents.all()} - {""})
    return json_response({"followups": c.follow_up_inbox.overdue(teams, c.clock())})
