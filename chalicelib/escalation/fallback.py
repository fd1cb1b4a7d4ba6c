"""The fallback: a caller nobody could answer (or who called outside hours) leaves a voicemail or
asks to be called back, and either becomes a TaskRouter task, so nothing is lost.

Follow-up tasks carry `type` (voicemail | callback) and `original_call_sid` for the conversation
record (issue 5); facts with no task of their own (outside hours, the caller's choice) go to
`conversation_facts.record_call_fact`. Who the caller is comes from the CRM directory again (one
GetItem): the caller's number is in every webhook, and a directory failure only means the task
goes to everyone instead of the owner.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from pydantic import Field

from chalicelib.escalation import fallback_twiml
from chalicelib.escalation.business_hours import load_calendar
from chalicelib.escalation.domain import CALLBACK, VOICEMAIL, FollowUp
from chalicelib.escalation.prompts import Prompts, load_prompts
from chalicelib.escalation.steps import record_fact
from chalicelib.platform.errors import StorageUnavailable
from chalicelib.platform.observability import count, logger
from chalicelib.routing.assignment import RECORDING_STATUS_PATH
from chalicelib.routing.plan import Customer, RoutingPlan
from chalicelib.telephony.forms import TwilioForm
from chalicelib.telephony.phone_numbers import caller_e164, masked

if TYPE_CHECKING:
    from chalicelib.bootstrap import Container
    from chalicelib.telephony.taskrouter_events import TaskRouterEvent

FALLBACK_PATH = "/twilio/voice/fallback"
CHOICE_PATH = "/twilio/voice/fallback/choice"
VOICEMAIL_PATH = "/twilio/voice/voicemail"
QUEUE_EXIT_PATH = "/twilio/voice/queue-exit"
CALLBACK_CONNECT_PATH = "/twilio/voice/callback/{task_sid}/connect"

# Enqueue `action` results after which there is no caller left to help.
# https://www.twilio.com/docs/voice/twiml/enqueue#attributes-action-parameters
CALL_OVER_RESULTS = frozenset({"bridged", "bridging-in-process", "hangup"})


class FallbackCall(TwilioForm):
    call_sid: str = Field(alias="CallSid", pattern=r"^CA[0-9a-fA-F]{32}$")
    from_: str = Field(alias="From", default="")
    digits: str = Field(alias="Digits", default="")
    queue_result: str = Field(alias="QueueResult", default="")


class VoicemailRecorded(FallbackCall):
    recording_sid: str = Field(alias="RecordingSid", default="")
    recording_url: str = Field(alias="RecordingUrl", default="")
    recording_seconds: int = Field(alias="RecordingDuration", default=0)


class Choice(StrEnum):
    VOICEMAIL = "1"
    CALLBACK = "2"


def prompts(container: Container) -> Prompts:
    s = container.settings
    return load_prompts(s.prompt_language, s.prompts)


def is_open(container: Container, plan: RoutingPlan, now: datetime | None = None) -> bool:
    team = plan.customer.team if plan.customer else None
    calendar = load_calendar(container.settings.business_hours)
    # The container's clock, not the wall's: a rehearsed Monday is open even on a Saturday.
    return calendar.is_open(team, now or container.now())


def menu(container: Container, preface: str | None = None) -> str:
    return fallback_twiml.fallback_menu(
        prompts(container), container.settings.url(CHOICE_PATH), preface
    )


def outside_hours(container: Container, call_sid: str, plan: RoutingPlan) -> str:
    """The caller hears that we are closed and goes straight to the menu (no queue)."""
    count("CallsOutsideHours")
    logger.info("call outside business hours", call_sid=call_sid)
    record_fact(
        container,
        call_sid,
        "outside_hours",
        {"customer_id": plan.customer.customer_id if plan.customer else ""},
    )
    return menu(container, preface="outside_hours")


def queue_exit(container: Container, call: FallbackCall) -> str:
    """Enqueue's action: the call left the queue. A caller still on the line gets the menu."""
    if call.queue_result in CALL_OVER_RESULTS:
        return fallback_twiml.hang_up()
    count("QueueExitToFallback")
    logger.warning(
        "caller left the queue unanswered", call_sid=call.call_sid, result=call.queue_result
    )
    return menu(container)


def _voicemail(container: Container, preface: str | None = None) -> str:
    s = container.settings
    return fallback_twiml.record_voicemail(
        prompts(container),
        s.url(VOICEMAIL_PATH),
        s.url(RECORDING_STATUS_PATH),
        s.voicemail_max_seconds,
        preface,
    )


def choose(container: Container, call: FallbackCall) -> str:
    """The caller pressed a key (or nothing). Silence or a wrong key records a voicemail."""
    caller = caller_e164(call.from_, container.settings.default_country)
    if call.digits == Choice.CALLBACK:
        if not caller:
            return _voicemail(container, preface="callback_unavailable")
        follow_up = _follow_up(container, CALLBACK, call.call_sid, caller, reason="requested")
        _create(container, follow_up)
        record_fact(container, call.call_sid, "callback_requested", {"caller": masked(caller)})
        return fallback_twiml.say_and_hang_up(prompts(container), "callback_confirmed", "goodbye")
    preface = None if call.digits in ("", Choice.VOICEMAIL) else "invalid_choice"
    return _voicemail(container, preface)


def voicemail_recorded(container: Container, recorded: VoicemailRecorded) -> str:
    """`<Record>`'s action, also requested when the caller hangs up while recording."""
    caller = caller_e164(recorded.from_, container.settings.default_country) or ""
    if recorded.recording_url and recorded.recording_seconds > 0:
        follow_up = _follow_up(
            container,
            VOICEMAIL,
            recorded.call_sid,
            caller,
            recording_sid=recorded.recording_sid,
            recording_url=recorded.recording_url,
            recording_seconds=recorded.recording_seconds,
        )
        _create(container, follow_up)
        record_fact(
            container,
            recorded.call_sid,
            "voicemail_left",
            {"recording_sid": recorded.recording_sid, "seconds": recorded.recording_seconds},
        )
        return fallback_twiml.say_and_hang_up(prompts(container), "voicemail_saved", "goodbye")
    if caller:
        # No message, but we know who called: a callback task, so the missed call is not lost.
        _create(container, _follow_up(container, CALLBACK, recorded.call_sid, caller, "no_message"))
        record_fact(container, recorded.call_sid, "callback_requested", {"reason": "no_message"})
    return fallback_twiml.say_and_hang_up(prompts(container), "voicemail_empty", "goodbye")


def _customer(container: Container, caller: str, call_sid: str) -> Customer | None:
    if not caller:
        return None
    try:
        return container.customers.find_by_phone(caller)
    except StorageUnavailable as exc:
        count("FollowUpCustomerUnknown")
        logger.error("follow-up without customer lookup", call_sid=call_sid, problem=str(exc))
        return None


def _follow_up(
    container: Container,
    kind: str,
    call_sid: str,
    caller: str,
    reason: str = "",
    recording_sid: str = "",
    recording_url: str = "",
    recording_seconds: int = 0,
) -> FollowUp:
    customer = _customer(container, caller, call_sid)
    return FollowUp(
        kind=kind,
        original_call_sid=call_sid,
        caller=caller,
        customer_id=customer.customer_id if customer else "",
        customer_name=customer.name if customer else "",
        owner_agent_id=customer.owner_agent_id if customer else "",
        team=customer.team if customer else "",
        recording_sid=recording_sid,
        recording_url=recording_url,
        recording_seconds=recording_seconds,
        reason=reason,
    )


def _create(container: Container, follow_up: FollowUp) -> str:
    s = container.settings
    task_sid = container.twilio.create_task(
        s.twilio_workflow_sid,
        follow_up.task_attributes(),
        follow_up.priority,
        s.followup_task_timeout_seconds,
    )
    count(f"FollowUpCreated_{follow_up.kind}")
    logger.info(
        "follow-up task created",
        task_sid=task_sid,
        call_sid=follow_up.original_call_sid,
        kind=follow_up.kind,
        owner_agent_id=follow_up.owner_agent_id or None,
    )
    return task_sid


def callback_connect(container: Container, task_sid: str) -> str:
    """TwiML for the agent's leg of an accepted callback: dial the customer from our number."""
    s = container.settings
    snapshot = container.twilio.fetch_task(task_sid)
    number = str(snapshot.attributes.get("callback_number") or "")
    if snapshot.attributes.get("type") != CALLBACK or not number:
        logger.error("callback task has no number", task_sid=task_sid)
        return fallback_twiml.hang_up()
    logger.info("callback dialing customer", task_sid=task_sid, caller=masked(number))
    from chalicelib.softphone.calls import TASK_LEG_ENDED_PATH

    ended = f"{s.url(TASK_LEG_ENDED_PATH)}?{urlencode({'task': task_sid})}"
    return fallback_twiml.dial_customer(
        number, s.company_number, s.url(RECORDING_STATUS_PATH), s.agent_ring_seconds * 2, ended
    )


VOICEMAIL_HANDED_OVER_REASON = "voicemail handed over"


def hand_over_voicemail(event: TaskRouterEvent, container: Container) -> None:
    """EVENT_SUBSCRIBERS entry: a voicemail task accepted by an agent goes to wrapping at once.

    The `accept` instruction gives the agent the voicemail (their page plays it); nothing at
    TaskRouter would ever end that task, and it would hold the agent's voice capacity for good.
    Wrapping it starts the agent's wrap-up (time to listen and note), after which the presence
    mirror completes it as for any call. Idempotent: a task no longer assigned is left alone.
    """
    if event.event_type != "reservation.accepted" or not event.task_sid:
        return
    if event.task_attributes.get("type") != VOICEMAIL:
        return
    wrapped = container.twilio.wrap_task(event.task_sid, VOICEMAIL_HANDED_OVER_REASON)
    count("VoicemailHandedOver" if wrapped else "VoicemailTaskAlreadyEnded")
    logger.info(
        "voicemail handed over to agent",
        task_sid=event.task_sid,
        agent_id=event.worker_attributes.get("agent_id"),
        wrapped=wrapped,
    )
