"""The caller's leg of an inbound call as Twilio reports it: one status callback, at the end.

An incoming number's StatusCallback is posted only when the call ends (CallStatus `completed`,
with CallDuration); there is no `ringing` or `in-progress` callback for the caller's leg. The
record must still know when the call started, or every caller who hangs up unanswered looks like
a misdial (a short abandon) and drops out of offered and abandoned.
https://www.twilio.com/docs/voice/api/call-resource#statuscallback
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.conversations.fold import FoldPolicy, fold
from chalicelib.conversations.kpis import compute
from tests.conversation_script import CallScript, as_twilio_delivers

POLICY = FoldPolicy(short_abandon_ms=5000, timezone="Asia/Tokyo")


def hangs_up_while_an_agent_rings() -> CallScript:
    """Seed 2's call in the rehearsal: the owner's offer timed out, the caller hung up 3 s into
    a teammate's ring. TaskRouter's events carry milliseconds, voice callbacks whole seconds."""
    s = CallScript(n=21)
    s.task("task.created", 0.0)
    s.offer("owner", 0.0, 20.0, "timeout")
    s.task("task.updated", 22.05, stage="team")
    # reservation.created, the agent leg initiated + ringing; then canceled with the task.
    s.offer("teammate", 22.05, 25.23, "canceled", stage="team")
    s.leg("completed", 25.23, duration=25)
    s.task("task.canceled", 25.23, stage="team")  # TaskCanceledReason=hangup
    return s


def hangs_up_in_queue() -> CallScript:
    s = CallScript(n=22)
    s.task("task.created", 0.4)
    s.offer("owner", 0.4, 20.4, "timeout")
    s.leg("completed", 31.7, duration=31)
    s.task("task.canceled", 31.7)
    return s


def hangs_up_at_once() -> CallScript:
    s = CallScript(n=23)
    s.task("task.created", 0.4)
    s.leg("completed", 3.2, duration=3)
    s.task("task.canceled", 3.2)
    return s


def test_caller_hanging_up_while_an_agent_rings_is_offered_and_abandoned() -> None:
    s = hangs_up_while_an_agent_rings()
    r = fold(s.call_sid, s.events(), POLICY)
    assert r["outcome"] == "abandoned_while_ringing"
    assert r["started_ms"] == s.at(0)
    assert r["ended_ms"] == s.at(25)  # the voice callback's whole second
    assert r["hung_up_by"] == "customer"
    assert [o["outcome"] for o in r["offers"]] == ["timed_out", "canceled"]
    totals = compute([r])["totals"]
    assert (totals["offered"], totals["abandoned"], totals["short_abandons"]) == (1, 1, 0)


def test_caller_hanging_up_in_queue_with_only_the_end_callback_is_abandoned_in_queue() -> None:
    s = hangs_up_in_queue()
    r = fold(s.call_sid, s.events(), POLICY)
    assert r["outcome"] == "abandoned_in_queue"
    assert r["queue_wait_ms"] == s.at(31) - s.at(0.4)


def test_a_misdial_with_only_the_end_callback_is_still_a_short_abandon() -> None:
    s = hangs_up_at_once()
    assert fold(s.call_sid, s.events(), POLICY)["outcome"] == "short_abandon"


@settings(max_examples=100, deadline=None)
@given(
    which=st.sampled_from([hangs_up_while_an_agent_rings, hangs_up_in_queue, hangs_up_at_once]),
    seed=st.integers(min_value=0, max_value=2**32),
    duplicates=st.lists(st.integers(min_value=0, max_value=10_000), max_size=10),
)
def test_any_order_of_these_events_gives_the_same_record(
    which: object, seed: int, duplicates: list[int]
) -> None:
    s = which()  # type: ignore[operator]
    events = s.events()
    expected = fold(s.call_sid, events, POLICY)
    assert fold(s.call_sid, as_twilio_delivers(events, seed, duplicates), POLICY) == expected
