"""The conversation record: a fixture per outcome, the old system's case, order-independence."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.conversations.fold import FoldPolicy, fold
from tests import conversation_script as script
from tests.conversation_script import as_twilio_delivers

POLICY = FoldPolicy(short_abandon_ms=5000, timezone="Asia/Tokyo")


def record_of(s: script.CallScript) -> dict:
    return fold(s.call_sid, s.events(), POLICY)


def test_owner_answers_and_the_record_has_waits_talk_hold_and_links() -> None:
    s = script.answered_by_owner()
    r = record_of(s)
    assert r["outcome"] == "answered"
    assert r["direction"] == "inbound"
    assert r["answered_by"] == "owner"
    assert r["answered_relation"] == "owner"
    assert r["customer_id"] == "C1"
    assert r["caller"] == "+81312345678"
    assert r["queue_wait_ms"] == 5000
    assert r["hold_ms"] == 10000
    assert r["talk_ms"] == 96000 - 6000 - 10000
    assert r["wrap_ms"] == 30000
    assert r["hung_up_by"] == "customer"
    assert r["stage_reached"] == "owner"
    assert [o["outcome"] for o in r["offers"]] == ["answered"]
    assert r["offers"][0]["ring_ms"] == 5000
    assert r["recordings"][0]["channels"] == 2
    assert r["missed_offers"] == 0
    assert r["day"] == "2025-11-25" and r["hour"] == 1 and r["weekday"] == 1
    assert r["status"] == "ended"


def test_offered_to_a_five_times_then_answered_by_x_is_one_answered_conversation() -> None:
    r = record_of(script.offered_five_times_then_answered_by_x())
    assert r["outcome"] == "answered"
    assert r["answered_by"] == "agent_x"
    assert r["answered_relation"] == "other"
    assert r["missed_offers"] == 5
    assert [o["agent_id"] for o in r["offers"]] == ["agent_a"] * 5 + ["agent_x"]
    assert [o["outcome"] for o in r["offers"]] == ["timed_out"] * 5 + ["answered"]
    assert all(o["ring_ms"] == 20000 for o in r["offers"][:5])
    assert r["stage_reached"] == "everyone"
    assert r["queue_wait_ms"] == 109000
    assert r["hung_up_by"] == "agent"


def test_caller_hanging_up_between_offers_abandoned_in_queue() -> None:
    r = record_of(script.abandoned_in_queue())
    assert r["outcome"] == "abandoned_in_queue"
    assert r["queue_wait_ms"] == 39000
    assert r["hung_up_by"] == "customer"
    assert r["missed_offers"] == 1


def test_caller_hanging_up_while_an_agent_rings_abandoned_while_ringing() -> None:
    r = record_of(script.abandoned_while_ringing())
    assert r["outcome"] == "abandoned_while_ringing"
    assert r["missed_offers"] == 0


def test_hanging_up_within_the_threshold_is_a_short_abandon() -> None:
    assert record_of(script.short_abandon())["outcome"] == "short_abandon"
    longer = fold(
        script.short_abandon().call_sid,
        script.short_abandon().events(),
        FoldPolicy(short_abandon_ms=2000),
    )
    assert longer["outcome"] == "abandoned_in_queue"


def test_voicemail_links_the_recording_and_ignores_the_follow_up_task_offers() -> None:
    r = record_of(script.voicemail())
    assert r["outcome"] == "voicemail"
    assert r["voicemail_url"].endswith(script.sid("RE", 6))
    assert r["stage_reached"] == "fallback"
    assert r["missed_offers"] == 1


def test_callback_and_outside_hours_outcomes() -> None:
    assert record_of(script.callback())["outcome"] == "callback"
    r = record_of(script.outside_hours())
    assert r["outcome"] == "outside_hours"
    assert r["outside_hours"] is True


def test_outbound_calls_are_conversations_failed_or_answered() -> None:
    failed = record_of(script.failed_outbound())
    assert failed["direction"] == "outbound"
    assert failed["outcome"] == "failed"
    assert failed["caller"] == "+81312345678"
    answered = record_of(script.answered_outbound())
    assert answered["outcome"] == "answered"
    assert answered["answered_by"] == "sato"
    assert answered["talk_ms"] == 61000
    assert answered["hung_up_by"] == "customer"


def test_a_call_still_ringing_has_no_outcome_yet() -> None:
    s = script.CallScript(n=11)
    s.leg("ringing", 0).task("task.created", 1)
    s.offer("owner", 1, 3, "timeout")
    r = record_of(s)
    assert r["status"] == "active"
    assert r["outcome"] is None


def test_every_ended_leg_is_priced_and_summed() -> None:
    from chalicelib.conversations.events import price_event

    s = script.answered_outbound()
    r = record_of(s)
    assert r["cost_pending"] == "1"
    assert len(r["legs_unpriced"]) == 2
    priced = fold(
        s.call_sid,
        [
            *s.events(),
            *(price_event(s.call_sid, leg, "-0.0150", "USD") for leg in r["legs_unpriced"]),
        ],
        POLICY,
    )
    assert priced["cost_micros"] == 30000
    assert priced["cost_pending"] is None


ALL_SCRIPTS = [
    script.answered_by_owner,
    script.offered_five_times_then_answered_by_x,
    script.abandoned_in_queue,
    script.abandoned_while_ringing,
    script.short_abandon,
    script.voicemail,
    script.callback,
    script.outside_hours,
    script.failed_outbound,
    script.answered_outbound,
]


def test_there_is_one_fixture_per_outcome() -> None:
    from chalicelib.conversations.fold import OUTCOMES

    assert {record_of(make())["outcome"] for make in ALL_SCRIPTS} == set(OUTCOMES)


@settings(max_examples=150, deadline=None)
@given(
    which=st.sampled_from(ALL_SCRIPTS),
    seed=st.integers(min_value=0, max_value=2**32),
    duplicates=st.lists(st.integers(min_value=0, max_value=10_000), max_size=20),
)
def test_any_order_with_any_duplicates_gives_the_identical_record(
    which: object, seed: int, duplicates: list[int]
) -> None:
    s = which()  # type: ignore[operator]
    events = s.events()
    expected = fold(s.call_sid, events, POLICY)
    assert fold(s.call_sid, as_twilio_delivers(events, seed, duplicates), POLICY) == expected


def test_a_recording_twilio_reports_absent_is_on_the_record_as_lost() -> None:
    s = script.answered_by_owner()
    kind, form, query = next(c for c in s.callbacks if c[0] == "recording")
    s.callbacks.remove((kind, form, query))
    s.callbacks.append((kind, {**form, "RecordingStatus": "absent", "ErrorCode": "16102"}, query))
    r = record_of(s)
    assert r["recordings"] == []
    assert r["recordings_lost"] == [{"sid": form["RecordingSid"], "status": "absent"}]


def test_a_conference_with_no_recording_at_all_is_on_the_record_as_missing() -> None:
    s = script.answered_by_owner()
    s.callbacks = [c for c in s.callbacks if c[0] != "recording"]
    assert record_of(s)["recordings_lost"] == []
    s.fact("recording_missing", 4000, conference_sid=s.conference_sid)
    assert record_of(s)["recordings_lost"] == [{"sid": "", "status": "missing"}]


def test_a_copied_recording_is_never_reported_lost() -> None:
    s = script.answered_by_owner().fact("recording_missing", 4000)
    r = record_of(s)
    assert r["recordings"] and r["recordings_lost"] == []
