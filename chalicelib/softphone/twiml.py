"""Pure TwiML builders for the softphone's calls: dialling out, and joining a transfer.

Data in, TwiML text out, like chalicelib/routing/twiml.py (kept apart so parallel work on the two
files does not collide).
https://www.twilio.com/docs/voice/twiml/dial
"""

from __future__ import annotations

from dataclasses import dataclass

from twilio.twiml.voice_response import VoiceResponse

# What an agent hears when the number they dialled cannot be called (Japanese first: the floor
# is in Tokyo).
INVALID_NUMBER_JA = "おかけになった番号は正しくありません。番号を確認してください。"
INVALID_NUMBER_EN = "The number you dialled is not valid. Please check it and try again."
NOT_AN_AGENT_EN = "Outbound calls can only be placed from the softphone."
LEG_EVENTS = "initiated ringing answered completed"


@dataclass(frozen=True)
class OutboundDial:
    number_e164: str
    caller_id: str
    ring_seconds: int
    leg_status_callback: str
    recording_status_callback: str


def dial_out(dial: OutboundDial) -> str:
    """Dial the customer with the company number as caller ID, recorded dual-channel.

    `answerOnBridge` keeps the agent hearing real ringback (and the agent leg unanswered) until
    the customer picks up; the customer's leg reports to the same status URL as every other leg
    (its `ParentCallSid` names the softphone's leg, the conversation's id).
    """
    response = VoiceResponse()
    verb = response.dial(
        caller_id=dial.caller_id,
        timeout=dial.ring_seconds,
        answer_on_bridge=True,
        record="record-from-answer-dual",
        recording_status_callback=dial.recording_status_callback,
        recording_status_callback_event="completed",
        ring_tone="jp",
    )
    verb.number(
        dial.number_e164,
        status_callback=dial.leg_status_callback,
        status_callback_event=LEG_EVENTS,
    )
    return str(response)


def refuse_invalid_number() -> str:
    response = VoiceResponse()
    response.say(INVALID_NUMBER_JA, language="ja-JP")
    response.say(INVALID_NUMBER_EN, language="en-US")
    response.hangup()
    return str(response)


def refuse_non_agent() -> str:
    response = VoiceResponse()
    response.say(NOT_AN_AGENT_EN, language="en-US")
    response.hangup()
    return str(response)


def join_conference(
    conference_name: str, participant_label: str, status_callback: str, left_url: str
) -> str:
    """TwiML for a colleague's leg answering a transfer: into the customer's conference.

    `left_url` is the Dial's action: Twilio requests it when the leg leaves the conference,
    which is when the colleague's transfer task must end (see `calls.end_task_of_leg`)."""
    response = VoiceResponse()
    dial = response.dial(action=left_url)
    dial.conference(
        conference_name,
        participant_label=participant_label,
        start_conference_on_enter=True,
        end_conference_on_exit=False,
        beep=False,
        status_callback=status_callback,
        status_callback_event="join leave hold mute",
    )
    return str(response)


def transfer_called_off() -> str:
    """TwiML for a colleague who answered a transfer that was called off while it rang."""
    response = VoiceResponse()
    response.say("This call has been taken back. Thank you.")
    response.hangup()
    return str(response)


def hang_up() -> str:
    response = VoiceResponse()
    response.hangup()
    return str(response)


def refuse_dial(reason_ja: str) -> str:
    """A number the guard rails refused (chalicelib/softphone/dial_rules.py): the rep hears why,
    in Japanese, and the call ends; nothing is dialled."""
    response = VoiceResponse()
    response.say(reason_ja, language="ja-JP")
    response.hangup()
    return str(response)
