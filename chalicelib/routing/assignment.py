"""Answering a TaskRouter reservation: connect the agent and the caller in a regional conference."""

from __future__ import annotations

from typing import Any

from chalicelib.platform.errors import InvalidInput
from chalicelib.platform.observability import count, logger
from chalicelib.platform.settings import Settings
from chalicelib.platform.signatures import callback_url
from chalicelib.routing.twiml import ConferenceCallbacks, conference_instruction
from chalicelib.softphone.calls import TRANSFER_TASK_TYPE, transfer_instruction
from chalicelib.telephony import webhooks
from chalicelib.telephony.forms import ReservationAssignment


def agent_contact_uri(worker_attributes: dict[str, Any]) -> str:
    """Where the agent's softphone is reached: the worker's contact_uri, or its client identity."""
    uri = worker_attributes.get("contact_uri")
    if isinstance(uri, str) and uri:
        return uri
    agent_id = worker_attributes.get("agent_id")
    if isinstance(agent_id, str) and agent_id:
        return f"client:{agent_id}"
    raise InvalidInput("WorkerAttributes has neither contact_uri nor agent_id")


def _with_context(url: str, assignment: ReservationAssignment) -> str:
    """The callback URL naming the conversation, task, reservation and agent it reports on.

    The agent's leg is a new call TaskRouter places (no ParentCallSid) and a conference
    recording carries no CallSid: without these parameters their callbacks could not be tied to
    the customer's call until a later TaskRouter event names them. Twilio signs the full URL,
    query included, and API Gateway does not keep the query's order: `callback_url` writes it
    in the canonical form twilio_form rebuilds (chalicelib/platform/signatures.py).
    """
    context = {
        "conversation": str(assignment.task_attributes.get("call_sid") or ""),
        "task": assignment.task_sid,
        "reservation": assignment.reservation_sid,
        "agent": str(assignment.worker_attributes.get("agent_id") or ""),
    }
    return callback_url(url, context)


def instruction_for(assignment: ReservationAssignment, settings: Settings) -> dict[str, Any]:
    follow_up = follow_up_instruction(assignment, settings)
    if follow_up is not None:
        return follow_up
    task = assignment.task_attributes
    if task.get("type") == TRANSFER_TASK_TYPE:
        # A colleague taking over a call that is already in a conference
        # (chalicelib/softphone/calls.py).
        return transfer_instruction(
            task,
            agent_contact_uri(assignment.worker_attributes),
            str(assignment.worker_attributes.get("agent_id") or ""),
            task_sid=assignment.task_sid,
            join_url=settings.url(webhooks.TRANSFER_JOIN),
            # The colleague's leg names the customer's call, as an agent leg does: its
            # status (and price) joins the conversation instead of waiting for ever.
            leg_status_callback=_with_context(settings.url(webhooks.VOICE_STATUS), assignment),
            caller_id=settings.telephony.company_number,
            ring_seconds=settings.routing.agent_ring_seconds,
        )
    # TaskRouter adds the call's own `from` to the attributes of an enqueued call; ours is `caller`.
    caller = str(task.get("caller") or task.get("from") or "")
    instruction = conference_instruction(
        caller=caller or settings.telephony.company_number,
        agent_contact_uri=agent_contact_uri(assignment.worker_attributes),
        region=settings.routing.conference_region,
        post_work_activity_sid=settings.routing.post_work_activity_sid,
        ring_seconds=settings.routing.agent_ring_seconds,
        callbacks=ConferenceCallbacks(
            agent_call_status=_with_context(settings.url(webhooks.VOICE_STATUS), assignment),
            conference_status=_with_context(settings.url(webhooks.CONFERENCE_STATUS), assignment),
            recording_status=_with_context(settings.url(webhooks.RECORDING_STATUS), assignment),
        ),
    )
    count("ReservationsAssigned")
    logger.info(
        "reservation answered with conference",
        task_sid=assignment.task_sid,
        reservation_sid=assignment.reservation_sid,
        agent_id=assignment.worker_attributes.get("agent_id"),
        call_sid=task.get("call_sid"),
        stage=task.get("stage"),
        region=settings.routing.conference_region,
    )
    return instruction


# --- follow-ups of the fallback (issue 4): voicemail and callback tasks ---


def follow_up_instruction(
    assignment: ReservationAssignment, settings: Settings
) -> dict[str, Any] | None:
    """A voicemail is accepted as is (the softphone plays it); a callback rings the agent first
    and, once they answer, dials the customer from the company number (TaskRouter's `call`
    instruction fetches `url` for the agent's leg). None for any other task.
    https://www.twilio.com/docs/taskrouter/handle-assignment-callbacks#initiating-a-call
    """
    kind = assignment.task_attributes.get("type")
    if kind not in ("voicemail", "callback"):
        return None
    count(f"FollowUpAssigned_{kind}")
    logger.info(
        "follow-up reservation answered",
        task_sid=assignment.task_sid,
        reservation_sid=assignment.reservation_sid,
        agent_id=assignment.worker_attributes.get("agent_id"),
        kind=kind,
        original_call_sid=assignment.task_attributes.get("original_call_sid"),
    )
    if kind == "voicemail":
        return {"instruction": "accept"}
    number = str(assignment.task_attributes.get("callback_number") or "")
    return {
        "instruction": "call",
        "accept": True,
        "to": agent_contact_uri(assignment.worker_attributes),
        # The agent's softphone shows who is about to be called.
        "from": number or settings.telephony.company_number,
        "url": settings.url(webhooks.CALLBACK_CONNECT.format(task_sid=assignment.task_sid)),
        "status_callback_url": settings.url(webhooks.VOICE_STATUS),
    }
