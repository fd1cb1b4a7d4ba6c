"""Time in the queue: our `<Enqueue waitUrl>`, so callers hear our hold audio, where they stand
in Japanese, and after a while the offer to leave a voicemail or be called back instead.

Twilio requests the waitUrl when the caller enters the queue and again each time the document
it returned has been played out, with the queue's own figures: `QueuePosition`, `QueueSid`,
`QueueTime`, `AvgQueueTime`, `CurrentQueueSize` (https://www.twilio.com/docs/voice/twiml/enqueue,
"waitUrl" request parameters). Only `<Play>`, `<Say>`, `<Pause>`, `<Hangup>`, `<Redirect>`,
`<Leave>` and `<Gather>` may appear in it. The page does not say which of those figures a call
enqueued into a TaskRouter workflow receives, so each is optional here: a missing or zero
figure is simply not announced, and the caller hears the plain "please hold" instead.

One document lasts about `queue_announce_seconds`: an announcement, then the hold audio looped to
fill the interval. After `queue_offer_after_seconds` the same document sits inside a `<Gather>`:
a key chooses, silence falls out of the Gather at the end of the document and Twilio asks for
the next one, so the caller keeps their place in line.

A key (1 = call me back, 2 = voicemail) takes the call out of the queue by REST, to the
fallback's choice with the matching fallback key (the call is redirected, as the escalation's
own fallback step does; TaskRouter cancels the task as the call leaves, which stops the
escalation timeline). If Twilio cannot be reached, `<Leave>` takes the caller out instead and
the `<Enqueue action>` offers the fallback menu: never a dropped caller.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from pydantic import Field, field_validator
from twilio.twiml.voice_response import VoiceResponse

from chalicelib.platform.errors import TelephonyUnavailable
from chalicelib.platform.observability import count, logger
from chalicelib.platform.signatures import callback_url
from chalicelib.telephony.forms import TwilioForm
from chalicelib.telephony.prompts import Prompts

if TYPE_CHECKING:
    from chalicelib.platform.settings import Settings

# Keys offered while waiting, and the fallback menu's key for the same choice
# (chalicelib/escalation/fallback.py: Choice). The same keys on purpose: if Twilio plays the
# <Enqueue action> (the menu) instead of following our redirect, or we answer <Leave/>, the
# caller hears the menu with the keys they just learned (1 = voicemail, 2 = callback).
WAIT_KEYS = {"1": "1", "2": "2"}
# Seconds the Gather waits for a key after its last nested verb.
KEY_SECONDS = 3
# The fallback choice's query parameter carrying the key pressed in the queue.
KEY_PARAMETER = "key"


class QueueWaitRequest(TwilioForm):
    """What Twilio posts to the waitUrl. Figures Twilio leaves out (or sends empty) are None."""

    call_sid: str = Field(alias="CallSid", pattern=r"^CA[0-9a-fA-F]{32}$")
    queue_position: int | None = Field(alias="QueuePosition", default=None, ge=0)
    queue_time: int = Field(alias="QueueTime", default=0, ge=0)
    avg_queue_time: int | None = Field(alias="AvgQueueTime", default=None, ge=0)
    current_queue_size: int | None = Field(alias="CurrentQueueSize", default=None, ge=0)

    @field_validator("queue_position", "avg_queue_time", "current_queue_size", mode="before")
    @classmethod
    def _blank_is_unknown(cls, value: object) -> object:
        return None if value == "" else value


class QueueWaitKey(TwilioForm):
    call_sid: str = Field(alias="CallSid", pattern=r"^CA[0-9a-fA-F]{32}$")
    digits: str = Field(alias="Digits", default="")


@dataclass(frozen=True)
class WaitSettings:
    hold_audio_url: str
    hold_audio_seconds: int
    announce_seconds: int
    offer_after_seconds: int
    key_url: str
    fallback_choice_url: str


def settings_from(settings: Settings) -> WaitSettings:
    """The hold audio defaults to the loop shipped with the pages (web/audio/hold-loop.wav)."""
    from chalicelib.telephony import webhooks

    r = settings.routing
    shipped = f"{settings.softphone.web_origin.rstrip('/')}/audio/hold-loop.wav"
    return WaitSettings(
        hold_audio_url=r.queue_hold_audio_url or shipped,
        hold_audio_seconds=r.queue_hold_audio_seconds,
        announce_seconds=r.queue_announce_seconds,
        offer_after_seconds=r.queue_offer_after_seconds,
        key_url=settings.url(webhooks.QUEUE_WAIT_CHOICE),
        fallback_choice_url=settings.url(webhooks.FALLBACK_CHOICE),
    )


def announcement(wait: QueueWaitRequest, prompts: Prompts) -> str:
    """Where the caller stands, from the queue's own figures; "please hold" when it has none."""
    parts = []
    if wait.queue_position:
        parts.append(prompts.fill("wait_position", position=wait.queue_position))
    remaining = (wait.avg_queue_time or 0) - wait.queue_time
    if wait.avg_queue_time and remaining >= 60:
        parts.append(prompts.fill("wait_expected", minutes=math.ceil(remaining / 60)))
    return "".join(parts) or prompts.text("wait_hold")


def wait_twiml(wait: QueueWaitRequest, prompts: Prompts, settings: WaitSettings) -> str:
    response = VoiceResponse()
    loops = max(1, round(settings.announce_seconds / settings.hold_audio_seconds))
    say = {"language": prompts.language, "voice": prompts.voice or None}
    if wait.queue_time < settings.offer_after_seconds:
        response.say(announcement(wait, prompts), **say)
        response.play(settings.hold_audio_url, loop=loops)
        return str(response)
    gather = response.gather(
        input="dtmf",
        num_digits=1,
        timeout=KEY_SECONDS,
        action=settings.key_url,
        method="POST",
    )
    gather.say(announcement(wait, prompts) + prompts.text("wait_offer"), **say)
    gather.play(settings.hold_audio_url, loop=loops)
    return str(response)


class Calls(Protocol):
    """Live calls at Twilio's REST API (chalicelib/telephony/rest.py)."""

    def redirect_call(self, call_sid: str, url: str) -> None: ...


class QueueWait:
    def __init__(self, calls: Calls, prompts: Prompts, settings: WaitSettings) -> None:
        self._calls = calls
        self._prompts = prompts
        self._settings = settings

    def wait(self, request: QueueWaitRequest) -> str:
        return wait_twiml(request, self._prompts, self._settings)

    def key_pressed(self, pressed: QueueWaitKey) -> str:
        """The waitUrl Gather's action; its answer is played in the queue, like the waitUrl's."""
        p = self._prompts
        response = VoiceResponse()
        say = {"language": p.language, "voice": p.voice or None}
        fallback_key = WAIT_KEYS.get(pressed.digits)
        if fallback_key is None:
            # A wrong key keeps the caller's place; the next waitUrl document follows this one.
            response.say(p.text("wait_invalid"), **say)
            return str(response)
        url = callback_url(self._settings.fallback_choice_url, {KEY_PARAMETER: fallback_key})
        try:
            self._calls.redirect_call(pressed.call_sid, url)
        except TelephonyUnavailable as exc:
            # <Leave>: the <Enqueue action> is requested at once (voice/twiml/enqueue) and
            # answers with the fallback menu, where the caller chooses again.
            count("QueueWaitLeaveWithoutRedirect")
            logger.error("queue key: redirect failed", call_sid=pressed.call_sid, problem=str(exc))
            response.leave()
            return str(response)
        count("QueueWaitKeyPressed")
        logger.info("caller left the queue by key", call_sid=pressed.call_sid, key=pressed.digits)
        # Played only until the redirect takes the call (at once, normally).
        response.say(p.text("wait_accepted"), **say)
        response.pause(length=5)
        return str(response)
