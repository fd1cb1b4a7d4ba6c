"""Pure builders of what we answer Twilio with: TwiML for calls, instructions for TaskRouter.

Data in, text or dict out; no I/O. The views only pick which builder to call.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from twilio.twiml.voice_response import VoiceResponse

from chalicelib.routing.greeting import Greeting
from chalicelib.routing.plan import RoutingPlan
from chalicelib.telephony.prompts import Prompts

# Priorities are relative inside one workspace; callbacks and voicemails (later stages) sit below.
LIVE_CALL_PRIORITY = 10


def greet(response: VoiceResponse, greeting: Greeting, prompts: Prompts) -> None:
    """Who the caller reached and that the call is recorded, or the operator's recording.

    `<Say language voice>` speaks the configured language with the configured voice (a
    Japanese Polly voice by default); an invalid voice/language pair fails the verb, which is
    why both come from the same prompts entry.
    https://www.twilio.com/docs/voice/twiml/say  https://www.twilio.com/docs/voice/twiml/say/text-speech
    `<Play>` fetches the operator's file itself (MP3 or WAV, cached by Twilio).
    https://www.twilio.com/docs/voice/twiml/play
    """
    if greeting.audio_url:
        response.play(greeting.audio_url)
        return
    words = prompts.fill("greeting", reached=greeting.reached) + prompts.text("recording_notice")
    response.say(words, language=prompts.language, voice=prompts.voice or None)


def enqueue_call(
    plan: RoutingPlan,
    workflow_sid: str,
    task_timeout_seconds: int,
    action_url: str | None = None,
    wait_url: str | None = None,
    greeting: tuple[Greeting, Prompts] | None = None,
) -> str:
    """TwiML that puts the caller into the TaskRouter workflow with the routing plan attached.

    The greeting comes first, so the recording notice is heard before anyone can answer (the
    conference records from the start). `waitUrl` is ours (routing/waiting.py): without it the
    caller hears Twilio's "default classical playlist" (https://www.twilio.com/docs/voice/twiml/enqueue).
    """
    response = VoiceResponse()
    if greeting is not None:
        greet(response, *greeting)
    enqueue = response.enqueue(
        workflow_sid=workflow_sid,
        action=action_url,
        wait_url=wait_url,
        wait_url_method="POST" if wait_url else None,
    )
    enqueue.task(
        json.dumps(plan.task_attributes(), ensure_ascii=False, separators=(",", ":")),
        priority=LIVE_CALL_PRIORITY,
        timeout=task_timeout_seconds,
    )
    return str(response)


@dataclass(frozen=True)
class ConferenceCallbacks:
    """Where Twilio reports on the conference we create for a reservation."""

    agent_call_status: str
    conference_status: str
    recording_status: str


def conference_instruction(
    *,
    caller: str,
    agent_contact_uri: str,
    region: str,
    post_work_activity_sid: str,
    ring_seconds: int,
    callbacks: ConferenceCallbacks,
) -> dict[str, Any]:
    """The `conference` instruction that answers a TaskRouter reservation.

    A conference (not Dequeue) because Dequeue bridges media through the US and callers in Japan
    hear the delay; the conference is mixed in `region` instead.
    https://www.twilio.com/docs/taskrouter/api/reservations#conference
    """
    return {
        "instruction": "conference",
        "to": agent_contact_uri,
        # The agent's browser shows the customer's number, not ours.
        "from": caller,
        "timeout": ring_seconds,
        "region": region,
        "post_work_activity_sid": post_work_activity_sid,
        "end_conference_on_customer_exit": True,
        "end_conference_on_exit": False,
        "early_media": True,
        "beep": False,
        "conference_record": "record-from-start",
        "recording_channels": "dual",
        # The instruction has no recording-events parameter (the Reservation update's
        # parameters in Twilio's OpenAPI description; `ConferenceRecordingStatusCallbackEvent`
        # belongs to the Participants API). Twilio then calls back with the default event alone:
        # `completed`, once the recording can be downloaded; an `absent` or `failed` recording
        # sends nothing (https://www.twilio.com/docs/voice/twiml/recording, "Default value").
        "conference_recording_status_callback": callbacks.recording_status,
        "conference_status_callback": callbacks.conference_status,
        "conference_status_callback_event": "start,end,join,leave,mute,hold",
        "status_callback": callbacks.agent_call_status,
        "status_callback_event": "initiated,ringing,answered,completed",
    }
