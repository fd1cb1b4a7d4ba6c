"""What happened on a call, as events: Twilio's raw callbacks with a natural key and a clock.

Twilio reports one conversation through many independent callbacks (every call leg's status,
the conference, TaskRouter, recordings) that arrive late, twice, or out of order. Each becomes an
`Event`: the raw form as posted, a natural idempotency key (a retried callback has the same key,
so it is stored once), the time it happened by Twilio's clock (never ours: arrival order means
nothing), and the conversation it belongs to when the callback itself says so.

The conversation is keyed by the customer's call sid (the caller's leg for inbound calls, the
softphone's parent leg for outbound ones). Callbacks that cannot name it alone (an agent leg
created by TaskRouter, a conference recording) name a "link" sid instead, resolved through the
links TaskRouter and conference events establish (see conversation_facts).

Timestamps differ by product: RFC 2822 text for voice, conference and recording callbacks (one-
or two-digit day), epoch milliseconds for TaskRouter. https://www.twilio.com/docs/usage/webhooks
"""

from __future__ import annotations

import json
from calendar import timegm
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from email.utils import parsedate_to_datetime
from typing import Any

from pydantic import Field

from chalicelib.telephony.forms import MAX_CALL_SECONDS, MAX_SEQUENCE_NUMBER, TwilioForm

VOICE = "voice"
CONFERENCE = "conference"
TASKROUTER = "taskrouter"
RECORDING = "recording"
VOICEMAIL = "voicemail"
FACT = "fact"
PRICE = "price"
SOURCES = frozenset({VOICE, CONFERENCE, TASKROUTER, RECORDING, VOICEMAIL, FACT, PRICE})

# What the app itself knows about a call and Twilio's callbacks do not carry.
FACTS = frozenset(
    {
        "outside_hours",
        "fallback_offered",
        "voicemail_left",
        "callback_requested",
        "wrap_up_note",
        "wrap_up_code",
        "customer_identified",
        # The recordings reconciliation found no recording of an answered conference at Twilio.
        "recording_missing",
        # A rep dialled out (the TwiML App's webhook): who, from which team, to what number.
        "outbound_dialled",
        # A rep closed the voicemail or callback request in the follow-up inbox (issue 18).
        "follow_up_done",
        # A supervisor listens to, whispers in or joins the live call, or stops (issue 19).
        "supervisor_monitor",
    }
)
# Query parameters we add to the callback URLs we hand Twilio (assignment.py), naming the
# conversation, task, reservation and agent a leg or conference belongs to.
CONTEXT_KEYS = ("conversation", "task", "reservation", "agent", "dialled_by")


@dataclass(frozen=True, slots=True)
class Event:
    key: str
    source: str
    occurred_ms: int
    # The customer's call sid when the callback names it; "" when it must be resolved by link.
    conversation_id: str
    form: Mapping[str, str]
    context: Mapping[str, str] = field(default_factory=dict)
    # TaskRouter's TaskAttributes (or a fact's data), parsed once here.
    attributes: Mapping[str, Any] = field(default_factory=dict)
    # A sid this event can be filed under until its conversation is known (agent leg, conference).
    pending_on: str = ""
    # Sids this event proves belong to `conversation_id` (task, worker leg, conference).
    links: tuple[str, ...] = ()


_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    )
}


def rfc2822_ms(text: str | None) -> int:
    """Epoch ms of Twilio's RFC 2822 timestamps (`Tue, 4 Feb 2025 17:03:12 +0000`); 0 if absent.

    Twilio's own shape is parsed directly (rebuilding a conversation parses every stored
    callback again, and email.utils is ~10x slower); anything else goes to email.utils.
    """
    if not text:
        return 0
    parts = text.split()
    if len(parts) == 6 and parts[5] == "+0000" and parts[2] in _MONTHS:
        try:
            hh, mm, ss = parts[4].split(":")
            seconds = timegm(
                (int(parts[3]), _MONTHS[parts[2]], int(parts[1]), int(hh), int(mm), int(ss))
            )
            return seconds * 1000
        except ValueError:
            pass
    try:
        return int(parsedate_to_datetime(text).timestamp() * 1000)
    except (TypeError, ValueError, IndexError):
        return 0


def _int(text: str | None) -> int:
    try:
        return int(text or 0)
    except ValueError:
        return 0


def _context(query: Mapping[str, str] | None) -> dict[str, str]:
    return {k: str(query[k]) for k in CONTEXT_KEYS if query and query.get(k)}


def voice_event(form: Mapping[str, str], query: Mapping[str, str] | None = None) -> Event:
    """A call leg's status callback. Child legs (`<Dial>` from the softphone) name ParentCallSid."""
    context = _context(query)
    call_sid = form.get("CallSid", "")
    status = form.get("CallStatus", "")
    key = f"{VOICE}#{call_sid}#{status}#{form.get('SequenceNumber', '')}"
    conversation = context.get("conversation") or form.get("ParentCallSid", "")
    pending = ""
    if not conversation:
        # A leg TaskRouter dialled to an agent's browser has no parent: without our context
        # it waits for a TaskRouter event naming it as the task's worker_call_sid.
        if form.get("To", "").startswith("client:") and form.get("Direction") == "outbound-api":
            pending = call_sid
        else:
            conversation = call_sid
    return Event(
        key=key,
        source=VOICE,
        occurred_ms=rfc2822_ms(form.get("Timestamp")),
        conversation_id=conversation,
        form=dict(form),
        context=context,
        pending_on=pending,
    )


def conference_event(form: Mapping[str, str], query: Mapping[str, str] | None = None) -> Event:
    context = _context(query)
    conference_sid = form.get("ConferenceSid", "")
    kind = form.get("StatusCallbackEvent", "")
    participant = form.get("CallSid", "")
    key = f"{CONFERENCE}#{conference_sid}#{kind}#{participant}#{form.get('SequenceNumber', '')}"
    conversation = context.get("conversation", "")
    links: tuple[str, ...] = ()
    if conversation:
        links = tuple(s for s in (conference_sid, participant) if s and s != conversation)
    return Event(
        key=key,
        source=CONFERENCE,
        occurred_ms=rfc2822_ms(form.get("Timestamp")),
        conversation_id=conversation,
        form=dict(form),
        context=context,
        pending_on="" if conversation else conference_sid,
        links=links,
    )


def recording_event(
    source: str, form: Mapping[str, str], query: Mapping[str, str] | None = None
) -> Event:
    """A recording status callback; `source` is `recording` or `voicemail`.

    A call recording (voicemail) names the customer's CallSid; a conference recording carries
    ConferenceSid and no CallSid, and is linked through the conference.
    """
    if source not in (RECORDING, VOICEMAIL):
        raise ValueError(f"unknown recording source {source!r}")
    context = _context(query)
    recording_sid = form.get("RecordingSid", "")
    key = f"{source}#{recording_sid}#{form.get('RecordingStatus', '')}"
    conversation = context.get("conversation") or form.get("CallSid", "")
    started = rfc2822_ms(form.get("RecordingStartTime"))
    occurred = started + _int(form.get("RecordingDuration")) * 1000 if started else 0
    return Event(
        key=key,
        source=source,
        occurred_ms=occurred,
        conversation_id=conversation,
        form=dict(form),
        context=context,
        pending_on="" if conversation else form.get("ConferenceSid", ""),
    )


def taskrouter_attributes(form: Mapping[str, str]) -> dict[str, Any]:
    try:
        parsed = json.loads(form.get("TaskAttributes") or "{}")
    except json.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def taskrouter_event(form: Mapping[str, str]) -> Event:
    """A TaskRouter event. Voicemail and callback tasks belong to their original call."""
    attributes = taskrouter_attributes(form)
    if attributes.get("type") in ("voicemail", "callback"):
        conversation = str(attributes.get("original_call_sid") or "")
    else:
        conversation = str(attributes.get("call_sid") or "")
    occurred = _int(form.get("TimestampMs")) or _int(form.get("Timestamp")) * 1000
    links: list[str] = []
    if conversation:
        conference = attributes.get("conference")
        conference_sid = conference.get("sid") if isinstance(conference, dict) else None
        for sid in (form.get("TaskSid"), attributes.get("worker_call_sid"), conference_sid):
            if isinstance(sid, str) and sid and sid != conversation:
                links.append(sid)
    return Event(
        key=f"{TASKROUTER}#{form.get('Sid', '')}",
        source=TASKROUTER,
        occurred_ms=occurred,
        conversation_id=conversation,
        form=dict(form),
        attributes=attributes,
        links=tuple(links),
    )


def fact_event(call_sid: str, fact: str, occurred_ms: int, data: Mapping[str, Any]) -> Event:
    """An app-level fact. Its key includes the time, so a retry with the same time is a no-op
    and a later edit (a rewritten wrap-up note) is a new event; the fold keeps the latest."""
    if fact not in FACTS:
        raise ValueError(f"unknown call fact {fact!r}")
    form = {
        "Fact": fact,
        "CallSid": call_sid,
        "OccurredMs": str(occurred_ms),
        "Data": json.dumps(dict(data), sort_keys=True, ensure_ascii=False),
    }
    return Event(
        key=f"{FACT}#{fact}#{occurred_ms}",
        source=FACT,
        occurred_ms=occurred_ms,
        conversation_id=call_sid,
        form=form,
        attributes=dict(data),
    )


def price_event(conversation_id: str, leg_sid: str, price: str, unit: str) -> Event:
    """The price Twilio charged for one leg, fetched by the reconciliation job after it ended."""
    return Event(
        key=f"{PRICE}#{leg_sid}",
        source=PRICE,
        occurred_ms=0,
        conversation_id=conversation_id,
        form={"CallSid": leg_sid, "Price": price, "PriceUnit": unit},
    )


def from_stored(
    source: str, form: Mapping[str, str], context: Mapping[str, str], conversation_id: str
) -> Event:
    """Rebuild an Event from what the event store holds (the raw form and our context)."""
    if source == VOICE:
        event = voice_event(form, context)
    elif source == CONFERENCE:
        event = conference_event(form, context)
    elif source in (RECORDING, VOICEMAIL):
        event = recording_event(source, form, context)
    elif source == TASKROUTER:
        event = taskrouter_event(form)
    elif source == FACT:
        data = json.loads(form.get("Data") or "{}")
        event = fact_event(
            conversation_id, form.get("Fact", ""), _int(form.get("OccurredMs")), data
        )
    elif source == PRICE:
        event = price_event(
            conversation_id,
            form.get("CallSid", ""),
            form.get("Price", ""),
            form.get("PriceUnit", ""),
        )
    else:
        raise ValueError(f"unknown event source {source!r}")
    # Filed under its conversation: whatever link resolved it, that is where it belongs now.
    return replace(event, conversation_id=conversation_id, pending_on="")


class CallStatusCallback(TwilioForm):
    """The fields a leg's status callback must carry to be stored (the rest is kept raw)."""

    call_sid: str = Field(alias="CallSid", pattern=r"^CA[0-9a-fA-F]{32}$")
    call_status: str = Field(alias="CallStatus", min_length=1)
    timestamp: str = Field(alias="Timestamp", min_length=1)
    # Checked, not used here: the fold reads them from the stored form.
    call_duration: int = Field(alias="CallDuration", default=0, ge=0, le=MAX_CALL_SECONDS)
    sequence_number: int = Field(alias="SequenceNumber", default=0, ge=0, le=MAX_SEQUENCE_NUMBER)


class ConferenceStatusCallback(TwilioForm):
    conference_sid: str = Field(alias="ConferenceSid", pattern=r"^CF[0-9a-fA-F]{32}$")
    event: str = Field(alias="StatusCallbackEvent", min_length=1)
    timestamp: str = Field(alias="Timestamp", min_length=1)
    sequence_number: int = Field(alias="SequenceNumber", default=0, ge=0, le=MAX_SEQUENCE_NUMBER)
