"""Call recordings as the contact center sees them: whose voice is on which channel, where the
file lives, whether the copy can be trusted, and what was said by whom.

Pure domain code: no boto3, no twilio, no chalice. The pipeline that moves bytes is in
`recording_pipeline.py`; this module decides names, mappings and checks.

Facts this module relies on (see docs/recordings.md):
- A dual-channel conference recording has the first participant to join on channel 1 and
  everyone else mixed on channel 2.
  https://www.twilio.com/en-us/changelog/dual-channel-conference-recordings-as-default-is-now-ga
- TaskRouter's conference instruction dials the agent into the conference (named after the
  task) and only moves the caller in once the agent has answered, so without better evidence
  the agent is channel 1 and the customer channel 2.
  https://www.twilio.com/docs/taskrouter/contact-center-blueprint/call-control-concepts
- Amazon Transcribe labels channels `ch_0`, `ch_1` (file channels 1 and 2) under
  `results.channel_labels.channels[].items[]`; punctuation items carry no times.
  https://docs.aws.amazon.com/transcribe/latest/dg/channel-id-output-batch.html
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import wave
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any

from pydantic import Field, field_validator, model_validator

from chalicelib.platform.errors import ContactCenterError
from chalicelib.recordings.job_names import TRANSCRIPTION_JOB_PREFIX
from chalicelib.telephony.forms import MAX_CALL_SECONDS, TwilioForm

RECORDINGS_PREFIX = "recordings/"
TRANSCRIPTS_PREFIX = "transcripts/"
TRANSCRIBE_OUTPUT_PREFIX = "transcribe-output/"
# Languages written without spaces between words: Transcribe's tokens are joined directly.
UNSPACED_LANGUAGES = ("ja", "zh", "th")


class CorruptMedia(ContactCenterError):
    """What Twilio sent is not the complete recording we asked for."""


class CopyInProgress(ContactCenterError):
    """Another copy job holds this recording's claim: this one retries later (SQS), by when the
    other has copied it (then it is skipped) or its claim has lapsed (then this one copies)."""


class CopyNotVerified(ContactCenterError):
    """The object in S3 does not match what was downloaded: never delete Twilio's copy."""


class Speaker(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    UNKNOWN = "unknown"


class MappingSource(StrEnum):
    # The conference's participant-join callbacks say who joined first.
    JOIN_ORDER = "join-order"
    # No join callbacks: TaskRouter's conference instruction puts the agent in first.
    TASKROUTER_ORDER = "taskrouter-order"
    # A single-party recording (voicemail <Record>): only the caller speaks.
    SINGLE_PARTY = "single-party"


# --- the status callback ------------------------------------------------------------------


def rfc2822(value: Any) -> datetime | None:
    """Twilio's recording timestamps (`Tue, 14 Jan 2025 17:03:12 +0000`, day may be 1 digit)."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value
    try:
        parsed = parsedate_to_datetime(str(value))
    except (TypeError, ValueError) as exc:
        raise ValueError("is not an RFC 2822 date") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class RecordingCallback(TwilioForm):
    """Twilio's recording status callback, for a conference recording or a `<Record>`.

    https://www.twilio.com/docs/voice/api/recording#recordingstatuscallback
    """

    recording_sid: str = Field(alias="RecordingSid", pattern=r"^RE[0-9a-fA-F]{32}$")
    account_sid: str = Field(alias="AccountSid", pattern=r"^AC[0-9a-fA-F]{32}$")
    # No file extension: the media format is chosen when fetching.
    recording_url: str = Field(alias="RecordingUrl", default="")
    status: str = Field(alias="RecordingStatus", min_length=1)
    duration_seconds: int = Field(alias="RecordingDuration", default=0, ge=0, le=MAX_CALL_SECONDS)
    channels: int = Field(alias="RecordingChannels", default=1, ge=1, le=2)
    # A conference recording carries ConferenceSid and no CallSid; a <Record> the opposite.
    conference_sid: str = Field(
        alias="ConferenceSid", default="", pattern=r"^(CF[0-9a-fA-F]{32})?$"
    )
    call_sid: str = Field(alias="CallSid", default="", pattern=r"^(CA[0-9a-fA-F]{32})?$")
    error_code: str = Field(alias="ErrorCode", default="0")
    source: str = Field(alias="RecordingSource", default="")
    started_at: datetime | None = Field(alias="RecordingStartTime", default=None)
    timestamp: datetime | None = Field(alias="Timestamp", default=None)

    _dates = field_validator("started_at", "timestamp", mode="before")(rfc2822)

    @model_validator(mode="after")
    def _belongs_somewhere(self) -> RecordingCallback:
        if not self.conference_sid and not self.call_sid:
            raise ValueError("neither ConferenceSid nor CallSid: the recording belongs nowhere")
        return self

    @property
    def is_complete(self) -> bool:
        """Media exists and can be copied (`absent`/`failed` recordings have none)."""
        return self.status == "completed" and self.error_code in ("", "0")

    def copy_job(self, received_at: datetime, context: Mapping[str, str] | None = None) -> CopyJob:
        context = context or {}
        return CopyJob(
            recording_sid=self.recording_sid,
            account_sid=self.account_sid,
            conference_sid=self.conference_sid,
            call_sid=self.call_sid,
            channels=self.channels,
            duration_seconds=self.duration_seconds,
            source=self.source,
            started_at=(self.started_at or self.timestamp or received_at).astimezone(UTC),
            conversation_hint=str(context.get("conversation", "")),
            agent_hint=str(context.get("agent", "")),
        )


@dataclass(frozen=True)
class CopyJob:
    """One recording to copy: the queue message, everything the worker needs and nothing else."""

    recording_sid: str
    account_sid: str
    conference_sid: str
    call_sid: str
    channels: int
    duration_seconds: int
    source: str
    started_at: datetime
    # Context our own callback URL carried (signed with it): `?conversation=...&agent=...`.
    conversation_hint: str = ""
    agent_hint: str = ""

    @property
    def is_conference(self) -> bool:
        return bool(self.conference_sid)

    def to_json(self) -> str:
        body = asdict(self)
        body["started_at"] = self.started_at.isoformat()
        return json.dumps(body, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> CopyJob:
        try:
            body = json.loads(text)
            body["started_at"] = datetime.fromisoformat(body["started_at"])
            return cls(**body)
        except (TypeError, KeyError, ValueError) as exc:
            raise CorruptMedia(f"unreadable copy job: {exc}") from exc


# --- who is on which channel --------------------------------------------------------------


@dataclass(frozen=True)
class CallContext:
    """What the conversations area knows about the call a recording belongs to."""

    # The customer's call sid (the conversation's key); "" while the conference is unlinked.
    conversation_id: str = ""
    # The customer's leg when it is not the conversation's key (an outbound call is keyed by
    # the rep's leg; its customer is the participant labelled `customer`).
    customer_call_sid: str = ""
    # From the conference's participant-join callbacks, in Twilio's sequence order.
    first_joined_call_sid: str = ""
    agent_call_sids: frozenset[str] = frozenset()
    agent_ids: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ChannelMap:
    customer_channel: int | None
    agent_channel: int | None
    source: MappingSource

    def speaker(self, channel: int) -> Speaker:
        if channel == self.customer_channel:
            return Speaker.CUSTOMER
        if channel == self.agent_channel:
            return Speaker.AGENT
        return Speaker.UNKNOWN


def channel_map(job: CopyJob, context: CallContext) -> ChannelMap:
    """Which channel holds the customer and which the agent.

    Channel 1 is whoever joined the conference first; channel 2 mixes everyone else (after a
    transfer that includes the second agent). With the join order known we trust it; without
    it, TaskRouter's conference instruction puts the agent in before the caller.
    """
    if not job.is_conference or job.channels == 1:
        return ChannelMap(customer_channel=1, agent_channel=None, source=MappingSource.SINGLE_PARTY)
    first = context.first_joined_call_sid
    customer = context.customer_call_sid or context.conversation_id
    if first and customer:
        if first == customer:
            return ChannelMap(customer_channel=1, agent_channel=2, source=MappingSource.JOIN_ORDER)
        return ChannelMap(customer_channel=2, agent_channel=1, source=MappingSource.JOIN_ORDER)
    return ChannelMap(customer_channel=2, agent_channel=1, source=MappingSource.TASKROUTER_ORDER)


def first_joined(joins: Iterable[tuple[int, int, str]]) -> str:
    """The call sid of the first participant to join, from (sequence number, epoch ms, call sid)
    of each `participant-join` callback of one conference. SequenceNumber orders a conference's
    callbacks; the timestamp only breaks ties between callbacks that lack it."""
    ordered = sorted(joins)
    return ordered[0][2] if ordered else ""


def conversation_id_for(job: CopyJob, context: CallContext) -> str:
    """The conversation is keyed by the customer's call. A voicemail names that call itself; a
    conference recording is linked to it by the conversations area. An unlinked conference
    recording is filed under the conference sid so it is never lost (metric
    `RecordingUnlinked`)."""
    if context.conversation_id:
        return context.conversation_id
    return job.call_sid or job.conference_sid


# --- where the copy lives -----------------------------------------------------------------


def object_key(job: CopyJob, conversation_id: str) -> str:
    """`recordings/YYYY/MM/DD/<conversation>/<recording>.wav`: a listing sorts by day (UTC), then
    conversation, and a lifecycle rule can act on the prefix."""
    day = job.started_at.astimezone(UTC).strftime("%Y/%m/%d")
    return f"{RECORDINGS_PREFIX}{day}/{conversation_id}/{job.recording_sid}.wav"


def transcript_keys(recording_key: str) -> tuple[str, str]:
    """Where Transcribe writes its raw output, and where our speaker turns go."""
    stem = recording_key.removeprefix(RECORDINGS_PREFIX).removesuffix(".wav")
    return f"{TRANSCRIBE_OUTPUT_PREFIX}{stem}.json", f"{TRANSCRIPTS_PREFIX}{stem}.turns.json"


def transcription_job_name(recording_sid: str) -> str:
    """Deterministic, so a repeated start is refused by Transcribe instead of paid twice."""
    return f"{TRANSCRIPTION_JOB_PREFIX}{recording_sid}"


def recording_sid_of_job(job_name: str) -> str | None:
    sid = job_name.removeprefix(TRANSCRIPTION_JOB_PREFIX)
    if job_name.startswith(TRANSCRIPTION_JOB_PREFIX) and sid.startswith("RE") and len(sid) == 34:
        return sid
    return None


def call_sids(job: CopyJob, context: CallContext) -> list[str]:
    customer = context.conversation_id or job.call_sid
    return sorted({s for s in (customer, job.call_sid, *context.agent_call_sids) if s})


def object_metadata(
    job: CopyJob,
    conversation_id: str,
    context: CallContext,
    mapping: ChannelMap,
    audio: AudioFacts,
) -> dict[str, str]:
    """S3 user metadata (ASCII, 2 KB in total): enough to make sense of the file on its own."""
    return {
        "conversation-id": conversation_id,
        "recording-sid": job.recording_sid,
        "conference-sid": job.conference_sid,
        "call-sids": ",".join(call_sids(job, context)),
        "agent-ids": ",".join(sorted(context.agent_ids)),
        "duration-seconds": str(job.duration_seconds),
        "channels": str(audio.channels),
        "customer-channel": str(mapping.customer_channel or ""),
        "agent-channel": str(mapping.agent_channel or ""),
        "channel-mapping": mapping.source.value,
        "source": job.source,
        "started-at": job.started_at.isoformat(),
    }


# --- is the copy what Twilio had ----------------------------------------------------------


@dataclass(frozen=True)
class AudioFacts:
    channels: int
    sample_rate: int
    frames: int
    size: int
    sha256_hex: str

    @property
    def sha256_b64(self) -> str:
        """The form S3's `ChecksumSHA256` uses."""
        return base64.b64encode(bytes.fromhex(self.sha256_hex)).decode()

    @property
    def seconds(self) -> float:
        return self.frames / self.sample_rate if self.sample_rate else 0.0


def inspect_wav(data: bytes, expected_channels: int) -> AudioFacts:
    """Check a downloaded WAV is whole and has the channels we asked for.

    A truncated download still parses its header; the frame count the header announces must
    match the bytes that arrived.
    """
    try:
        with wave.open(io.BytesIO(data), "rb") as wav:
            channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
            announced = wav.getnframes()
            present = len(wav.readframes(announced)) // (channels * width)
    except (wave.Error, EOFError) as exc:
        raise CorruptMedia(f"not a readable WAV file: {exc}") from exc
    if present != announced:
        raise CorruptMedia(f"truncated WAV: header announces {announced} frames, got {present}")
    if channels != expected_channels:
        raise CorruptMedia(f"WAV has {channels} channel(s), expected {expected_channels}")
    return AudioFacts(
        channels=channels,
        sample_rate=rate,
        frames=announced,
        size=len(data),
        sha256_hex=hashlib.sha256(data).hexdigest(),
    )


@dataclass(frozen=True)
class StoredObject:
    """What S3 reports about an object after it was written."""

    key: str
    size: int
    # The checksum S3 stored and validated on upload (ChecksumSHA256).
    sha256_b64: str
    version_id: str = ""
    # SHA-256 of the bytes read back, when they were ("" otherwise).
    read_sha256_b64: str = ""


def verify_copy(audio: AudioFacts, stored: StoredObject) -> None:
    """Raise CopyNotVerified unless S3 holds exactly the bytes we downloaded."""
    if stored.size != audio.size:
        raise CopyNotVerified(f"{stored.key}: S3 has {stored.size} bytes, downloaded {audio.size}")
    if stored.sha256_b64 != audio.sha256_b64:
        raise CopyNotVerified(f"{stored.key}: SHA-256 in S3 differs from the download")
    if stored.read_sha256_b64 and stored.read_sha256_b64 != audio.sha256_b64:
        raise CopyNotVerified(f"{stored.key}: bytes read back from S3 differ from the download")


# --- what was said, by whom ---------------------------------------------------------------


@dataclass(frozen=True)
class Turn:
    speaker: Speaker
    channel: int
    start: float
    end: float
    text: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "speaker": self.speaker.value,
            "channel": self.channel,
            "start": self.start,
            "end": self.end,
            "text": self.text,
        }


@dataclass
class _Word:
    channel: int
    start: float
    end: float
    tokens: list[tuple[str, bool]] = field(default_factory=list)  # (text, is_punctuation)


def _channel_number(label: str) -> int:
    """`ch_0` -> 1: Transcribe counts from zero, Twilio and our metadata from one."""
    try:
        return int(label.removeprefix("ch_")) + 1
    except ValueError as exc:
        raise CorruptMedia(f"unexpected channel label {label!r}") from exc


def _words(result: Mapping[str, Any]) -> list[_Word]:
    try:
        channels = result["results"]["channel_labels"]["channels"]
    except (KeyError, TypeError) as exc:
        raise CorruptMedia("transcript has no channel_labels: not channel-identified") from exc
    words: list[_Word] = []
    for channel in channels:
        number = _channel_number(str(channel["channel_label"]))
        last: _Word | None = None
        for item in channel.get("items", []):
            alternatives = item.get("alternatives") or [{}]
            content = str(alternatives[0].get("content", ""))
            if item.get("type") == "punctuation":
                if last is not None:
                    last.tokens.append((content, True))
                continue
            last = _Word(number, float(item["start_time"]), float(item["end_time"]))
            last.tokens.append((content, False))
            words.append(last)
    return sorted(words, key=lambda w: (w.start, w.channel))


def _join(words: Sequence[_Word], language: str) -> str:
    spaced = not language.lower().startswith(UNSPACED_LANGUAGES)
    text = ""
    for word in words:
        for token, is_punctuation in word.tokens:
            if text and spaced and not is_punctuation:
                text += " "
            text += token
    return text


def speaker_turns(
    result: Mapping[str, Any], mapping: ChannelMap, language: str, max_pause: float = 2.0
) -> list[Turn]:
    """Amazon Transcribe's channel-identified output as a conversation: consecutive words of one
    channel form a turn; the other channel speaking, or a pause longer than `max_pause` seconds,
    starts the next one. Turns are in time order."""
    turns: list[Turn] = []
    group: list[_Word] = []

    def close() -> None:
        if group:
            channel = group[0].channel
            turns.append(
                Turn(
                    speaker=mapping.speaker(channel),
                    channel=channel,
                    start=group[0].start,
                    end=max(w.end for w in group),
                    text=_join(group, language),
                )
            )
            group.clear()

    for word in _words(result):
        if group and (word.channel != group[0].channel or word.start - group[-1].end > max_pause):
            close()
        group.append(word)
    close()
    return turns


def transcript_document(
    recording_sid: str, conversation_id: str, language: str, turns: Sequence[Turn]
) -> dict[str, Any]:
    return {
        "conversation_id": conversation_id,
        "recording_sid": recording_sid,
        "language": language,
        "turns": [t.as_dict() for t in turns],
    }


# --- who may listen -----------------------------------------------------------------------


def may_listen(agent_id: str, is_supervisor: bool, agents_on_call: Iterable[str]) -> bool:
    """Supervisors hear every call; an agent only the calls they were on."""
    return is_supervisor or agent_id in set(agents_on_call)
