"""The recording use cases: accept Twilio's callback, copy the media to S3 and prove the copy,
let Twilio's copy go, transcribe per speaker, and serve playback and transcripts to the staff
who may hear them.

Safety rules this module keeps (see docs/recordings.md):
- The webhook only notes the callback and enqueues; the download happens in the queue worker.
- Twilio's copy is deleted only after S3 has been read back and matches the download byte for
  byte (size and SHA-256), and only if the stage is configured to delete.
- Every step is idempotent (the recording's item in the recordings table is the record of what
  was done), so a re-delivered callback or message copies and transcribes nothing twice.
- Any failure raises: the message returns to the queue, is retried, and after the retries lands
  in the dead-letter queue, which alarms. Twilio's copy stays until a copy is verified.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib.conversations.events import CONFERENCE, rfc2822_ms
from chalicelib.platform.errors import ContactCenterError, NotFound
from chalicelib.platform.observability import count, logger, timing_ms
from chalicelib.recordings.domain import (
    CallContext,
    ChannelMap,
    CopyInProgress,
    CopyJob,
    CopyNotVerified,
    MappingSource,
    RecordingCallback,
    StoredObject,
    call_sids,
    channel_map,
    conversation_id_for,
    first_joined,
    inspect_wav,
    may_listen,
    object_key,
    object_metadata,
    recording_sid_of_job,
    speaker_turns,
    transcript_document,
    transcript_keys,
    transcription_job_name,
    verify_copy,
)

if TYPE_CHECKING:
    from chalicelib.conversations.events import Event
    from chalicelib.platform.settings import RecordingSettings
    from chalicelib.recordings.archive import RecordingArchive
    from chalicelib.recordings.store import RecordingStore
    from chalicelib.recordings.transcriber import Transcriber

Clock = Callable[[], int]


class NotAllowed(ContactCenterError):
    """The signed-in staff member may not hear this conversation (HTTP 403)."""


class CopyQueue(Protocol):
    """The copy worker's SQS queue (chalicelib/platform/work_queue.py)."""

    def send(self, body: str, delay_seconds: int = 0) -> str: ...


class RecordingMedia(Protocol):
    """Twilio's copy of a recording, at its REST API (chalicelib/telephony/rest.py)."""

    def fetch_recording_media(
        self, recording_sid: str, channels: int, timeout: float = 120.0
    ) -> bytes: ...

    def delete_recording(self, recording_sid: str) -> bool: ...


class ConversationEvents(Protocol):
    """The conversations area's stored events (chalicelib/conversations/store.py)."""

    def resolve(self, sids: Iterable[str]) -> str | None: ...

    def events(self, conversation_id: str) -> list[Event]: ...


class CallFacts(Protocol):
    """The conversation record, current as of every stored event (conversations/facts.py)."""

    def current_record(self, conversation_id: str) -> dict[str, Any] | None: ...


@dataclass(frozen=True)
class CopyResult:
    recording_sid: str
    copied: bool  # False: an earlier delivery had already copied it
    key: str
    twilio_copy: str  # kept | deleted | already-gone
    transcription: str  # started | already-started | disabled | not-started


# The label the softphone gives an outbound call's customer (chalicelib.softphone.calls); the
# conference status callback names each participant's label (`ParticipantLabel`,
# https://www.twilio.com/docs/voice/api/conference-resource#conference-status-callback).
CUSTOMER_LABEL = "customer"


def answered_agents(conversation: dict[str, Any] | None) -> set[str]:
    """Agents who were on the customer's call, per the conversation record: who answered and
    every offer that ended answered (a transfer's second agent included)."""
    if not conversation:
        return set()
    agents = {str(conversation.get("answered_by") or "")}
    agents |= {
        str(o.get("agent_id") or "")
        for o in conversation.get("offers", []) or []
        if o.get("outcome") == "answered"
    }
    return agents - {""}


FOLLOW_UP_OUTCOMES = ("voicemail", "callback")


def follow_up_listeners(
    conversation: dict[str, Any] | None, agent_id: str, agent_team: str
) -> set[str]:
    """Who may hear a voicemail (issue 18): the rep it is assigned to (the customer's owner),
    and, while it is assigned to nobody, `agent_id` if they are of the caller's team (the team's
    inbox, where anyone may take it). Nobody "was on" a voicemail, so `answered_agents` alone
    refused the very rep who must call back."""
    if not conversation or conversation.get("outcome") not in FOLLOW_UP_OUTCOMES:
        return set()
    owner = str(conversation.get("owner_agent_id") or "")
    if owner:
        return {owner}
    team = str(conversation.get("team") or "")
    return {agent_id} if team and team == agent_team else set()


# How long a copy claim holds: the copy worker's Lambda timeout (300 s, infra/resources.json
# CopyWorker) and a margin, so a claim outlives the job that took it and lapses after a crash.
COPY_LEASE_SECONDS = 360


class RecordingPipeline:
    """Timestamps come from the injected clock, so a rehearsed day stamps its own hours."""

    def __init__(
        self,
        store: RecordingStore,
        queue: CopyQueue,
        archive: RecordingArchive,
        transcriber: Transcriber,
        twilio: RecordingMedia,
        events: ConversationEvents,
        facts: CallFacts,
        settings: RecordingSettings,
        clock: Clock,
    ) -> None:
        self._store = store
        self._queue = queue
        self._archive = archive
        self._transcriber = transcriber
        self._twilio = twilio
        self._events = events
        self._facts = facts
        self._settings = settings
        self._clock = clock
        # Who holds a copy claim: one name per pipeline (per Lambda container).
        self._claimant = uuid.uuid4().hex

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock() / 1000, UTC)

    # --- the callback ---------------------------------------------------------------------

    def accept_callback(
        self, callback: RecordingCallback, context: dict[str, str] | None = None
    ) -> str:
        """Note the callback and hand the copy to the queue; return what was done.

        `queued`: a copy job is on the queue. `duplicate`: the recording is already copied.
        `no-media`: Twilio reports the recording absent or failed; there is nothing to copy.
        """
        log: dict[str, Any] = {
            "recording_sid": callback.recording_sid,
            "conference_sid": callback.conference_sid,
            "call_sid": callback.call_sid,
        }
        now = self._now()
        store = self._store
        if not callback.is_complete:
            store.mark_received(
                callback.recording_sid,
                now,
                twilio_status=callback.status,
                error_code=callback.error_code,
                conference_sid=callback.conference_sid,
                call_sid=callback.call_sid,
            )
            count("RecordingWithoutMedia")
            logger.warning(
                "recording has no media to copy",
                status=callback.status,
                error_code=callback.error_code,
                **log,
            )
            return "no-media"
        status = store.mark_received(
            callback.recording_sid,
            now,
            conference_sid=callback.conference_sid,
            call_sid=callback.call_sid,
            twilio_status=callback.status,
        )
        if status == "copied":
            count("RecordingCallbackDuplicate")
            logger.info("recording already copied, callback ignored", **log)
            return "duplicate"
        job = callback.copy_job(received_at=now, context=context)
        self._queue.send(job.to_json(), delay_seconds=self._settings.recording_copy_delay_seconds)
        count("RecordingCopyQueued")
        logger.info("recording copy queued", channels=job.channels, **log)
        return "queued"

    # --- the copy -------------------------------------------------------------------------

    def call_context(self, job: CopyJob) -> CallContext:
        """What the conversations area knows about the recording's call.

        The conversation: named by our callback URL (`?conversation=`), or by the voicemail's
        own CallSid, or linked to the conference by TaskRouter's events. The join order: the
        conference's `participant-join` callbacks stored with the conversation's events.
        """
        conversation_id = job.conversation_hint or job.call_sid
        if not conversation_id and job.is_conference:
            conversation_id = self._events.resolve([job.conference_sid]) or ""
        if not conversation_id:
            return CallContext(agent_ids=frozenset({job.agent_hint} - {""}))
        joins: list[tuple[int, int, str]] = []
        labelled_customer = ""
        if job.is_conference:
            for event in self._events.events(conversation_id):
                form = event.form
                if (
                    event.source == CONFERENCE
                    and form.get("StatusCallbackEvent") == "participant-join"
                    and form.get("ConferenceSid") == job.conference_sid
                    and form.get("CallSid")
                ):
                    sequence = int(form.get("SequenceNumber") or 2**31)
                    joins.append((sequence, rfc2822_ms(form.get("Timestamp")), form["CallSid"]))
                    if form.get("ParticipantLabel") == CUSTOMER_LABEL:
                        labelled_customer = form["CallSid"]
        current = self._facts.current_record(conversation_id)
        agents = answered_agents(current)
        # An outbound conversation is keyed by the rep's leg: its customer is the participant
        # labelled so (chalicelib.softphone.outbound), in Twilio's participant-join callback.
        outbound = (current or {}).get("direction") == "outbound"
        customer = labelled_customer if outbound else conversation_id
        return CallContext(
            conversation_id=conversation_id,
            customer_call_sid=customer if outbound else "",
            first_joined_call_sid=first_joined(joins),
            agent_call_sids=frozenset(sid for _, _, sid in joins if sid != customer),
            agent_ids=frozenset(agents | ({job.agent_hint} - {""})),
        )

    def copy_recording(self, job: CopyJob) -> CopyResult:
        """Copy one recording to S3, verified; then let Twilio's copy go and start
        transcription."""
        record = self._store.get(job.recording_sid) or {}
        copied = record.get("status") != "copied"
        if copied:
            if not self._store.claim_copy(
                job.recording_sid, self._claimant, self._now(), COPY_LEASE_SECONDS
            ):
                count("RecordingCopyClaimHeld")
                raise CopyInProgress(f"{job.recording_sid} is being copied by another job")
            record = self._copy(job)
        else:
            count("RecordingCopySkippedDuplicate")
            logger.info(
                "recording already copied, not copying again",
                recording_sid=job.recording_sid,
                key=record.get("key"),
            )
        twilio_copy = self._release_twilio_copy(record)
        transcription = self._start_transcription(record)
        return CopyResult(job.recording_sid, copied, str(record["key"]), twilio_copy, transcription)

    def _copy(self, job: CopyJob) -> dict[str, Any]:
        started = time.monotonic()
        context = self.call_context(job)
        mapping = channel_map(job, context)
        conversation_id = conversation_id_for(job, context)
        log: dict[str, Any] = {
            "recording_sid": job.recording_sid,
            "conversation_id": conversation_id,
        }
        if not context.conversation_id:
            count("RecordingUnlinked")
            logger.warning(
                "recording not linked to a conversation yet; filed under its own sid",
                conference_sid=job.conference_sid,
                **log,
            )
        if mapping.source is MappingSource.TASKROUTER_ORDER:
            count("RecordingChannelsAssumed")

        data = self._twilio.fetch_recording_media(job.recording_sid, job.channels)
        audio = inspect_wav(data, job.channels)
        key = object_key(job, conversation_id)
        archive = self._archive
        archive.put_recording(
            key,
            data,
            audio.sha256_b64,
            object_metadata(job, conversation_id, context, mapping, audio),
        )
        stored = archive.stored(key, reread=True)
        verify_copy(audio, stored)

        record = self._store.record(
            job.recording_sid,
            status="copied",
            conversation_id=conversation_id,
            conference_sid=job.conference_sid,
            call_sid=job.call_sid,
            key=key,
            version_id=stored.version_id,
            size=stored.size,
            sha256=stored.sha256_b64,
            channels=audio.channels,
            customer_channel=mapping.customer_channel or 0,
            agent_channel=mapping.agent_channel or 0,
            channel_mapping=mapping.source.value,
            agent_ids=sorted(context.agent_ids),
            call_sids=call_sids(job, context),
            duration_seconds=job.duration_seconds,
            started_at=job.started_at.isoformat(),
            source=job.source,
            copied_at=self._now().isoformat(),
        )
        count("RecordingCopied")
        timing_ms("RecordingCopyMs", (time.monotonic() - started) * 1000)
        logger.info(
            "recording copied and verified",
            key=key,
            size=stored.size,
            channels=audio.channels,
            channel_mapping=mapping.source.value,
            **log,
        )
        return record

    def _release_twilio_copy(self, record: dict[str, Any]) -> str:
        """Delete Twilio's copy if configured, after checking S3 still holds the verified
        bytes."""
        sid = str(record["recording_sid"])
        if record.get("twilio_copy") in ("deleted", "already-gone"):
            return str(record["twilio_copy"])
        if self._settings.recording_twilio_copy != "delete":
            return "kept"
        stored = self._archive.stored(str(record["key"]))
        expected = StoredObject(str(record["key"]), int(record["size"]), str(record["sha256"]))
        if (stored.size, stored.sha256_b64) != (expected.size, expected.sha256_b64):
            count("RecordingCopyMismatch")
            raise CopyNotVerified(
                f"{stored.key} no longer matches the verified copy; Twilio's copy is kept"
            )
        deleted = self._twilio.delete_recording(sid)
        state = "deleted" if deleted else "already-gone"
        self._store.record(sid, twilio_copy=state, twilio_deleted_at=self._now().isoformat())
        count("RecordingTwilioCopyDeleted")
        logger.info("twilio copy deleted after verification", recording_sid=sid, outcome=state)
        return state

    def _start_transcription(self, record: dict[str, Any]) -> str:
        settings = self._settings
        sid = str(record["recording_sid"])
        if not settings.transcription_enabled:
            return "disabled"
        if record.get("transcription_status"):
            return "already-started"
        raw_key, _ = transcript_keys(str(record["key"]))
        started = self._transcriber.start(
            transcription_job_name(sid),
            f"s3://{self._archive.bucket}/{record['key']}",
            settings.transcription_language,
            raw_key,
        )
        self._store.record(
            sid,
            transcription_status="started",
            transcription_language=settings.transcription_language,
            transcription_started_at=self._now().isoformat(),
        )
        if started:
            count("TranscriptionStarted")
            logger.info("transcription started", recording_sid=sid)
        return "started" if started else "already-started"

    # --- the transcript -------------------------------------------------------------------

    def attach_transcript(self, job_name: str, job_status: str) -> str:
        """Turn a finished Transcribe job into speaker turns stored beside the recording.

        Returns `attached`, `failed`, or `ignored` (not one of ours, or an unknown recording).
        """
        sid = recording_sid_of_job(job_name)
        if sid is None:
            return "ignored"
        store = self._store
        record = store.get(sid)
        if record is None or record.get("status") != "copied":
            count("TranscriptForUnknownRecording")
            logger.warning(
                "transcription finished for a recording we have not copied",
                recording_sid=sid,
                job_status=job_status,
            )
            return "ignored"
        if job_status != "COMPLETED":
            _, reason = self._transcriber.status(job_name)
            store.record(sid, transcription_status="failed", transcription_failure=reason[:500])
            count("TranscriptionFailed")
            logger.error("transcription failed", recording_sid=sid, reason=reason)
            return "failed"
        raw_key, turns_key = transcript_keys(str(record["key"]))
        archive = self._archive
        raw = archive.get_json(raw_key)
        mapping = ChannelMap(
            customer_channel=int(record.get("customer_channel") or 0) or None,
            agent_channel=int(record.get("agent_channel") or 0) or None,
            source=MappingSource(str(record.get("channel_mapping", MappingSource.SINGLE_PARTY))),
        )
        language = str(
            record.get("transcription_language") or self._settings.transcription_language
        )
        turns = speaker_turns(raw, mapping, language)
        conversation_id = str(record["conversation_id"])
        archive.put_json(turns_key, transcript_document(sid, conversation_id, language, turns))
        store.record(
            sid,
            transcription_status="completed",
            transcript_key=turns_key,
            turn_count=len(turns),
            transcribed_at=self._now().isoformat(),
        )
        count("TranscriptAttached")
        logger.info(
            "transcript attached",
            recording_sid=sid,
            conversation_id=conversation_id,
            turns=len(turns),
        )
        return "attached"

    # --- playback and transcripts ---------------------------------------------------------

    def _agents_on_conversation(
        self, conversation_id: str, records: list[dict[str, Any]], agent_id: str, team: str
    ) -> set[str]:
        """Who was on the call: the conversation record's agents, and the agents our own
        recording items name (in case the record is not built yet); for a voicemail, who it is
        assigned to."""
        agents = {str(a) for r in records for a in r.get("agent_ids", []) or []}
        conversation = self._facts.current_record(conversation_id)
        return (
            agents
            | answered_agents(conversation)
            | follow_up_listeners(conversation, agent_id, team)
        )

    def _authorised_records(
        self, conversation_id: str, agent_id: str, is_supervisor: bool, team: str = ""
    ) -> list[dict[str, Any]]:
        records = sorted(
            self._store.for_conversation(conversation_id),
            key=lambda r: str(r.get("started_at", "")),
        )
        if not records:
            raise NotFound(f"no recording for conversation {conversation_id}")
        if not may_listen(
            agent_id,
            is_supervisor,
            self._agents_on_conversation(conversation_id, records, agent_id, team),
        ):
            count("RecordingAccessDenied")
            logger.warning(
                "recording access denied", agent_id=agent_id, conversation_id=conversation_id
            )
            raise NotAllowed("only supervisors and the agents on this call may hear it")
        return records

    def playback(
        self, conversation_id: str, agent_id: str, is_supervisor: bool, team: str = ""
    ) -> dict[str, Any]:
        records = self._authorised_records(conversation_id, agent_id, is_supervisor, team)
        ttl = self._settings.recording_url_ttl_seconds
        logger.info(
            "recording playback granted", agent_id=agent_id, conversation_id=conversation_id
        )
        return {
            "conversation_id": conversation_id,
            "expires_in": ttl,
            "recordings": [
                {
                    "recording_sid": r["recording_sid"],
                    "url": self._archive.playback_url(str(r["key"]), ttl),
                    "started_at": r.get("started_at"),
                    "duration_seconds": int(r.get("duration_seconds", 0)),
                    "channels": int(r.get("channels", 0)),
                    "customer_channel": int(r.get("customer_channel") or 0) or None,
                    "agent_channel": int(r.get("agent_channel") or 0) or None,
                    "source": r.get("source", ""),
                }
                for r in records
            ],
        }

    def transcript(
        self, conversation_id: str, agent_id: str, is_supervisor: bool, team: str = ""
    ) -> dict[str, Any]:
        records = self._authorised_records(conversation_id, agent_id, is_supervisor, team)
        parts = []
        for r in records:
            status = str(r.get("transcription_status") or "not-started")
            part: dict[str, Any] = {
                "recording_sid": r["recording_sid"],
                "status": status,
                "turns": [],
            }
            if status == "completed" and r.get("transcript_key"):
                document = self._archive.get_json(str(r["transcript_key"]))
                part["language"] = document.get("language")
                part["turns"] = document.get("turns", [])
            parts.append(part)
        return {"conversation_id": conversation_id, "recordings": parts}
