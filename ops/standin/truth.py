"""The ground truth: what really happened to every call, as the stand-in (Twilio) saw it.

Written as JSON lines, one object per call, independent of anything the app stored; the checks
compare the app's conversations and KPIs against it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO


@dataclass
class Offer:
    agent_id: str
    at: float
    outcome: str = "ringing"  # answered, missed, canceled


@dataclass
class TransferTruth:
    """One transfer of a live call: asked for by an agent through the app, carried out by Twilio."""

    from_agent_id: str
    mode: str  # cold, warm
    requested_at: float
    to_agent_id: str = ""  # the named colleague ("" for a team transfer)
    to_team: str = ""
    task_sid: str = ""  # the transfer task the app created
    offered_to: list[str] = field(default_factory=list)
    answered_by: str | None = None  # whose leg joined the customer's conference
    joined_at: float | None = None
    from_left_at: float | None = None  # when the first agent's leg left the conference
    outcome: str = "requested"  # joined, unanswered


@dataclass
class CallTruth:
    call_sid: str
    caller: str
    placed_at: float
    customer_id: str = ""
    owner_agent_id: str = ""
    team: str = ""
    scenario: str = ""
    offers: list[Offer] = field(default_factory=list)
    enqueued_at: float | None = None
    answered_by: str | None = None
    answered_at: float | None = None
    wait_seconds: float | None = None
    abandoned: bool = False
    caller_hung_up_at: float | None = None
    ended_at: float | None = None
    talk_seconds: float | None = None
    voicemail_seconds: float | None = None
    recorded: bool = False
    transferred_to: str | None = None
    transfers: list[TransferTruth] = field(default_factory=list)
    # Seconds the caller spent on hold; talk_seconds = ended - answered - hold_seconds.
    hold_seconds: float = 0.0
    # answered, abandoned, voicemail, callback_requested, dropped, ivr_hangup
    outcome: str = "in_progress"
    keyed: str = ""  # the digits the caller pressed at a menu (the last time)
    wait_keyed: str = ""  # the key they pressed while waiting in the queue (issue 18)
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class GroundTruth:
    def __init__(self, path: Path | None = None) -> None:
        self.calls: dict[str, CallTruth] = {}
        self._path = path
        self._handle: TextIO | None = None

    def add(self, truth: CallTruth) -> CallTruth:
        self.calls[truth.call_sid] = truth
        return truth

    def get(self, call_sid: str) -> CallTruth | None:
        return self.calls.get(call_sid)

    def finish(self, truth: CallTruth) -> None:
        if self._path is None:
            return
        if self._handle is None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = self._path.open("w", encoding="utf-8")
        self._handle.write(json.dumps(truth.as_json(), ensure_ascii=False) + "\n")
        self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def outcomes(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for truth in self.calls.values():
            counts[truth.outcome] = counts.get(truth.outcome, 0) + 1
        return counts
