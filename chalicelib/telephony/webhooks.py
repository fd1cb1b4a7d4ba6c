"""Every URL path Twilio calls us on, declared once.

Twilio signs the exact URL it requests, and we check the signature against the configured
public base URL plus the route's path (chalicelib/api/web.py). A path written twice, once where
the route is declared and once where a callback URL is built, could be renamed on one side only
and every callback to it would then fail its signature. So the blueprints declare their routes
with these names, and the code that hands Twilio a callback URL builds it from the same names.
"""

from __future__ import annotations

# Voice: the incoming call and what its legs report.
# https://www.twilio.com/docs/usage/webhooks/voice-webhooks
INCOMING = "/twilio/voice/incoming"
VOICE_STATUS = "/twilio/voice/status"
OUTBOUND = "/twilio/voice/outbound"
# An outbound call's rep leg: its <Dial action> (it left the conference), and where it is
# redirected when the customer's phone never connected.
OUTBOUND_LEFT = "/twilio/voice/outbound/left"
OUTBOUND_NOT_CONNECTED = "/twilio/voice/outbound/not-connected"
# The escalation's fallback: the number's fallback URL, the keypad menu, voicemail, the queue's
# <Enqueue action>, and the agent's leg of a callback.
FALLBACK = "/twilio/voice/fallback"
FALLBACK_CHOICE = "/twilio/voice/fallback/choice"
VOICEMAIL = "/twilio/voice/voicemail"
QUEUE_EXIT = "/twilio/voice/queue-exit"
# While the caller waits in <Enqueue>: the waitUrl, and its <Gather>'s action (issue 18).
QUEUE_WAIT = "/twilio/voice/queue-wait"
QUEUE_WAIT_CHOICE = "/twilio/voice/queue-wait/choice"
CALLBACK_CONNECT = "/twilio/voice/callback/{task_sid}/connect"
# The softphone: a colleague joining a transferred call, and a task's agent leg ending.
TRANSFER_JOIN = "/twilio/voice/transfer/join"
TASK_LEG_ENDED = "/twilio/voice/task-leg/ended"
# Conferences and recordings.
CONFERENCE_STATUS = "/twilio/conference/status"
RECORDING_STATUS = "/twilio/recordings/status"
# Real-Time Transcription's StatusCallbackUrl (chalicelib/transcripts).
TRANSCRIPTION_REALTIME = "/twilio/transcriptions/realtime"
# TaskRouter.
TASKROUTER_ASSIGNMENT = "/twilio/taskrouter/assignment"
TASKROUTER_EVENTS = "/twilio/taskrouter/events"


def is_twilio_path(path: str) -> bool:
    """Whether a route is one of these webhooks: they all live under the first segment of
    INCOMING's path (the request limits of chalicelib/platform/limits.py key on it)."""
    return path.startswith(INCOMING[: INCOMING.index("/", 1) + 1])
