"""The follow-up inbox: voicemails and callback requests a rep must act on (issue 18).

A follow-up is a conversation whose outcome is `voicemail` or `callback` (the conversation
record, built from the calls' events). It is the rep's when the caller's customer is theirs
(`owner_agent_id`, the same rep the follow-up task is routed to first), and the team's while it
belongs to nobody. "Done" is a fact on the conversation (`follow_up_done`, the ledger), so the
record, the export and the inbox all see it, and marking it twice changes nothing.

Only follow-ups of a known team are listed: an unknown caller's voicemail reaches reps through
TaskRouter's offer (routed to everyone), not through an inbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib.platform.errors import ContactCenterError, NotFound
from chalicelib.platform.observability import count, logger
from chalicelib.telephony.phone_numbers import for_display

if TYPE_CHECKING:
    from chalicelib.platform.settings import Settings

FOLLOW_UP_OUTCOMES = ("voicemail", "callback")
DONE_FACT = "follow_up_done"


class NotYours(ContactCenterError):
    """The follow-up is assigned to another rep (or another team's)."""


class Conversations(Protocol):
    """Conversation records (chalicelib/conversations/store.py)."""

    def follow_ups_of_team(self, team: str, from_ms: int, limit: int) -> list[dict[str, Any]]: ...


class Recordings(Protocol):
    """Playback and transcripts (chalicelib/recordings/pipeline.py)."""

    def playback(
        self, conversation_id: str, agent_id: str, is_supervisor: bool, team: str = ""
    ) -> dict[str, Any]: ...

    def transcript(
        self, conversation_id: str, agent_id: str, is_supervisor: bool, team: str = ""
    ) -> dict[str, Any]: ...


class Facts(Protocol):
    """The conversation ledger (chalicelib/conversations/facts.py): the record as of now (folded
    if the stream is behind) and the facts."""

    def current_record(self, conversation_id: str) -> dict[str, Any] | None: ...

    def record_call_fact(
        self, call_sid: str, fact: str, occurred_ms: int, data: dict[str, Any]
    ) -> None: ...


@dataclass(frozen=True)
class InboxSettings:
    look_back_days: int
    limit: int
    overdue_minutes: int
    home_country: str


def is_open(record: dict[str, Any]) -> bool:
    return record.get("outcome") in FOLLOW_UP_OUTCOMES and not record.get("follow_up_done_by")


def is_overdue(record: dict[str, Any], now_ms: int, overdue_minutes: int) -> bool:
    started = int(record.get("started_ms") or 0)
    return is_open(record) and bool(started) and now_ms - started > overdue_minutes * 60_000


class FollowUpInbox:
    def __init__(
        self,
        conversations: Conversations,
        recordings: Recordings,
        facts: Facts,
        settings: InboxSettings,
    ) -> None:
        self._conversations = conversations
        self._recordings = recordings
        self._facts = facts
        self._settings = settings

    def _item(
        self, record: dict[str, Any], agent_id: str, team: str, now_ms: int
    ) -> dict[str, Any]:
        s = self._settings
        conversation_id = str(record["conversation_id"])
        caller = str(record.get("caller") or "")
        item: dict[str, Any] = {
            "id": conversation_id,
            "kind": record.get("outcome"),
            "caller": caller,
            "caller_display": for_display(caller, s.home_country) if caller else "",
            "started_ms": record.get("started_ms"),
            "customer_id": record.get("customer_id") or "",
            "customer_name": record.get("customer_name") or "",
            "team": record.get("team") or "",
            "assignee": record.get("owner_agent_id") or "",
            "overdue": is_overdue(record, now_ms, s.overdue_minutes),
            "voicemail": None,
        }
        if record.get("outcome") == "voicemail":
            item["voicemail"] = self._voicemail(conversation_id, agent_id, team)
        return item

    def _voicemail(self, conversation_id: str, agent_id: str, team: str) -> dict[str, Any] | None:
        """The player's link and the transcript, or None while the copy has not landed in S3."""
        try:
            played = self._recordings.playback(conversation_id, agent_id, False, team)
            said = self._recordings.transcript(conversation_id, agent_id, False, team)
        except NotFound:
            return None
        first = played["recordings"][0]
        turns = [t for part in said["recordings"] for t in part.get("turns", [])]
        return {
            "url": first["url"],
            "expires_in": played["expires_in"],
            "duration_seconds": first["duration_seconds"],
            "transcript": " ".join(str(t.get("text", "")) for t in turns).strip(),
            "transcript_status": said["recordings"][0]["status"] if said["recordings"] else "",
        }

    def inbox(self, agent_id: str, team: str, now_ms: int) -> dict[str, Any]:
        """Mine and my team's unassigned, open, newest first."""
        s = self._settings
        records = (
            self._conversations.follow_ups_of_team(
                team, now_ms - s.look_back_days * 86_400_000, s.limit
            )
            if team
            else []
        )
        mine = [
            r
            for r in records
            if is_open(r) and str(r.get("owner_agent_id") or "") in (agent_id, "")
        ]
        return {
            "agent_id": agent_id,
            "team": team,
            "followups": [self._item(r, agent_id, team, now_ms) for r in mine],
        }

    def done(
        self, conversation_id: str, agent_id: str, team: str, is_supervisor: bool, now_ms: int
    ) -> dict[str, Any]:
        """Close a follow-up. Idempotent: a second call answers what the first recorded."""
        record = self._facts.current_record(conversation_id)
        if record is None or record.get("outcome") not in FOLLOW_UP_OUTCOMES:
            raise NotFound(f"no follow-up {conversation_id}")
        owner = str(record.get("owner_agent_id") or "")
        theirs = owner == agent_id or (not owner and team and record.get("team") == team)
        if not (theirs or is_supervisor):
            count("FollowUpDoneRefused")
            raise NotYours("only its assignee, their team while unassigned, or a supervisor")
        if record.get("follow_up_done_by"):
            return {
                "id": conversation_id,
                "done_by": record["follow_up_done_by"],
                "done_ms": record.get("follow_up_done_ms"),
            }
        self._facts.record_call_fact(conversation_id, DONE_FACT, now_ms, {"agent_id": agent_id})
        count("FollowUpDone")
        logger.info("follow-up done", agent_id=agent_id, conversation_id=conversation_id)
        return {"id": conversation_id, "done_by": agent_id, "done_ms": now_ms}

    def overdue(self, teams: list[str], now_ms: int) -> list[dict[str, Any]]:
        """Open follow-ups older than `overdue_minutes`, for the supervisors' board."""
        s = self._settings
        since = now_ms - s.look_back_days * 86_400_000
        rows = []
        for team in teams:
            for r in self._conversations.follow_ups_of_team(team, since, s.limit):
                if is_overdue(r, now_ms, s.overdue_minutes):
                    caller = str(r.get("caller") or "")
                    rows.append(
                        {
                            "id": r["conversation_id"],
                            "kind": r.get("outcome"),
                            "team": team,
                            "assignee": r.get("owner_agent_id") or "",
                            "customer_name": r.get("customer_name") or "",
                            "caller_display": for_display(caller, s.home_country),
                            "started_ms": r.get("started_ms"),
                        }
                    )
        rows.sort(key=lambda r: int(r.get("started_ms") or 0))
        return rows


def settings_from(settings: Settings) -> InboxSettings:
    e = settings.escalation
    return InboxSettings(
        look_back_days=e.followup_inbox_days,
        limit=e.followup_inbox_limit,
        overdue_minutes=e.followup_overdue_minutes,
        home_country=settings.telephony.default_country,
    )
