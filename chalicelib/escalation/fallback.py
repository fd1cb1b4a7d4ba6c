"""The fallback: a caller nobody could answer (or who called outside hours) leaves a voicemail or
asks to be called back, and either becomes a TaskRouter task, so nothing is lost.

Follow-up tasks carry `type` (voicemail | callback) and `original_call_sid` for the conversation
record (issue 5); facts with no task of their own (outside hours, the caller's choice) go to the
conversation ledger's `record_call_fact`. Who the caller is comes from the CRM directory again
(one GetItem): the caller's number is in every webhook, and a directory failure only means the
task goes to everyone instead of the owner.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import Field

from chalicelib.escalation import fallback_twiml
from chalicelib.escalation.business_hours import BusinessCalendar
from chalicelib.escalation.domain import CALLBACK, VOICEMAIL, FollowUp
from chalicelib.escalation.steps import CallFacts, Clock, record_fact
from chalicelib.platform.errors import StorageUnavailable
from chalicelib.platform.observability import count, logger
from chalicelib.platform.signatures import callback_url
from chalicelib.routing.plan import Customer, RoutingPlan
from chalicelib.telephony import webhooks
from chalicelib.telephony.forms import TwilioForm
from chalicelib.telephony.phone_numbers import caller_e164, masked
from chalicelib.telephony.prompts import Prompts
from chalicelib.telephony.tasks import TaskSnapshot

if TYPE_CHECKING:
    from chalicelib.platform.settings import Settings
    from chalicelib.telephony.taskrouter_events import TaskRouterEvent


# Enqueue `action` results after which there is no caller left to help.
# https://www.twilio.com/docs/voice/twiml/enqueue#attributes-action-parameters
CALL_OVER_RESULTS = frozenset({"bridged", "bridging-in-process", "hangup"})
# Our own fallback step took the call out of the queue by REST (Calls update with Url): Twilio
# requests the action "right away" with this result, as the call goes to that Url.
REDIRECTED = "redirected"


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


class Tasks(Protocol):
    """TaskRouter's tasks, at Twilio's REST API (chalicelib/telephony/rest.py)."""

    def create_task(
        self, workflow_sid: str, attributes: dict[str, Any], priority: int, timeout: int
    ) -> str: ...

    def fetch_task(self, task_sid: str) -> TaskSnapshot: ...

    def wrap_task(self, task_sid: str, reason: str) -> bool: ...


class Customers(Protocol):
    """The CRM directory (chalicelib/routing/store.py)."""

    def find_by_phone(self, phone_e164: str) -> Customer | None: ...


@dataclass(frozen=True)
class FallbackSettings:
    """What the fallback reads of the stage's settings: our public URLs and a few limits."""

    choice_url: str
    voicemail_url: str
    recording_status_url: str
    task_leg_ended_url: str
    default_country: str
    workflow_sid: str
    follow_up_timeout_seconds: int
    voicemail_max_seconds: int
    company_number: str
    agent_ring_seconds: int


def settings_from(settings: Settings) -> FallbackSettings:
    return FallbackSettings(
        choice_url=settings.url(webhooks.FALLBACK_CHOICE),
        voicemail_url=settings.url(webhooks.VOICEMAIL),
        recording_status_url=settings.url(webhooks.RECORDING_STATUS),
        task_leg_ended_url=settings.url(webhooks.TASK_LEG_ENDED),
        default_country=settings.telephony.default_country,
        workflow_sid=settings.telephony.twilio_workflow_sid,
        follow_up_timeout_seconds=settings.escalation.followup_task_timeout_seconds,
        voicemail_max_seconds=settings.escalation.voicemail_max_seconds,
        company_number=settings.telephony.company_number,
        agent_ring_seconds=settings.routing.agent_ring_seconds,
    )


def is_open(calendar: BusinessCalendar, plan: RoutingPlan, now: datetime) -> bool:
    """Whether the caller's team (or the company, for an unknown caller) is open at `now`.

    Apart from `Fallback` so the incoming call, which asks this on every call, builds nothing
    else: the fallback's Twilio and ledger adapters are only needed once the call is closed out.
    `now` comes from the injected clock, not the wall's: a rehearsed Monday is open even on a
    Saturday.
    """
    team = plan.customer.team if plan.customer else None
    return calendar.is_open(team, now)


VOICEMAIL_HANDED_OVER_REASON = "voicemail handed over"


class Fallback:
    def __init__(
        self,
        tasks: Tasks,
        customers: Customers,
        facts: CallFacts,
        prompts: Prompts,
        settings: FallbackSettings,
        clock: Clock,
    ) -> None:
        self._tasks = tasks
        self._customers = customers
        self._facts = facts
        self._prompts = prompts
        self._settings = settings
        self._clock = clock

    def _record_fact(self, call_sid: str, fact: str, data: dict[str, Any]) -> None:
        record_fact(self._facts, self._clock, call_sid, fact, data)

    def menu(self, preface: str | None = None) -> str:
        return fallback_twiml.fallback_menu(self._prompts, self._settings.choice_url, preface)

    def outside_hours(self, call_sid: str, plan: RoutingPlan) -> str:
        """The caller hears that we are closed and goes straight to the menu (no queue)."""
        count("CallsOutsideHours")
        logger.info("call outside business hours", call_sid=call_sid)
        self._record_fact(
            call_sid,
            "outside_hours",
            {"customer_id": plan.customer.customer_id if plan.customer else ""},
        )
        return self.menu(preface="outside_hours")

    def queue_exit(self, call: FallbackCall) -> str:
        """Enqueue's action: the call left the queue. A caller still on the line gets the menu.

        After our own redirect (the fallback step) the call follows the redirect's Url, the
        menu; which of the two answers Twilio plays is not documented, so this one is the same
        menu: the caller hears it once either way. Not an unexpected exit, so not counted as one.
        """
        if call.queue_result in CALL_OVER_RESULTS:
            return fallback_twiml.hang_up()
        if call.queue_result == REDIRECTED:
            count("QueueExitRedirected")
            logger.info("call redirected out of the queue", call_sid=call.call_sid)
            return self.menu()
        count("QueueExitToFallback")
        logger.warning(
            "caller left the queue unanswered", call_sid=call.call_sid, result=call.queue_result
        )
        return self.menu()

    def _voicemail(self, preface: str | None = None) -> str:
        s = self._settings
        return fallback_twiml.record_voicemail(
            self._prompts,
            s.voicemail_url,
            s.recording_status_url,
            s.voicemail_max_seconds,
            preface,
        )

    def choose(self, call: FallbackCall) -> str:
        """The caller pressed a key (or nothing). Silence or a wrong key records a voicemail."""
        caller = caller_e164(call.from_, self._settings.default_country)
        if call.digits == Choice.CALLBACK:
            if not caller:
                return self._voicemail(preface="callback_unavailable")
            follow_up = self._follow_up(CALLBACK, call.call_sid, caller, reason="requested")
            self._create(follow_up)
            self._record_fact(call.call_sid, "callback_requested", {"caller": masked(caller)})
            return fallback_twiml.say_and_hang_up(self._prompts, "callback_confirmed", "goodbye")
        preface = None if call.digits in ("", Choice.VOICEMAIL) else "invalid_choice"
        return self._voicemail(preface)

    def voicemail_recorded(self, recorded: VoicemailRecorded) -> str:
        """`<Record>`'s action, also requested when the caller hangs up while recording."""
        caller = caller_e164(recorded.from_, self._settings.default_country) or ""
        if recorded.recording_url and recorded.recording_seconds > 0:
            follow_up = self._follow_up(
                VOICEMAIL,
                recorded.call_sid,
                caller,
                recording_sid=recorded.recording_sid,
                recording_url=recorded.recording_url,
                recording_seconds=recorded.recording_seconds,
            )
            self._create(follow_up)
            self._record_fact(
                recorded.call_sid,
                "voicemail_left",
                {"recording_sid": recorded.recording_sid, "seconds": recorded.recording_seconds},
            )
            return fallback_twiml.say_and_hang_up(self._prompts, "voicemail_saved", "goodbye")
        if caller:
            # No message, but we know who called: a callback task, so the missed call is not lost.
            self._create(self._follow_up(CALLBACK, recorded.call_sid, caller, "no_message"))
            self._record_fact(recorded.call_sid, "callback_requested", {"reason": "no_message"})
        return fallback_twiml.say_and_hang_up(self._prompts, "voicemail_empty", "goodbye")

    def _customer(self, caller: str, call_sid: str) -> Customer | None:
        if not caller:
            return None
        try:
            return self._customers.find_by_phone(caller)
        except StorageUnavailable as exc:
            count("FollowUpCustomerUnknown")
            logger.error("follow-up without customer lookup", call_sid=call_sid, problem=str(exc))
            return None

    def _follow_up(
        self,
        kind: str,
        call_sid: str,
        caller: str,
        reason: str = "",
        recording_sid: str = "",
        recording_url: str = "",
        recording_seconds: int = 0,
    ) -> FollowUp:
        customer = self._customer(caller, call_sid)
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

    def _create(self, follow_up: FollowUp) -> str:
        s = self._settings
        task_sid = self._tasks.create_task(
            s.workflow_sid,
            follow_up.task_attributes(),
            follow_up.priority,
            s.follow_up_timeout_seconds,
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

    def callback_connect(self, task_sid: str) -> str:
        """TwiML for the agent's leg of an accepted callback: dial the customer from our number."""
        s = self._settings
        snapshot = self._tasks.fetch_task(task_sid)
        number = str(snapshot.attributes.get("callback_number") or "")
        if snapshot.attributes.get("type") != CALLBACK or not number:
            logger.error("callback task has no number", task_sid=task_sid)
            return fallback_twiml.hang_up()
        logger.info("callback dialing customer", task_sid=task_sid, caller=masked(number))
        ended = callback_url(s.task_leg_ended_url, {"task": task_sid})
        return fallback_twiml.dial_customer(
            number, s.company_number, s.recording_status_url, s.agent_ring_seconds * 2, ended
        )

    def hand_over_voicemail(self, event: TaskRouterEvent) -> None:
        """EVENT_SUBSCRIBERS entry: a voicemail task accepted by an agent goes to wrapping at once.

        The `accept` instruction gives the agent the voicemail (their page plays it); nothing at
        TaskRouter would ever end that task, and it would hold the agent's voice capacity for
        good. Wrapping it starts the agent's wrap-up (time to listen and note), after which the
        presence mirror completes it as for any call. Idempotent: a task no longer assigned is
        left alone.
        """
        if event.event_type != "reservation.accepted" or not event.task_sid:
            return
        if event.task_attributes.get("type") != VOICEMAIL:
            return
        wrapped = self._tasks.wrap_task(event.task_sid, VOICEMAIL_HANDED_OVER_REASON)
        count("VoicemailHandedOver" if wrapped else "VoicemailTaskAlreadyEnded")
        logger.info(
            "voicemail handed over to agent",
            task_sid=event.task_sid,
            agent_id=event.worker_attributes.get("agent_id"),
            wrapped=wrapped,
        )
