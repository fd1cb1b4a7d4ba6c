"""The softphone's API: its Twilio token, outbound calls, call control and the wrap-up note.

Agent-facing routes take a Cognito bearer token (chalicelib.api.auth) and use the shared CORS
config; the TwiML App's voice URL is a signed Twilio webhook like every other `/twilio/*` view.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from chalice import Blueprint, ForbiddenError, Response

from chalicelib import bootstrap
from chalicelib.api.auth import Staff, require_staff
from chalicelib.api.web import (
    CORS,
    FORM,
    json_body,
    json_response,
    json_text,
    map_errors,
    twilio_form,
    twiml,
    webhook,
)
from chalicelib.platform.errors import (
    InvalidInput,
    NotFound,
    StorageUnavailable,
    TelephonyUnavailable,
)
from chalicelib.platform.observability import count, logger
from chalicelib.platform.signatures import callback_url
from chalicelib.telephony import webhooks

if TYPE_CHECKING:
    from chalicelib.softphone.calls import HeldCall, TransferTarget

softphone = Blueprint(__name__)

TOKEN_PATH = "/agents/me/token"  # noqa: S105 - a route, not a secret

V = TypeVar("V", bound=Callable[..., Any])


def agent_api(view: V) -> V:
    """Our errors as responses for the pages: 400/403/404/409 via `map_errors`, 503 when a
    dependency is down (the page retries), never a bare 500 for a known failure."""
    mapped = map_errors(view)

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from chalicelib.platform.settings import ConfigurationError
        from chalicelib.softphone.calls import NotPermitted
        from chalicelib.softphone.wrap_up import NotYourCall

        try:
            return mapped(*args, **kwargs)
        except (NotPermitted, NotYourCall) as exc:
            raise ForbiddenError(str(exc)) from exc
        except (TelephonyUnavailable, StorageUnavailable, ConfigurationError) as exc:
            count("SoftphoneDependencyFailed")
            logger.error("softphone request failed on a dependency", problem=str(exc))
            return json_response(
                {"Code": "ServiceUnavailable", "Message": "try again in a moment"},
                status_code=503,
                headers={"Retry-After": "2"},
            )

    return wrapper  # type: ignore[return-value]


def _agent_record(agent_id: str) -> dict[str, Any]:
    record = bootstrap.container().agents.get(agent_id)
    if record is None:
        raise ForbiddenError(f"{agent_id} is not an agent of this contact center")
    return record


def client_identity(record: dict[str, Any]) -> str:
    """The identity the agent's browser registers with Twilio (reservations ring `client:<it>`)."""
    return str(record.get("client_identity") or record["agent_id"])


@softphone.route(TOKEN_PATH, methods=["GET"], cors=CORS)
@agent_api
def agent_token() -> Response:
    from chalicelib.softphone.access_tokens import voice_token

    staff = require_staff(softphone.current_request)
    c = bootstrap.container()
    identity = client_identity(_agent_record(staff.agent_id))
    token = voice_token(
        c.twilio_credentials,
        identity,
        c.settings.telephony.twilio_twiml_app_sid,
        c.settings.softphone.voice_token_ttl_seconds,
        now=int(time.time()),
    )
    count("VoiceTokensIssued")
    logger.info("voice token issued", agent_id=staff.agent_id, expires_at=token.expires_at)
    return json_response(token.as_json(), headers={"Cache-Control": "no-store"})


@softphone.route(webhooks.OUTBOUND, methods=["POST"], content_types=[FORM])
@webhook
def outbound_call() -> Response:
    """The TwiML App's voice URL: the softphone dials a customer, through a conference."""
    from chalicelib.softphone import twiml as softphone_twiml
    from chalicelib.softphone.calls import OutboundRequest, decide_outbound
    from chalicelib.softphone.outbound import CustomerDial, rep_label
    from chalicelib.telephony.forms import parse_form

    form = twilio_form(softphone.current_request)
    c = bootstrap.container()
    settings = c.settings
    request = parse_form(OutboundRequest, form)
    decision = decide_outbound(request, settings.telephony.default_country)
    if decision.refused == "not_an_agent":
        return twiml(softphone_twiml.refuse_non_agent())
    if decision.refused:
        return twiml(softphone_twiml.refuse_invalid_number())
    colleague = c.agents.get(decision.to_agent) if decision.to_agent else None
    if decision.to_agent and colleague is None:
        return twiml(softphone_twiml.colleague_unknown())
    # Every report of the call names the conversation (the rep's leg) and the rep (and, for an
    # internal call, the colleague, who is on it too).
    context = {"conversation": request.call_sid, "agent": decision.agent_id}
    ends = {**context, "colleague": decision.to_agent}
    caller_id = request.from_
    if colleague is None:
        # The guard rails, before any customer is rung (docs/softphone.md, "Guard rails").
        screening = c.outbound_screen.screen(decision.agent_id, decision.number_e164)
        if not screening.check.allowed:
            return twiml(softphone_twiml.refuse_dial(screening.check.reason_ja))
        caller_id = screening.caller_id
    dial = CustomerDial(
        number_e164=(f"client:{client_identity(colleague)}" if colleague else decision.number_e164),
        caller_id=caller_id,
        ring_seconds=settings.softphone.outbound_ring_seconds,
        region=settings.routing.conference_region,
        leg_status_callback=callback_url(
            settings.url(webhooks.VOICE_STATUS), {**ends, "dialled_by": decision.agent_id}
        ),
        conference_status_callback=callback_url(settings.url(webhooks.CONFERENCE_STATUS), context),
        recording_status_callback=callback_url(
            settings.url(webhooks.RECORDING_STATUS), {"conversation": request.call_sid}
        ),
    )
    if colleague is not None:
        placed = c.outbound_calls.place_internal(
            decision.agent_id,
            request.call_sid,
            decision.to_agent,
            str(colleague.get("worker_sid") or ""),
            dial,
        )
    else:
        placed = c.outbound_calls.place(decision.agent_id, request.call_sid, dial)
    if placed.busy:
        return twiml(softphone_twiml.colleague_busy())
    if placed.failed:
        return twiml(softphone_twiml.dial_failed())
    return twiml(
        softphone_twiml.rep_into_conference(
            softphone_twiml.RepConference(
                conference=placed.conference,
                agent_label=rep_label(decision.agent_id),
                region=settings.routing.conference_region,
                conference_status_callback=callback_url(
                    settings.url(webhooks.CONFERENCE_STATUS), context
                ),
                recording_status_callback=callback_url(
                    settings.url(webhooks.RECORDING_STATUS), {"conversation": request.call_sid}
                ),
                left_url=callback_url(
                    settings.url(webhooks.OUTBOUND_LEFT),
                    {**ends, "customer": placed.customer_call_sid},
                ),
            )
        )
    )


@softphone.route(webhooks.OUTBOUND_LEFT, methods=["POST"], content_types=[FORM])
@webhook
def outbound_left() -> Response:
    """The rep's leg left their outbound conference (its <Dial action>): a customer phone still
    ringing is stopped, so the rep is freed now rather than when it rings out."""
    from chalicelib.softphone import twiml as softphone_twiml

    request = softphone.current_request
    twilio_form(request)
    query: Mapping[str, str] = request.query_params or {}
    c = bootstrap.container()
    c.outbound_calls.rep_left(
        query.get("agent") or "",
        query.get("conversation") or "",
        query.get("customer") or "",
        c.clock(),
        query.get("colleague") or "",
    )
    return twiml(softphone_twiml.hang_up())


@softphone.route(webhooks.OUTBOUND_NOT_CONNECTED, methods=["POST"], content_types=[FORM])
@webhook
def outbound_not_connected() -> Response:
    """Where the rep's leg is redirected when the customer's phone never connected."""
    from chalicelib.softphone import twiml as softphone_twiml

    request = softphone.current_request
    twilio_form(request)
    query: Mapping[str, str] = request.query_params or {}
    return twiml(softphone_twiml.not_connected(query.get("status") or ""))


def _worker_sid(record: dict[str, Any]) -> str:
    worker_sid = str(record.get("worker_sid") or "")
    if not worker_sid:
        raise ForbiddenError(f"{record['agent_id']} has no TaskRouter worker")
    return worker_sid


def _outbound_call(agent_id: str) -> HeldCall | None:
    """The rep's outbound call, if presence says they are on one (they hold no task for it)."""
    from chalicelib.presence.domain import AgentState, Reason
    from chalicelib.softphone.calls import outbound_call_held
    from chalicelib.softphone.outbound import conference_name

    c = bootstrap.container()
    presence = c.presence_store.get(agent_id)
    if (
        presence is None
        or presence.state != AgentState.ON_CALL
        or presence.reason != Reason.OUTBOUND
        or not presence.call_sid
    ):
        return None
    return outbound_call_held(
        c.twilio, agent_id, presence.call_sid, conference_name(presence.call_sid)
    )


def _my_call(conference_sid: str, staff: Staff | None = None) -> HeldCall:
    """The call on `conference_sid`, if the signed-in agent holds it (403 otherwise)."""
    from chalicelib.softphone.calls import held_call

    staff = staff or require_staff(softphone.current_request)
    record = _agent_record(staff.agent_id)
    gateway = bootstrap.container().twilio
    outbound = _outbound_call(staff.agent_id)
    return held_call(gateway, staff.agent_id, _worker_sid(record), conference_sid, outbound)


@softphone.route("/agents/me/call", methods=["GET"], cors=CORS)
@agent_api
def my_current_call() -> Response:
    """The conference call the agent holds now, or else the call ringing them:
    `{"call": {...} | null, "offer": {...} | null}`.

    The page asks when its phone rings (the customer, owner, team and why, before the agent
    answers) and after it answers (the conference that hold and transfer act on). Twilio REST
    requests per ask: on a call, 1 List Reservations + 1 Fetch Task; ringing, 2 Lists + 1
    Fetch; idle, 2 Lists (docs/softphone.md, "Cost").
    """
    from chalicelib.softphone.calls import calls_held_by, offer_to

    staff = require_staff(softphone.current_request)
    worker_sid = _worker_sid(_agent_record(staff.agent_id))
    gateway = bootstrap.container().twilio
    held = calls_held_by(gateway, staff.agent_id, worker_sid)
    if not held:
        outbound = _outbound_call(staff.agent_id)
        held = [outbound] if outbound is not None else []
    offer = None if held else offer_to(gateway, worker_sid)
    return json_response(
        {
            "call": held[0].as_json() if held else None,
            "offer": offer.as_json() if offer else None,
        }
    )


@softphone.route("/calls/{conference_sid}/hold", methods=["POST"], cors=CORS)
@agent_api
def hold(conference_sid: str) -> Response:
    from chalicelib.softphone.calls import hold_customer

    call = _my_call(conference_sid)
    hold_customer(
        bootstrap.container().twilio, call, bootstrap.container().settings.softphone.hold_music_url
    )
    return json_response({"conference_sid": conference_sid, "customer_on_hold": True})


@softphone.route("/calls/{conference_sid}/resume", methods=["POST"], cors=CORS)
@agent_api
def resume(conference_sid: str) -> Response:
    from chalicelib.softphone.calls import resume_customer

    call = _my_call(conference_sid)
    resume_customer(bootstrap.container().twilio, call)
    return json_response({"conference_sid": conference_sid, "customer_on_hold": False})


@softphone.route("/calls/{conference_sid}/mute", methods=["POST"], cors=CORS)
@agent_api
def mute(conference_sid: str) -> Response:
    from chalicelib.softphone.calls import mute_agent

    staff = require_staff(softphone.current_request)
    muted = json_body(softphone.current_request).get("muted", True)
    if not isinstance(muted, bool):
        raise InvalidInput("muted must be true or false")
    call = _my_call(conference_sid, staff)
    mute_agent(bootstrap.container().twilio, call, muted)
    return json_response({"conference_sid": conference_sid, "muted": muted})


@softphone.route("/calls/{conference_sid}/hangup", methods=["POST"], cors=CORS)
@agent_api
def hangup(conference_sid: str) -> Response:
    from chalicelib.softphone.calls import hang_up

    call = _my_call(conference_sid)
    hang_up(bootstrap.container().twilio, call)
    return json_response({"conference_sid": conference_sid, "ended": True})


def _transfer_target(body: dict[str, Any]) -> TransferTarget:
    from chalicelib.softphone.calls import TransferTarget

    to_agent, to_team = json_text(body, "to_agent"), json_text(body, "to_team")
    target = TransferTarget(mode=json_text(body, "mode"), to_agent=to_agent, to_team=to_team)
    c = bootstrap.container()
    if to_agent:
        colleague = c.agents.get(to_agent)
        if colleague is None:
            raise NotFound(f"no agent {to_agent}")
        return TransferTarget(
            target.mode, to_agent=to_agent, agent_team=str(colleague.get("team", ""))
        )
    # The directory, not presence: a team exists before any of its members has signed in.
    if not c.agents.has_team(to_team):
        raise NotFound(f"no team {to_team}")
    return target


@softphone.route("/calls/{conference_sid}/transfer", methods=["POST"], cors=CORS)
@agent_api
def transfer(conference_sid: str) -> Response:
    """Body: {"to_agent": id} or {"to_team": name}, and "mode": "cold" | "warm"."""
    from chalicelib.softphone.calls import TransferPolicy, start_transfer

    # Signed in first: the target's look-up must not tell a stranger which agents exist.
    staff = require_staff(softphone.current_request)
    target = _transfer_target(json_body(softphone.current_request))
    call = _my_call(conference_sid, staff)
    s = bootstrap.container().settings
    policy = TransferPolicy(
        workflow_sid=s.telephony.twilio_workflow_sid,
        hold_music_url=s.softphone.hold_music_url,
        agent_timeout_seconds=min(
            s.softphone.transfer_timeout_seconds, s.routing.backstop_owner_seconds
        ),
        team_timeout_seconds=min(
            s.softphone.transfer_timeout_seconds, s.routing.backstop_team_seconds
        ),
    )
    task_sid = start_transfer(bootstrap.container().twilio, call, target, policy)
    return json_response(
        {
            "conference_sid": conference_sid,
            "transfer_task_sid": task_sid,
            "mode": target.mode,
            "customer_on_hold": True,
            # Cold: the agent has left the call (their browser leg ends); warm: still on it.
            "agent_left": target.mode == "cold",
        },
        status_code=202,
    )


@softphone.route("/calls/{conference_sid}/transfer/complete", methods=["POST"], cors=CORS)
@agent_api
def transfer_complete(conference_sid: str) -> Response:
    from chalicelib.softphone.calls import complete_transfer

    call = _my_call(conference_sid)
    complete_transfer(bootstrap.container().twilio, call)
    return json_response({"conference_sid": conference_sid, "agent_left": True})


@softphone.route("/calls/{conference_sid}/transfer/cancel", methods=["POST"], cors=CORS)
@agent_api
def transfer_cancel(conference_sid: str) -> Response:
    """Body {"transfer_task_sid"} (from the transfer's answer): call off a warm transfer; the
    customer comes back off hold to the agent, who stays on the call."""
    from chalicelib.softphone.calls import cancel_transfer

    staff = require_staff(softphone.current_request)
    transfer_task_sid = json_text(json_body(softphone.current_request), "transfer_task_sid")
    call = _my_call(conference_sid, staff)
    outcome = cancel_transfer(bootstrap.container().twilio, call, transfer_task_sid)
    return json_response(
        {
            "conference_sid": conference_sid,
            "transfer_task_sid": transfer_task_sid,
            "outcome": outcome,
            "customer_on_hold": False,
        }
    )


@softphone.route(webhooks.TRANSFER_JOIN, methods=["POST"], content_types=[FORM])
@webhook
def transfer_join() -> Response:
    """A colleague answered a transfer: into the customer's conference, labelled as theirs."""
    from chalicelib.softphone import twiml as softphone_twiml
    from chalicelib.softphone.calls import agent_label, may_join_transfer

    request = softphone.current_request
    twilio_form(request)
    query: Mapping[str, str] = request.query_params or {}
    name, agent_id = query.get("conference") or "", query.get("agent_id") or ""
    task_sid = query.get("task") or ""
    if not name or not agent_id:
        raise InvalidInput("conference and agent_id are required")
    c = bootstrap.container()
    if task_sid and not may_join_transfer(c.twilio, task_sid):
        return twiml(softphone_twiml.transfer_called_off())
    left = c.settings.url(webhooks.TASK_LEG_ENDED)
    return twiml(
        softphone_twiml.join_conference(
            name,
            agent_label(agent_id),
            c.settings.url(webhooks.CONFERENCE_STATUS),
            callback_url(left, {"task": task_sid}),
        )
    )


@softphone.route(webhooks.TASK_LEG_ENDED, methods=["POST"], content_types=[FORM])
@webhook
def task_leg_ended() -> Response:
    """An agent's leg placed by TaskRouter's `call` instruction ended (its Dial's action): a
    colleague's transfer leg left the conference, or a callback's call to the customer ended.
    Their task wraps up, so presence moves them to wrap-up and the task is completed after it
    (TaskRouter ties no conference to such a task: nothing else would end it)."""
    from chalicelib.softphone import twiml as softphone_twiml
    from chalicelib.softphone.calls import end_task_of_leg

    request = softphone.current_request
    twilio_form(request)
    query: Mapping[str, str] = request.query_params or {}
    task_sid = query.get("task") or ""
    if task_sid:
        end_task_of_leg(bootstrap.container().twilio, task_sid)
    return twiml(softphone_twiml.hang_up())


@softphone.route("/conversations/{call_sid}/note", methods=["POST"], cors=CORS)
@agent_api
def wrap_up_note(call_sid: str) -> Response:
    """Body {"text"}. `call_sid` is the conversation's id: the customer's CallSid for an inbound
    call (`customer_call_sid` of GET /agents/me/call), the softphone's own CallSid for an
    outbound one. The page then sets the agent available through the presence API."""
    from chalicelib.softphone.wrap_up import check_may_note, clean_note, note_fact

    staff = require_staff(softphone.current_request)
    text = clean_note(json_body(softphone.current_request).get("text"))
    c = bootstrap.container()
    check_may_note(c.ledger.current_record(call_sid), call_sid, staff.agent_id, staff.is_supervisor)
    occurred_ms = c.clock()
    c.ledger.record_call_fact(
        call_sid, "wrap_up_note", occurred_ms, note_fact(staff.agent_id, text)
    )
    count("WrapUpNotesSaved")
    logger.info("wrap-up note saved", agent_id=staff.agent_id, call_sid=call_sid)
    return json_response({"call_sid": call_sid, "saved": True, "occurred_ms": occurred_ms}, 201)


@softphone.route("/calls/dial-check", methods=["GET"], cors=CORS)
@agent_api
def dial_check() -> Response:
    """`?number=`: whether the signed-in rep may dial it, and if not why, in Japanese, so the
    page says so before calling. The outbound webhook checks again: it is the authority."""
    staff = require_staff(softphone.current_request)
    query: Mapping[str, str] = softphone.current_request.query_params or {}
    number = query.get("number") or ""
    if not number.strip():
        raise InvalidInput("number is required")
    check = bootstrap.container().outbound_screen.check(number, staff.agent_id)
    return json_response(check.as_json(), headers={"Cache-Control": "no-store"})


@softphone.route("/wrap-up-codes", methods=["GET"], cors=CORS)
@agent_api
def wrap_up_codes() -> Response:
    """The codes the page offers at wrap-up, in order (WRAP_UP_CODES)."""
    from chalicelib.softphone.wrap_up import parse_codes

    require_staff(softphone.current_request)
    codes = parse_codes(bootstrap.container().settings.softphone.wrap_up_codes)
    return json_response({"codes": list(codes)})


@softphone.route("/conversations/{call_sid}/wrap-up-code", methods=["POST"], cors=CORS)
@agent_api
def wrap_up_code(call_sid: str) -> Response:
    """Body {"code"}, one of GET /wrap-up-codes; who may set it and `call_sid` as for the note.
    Asked again (the rep changed their mind), the latest code is the call's."""
    from chalicelib.softphone.wrap_up import check_may_note, clean_code, code_fact, parse_codes

    staff = require_staff(softphone.current_request)
    c = bootstrap.container()
    allowed = parse_codes(c.settings.softphone.wrap_up_codes)
    code = clean_code(json_body(softphone.current_request).get("code"), allowed)
    check_may_note(c.ledger.current_record(call_sid), call_sid, staff.agent_id, staff.is_supervisor)
    occurred_ms = c.clock()
    c.ledger.record_call_fact(
        call_sid, "wrap_up_code", occurred_ms, code_fact(staff.agent_id, code)
    )
    count("WrapUpCodesSaved")
    logger.info("wrap-up code saved", agent_id=staff.agent_id, call_sid=call_sid, code=code)
    return json_response(
        {"call_sid": call_sid, "code": code, "saved": True, "occurred_ms": occurred_ms}, 201
    )
