"""The presence transition table, as a state machine and as TaskRouter's shuffled event stream."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from chalicelib.platform.errors import Conflict
from chalicelib.presence.domain import (
    EXTERNAL,
    TRANSITIONS,
    AgentState,
    Event,
    IllegalTransition,
    Presence,
    Reason,
    Resume,
    Timers,
    catch_up,
    due_event,
    is_stale,
    observe,
    transition,
)

S = AgentState
TIMERS = Timers(heartbeat_timeout_ms=45_000, wrap_up_ms=30_000, session_expiry_ms=3_600_000)


def agent(state: AgentState = S.OFFLINE, **fields: object) -> Presence:
    return Presence(agent_id="sato", team="tokyo", state=state, **fields)  # type: ignore[arg-type]


def apply(p: Presence, *events: Event, at: int = 1_000) -> Presence:
    for n, event in enumerate(events):
        p = transition(p, event, at + n, TIMERS).after
    return p


def test_signing_in_makes_an_offline_agent_available() -> None:
    after = apply(agent(), Event.SIGN_IN)
    assert (after.state, after.reason, after.version) == (S.AVAILABLE, "signed_in", 1)


def test_illegal_transition_is_a_conflict_that_names_the_states() -> None:
    with pytest.raises(IllegalTransition) as raised:
        transition(agent(S.ON_CALL), Event.CHOOSE_BREAK, 1)
    assert isinstance(raised.value, Conflict)
    assert "choose_break is not allowed while on_call" in str(raised.value)


def test_a_missed_offer_makes_the_agent_away_with_missed_call() -> None:
    after = apply(agent(S.AVAILABLE), Event.OFFERED, Event.MISSED)
    assert (after.state, after.reason) == (S.AWAY, "missed_call")


def test_away_or_break_while_ringing_is_taken_and_the_late_rejection_changes_nothing() -> None:
    # The rep cannot take the call; the mirror rejects the offer at TaskRouter, whose
    # reservation.rejected (WITHDRAWN) then finds the rep away already.
    for choice, state in ((Event.CHOOSE_AWAY, S.AWAY), (Event.CHOOSE_BREAK, S.BREAK)):
        ringing = apply(agent(S.AVAILABLE), Event.OFFERED)
        chosen = transition(ringing, choice, 2_000, TIMERS).after
        assert (chosen.state, chosen.reason) == (state, "manual")
        with pytest.raises(IllegalTransition):
            transition(chosen, Event.WITHDRAWN, 2_500, TIMERS)
    with pytest.raises(IllegalTransition):
        transition(apply(agent(S.AVAILABLE), Event.OFFERED), Event.CHOOSE_AVAILABLE, 2_000, TIMERS)


def test_a_withdrawn_offer_goes_back_to_the_state_before_ringing() -> None:
    after = apply(agent(S.BREAK), Event.OFFERED, Event.WITHDRAWN)
    assert after.state == S.BREAK


def test_call_end_starts_wrap_up_which_its_timer_ends() -> None:
    on_call = apply(agent(S.AVAILABLE), Event.OFFERED, Event.ACCEPTED, at=10_000)
    wrap = transition(on_call, Event.CALL_ENDED, 20_000, TIMERS).after
    assert (wrap.state, wrap.wrap_up_until_ms) == (S.WRAP_UP, 50_000)
    wrap = Presence(**{**wrap.__dict__, "last_seen_ms": 49_000})
    assert due_event(wrap, 49_999, TIMERS) is None
    assert due_event(wrap, 50_000, TIMERS) == Event.WRAP_UP_OVER


def test_a_task_completed_after_its_wrap_up_ended_does_not_restart_wrap_up() -> None:
    wrap = transition(agent(S.ON_CALL), Event.CALL_ENDED, 1_000, TIMERS, task_sid="WT1").after
    back = transition(wrap, Event.WRAP_UP_OVER, 31_000, TIMERS).after
    with pytest.raises(IllegalTransition, match="already ended"):
        transition(back, Event.CALL_ENDED, 60_000, TIMERS, task_sid="WT1")
    again = transition(back, Event.CALL_ENDED, 60_000, TIMERS, task_sid="WT2").after
    assert again.state == S.WRAP_UP


def test_lost_heartbeat_makes_away_and_reconnecting_restores_the_chosen_state() -> None:
    on_break = apply(agent(), Event.SIGN_IN, Event.CHOOSE_BREAK)
    assert due_event(on_break, on_break.last_seen_ms + 45_000, TIMERS) is None
    [lost] = catch_up(on_break, on_break.last_seen_ms + 45_001, TIMERS)
    assert (lost.after.state, lost.after.reason) == (S.AWAY, "heartbeat_lost")
    back = transition(lost.after, Event.RECONNECTED, 100_000, TIMERS).after
    assert (back.state, back.reason) == (S.BREAK, "reconnected")


def test_reconnecting_does_not_undo_a_manual_away() -> None:
    with pytest.raises(IllegalTransition):
        transition(apply(agent(), Event.SIGN_IN, Event.CHOOSE_AWAY), Event.RECONNECTED, 5_000)


def test_a_live_call_is_never_timed_out_by_the_heartbeat() -> None:
    on_call = apply(agent(S.AVAILABLE), Event.OFFERED, Event.ACCEPTED)
    assert due_event(on_call, 10**9, TIMERS) is None


def test_a_disconnected_agent_is_signed_out_after_the_session_expiry() -> None:
    lost = apply(agent(S.AVAILABLE, last_seen_ms=0), Event.HEARTBEAT_LOST)
    assert due_event(lost, 3_600_001, TIMERS) == Event.SESSION_EXPIRED


def test_events_older_than_the_current_state_are_stale() -> None:
    p = transition(agent(S.AVAILABLE), Event.ACCEPTED, 5_000).after
    assert is_stale(p, Event.OFFERED, 4_000)
    assert is_stale(p, Event.ACCEPTED, 5_000)  # the duplicate
    assert not is_stale(p, Event.CALL_ENDED, 6_000)
    assert not is_stale(p, Event.CHOOSE_AWAY, 0)  # our own events happen now


def test_every_event_of_the_table_has_a_rule_and_targets_are_states() -> None:
    assert set(TRANSITIONS) == set(Event)
    for rule_ in TRANSITIONS.values():
        assert rule_.allowed_from
        assert isinstance(rule_.to, AgentState | Resume)


class PresenceMachine(RuleBasedStateMachine):
    """Any sequence of events: the agent only ever moves along the table."""

    def __init__(self) -> None:
        super().__init__()
        self.presence = agent()
        self.clock = 1_000

    @rule(event=st.sampled_from(list(Event)), step=st.integers(min_value=0, max_value=120_000))
    def apply_event(self, event: Event, step: int) -> None:
        self.clock += step
        before = self.presence
        rule_ = TRANSITIONS[event]
        if before.state not in rule_.allowed_from:
            with pytest.raises(IllegalTransition):
                transition(before, event, self.clock, TIMERS)
            return
        if event == Event.RECONNECTED and not before.disconnected:
            with pytest.raises(IllegalTransition):
                transition(before, event, self.clock, TIMERS)
            return
        change = transition(before, event, self.clock, TIMERS)
        after = change.after
        if isinstance(rule_.to, AgentState):
            assert after.state == rule_.to
        else:
            assert after.state == (before.resume or S.AVAILABLE)
        assert after.reason == rule_.reason.value
        assert after.version == before.version + 1
        assert after.since_ms >= before.since_ms or event in EXTERNAL
        self.presence = after

    @rule(step=st.integers(min_value=0, max_value=200_000))
    def time_passes_and_timers_fire(self, step: int) -> None:
        self.clock += step
        for change in catch_up(self.presence, self.clock, TIMERS):
            assert change.before.state in TRANSITIONS[change.event].allowed_from
            self.presence = change.after

    @precondition(lambda self: self.presence.state != S.OFFLINE)
    @rule()
    def heartbeat(self) -> None:
        self.presence = Presence(**{**self.presence.__dict__, "last_seen_ms": self.clock})

    @rule(event=st.sampled_from(sorted(EXTERNAL)))
    def taskrouter_event_that_does_not_apply_only_moves_the_watermark(self, event: Event) -> None:
        self.clock += 1
        change = observe(self.presence, event, self.clock)
        assert not change.moved
        assert is_stale(change.after, event, self.clock)
        self.presence = change.after

    @invariant()
    def resume_is_a_state_an_agent_can_return_to(self) -> None:
        assert self.presence.resume in (None, S.AVAILABLE, S.AWAY, S.BREAK, S.WRAP_UP)

    @invariant()
    def wrap_up_and_only_wrap_up_has_a_deadline(self) -> None:
        assert (self.presence.state == S.WRAP_UP) == (self.presence.wrap_up_until_ms is not None)

    @invariant()
    def the_reason_belongs_to_the_state(self) -> None:
        p = self.presence
        if p.version == 0:
            return
        reasons = {
            r.reason.value
            for r in TRANSITIONS.values()
            if r.to == p.state or isinstance(r.to, Resume)
        }
        assert p.reason in reasons


TestPresenceMachine = PresenceMachine.TestCase
TestPresenceMachine.settings = settings(max_examples=200, stateful_step_count=40, deadline=None)


def deliver(p: Presence, event: Event, at: int, task: str = "WT1") -> Presence:
    """What the TaskRouter subscriber does with one event."""
    if is_stale(p, event, at, task):
        return p
    try:
        return transition(p, event, at, TIMERS, task_sid=task).after
    except IllegalTransition:
        return observe(p, event, at, task).after


LIFECYCLES = [
    [Event.OFFERED, Event.ACCEPTED, Event.CALL_ENDED],
    # the task's wrap-up event, then its completed event: both are "call ended"
    [Event.OFFERED, Event.ACCEPTED, Event.CALL_ENDED, Event.CALL_ENDED],
    [Event.OFFERED, Event.MISSED],
    [Event.OFFERED, Event.WITHDRAWN],
    [Event.OFFERED, Event.WITHDRAWN, Event.OFFERED, Event.ACCEPTED, Event.CALL_ENDED],
]


def in_order_and_shuffled(
    initial: Presence, timed: list[tuple[Event, int]], data: st.DataObject
) -> tuple[Presence, Presence]:
    """Where in-order delivery ends, and where a drawn shuffle with repeats ends. One event at
    one time is one callback: its repeats are duplicates, not further steps."""
    expected = initial
    for event, at in timed:
        expected = deliver(expected, event, at)
    distinct = list(dict.fromkeys(timed))
    deliveries = data.draw(
        st.lists(
            st.sampled_from(distinct), min_size=len(distinct), max_size=3 * len(distinct)
        ).filter(lambda d: set(d) == set(distinct))
    )
    final = initial
    for event, at in data.draw(st.permutations(deliveries)):
        final = deliver(final, event, at)
    return expected, final


@settings(max_examples=300, deadline=None)
@given(
    lifecycle=st.sampled_from(LIFECYCLES),
    start=st.sampled_from([S.AVAILABLE, S.AWAY, S.BREAK, S.WRAP_UP]),
    data=st.data(),
)
def test_taskrouter_events_in_any_order_and_repeated_end_where_in_order_delivery_ends(
    lifecycle: list[Event], start: AgentState, data: st.DataObject
) -> None:
    initial = agent(start, since_ms=500, reason=Reason.MANUAL.value)
    timed = [(event, 1_000 + 1_000 * n) for n, event in enumerate(lifecycle)]
    expected, final = in_order_and_shuffled(initial, timed, data)
    # The reason may say less (a withdrawn offer seen first leaves "manual"); the state may not.
    assert final.state == expected.state


@settings(max_examples=300, deadline=None)
@given(
    lifecycle=st.sampled_from(LIFECYCLES[:4]),
    start=st.sampled_from([S.AVAILABLE, S.AWAY, S.BREAK, S.WRAP_UP]),
    data=st.data(),
)
def test_a_tasks_events_stamped_with_the_same_millisecond_still_end_where_they_should(
    lifecycle: list[Event], start: AgentState, data: st.DataObject
) -> None:
    # TaskRouter stamps a step and the next one alike when they happen at once (a callback's
    # leg answered and wrapped, a voicemail accepted and handed over).
    initial = agent(start, since_ms=500, reason=Reason.MANUAL.value)
    gaps = data.draw(st.lists(st.sampled_from([0, 1_000]), min_size=len(lifecycle) - 1))
    times = [1_000]
    for gap in gaps[: len(lifecycle) - 1]:
        times.append(times[-1] + gap)
    expected, final = in_order_and_shuffled(
        initial, list(zip(lifecycle, times, strict=False)), data
    )
    assert final.state == expected.state
    if lifecycle[-1] == Event.CALL_ENDED:
        assert (final.state, final.wrapped_task) == (S.WRAP_UP, "WT1")


def test_a_call_answered_and_ended_in_one_millisecond_goes_to_wrap_up() -> None:
    ringing = deliver(agent(S.AVAILABLE, since_ms=500), Event.OFFERED, 1_000)
    on_call = deliver(ringing, Event.ACCEPTED, 2_000)
    ended = deliver(on_call, Event.CALL_ENDED, 2_000)
    assert (ended.state, ended.wrapped_task) == (S.WRAP_UP, "WT1")
    # The accepted event delivered again, or late, in that millisecond: old news.
    assert is_stale(ended, Event.ACCEPTED, 2_000, "WT1")
    assert is_stale(ended, Event.CALL_ENDED, 2_000, "WT1")
    assert deliver(ended, Event.ACCEPTED, 2_000) == ended


def test_the_next_task_offered_in_the_millisecond_the_last_one_completed_rings() -> None:
    on_call = deliver(deliver(agent(S.AVAILABLE), Event.OFFERED, 1_000), Event.ACCEPTED, 2_000)
    wrapping = deliver(on_call, Event.CALL_ENDED, 60_000)
    ringing = deliver(wrapping, Event.OFFERED, 60_000, task="WT2")
    assert (ringing.state, ringing.resume) == (S.RINGING, S.WRAP_UP)
    # Our own change in the same millisecond still wins over Twilio's (a tie by chance).
    away = transition(agent(S.AVAILABLE), Event.CHOOSE_AWAY, 70_000).after
    assert is_stale(away, Event.OFFERED, 70_000, "WT3")
