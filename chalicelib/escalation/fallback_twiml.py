"""Pure TwiML builders of the fallback: the keypad menu, the voicemail recorder, the callback dial.

Every word spoken comes from `Prompts` (configuration), in the configured language and voice.
https://www.twilio.com/docs/voice/twiml/gather  https://www.twilio.com/docs/voice/twiml/record
"""

from __future__ import annotations

from twilio.twiml.voice_response import VoiceResponse

from chalicelib.telephony.prompts import Prompts

MENU_SECONDS = 8


def _say(response: VoiceResponse, prompts: Prompts, name: str) -> None:
    response.say(prompts.text(name), language=prompts.language, voice=prompts.voice or None)


def fallback_menu(prompts: Prompts, choice_url: str, preface: str | None = None) -> str:
    """Press 1 for voicemail, 2 for a callback; silence falls through to the choice (voicemail)."""
    response = VoiceResponse()
    if preface:
        _say(response, prompts, preface)
    gather = response.gather(
        input="dtmf", num_digits=1, timeout=MENU_SECONDS, action=choice_url, method="POST"
    )
    gather.say(
        prompts.text("fallback_menu"), language=prompts.language, voice=prompts.voice or None
    )
    response.redirect(choice_url, method="POST")
    return str(response)


def record_voicemail(
    prompts: Prompts,
    action_url: str,
    recording_status_url: str,
    max_seconds: int,
    preface: str | None = None,
) -> str:
    response = VoiceResponse()
    if preface:
        _say(response, prompts, preface)
    _say(response, prompts, "voicemail_instructions")
    response.record(
        action=action_url,
        method="POST",
        max_length=max_seconds,
        finish_on_key="#",
        play_beep=True,
        recording_status_callback=recording_status_url,
        recording_status_callback_event="completed",
    )
    return str(response)


def say_and_hang_up(prompts: Prompts, *names: str) -> str:
    response = VoiceResponse()
    for name in names:
        _say(response, prompts, name)
    response.hangup()
    return str(response)


def hang_up() -> str:
    response = VoiceResponse()
    response.hangup()
    return str(response)


def dial_customer(
    customer_number: str,
    company_number: str,
    recording_status_url: str,
    ring_seconds: int,
    ended_url: str,
) -> str:
    """The agent is on the line (they answered TaskRouter's call); now ring the customer.

    `ended_url` is the Dial's action, requested when the call with the customer ends: it ends
    the callback task (see `calls.end_task_of_leg`)."""
    response = VoiceResponse()
    dial = response.dial(
        action=ended_url,
        caller_id=company_number,
        timeout=ring_seconds,
        record="record-from-answer-dual",
        recording_status_callback=recording_status_url,
        recording_status_callback_event="completed",
    )
    dial.number(customer_number)
    return str(response)
