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


@dataclass(frozen=True)
class RepConference:
    """The rep's side of an outbound call: the conference their leg joins first."""

    conference: str
    agent_label: str
    region: str
    conference_status_callback: str
    recording_status_callback: str
    # The <Dial action>: requested when the rep's leg leaves the conference.
    left_url: str


def rep_into_conference(rep: RepConference) -> str:
    """The rep's leg into the outbound call's conference, mixed in `region`, recorded from the
    start in two channels (the rep, who joins first, on channel 1), reporting to the same
    conference status URL as inbound conferences.

    The rep does not start the conference: the customer answering does, so the recording
    (`record-from-start`) holds the conversation and a call nobody answered records nothing.
    Until then the rep waits in silence (`waitUrl=""`, not hold music). The rep leaving ends
    the conference (`endConferenceOnExit`).
    https://www.twilio.com/docs/voice/twiml/conference
    """
    response = VoiceResponse()
    dial = response.dial(action=rep.left_url)
    dial.conference(
        rep.conference,
        participant_label=rep.agent_label,
        start_conference_on_enter=False,
        end_conference_on_exit=True,
        beep=False,
        wait_url="",
        region=rep.region,
        record="record-from-start",
        recording_status_callback=rep.recording_status_callback,
        recording_status_callback_event="completed",
        status_callback=rep.conference_status_callback,
        status_callback_event="start end join leave mute hold",
    )
    return str(response)


# What the rep hears when the customer's phone never connected, by the leg's final status.
NOT_CONNECTED_JA = {
    "busy": "お客様の電話は話し中です。",
    "no-answer": "お客様が応答しませんでした。",
    "failed": "この番号には発信できませんでした。",
}
NOT_CONNECTED_OTHER_JA = "通話を接続できませんでした。"
DIAL_FAILED_JA = "ただいま発信できません。しばらくしてからおかけ直しください。"
COLLEAGUE_BUSY_JA = "おかけになった担当者は、ただいま電話に出られません。"
COLLEAGUE_UNKNOWN_JA = "おかけになった担当者は見つかりませんでした。"


def colleague_busy() -> str:
    """An internal call to a colleague who is not free (on a call, away, on a break, offline)."""
    response = VoiceResponse()
    response.say(COLLEAGUE_BUSY_JA, language="ja-JP")
    response.hangup()
    return str(response)


def colleague_unknown() -> str:
    response = VoiceResponse()
    response.say(COLLEAGUE_UNKNOWN_JA, language="ja-JP")
    response.hangup()
    return str(response)


def not_connected(status: str) -> str:
    response = VoiceResponse()
    response.say(NOT_CONNECTED_JA.get(status, NOT_CONNECTED_OTHER_JA), language="ja-JP")
    response.hangup()
    return str(response)


def dial_failed() -> str:
    """Twilio would not ring the customer (the rep hears it; nothing was dialled)."""
    response = VoiceResponse()
    response.say(DIAL_FAILED_JA, language="ja-JP")
    response.hangup()
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
