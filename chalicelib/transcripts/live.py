"""Live transcripts: start Twilio's real-time transcription on a bridged customer leg, store what
its callbacks say, score the customer's mood off the webhook path, and read it all back.

`LiveTranscripts.start_on_customer_leg` is the one entry point for "the customer is now talking
to an agent": the conference's participant-join callback of an inbound call calls it today,
and an outbound call's customer leg can call it the same way once it is bridged.

Stopping: a Transcription is a subresource of a call in progress ("you can start and stop a
transcription on any in-progress call",
https://www.twilio.com/docs/voice/api/realtime-transcription-resource); it runs on the
customer's leg, which is the conversation, so it ends when that call ends and Twilio posts
`transcription-stopped`. We do not stop it when the agent leaves: a transferred customer is
still talking (to the next agent). docs/transcripts.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from chalicelib.platform.errors import InvalidInput, StorageUnavailable, TelephonyUnavailable
from chalicelib.platform.observability import count, logger
from chalicelib.platform.settings import TranscriptSettings
from chalicelib.transcripts.domain import (
    LegRole,
    TranscriptionCallback,
    Utterance,
    call_mood,
    in_order,
    transcript_cost_usd,
    utterance_of,
)
from chalicelib.transcripts.store import TranscriptStore, utterance_from_item

# Comprehend's BatchDetectSentiment: at most 25 documents a call, each under 5,000 bytes of
# UTF-8 (https://docs.aws.amazon.com/comprehend/latest/APIReference/API_BatchDetectSentiment.html).
BATCH_LIMIT = 25
DOCUMENT_BYTES = 4_900


class StartsTranscriptions(Protocol):
    def start_transcription(
        self, call_sid: str, name: str, status_callback_url: str, language_code: str
    ) -> str: ...


class KnowsAgents(Protocol):
    def get(self, agent_id: str) -> dict[str, Any] | None: ...


class RecordsCost(Protocol):
    """The conversations area's ledger of prices: the live transcript's cost joins the call's
    leg prices, so the cost per customer includes it (chalicelib/conversations/fold.py)."""

    def record_cost(self, conversation_id: str, item: str, usd: str, now_s: int) -> bool: ...


class DetectsSentiment(Protocol):
    def batch_detect(
        self, texts: Sequence[str], language: str
    ) -> list[tuple[str, dict[str, float]] | None]: ...


def comprehend_language(bcp47: str) -> str:
    """Comprehend's language code for Twilio's BCP-47 one: ja-JP -> ja (Comprehend's sentiment
    languages, https://docs.aws.amazon.com/comprehend/latest/dg/supported-languages.html)."""
    return bcp47.split("-")[0].lower()


def clip_utf8(text: str, limit: int = DOCUMENT_BYTES) -> str:
    data = text.encode("utf-8")
    return text if len(data) <= limit else data[:limit].decode("utf-8", "ignore")


class SentimentScorer:
    """Scores a call's unscored lines (batched) and rebuilds its summary from all its lines."""

    def __init__(
        self,
        store: TranscriptStore,
        detector: DetectsSentiment,
        settings: TranscriptSettings,
        clock: Callable[[], int],
        costs: RecordsCost | None = None,
    ) -> None:
        self._store = store
        self._detector = detector
        self._settings = settings
        self._clock = clock
        self._costs = costs

    def score_calls(self, call_sids: Iterable[str]) -> int:
        done = 0
        for call_sid in dict.fromkeys(call_sids):
            self.score_call(call_sid)
            done += 1
        return done

    def score_call(self, call_sid: str) -> dict[str, Any]:
        items = self._store.partition(call_sid)
        lines = in_order(utterance_from_item(i) for i in items if str(i["sk"]).startswith("line#"))
        unscored = [u for u in lines if not u.scores]
        scored: dict[tuple[str, int], Utterance] = {}
        language = comprehend_language(self._settings.live_transcript_language)
        for first in range(0, len(unscored), BATCH_LIMIT):
            batch = unscored[first : first + BATCH_LIMIT]
            results = self._detector.batch_detect([clip_utf8(u.text) for u in batch], language)
            for utterance, result in zip(batch, results, strict=True):
                if result is None:
                    count("SentimentLineFailed")
                    continue
                sentiment, scores = result
                self._store.set_sentiment(utterance, sentiment, scores)
                scored[(utterance.transcription_sid, utterance.sequence)] = Utterance(
                    **{**utterance.__dict__, "sentiment": sentiment, "scores": scores}
                )
        lines = [scored.get((u.transcription_sid, u.sequence), u) for u in lines]
        s = self._settings
        mood = call_mood(lines, s.keywords(), s.live_transcript_negative_threshold)
        start = next((i for i in items if i["sk"] == "start"), {})
        live = is_live(items)
        summary = self._store.put_summary(call_sid, start, lines, mood, live, self._clock())
        if mood.flagged:
            count("LiveTranscriptFlagged")
        if not live and self._costs is not None and lines:
            self._record_cost(self._costs, call_sid, items, lines)
        return summary

    def _record_cost(
        self,
        costs: RecordsCost,
        call_sid: str,
        items: list[dict[str, Any]],
        lines: Sequence[Utterance],
    ) -> None:
        """Once the transcription stopped: its minutes and Comprehend's units, as one priced
        item of the conversation (stored once; a line delivered after the stop is not billed
        again)."""
        started = [
            int(i["at_ms"]) for i in items if str(i["sk"]).endswith("#transcription-started")
        ]
        ended = [
            int(i["at_ms"])
            for i in items
            if str(i["sk"]).endswith(("#transcription-stopped", "#transcription-error"))
        ]
        transcribed_ms = (max(ended) - min(started)) if started and ended else 0
        s = self._settings
        usd = transcript_cost_usd(
            lines, transcribed_ms, s.live_transcript_usd_per_minute, s.comprehend_usd_per_unit
        )
        costs.record_cost(call_sid, "live-transcript", str(usd), self._clock() // 1000)


def is_live(items: Iterable[Mapping[str, Any]]) -> bool:
    """A transcription started and not yet stopped (or failed)."""
    started: set[str] = set()
    ended: set[str] = set()
    for item in items:
        sk = str(item["sk"])
        if not sk.startswith("session#"):
            continue
        _, sid, event = sk.split("#", 2)
        (started if event == "transcription-started" else ended).add(sid)
    return bool(started - ended)


class LiveTranscripts:
    def __init__(
        self,
        store: TranscriptStore,
        gateway: StartsTranscriptions,
        agents: KnowsAgents,
        settings: TranscriptSettings,
        callback_url: Callable[[Mapping[str, str]], str],
        report_timezone: str,
        clock: Callable[[], int],
        score_inline: Callable[[str], object] | None = None,
    ) -> None:
        self._store = store
        self._gateway = gateway
        self._agents = agents
        self._settings = settings
        self._callback_url = callback_url
        self._zone = ZoneInfo(report_timezone)
        self._clock = clock
        self._score_inline = score_inline

    def _team_off(self, agent_id: str) -> bool:
        off = self._settings.teams_off()
        if not off:
            return False
        agent = self._agents.get(agent_id) if agent_id else None
        return bool(agent) and str((agent or {}).get("team") or "") in off

    def start_on_customer_leg(self, call_sid: str, agent_id: str, conversation_id: str = "") -> str:
        """Start the conversation's live transcript once, on the customer's leg `call_sid`;
        what happened, for logs and tests. `conversation_id`: when the conversation is not
        known by the customer's leg (an outbound call known by our own leg).

        Never raises for Twilio: the call goes on without a live transcript (counted)."""
        if not self._settings.live_transcript_enabled:
            return "off"
        if self._team_off(agent_id):
            return "team-off"
        conversation = conversation_id or call_sid
        now = self._clock()
        day = datetime.fromtimestamp(now / 1000, self._zone).date().isoformat()
        if not self._store.claim_start(conversation, agent_id, day, now):
            return "already-started"
        url = self._callback_url(
            {"conversation": conversation, "leg": "customer", "agent": agent_id}
        )
        try:
            sid = self._gateway.start_transcription(
                call_sid, f"live-{call_sid}", url, self._settings.live_transcript_language
            )
        except TelephonyUnavailable as exc:
            count("LiveTranscriptStartFailed")
            logger.warning("live transcript not started", call_sid=call_sid, problem=str(exc))
            self._store.release_start(conversation)
            return "failed"
        count("LiveTranscriptStarted")
        logger.info("live transcript started", call_sid=call_sid, transcription_sid=sid)
        return "started"

    def accept_callback(self, callback: TranscriptionCallback, query: Mapping[str, str]) -> str:
        """Store one callback: a final line on its speaker, or a session event."""
        leg = query.get("leg", "")
        conversation = query.get("conversation", "") or callback.call_sid
        if leg not in ("customer", "agent"):
            raise InvalidInput("the callback URL names no leg")
        role: LegRole = "customer" if leg == "customer" else "agent"
        if callback.event != "transcription-content":
            self._store.put_session_event(
                conversation, callback.transcription_sid, callback.event, callback.at_ms
            )
            if callback.event == "transcription-error":
                count("LiveTranscriptError")
            outcome = callback.event
        else:
            utterance = utterance_of(callback, role)
            if utterance is None:
                return "skipped"
            if conversation != utterance.call_sid:
                utterance = Utterance(**{**utterance.__dict__, "call_sid": conversation})
            self._store.put_line(utterance)
            outcome = "stored"
        if self._score_inline is not None:
            try:
                self._score_inline(conversation)
            except StorageUnavailable as exc:
                # The line is stored; its score waits for the next line's (local stages only).
                logger.warning("inline scoring failed", call_sid=conversation, problem=str(exc))
        return outcome

    def transcript(self, call_sid: str) -> dict[str, Any] | None:
        """The call's lines in spoken order, each with speaker and sentiment, and its mood."""
        items = self._store.partition(call_sid)
        if not items:
            return None
        lines = in_order(utterance_from_item(i) for i in items if str(i["sk"]).startswith("line#"))
        summary = next((i for i in items if i["sk"] == "summary"), {})
        start = next((i for i in items if i["sk"] == "start"), {})
        return {
            "call_sid": call_sid,
            "live": is_live(items),
            "agent_id": str(start.get("agent_id") or summary.get("agent_id") or ""),
            "sentiment": summary.get("sentiment"),
            "negative": float(summary.get("negative") or 0),
            "keywords": list(summary.get("keywords") or []),
            "flagged": bool(summary.get("flagged")),
            "lines": [
                {
                    "at_ms": u.at_ms,
                    "speaker": u.speaker,
                    "text": u.text,
                    "sentiment": u.sentiment,
                    "sequence": u.sequence,
                }
                for u in lines
            ],
        }


def snippet(text: str, word: str, width: int = 40) -> str:
    at = text.find(word)
    if at < 0:
        return ""
    start = max(0, at - width)
    return text[start : at + len(word) + width].replace("\n", " ")


def search_transcripts(
    store: TranscriptStore,
    days: Sequence[str],
    from_ms: int,
    to_ms: int,
    word: str,
    limit: int,
    only_agent: str = "",
) -> list[dict[str, Any]]:
    """Conversations whose transcript contains `word`, newest day first; `only_agent`: an agent
    (not a supervisor) finds only their own calls' words."""
    word = word.strip()
    if not word:
        raise InvalidInput("text must not be empty")
    found: list[dict[str, Any]] = []
    for day in days:
        for item in store.search_day(day, word, limit):
            started = int(item.get("started_ms") or 0)
            if not from_ms <= started <= to_ms:
                continue
            if only_agent and item.get("agent_id") != only_agent:
                continue
            found.append(
                {
                    "conversation_id": item["call_sid"],
                    "agent_id": item.get("agent_id", ""),
                    "started_ms": started,
                    "sentiment": item.get("sentiment"),
                    "keywords": list(item.get("keywords") or []),
                    "snippet": snippet(str(item.get("text") or ""), word),
                }
            )
            if len(found) >= limit:
                return found
    return found
