"""What a live transcript is: Twilio's real-time transcription callbacks turned into utterances
on a speaker, and a call's sentiment so far. Pure: no AWS, no HTTP.

Twilio Real-Time Transcription (Public Beta) posts one form per event to the StatusCallbackUrl
given when the transcription starts (https://www.twilio.com/docs/voice/twiml/transcription,
"statusCallbackUrl"; the REST start is the Calls Transcriptions subresource,
https://www.twilio.com/docs/voice/api/realtime-transcription-resource):
`TranscriptionEvent` is `transcription-started`, `transcription-content`,
`transcription-stopped` or `transcription-error`; every event carries `AccountSid`, `CallSid`,
`TranscriptionSid`, `Timestamp`; a content event also `Track` (`inbound_track` or
`outbound_track`), `SequenceId`, `Final` (`true`/`false`), `LanguageCode` and
`TranscriptionData`, JSON text `{"transcript": ..., "confidence": ...}`. Callbacks that fail
with 5xx, 408, 425 or 429 are retried (error 17580), and separate HTTP requests arrive in any
order: an utterance's identity is (TranscriptionSid, SequenceId), and SequenceId orders a
transcription's lines (`in_order`).

Whose voice is on which track. Tracks are named from Twilio's side of the leg the transcription
runs on: "the inbound track represents the audio received by Twilio, and the outbound track
represents the audio that Twilio generates on the call ... if the caller is connected to agent
via <Dial>, then the outbound track will contain the audio spoken by agent"
(https://www.twilio.com/docs/voice/tutorials/how-record-single-side-call). We start the
transcription on the customer's leg (inbound: the caller's own call; outbound: the leg placed
to the customer), so Twilio receives the customer's voice from that leg (inbound_track) and
sends it the conference's audio, the agent (outbound_track). The leg's role travels in the
callback URL (`leg=customer`), so a transcription started on an agent's leg one day maps the
other way instead of silently swapping speakers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Literal

from chalicelib.platform.errors import InvalidInput

# The label our outbound calls give the customer's participant (chalicelib/softphone/outbound.py);
# conference status callbacks carry it as `ParticipantLabel`
# (https://www.twilio.com/docs/voice/api/conference-resource#conference-status-callback).
CUSTOMER_LABEL = "customer"


def customer_leg_joined(
    form: Mapping[str, str], query: Mapping[str, str]
) -> tuple[str, str] | None:
    """(the customer's leg, the conversation) when this conference callback says the customer
    joined the agent's conference; None for any other event or participant.

    Inbound, the conversation is the caller's own leg. Outbound, it is our rep's leg, and the
    customer is the participant labelled `customer`. A colleague on an internal call, an agent
    joining, or a supervisor is not a customer."""
    conversation = query.get("conversation", "")
    leg = form.get("CallSid", "")
    if form.get("StatusCallbackEvent") != "participant-join" or not conversation or not leg:
        return None
    label = form.get("ParticipantLabel")
    # A labelled participant is the customer only by its label (an outbound rep's own leg is
    # the conversation, labelled `agent:<id>`); an unlabelled one only as the caller's own leg.
    if (label == CUSTOMER_LABEL) if label else (leg == conversation):
        return leg, conversation
    return None


Speaker = Literal["customer", "agent"]
LegRole = Literal["customer", "agent"]
Sentiment = Literal["POSITIVE", "NEGATIVE", "NEUTRAL", "MIXED"]

EVENTS = frozenset(
    {
        "transcription-started",
        "transcription-content",
        "transcription-stopped",
        "transcription-error",
    }
)
TRACKS = frozenset({"inbound_track", "outbound_track"})
# The legs we transcribe: the transcription's Track is both_tracks (one session, both voices).
START_TRACK = "both_tracks"


def speaker_of(track: str, leg: LegRole) -> Speaker:
    """Who spoke a line, from its track and whose leg the transcription runs on."""
    if track not in TRACKS:
        raise InvalidInput(f"unknown Track {track!r}")
    other: Speaker = "agent" if leg == "customer" else "customer"
    return leg if track == "inbound_track" else other


def parse_timestamp(value: str) -> int:
    """Epoch milliseconds of a callback's Timestamp: ISO 8601 (as Twilio's transcription
    examples show) or RFC 2822 (the other voice callbacks); anything else is a bad request."""
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError) as exc:
            raise InvalidInput(f"unreadable Timestamp {value!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


@dataclass(frozen=True)
class TranscriptionCallback:
    event: str
    call_sid: str
    transcription_sid: str
    at_ms: int
    track: str = ""
    sequence: int = 0
    final: bool = False
    text: str = ""
    confidence: float | None = None

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> TranscriptionCallback:
        event = form.get("TranscriptionEvent", "")
        if event not in EVENTS:
            raise InvalidInput(f"unknown TranscriptionEvent {event!r}")
        call_sid = form.get("CallSid", "")
        transcription_sid = form.get("TranscriptionSid", "")
        if not call_sid.startswith("CA") or not transcription_sid:
            raise InvalidInput("CallSid and TranscriptionSid are required")
        at_ms = parse_timestamp(form.get("Timestamp", ""))
        if event != "transcription-content":
            return cls(event, call_sid, transcription_sid, at_ms)
        track = form.get("Track", "")
        if track not in TRACKS:
            raise InvalidInput(f"unknown Track {track!r}")
        try:
            sequence = int(form.get("SequenceId", ""))
            data = json.loads(form.get("TranscriptionData", ""))
        except ValueError as exc:
            raise InvalidInput("SequenceId or TranscriptionData unreadable") from exc
        if not isinstance(data, dict) or not isinstance(data.get("transcript"), str):
            raise InvalidInput("TranscriptionData has no transcript")
        confidence = data.get("confidence")
        return cls(
            event,
            call_sid,
            transcription_sid,
            at_ms,
            track=track,
            sequence=sequence,
            final=form.get("Final", "").lower() == "true",
            text=data["transcript"].strip(),
            confidence=float(confidence) if isinstance(confidence, int | float) else None,
        )


@dataclass(frozen=True)
class Utterance:
    """One final line of the call, on its speaker. (transcription_sid, sequence) is its identity."""

    call_sid: str
    transcription_sid: str
    sequence: int
    at_ms: int
    speaker: Speaker
    text: str
    confidence: float | None = None
    sentiment: Sentiment | None = None
    scores: Mapping[str, float] = field(default_factory=dict)


def utterance_of(callback: TranscriptionCallback, leg: LegRole) -> Utterance | None:
    """The line a callback carries, or None (not a final content event, or silence)."""
    if callback.event != "transcription-content" or not callback.final or not callback.text:
        return None
    return Utterance(
        callback.call_sid,
        callback.transcription_sid,
        callback.sequence,
        callback.at_ms,
        speaker_of(callback.track, leg),
        callback.text,
        callback.confidence,
    )


def in_order(lines: Iterable[Utterance]) -> list[Utterance]:
    """The call's lines in the order they were spoken, however they arrived; one per identity.

    Within one transcription, SequenceId is the order Twilio produced the results in, whatever
    its Timestamp means (the docs do not say whether it is when the words were said or when
    the callback was sent); transcriptions of one call (a restart) follow one another by their
    first line's time."""
    unique = {(u.transcription_sid, u.sequence): u for u in lines}
    first: dict[str, int] = {}
    for u in unique.values():
        first[u.transcription_sid] = min(first.get(u.transcription_sid, u.at_ms), u.at_ms)
    return sorted(
        unique.values(),
        key=lambda u: (first[u.transcription_sid], u.transcription_sid, u.sequence),
    )


# --- sentiment so far and alerts -----------------------------------------------------------


@dataclass(frozen=True)
class CallMood:
    """The customer's sentiment so far, and what should bring a supervisor to the call."""

    sentiment: Sentiment | None
    negative: float
    scored_lines: int
    keywords: tuple[str, ...]
    flagged: bool
    reasons: tuple[str, ...]


def keyword_hits(lines: Iterable[Utterance], keywords: Sequence[str]) -> tuple[str, ...]:
    """The alert words the customer said, in the list's order. Substrings: Japanese has no
    spaces between words."""
    said = "\n".join(u.text for u in lines if u.speaker == "customer")
    return tuple(word for word in keywords if word and word in said)


def call_mood(
    lines: Sequence[Utterance], keywords: Sequence[str], negative_threshold: float
) -> CallMood:
    """The customer's mood over the call so far: a moving average of their lines' scores in
    which each new line counts half, so a call that turns sour shows it without waiting for the
    average of a long friendly start to move."""
    scored = [u for u in lines if u.speaker == "customer" and u.scores]
    means: dict[str, float] = {}
    for line in scored:
        for name, value in line.scores.items():
            previous = means.get(name)
            means[name] = float(value) if previous is None else (previous + float(value)) / 2
    sentiment: Sentiment | None = None
    if means:
        best = max(means, key=lambda name: means[name])
        sentiment = best.upper()  # type: ignore[assignment]
    negative = round(means.get("Negative", 0.0), 4)
    hits = keyword_hits(lines, keywords)
    reasons: list[str] = []
    if scored and (negative >= negative_threshold or sentiment == "NEGATIVE"):
        reasons.append("negative")
    if hits:
        reasons.append("keyword")
    return CallMood(sentiment, negative, len(scored), hits, bool(reasons), tuple(reasons))


# --- what a live transcript costs ------------------------------------------------------------


def comprehend_units(text: str) -> int:
    """Comprehend bills natural-language requests in units of 100 characters, at least 3 units
    a request (https://aws.amazon.com/comprehend/pricing/); each document of a batch is counted
    as its own request here (the stricter reading)."""
    return max(3, -(-len(text) // 100))


def transcript_cost_usd(
    lines: Sequence[Utterance],
    transcribed_ms: int,
    usd_per_minute: float,
    usd_per_unit: float,
) -> Decimal:
    """Real-Time Transcription by started minute (assumption: billed per minute, rounded up,
    as Twilio bills voice minutes) plus Comprehend's units for every line scored."""
    minutes = -(-max(0, transcribed_ms) // 60_000)
    units = sum(comprehend_units(u.text) for u in lines)
    cost = Decimal(str(usd_per_minute)) * minutes + Decimal(str(usd_per_unit)) * units
    return cost.quantize(Decimal("0.000001"))
