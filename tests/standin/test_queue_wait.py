"""Issue 18 rehearsed: the stand-in requests our waitUrl as Twilio does (signed, with the queue's
figures, again each time a document has played) and honours <Gather>, <Leave> and <Redirect> in
it (https://www.twilio.com/docs/voice/twiml/enqueue, "waitUrl"). A key pressed while waiting
leaves the queue for the fallback: the task is canceled, the escalation timeline stops, and the
follow-up is created once.

Which figures a call enqueued into a TaskRouter workflow receives is not documented: rehearsed
with all of them and with none. Whose TwiML a call redirected out of the queue follows is not
documented either (see test_redirect_from_queue.py): rehearsed both ways.
"""

from __future__ import annotations

from typing import Any

import pytest

from ops.simulate import directory
from ops.standin.engine import CallerPlan
from ops.standin.harness import Stack, in_process_stack
from ops.standin.population import AgentProfile, Population
from ops.standin.truth import CallTruth


def _call(stack: Stack, customers: list[dict[str, Any]], wait_digits: str) -> CallTruth:
    standin = stack.standin
    customer = next(c for c in customers if c["owner_agent_id"])
    sid = standin.place_call(
        CallerPlan(
            caller=customer["phone"],
            patience=900.0,
            talk_seconds=30.0,
            customer_id=customer["customer_id"],
            owner_agent_id=customer["owner_agent_id"],
            team=customer["team"],
            wait_digits=wait_digits,
        )
    )
    truth = stack.truth.get(sid)
    assert truth is not None
    while truth.ended_at is None and standin.now() < truth.placed_at + 1200:
        standin.clock.run(until=standin.now() + 10)
    return truth


def _nobody_answers(seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]], Population]:
    """Agents who never sign in: every caller waits until the escalation's fallback."""
    agents, customers = directory(4, seed=seed)
    profiles = [
        AgentProfile(a["agent_id"], a["team"], a["worker_sid"], miss_rate=0.0) for a in agents
    ]
    return agents, customers, Population(profiles, seed=seed)


@pytest.mark.parametrize("figures", ["all", "none"])
def test_a_waiting_caller_hears_our_wait_documents_until_the_fallback(figures: str) -> None:
    agents, customers, population = _nobody_answers(7)
    with in_process_stack(agents, customers, population, seed=7) as stack:
        stack.standin.voice.wait_figures = figures
        truth = _call(stack, customers, wait_digits="")
        stats = stack.standin.stats
        waited = stats.routes["/twilio/voice/queue-wait"].statuses
        assert set(waited) == {200}, "signed as Twilio signs, accepted every time"
        assert sum(waited.values()) >= 3, "requested again each time a document played out"
        assert stats.counters["WaitUrlFailed"] == 0
        assert not any(k.startswith("UnsupportedWaitVerb") for k in stats.counters)
        counters = stack.app_counters
        assert counters is not None
        assert counters["QueueWaitKeyPressed"] == 0, "no key: the place in line is kept"
        assert counters["QueueExitRedirected"] == 1, "the escalation's fallback step took it"
        assert truth.outcome == "voicemail", truth


@pytest.mark.parametrize(
    ("key", "outcome", "follow_up"),
    [("1", "voicemail", None), ("2", "callback_requested", "FollowUpCreated_callback")],
)
def test_a_key_while_waiting_leaves_the_queue_for_the_fallback_once(
    key: str, outcome: str, follow_up: str | None
) -> None:
    agents, customers, population = _nobody_answers(8)
    with in_process_stack(agents, customers, population, seed=8) as stack:
        truth = _call(stack, customers, wait_digits=key)
        counters = stack.app_counters
        assert counters is not None
        assert counters["QueueWaitKeyPressed"] == 1
        assert counters["EscalationFallbackOffered"] == 0, "left before the timeline's fallback"
        assert counters["EscalationTimelineStopped"] == 1, "the canceled task stops the timeline"
        assert truth.outcome == outcome, truth
        assert truth.abandoned is False
        if follow_up:
            assert counters[follow_up] == 1
        assert counters["FollowUpCreated_voicemail"] == (1 if key == "1" else 0)
        assert stack.standin.stats.counters["EnqueueActionOnRedirect"] == 1


def test_if_twilio_plays_the_enqueue_action_the_caller_still_gets_the_menu() -> None:
    agents, customers, population = _nobody_answers(9)
    with in_process_stack(agents, customers, population, seed=9) as stack:
        stack.standin.voice.redirect_from_queue_follows = "action"
        truth = _call(stack, customers, wait_digits="1")
        counters = stack.app_counters
        assert counters is not None
        assert counters["QueueWaitKeyPressed"] == 1
        assert counters["QueueExitRedirected"] == 1
        # The menu, where this caller presses nothing: a voicemail, never a dropped call.
        assert truth.outcome in ("voicemail", "callback_requested"), truth


def test_twilio_unreachable_at_the_key_leaves_by_twiml_for_the_menu() -> None:
    """The redirect fails (503): our answer is <Leave>, which requests the <Enqueue action>
    "right away" with QueueResult=leave, and the action offers the fallback menu."""
    agents, customers, population = _nobody_answers(10)
    with in_process_stack(agents, customers, population, seed=10) as stack:
        stack.rest.unavailable_call_updates = 5  # more than the app's retries
        truth = _call(stack, customers, wait_digits="2")
        stats = stack.standin.stats
        assert stats.counters["WaitLeave"] == 1
        counters = stack.app_counters
        assert counters is not None
        assert counters["QueueWaitLeaveWithoutRedirect"] == 1
        assert counters["QueueExitToFallback"] == 1, "QueueResult=leave, then the menu"
        assert counters["EscalationTimelineStopped"] == 1
        assert truth.outcome == "voicemail", truth
