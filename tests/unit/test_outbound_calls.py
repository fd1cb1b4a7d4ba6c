"""Outbound calls without AWS or HTTP: the rep's presence, the activity TaskRouter is told, the
conversation folded from Twilio's callbacks in any order, the outbound KPIs, and whose voice is
on which channel of the recording."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.conversations.events import (
    Event,
    conference_event,
    fact_event,
    voice_event,
)
from chalicelib.conversations.fold import FoldPolicy, fold
from chalicelib.conversations.kpis import compute, outbound_kpis
from chalicelib.platform.errors import Conflict
from chalicelib.presence.domain import AgentState, Presence, transition
from chalicelib.presence.domain import Event as PresenceEvent
from chalicelib.presence.mirror import PresenceMirror, rejects_pending
from chalicelib.recordings.domain import CallContext, CopyJob, channel_map
from tests.data import sid

REP = sid("CA", 1)
CUSTOMER = sid("CA", 2)
CONFERENCE = sid("CF", 1)
T0 = 1_796_500_000  # seconds
POLICY = FoldPolicy()


def _rfc(seconds: float) -> str:
    return format_datetime(datetime.fromtimestamp(seconds, UTC))


# --- presence ------------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["available", "wrap_up", "away", "break", "ringing"])
def test_dialling_out_puts_the_rep_on_a_call_for_reason_outbound(state: str) -> None:
    rep = Presence("sato", "tokyo", state=AgentState(state), since_ms=1000, worker_sid="WK1")
    after = transition(rep, PresenceEvent.DIALLED_OUT, 5000, call_sid=REP).after
    assert (after.state, after.reason, after.call_sid) == (AgentState.ON_CALL, "outbound", REP)


@pytest.mark.parametrize("state", ["offline", "on_call"])
def test_dialling_out_is_not_a_move_from_offline_or_another_call(state: str) -> None:
    rep = Presence("sato", "tokyo", state=AgentState(state))
    with pytest.raises(Conflict):
        transition(rep, PresenceEvent.DIALLED_OUT, 5000, call_sid=REP)


def test_the_call_ends_in_wrap_up_or_frees_the_rep_and_forgets_the_call() -> None:
    rep = Presence("sato", "tokyo", state=AgentState.AVAILABLE)
    on = transition(rep, PresenceEvent.DIALLED_OUT, 5000, call_sid=REP).after
    wrapped = transition(on, PresenceEvent.CALL_ENDED, 9000).after
    assert (wrapped.state, wrapped.call_sid) == (AgentState.WRAP_UP, "")
    freed = transition(on, PresenceEvent.NOT_CONNECTED, 9000).after
    assert (freed.state, freed.reason, freed.call_sid) == (
        AgentState.AVAILABLE,
        "not_connected",
        "",
    )


class _Workers:
    def __init__(self) -> None:
        self.updates: list[tuple[str, str, bool]] = []

    def update_worker_activity(
        self, worker_sid: str, activity_sid: str, reject_pending: bool = False
    ) -> None:
        self.updates.append((worker_sid, activity_sid, reject_pending))

    def worker_activities(self) -> dict[str, str]:
        return {}

    def tasks_wrapping(self) -> list[tuple[str, int]]:
        return []

    def finish_task(self, task_sid: str, reason: str) -> bool:
        return True


def test_the_mirror_tells_taskrouter_the_outbound_activity_and_turns_down_a_ringing_call() -> None:
    workers = _Workers()
    mirror = PresenceMirror(
        workers, {AgentState.AVAILABLE: "WA-available"}, sleep=lambda _s: None, outbound="WA-out"
    )
    before = Presence("sato", "tokyo", state=AgentState.AVAILABLE, worker_sid="WK1")
    after = transition(before, PresenceEvent.DIALLED_OUT, 5000, call_sid=REP).after
    mirror.mirror([(before, after)])
    assert workers.updates == [("WK1", "WA-out", True)]
    assert rejects_pending(after)
    freed = transition(after, PresenceEvent.NOT_CONNECTED, 9000).after
    mirror.mirror([(after, freed)])
    assert workers.updates[-1] == ("WK1", "WA-available", False)


# --- the conversation -----------------------------------------------------------------------

BASE = "https://cc.example/api"
CONTEXT = {"conversation": REP, "agent": "sato"}


def _customer(status: str, at: float, sequence: int, duration: int = 0) -> Event:
    return voice_event(
        {
            "CallSid": CUSTOMER,
            "CallStatus": status,
            "Direction": "outbound-api",
            "From": "+81300000000",
            "To": "+81312345678",
            "SequenceNumber": str(sequence),
            "CallDuration": str(duration),
            "Timestamp": _rfc(at),
        },
        {**CONTEXT, "dialled_by": "sato"},
    )


def _rep_leg(at: float, duration: int) -> Event:
    # The TwiML App's status callback: the softphone's leg, only when it completes.
    return voice_event(
        {
            "CallSid": REP,
            "CallStatus": "completed",
            "Direction": "inbound",
            "From": "client:sato",
            "To": "+81312345678",
            "SequenceNumber": "0",
            "CallDuration": str(duration),
            "Timestamp": _rfc(at),
        }
    )


def _conference(kind: str, at: float, sequence: int, call_sid: str = "", label: str = "") -> Event:
    form = {
        "ConferenceSid": CONFERENCE,
        "FriendlyName": f"outbound-{REP}",
        "StatusCallbackEvent": kind,
        "SequenceNumber": str(sequence),
        "Timestamp": _rfc(at),
    }
    if call_sid:
        form["CallSid"] = call_sid
    if label:
        form["ParticipantLabel"] = label
    return conference_event(form, CONTEXT)


def answered_call() -> list[Event]:
    """Dialled at T0, the customer answers at +6 s and hangs up at +66 s."""
    return [
        fact_event(
            REP,
            "outbound_dialled",
            T0 * 1000,
            {"agent_id": "sato", "team": "tokyo", "number": "+81312345678"},
        ),
        _conference("participant-join", T0 + 1, 0, REP, "agent:sato"),
        _customer("initiated", T0, 0),
        _customer("ringing", T0 + 1, 1),
        _customer("in-progress", T0 + 6, 2),
        _conference("conference-start", T0 + 6, 1),
        _conference("participant-join", T0 + 6, 2, CUSTOMER, "customer"),
        _conference("participant-leave", T0 + 66, 3, CUSTOMER, "customer"),
        _customer("completed", T0 + 66, 3, duration=60),
        _conference("participant-leave", T0 + 66, 4, REP, "agent:sato"),
        _conference("conference-end", T0 + 66, 5),
        _rep_leg(T0 + 66, 66),
    ]


@settings(max_examples=40, deadline=None)
@given(st.permutations(answered_call()))
def test_an_answered_outbound_call_folds_the_same_in_any_order(events: list[Event]) -> None:
    record = fold(REP, events, POLICY)
    assert record["direction"] == "outbound"
    assert (record["dialled_by"], record["answered_by"], record["team"]) == (
        "sato",
        "sato",
        "tokyo",
    )
    assert record["outcome"] == "answered"
    assert record["caller"] == "+81312345678"
    assert record["talk_ms"] == 60_000
    assert record["hung_up_by"] == "customer"
    assert record["status"] == "ended"


def test_a_busy_number_is_a_failed_outbound_call_of_the_rep() -> None:
    events = [
        answered_call()[0],
        _customer("initiated", T0, 0),
        _customer("busy", T0 + 2, 1),
        _rep_leg(T0 + 4, 4),
    ]
    record = fold(REP, events, POLICY)
    assert (record["direction"], record["outcome"], record["dialled_by"]) == (
        "outbound",
        "failed",
        "sato",
    )
    assert record["answered_by"] == ""
    assert record["caller"] == "+81312345678"


# --- KPIs ---------------------------------------------------------------------------------


def _record(agent: str, team: str, outcome: str, talk_ms: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "direction": "outbound",
        "dialled_by": agent,
        "team": team,
        "outcome": outcome,
        "talk_ms": talk_ms,
        **extra,
    }


def test_outbound_kpis_per_rep_and_team() -> None:
    records = [
        _record("sato", "tokyo", "answered", 60_000),
        _record("sato", "tokyo", "failed"),
        _record("sato", "tokyo", "failed"),
        _record("suzuki", "osaka", "answered", 30_000),
        {"direction": "inbound", "outcome": "answered", "answered_by": "sato", "talk_ms": 9},
    ]
    kpis = outbound_kpis(records)
    assert kpis["by_agent"]["sato"] == {
        "attempts": 3,
        "connected": 1,
        "talk_ms": 60_000,
        "connect_rate": 0.3333,
        "average_talk_ms": 60_000,
    }
    assert kpis["by_team"]["osaka"]["connect_rate"] == 1.0
    assert kpis["totals"]["attempts"] == 4
    assert kpis["totals"]["connected"] == 2
    # The day's report carries the same section; inbound KPIs leave outbound calls out.
    report = compute(records)
    assert report["outbound"] == kpis
    assert report["totals"]["offered"] == 1


# --- recordings ---------------------------------------------------------------------------


def test_an_outbound_recording_finds_the_customer_by_label_not_by_the_conversation_key() -> None:
    job = CopyJob(
        recording_sid=sid("RE", 1),
        account_sid=sid("AC", 1),
        conference_sid=CONFERENCE,
        call_sid="",
        channels=2,
        duration_seconds=60,
        source="conference",
        started_at=datetime.fromtimestamp(T0, UTC),
    )
    context = CallContext(
        conversation_id=REP, customer_call_sid=CUSTOMER, first_joined_call_sid=REP
    )
    mapping = channel_map(job, context)
    assert (mapping.customer_channel, mapping.agent_channel) == (2, 1)


def test_the_operator_report_lists_outbound_calls_per_team_and_rep() -> None:
    from datetime import date

    from ops.report import Period, build

    records = [
        {**_record("sato", "tokyo", "answered", 60_000), "day": "2026-12-07"},
        {**_record("sato", "tokyo", "failed"), "day": "2026-12-07"},
    ]
    text, html, kpis = build(records, Period(date(2026, 12, 7), date(2026, 12, 7)), 20_000)
    assert kpis["outbound"]["by_agent"]["sato"]["connect_rate"] == 0.5
    rep_line = next(line for line in text.splitlines() if "rep sato" in line)
    assert rep_line.split()[2:] == ["2", "1", "50.0%", "60.0", "s"]
    assert "<h2>Outbound by rep</h2>" in html and "<td>sato</td>" in html
