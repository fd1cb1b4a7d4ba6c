"""Twilio Real-Time Transcription as the app meets it: the Calls Transcriptions subresource
starts a transcription on a call in progress, and its StatusCallbackUrl receives one form per
event while the call goes on.

What is played, from Twilio's pages (https://www.twilio.com/docs/voice/api/realtime-transcription-resource,
https://www.twilio.com/docs/voice/twiml/transcription) and its OpenAPI description
(`CreateRealtimeTranscriptionRequest`, `api.v2010.account.call.realtime_transcription`):
- the create is refused for a call that is not in progress (21220, as the Call update is) and
  for a Track outside inbound_track / outbound_track / both_tracks; it answers the resource
  (sid GT..., status in-progress); a second start with the same Name on the call is refused
  (assumption: Twilio names no such rule; refusing is the stricter behaviour to rehearse);
- `transcription-started`, then `transcription-content` per utterance (Track, SequenceId
  counting the session's callbacks from 1, Final, TranscriptionData JSON with transcript and
  confidence, LanguageCode, Timestamp ISO 8601), then `transcription-stopped` when the call
  ends; with PartialResults=true each final is preceded by a partial (Final=false);
- tracks from Twilio's side of the leg: audio received from the leg is inbound_track, audio
  sent to it outbound_track (https://www.twilio.com/docs/voice/tutorials/how-record-single-side-call).
  On the customer's leg the customer is inbound and the agent outbound; on an agent's leg the
  other way round;
- callbacks go through `Delivery.callback`: under chaos delayed (reordered), duplicated, first
  attempts lost; 5xx answers are retried (error 17580 lists 5xx, 408, 425 and 429).

The words are not speech: each party says numbered lines naming the call, and a share of
customers (seeded) say 解約, so the rehearsal knows which calls must be flagged. `spoken` keeps
what was said, by whom, for the checks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ops.standin.shared import Part, Shared

if TYPE_CHECKING:
    from ops.standin.delivery import Delivery
    from ops.standin.ports import VoicePort

# Virtual seconds between utterances (each party in turn).
LINE_SECONDS = 7.0
# Share of customers who say they want to cancel (a keyword and a negative line).
UNHAPPY_SHARE = 0.2
TRACKS = frozenset({"inbound_track", "outbound_track", "both_tracks"})


class TranscriptionRefused(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass(frozen=True)
class Spoken:
    transcription_sid: str
    sequence: int
    speaker: str  # customer | agent
    text: str


@dataclass
class Session:
    sid: str
    call_sid: str
    name: str
    track: str
    url: str
    language: str
    partial: bool
    leg_role: str  # whose leg: customer | agent
    unhappy: bool
    status: str = "in-progress"
    sequence: int = 0
    said: int = 0
    lines: list[Spoken] = field(default_factory=list)


def iso(epoch: float) -> str:
    return (
        datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


class LiveTranscription(Part):
    def __init__(self, shared: Shared, delivery: Delivery, voice: VoicePort) -> None:
        super().__init__(shared)
        self.delivery = delivery
        self.voice = voice
        self.sessions: dict[str, Session] = {}
        # What each call's parties said, by call sid (the rehearsal's ground truth).
        self.spoken: dict[str, list[Spoken]] = {}

    def start(self, call_sid: str, form: dict[str, str]) -> Session:
        track = form.get("Track", "inbound_track")  # the resource's documented default
        if track not in TRACKS:
            raise TranscriptionRefused(
                400, 20001, f"Track {track!r} is not one of {sorted(TRACKS)}"
            )
        url = form.get("StatusCallbackUrl", "")
        with self.lock:
            call = self.voice.calls[call_sid]
            if call.status != "in-progress":
                raise TranscriptionRefused(400, 21220, "Call is not in-progress.")
            name = form.get("Name", "")
            if name and any(
                s.name == name and s.call_sid == call_sid and s.status == "in-progress"
                for s in self.sessions.values()
            ):
                raise TranscriptionRefused(400, 20001, f"transcription {name!r} already started")
            session = Session(
                sid=self.sid("GT"),
                call_sid=call_sid,
                name=name,
                track=track,
                url=url if urlsplit(url).scheme in ("http", "https") else "",
                language=form.get("LanguageCode", "en-US"),
                partial=form.get("PartialResults", "false").lower() == "true",
                leg_role=call.role,
                # From the call's sid, which the seed decides: a rerun says the same things.
                unhappy=int(call_sid[-6:], 16) % 100 < UNHAPPY_SHARE * 100,
            )
            self.sessions[session.sid] = session
        self.stats.count("RealtimeTranscriptionsStarted")
        self._send(session, "transcription-started")
        self.clock.after(LINE_SECONDS, self._speak, session.sid)
        return session

    def resource(self, session: Session) -> dict[str, object]:
        from ops.standin.payloads import rfc2822

        account = self.account.account_sid
        return {
            "sid": session.sid,
            "account_sid": account,
            "call_sid": session.call_sid,
            "name": session.name or None,
            "status": session.status,
            "date_updated": rfc2822(self.now()),
            "uri": f"/2010-04-01/Accounts/{account}/Calls/{session.call_sid}"
            f"/Transcriptions/{session.sid}.json",
        }

    def _agent_of(self, call_sid: str) -> str:
        truth = self.truth.get(call_sid)
        return str(truth.answered_by or "") if truth else ""

    def _speak(self, sid: str) -> None:
        with self.lock:
            session = self.sessions[sid]
            call = self.voice.calls.get(session.call_sid)
            if session.status != "in-progress":
                return
            if call is None or call.status != "in-progress":
                session.status = "stopped"
                ended = True
            else:
                ended = False
                session.said += 1
                n = session.said
                # The customer opens; the parties take turns.
                speaker = "customer" if n % 2 else "agent"
                if speaker == "customer":
                    complaint = "解約したいです。" if session.unhappy and n == 3 else ""
                    text = f"{complaint}お客様の{n}番目の発言です {session.call_sid[-6:]}"
                else:
                    text = f"担当{self._agent_of(session.call_sid)}の{n}番目の発言です"
                ours = "inbound_track" if speaker == session.leg_role else "outbound_track"
        if ended:
            self._send(session, "transcription-stopped")
            return
        if session.track in (ours, "both_tracks"):
            if session.partial:
                self._content(session, ours, text[: len(text) // 2], final=False)
            spoken = self._content(session, ours, text, final=True)
            with self.lock:
                session.lines.append(spoken)
                self.spoken.setdefault(session.call_sid, []).append(spoken)
        self.clock.after(LINE_SECONDS, self._speak, sid)

    def _content(self, session: Session, track: str, text: str, final: bool) -> Spoken:
        with self.lock:
            session.sequence += 1
            sequence = session.sequence
        self._send(
            session,
            "transcription-content",
            Track=track,
            SequenceId=str(sequence),
            Final="true" if final else "false",
            LanguageCode=session.language,
            TranscriptionData=json.dumps(
                {"transcript": text, "confidence": 0.91}, ensure_ascii=False
            ),
        )
        speaker = (
            "customer"
            if (track == "inbound_track") == (session.leg_role == "customer")
            else "agent"
        )
        return Spoken(session.sid, sequence, speaker, text)

    def _send(self, session: Session, event: str, **extra: str) -> None:
        if not session.url:
            return  # an invalid StatusCallbackUrl: Twilio does not try (error 17585)
        form = {
            "AccountSid": self.account.account_sid,
            "CallSid": session.call_sid,
            "TranscriptionSid": session.sid,
            "Timestamp": iso(self.now()),
            "TranscriptionEvent": event,
            **extra,
        }
        self.stats.count(f"RealtimeTranscription:{event}")
        self.delivery.callback(session.url, form, retry_5xx=True)
