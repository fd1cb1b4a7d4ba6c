"""Outbound calls on the in-process stack: the rep's softphone dials, the app answers TwiML
that puts the rep in a `jp1` conference and rings the customer into it, presence and TaskRouter
follow the call, and the conversation record tells what happened."""

from __future__ import annotations

from typing import Any

from ops.standin.harness import Stack
from ops.standin.outbound import Callee, OutboundTruth
from tests.standin.floor import available_floor

NUMBER = "+81312345678"


def _presence(stack: Stack, agent_id: str) -> Any:
    return stack.container.presence_store.get(agent_id)


def _run_until_over(stack: Stack, truth: OutboundTruth, limit: float = 600.0) -> None:
    standin = stack.standin
    while truth.outcome == "in_progress" and standin.now() < truth.placed_at + limit:
        standin.clock.run(until=standin.now() + 1)


def _worker_activity(stack: Stack, agent_id: str) -> str:
    worker = stack.standin.worker_by_agent(agent_id)
    return stack.standin.activities[worker.activity_sid].name


def test_an_answered_outbound_call_runs_in_a_jp1_conference_and_ends_in_wrap_up() -> None:
    with available_floor(4, seed=3) as (stack, floor, _customers):
        standin = stack.standin
        rep = floor[0]["agent_id"]
        sid = standin.dialler.dial(rep, NUMBER, Callee("answer", answer_after=5, talk_seconds=40))
        truth = standin.dialler.calls[sid]
        # The webhook has answered: the rep is on a call (outbound) in DynamoDB, and TaskRouter
        # shows them in the unavailable outbound activity, before the customer even rings.
        presence = _presence(stack, rep)
        assert (presence.state.value, presence.reason) == ("on_call", "outbound")
        assert presence.call_sid == sid
        assert _worker_activity(stack, rep) == "Outbound call"
        standin.clock.run(until=standin.now() + 0.5)
        rep_call = standin.calls[sid]
        conference = standin.conferences[rep_call.conference_sid]
        assert conference.friendly_name == f"outbound-{sid}"
        assert conference.region == "jp1"
        assert conference.record
        standin.clock.run(until=standin.now() + 10)
        # The rep joined first (channel 1 of the recording), then the customer, as labelled.
        labels = [p.label for p in conference.participants.values()]
        assert labels == [f"agent:{rep}", "customer"]
        customer = standin.calls[truth.customer_call_sid]
        assert (customer.from_, customer.to) == ("+81300000000", NUMBER)
        _run_until_over(stack, truth)
        assert truth.outcome == "connected"
        assert truth.talk_seconds is not None and abs(truth.talk_seconds - 40) < 1.5
        standin.clock.run(until=standin.now() + 5)
        presence = _presence(stack, rep)
        assert presence.state.value == "wrap_up"
        assert _worker_activity(stack, rep) == "Wrap-up"
        assert truth.offers_during == []
        record = stack.container.ledger.current_record(sid)
        assert record is not None
        assert record["direction"] == "outbound"
        assert record["answered_by"] == rep
        assert record["outcome"] == "answered"
        assert record["caller"] == NUMBER
        assert abs(record["talk_ms"] - 40_000) <= 2000


def test_a_busy_number_frees_the_rep_at_once_and_tells_them_why() -> None:
    with available_floor(4, seed=4) as (stack, floor, _customers):
        standin = stack.standin
        rep = floor[1]["agent_id"]
        sid = standin.dialler.dial(rep, NUMBER, Callee("busy"))
        truth = standin.dialler.calls[sid]
        _run_until_over(stack, truth)
        assert truth.outcome == "busy"
        standin.clock.run(until=standin.now() + 3)
        presence = _presence(stack, rep)
        assert (presence.state.value, presence.reason) == ("available", "not_connected")
        assert _worker_activity(stack, rep) == "Available"
        rep_call = standin.calls[sid]
        assert rep_call.status == "completed"
        record = stack.container.ledger.current_record(sid)
        assert record is not None
        assert (record["direction"], record["outcome"], record.get("answered_by", "")) == (
            "outbound",
            "failed",
            "",
        )


def test_an_unanswered_number_rings_out_then_frees_the_rep() -> None:
    with available_floor(4, seed=5) as (stack, floor, _customers):
        standin = stack.standin
        rep = floor[2]["agent_id"]
        sid = standin.dialler.dial(rep, NUMBER, Callee("no-answer"))
        truth = standin.dialler.calls[sid]
        standin.clock.run(until=standin.now() + 20)
        assert _presence(stack, rep).state.value == "on_call"
        _run_until_over(stack, truth)
        assert truth.outcome == "no_answer"
        standin.clock.run(until=standin.now() + 3)
        assert _presence(stack, rep).state.value == "available"


def test_no_inbound_call_is_offered_to_a_rep_dialling_out() -> None:
    """Every other rep is busy: the waiting caller is not offered to the rep on the outbound
    call, and is offered to them once the call is over."""
    with available_floor(2, seed=6) as (stack, floor, customers):
        from ops.standin.engine import CallerPlan

        standin = stack.standin
        rep, other = floor[0]["agent_id"], floor[1]["agent_id"]
        stack.population._set(other, "Break")
        standin.clock.run(until=standin.now() + 5)
        sid = standin.dialler.dial(rep, NUMBER, Callee("answer", answer_after=3, talk_seconds=60))
        truth = standin.dialler.calls[sid]
        customer = customers[0]
        caller = standin.place_call(
            CallerPlan(caller=customer["phone"], patience=900, talk_seconds=20)
        )
        _run_until_over(stack, truth)
        assert truth.outcome == "connected"
        assert truth.offers_during == []
        inbound = stack.truth.get(caller)
        assert inbound is not None
        assert all(o.at >= (truth.ended_at or 0) for o in inbound.offers), inbound.offers


def test_an_outbound_call_is_held_muted_and_cold_transferred_like_an_inbound_one() -> None:
    with available_floor(3, seed=7) as (stack, floor, _customers):
        standin = stack.standin
        api = stack.population.api
        assert api is not None
        rep, colleague = floor[0]["agent_id"], floor[1]["agent_id"]
        sid = standin.dialler.dial(rep, NUMBER, Callee("answer", answer_after=3, talk_seconds=300))
        truth = standin.dialler.calls[sid]
        standin.clock.run(until=standin.now() + 10)
        held = api.request(rep, "GET", "/agents/me/call")
        assert held is not None and held["call"] is not None
        conference_sid = held["call"]["conference_sid"]
        assert held["call"]["customer_call_sid"] == truth.customer_call_sid
        assert held["call"]["type"] == "outbound"
        conference = standin.conferences[conference_sid]
        assert api.request(rep, "POST", f"/calls/{conference_sid}/hold", {}) is not None
        assert conference.participants[truth.customer_call_sid].hold
        assert api.request(rep, "POST", f"/calls/{conference_sid}/resume", {}) is not None
        assert api.request(rep, "POST", f"/calls/{conference_sid}/mute", {"muted": True})
        assert conference.participants[sid].muted
        # Another rep's softphone cannot touch it.
        assert api.request(colleague, "POST", f"/calls/{conference_sid}/hold", {}) is None
        reply = api.request(
            rep,
            "POST",
            f"/calls/{conference_sid}/transfer",
            {"mode": "cold", "to_agent": colleague},
        )
        assert reply is not None and reply["agent_left"] is True
        standin.clock.run(until=standin.now() + 30)
        labels = {p.label: p.status for p in conference.participants.values()}
        assert labels[f"agent:{rep}"] == "left"
        assert labels[f"agent:{colleague}"] == "connected"
        assert labels["customer"] == "connected"
        assert conference.status == "in-progress"
        assert _presence(stack, rep).state.value == "wrap_up"
        assert _presence(stack, colleague).state.value == "on_call"


def test_an_internal_call_busies_both_reps_and_stays_out_of_the_customer_kpis() -> None:
    with available_floor(3, seed=8) as (stack, floor, _customers):
        from chalicelib.conversations.kpis import compute

        standin = stack.standin
        rep, colleague = floor[0]["agent_id"], floor[1]["agent_id"]
        stack.population.script[colleague] = [4.0]  # picks up after 4 s
        sid = standin.dialler.dial(
            rep, f"agent:{colleague}", Callee("answer", answer_after=4, talk_seconds=30)
        )
        truth = standin.dialler.calls[sid]
        for agent_id in (rep, colleague):
            presence = _presence(stack, agent_id)
            assert (presence.state.value, presence.reason, presence.call_sid) == (
                "on_call",
                "internal",
                sid,
            )
            assert _worker_activity(stack, agent_id) == "Outbound call"
        _run_until_over(stack, truth)
        assert truth.outcome == "connected"
        standin.clock.run(until=standin.now() + 5)
        assert _presence(stack, rep).state.value == "wrap_up"
        assert _presence(stack, colleague).state.value == "wrap_up"
        record = stack.container.ledger.current_record(sid)
        assert record is not None
        assert (record["direction"], record["internal"], record["to_agent"]) == (
            "outbound",
            True,
            colleague,
        )
        kpis = compute([record])
        assert kpis["totals"]["internal_calls"] == 1
        assert kpis["outbound"]["totals"]["attempts"] == 0


def test_an_internal_call_to_a_colleague_who_is_not_free_rings_nobody() -> None:
    with available_floor(3, seed=9) as (stack, floor, _customers):
        standin = stack.standin
        rep, colleague = floor[0]["agent_id"], floor[1]["agent_id"]
        stack.population._set(colleague, "Break")
        standin.clock.run(until=standin.now() + 5)
        sid = standin.dialler.dial(rep, f"agent:{colleague}", Callee("answer"))
        standin.clock.run(until=standin.now() + 10)
        assert standin.calls[sid].status == "completed"
        assert not any(c.to == f"client:{colleague}" for c in standin.calls.values())
        assert _presence(stack, rep).state.value == "available"
        assert _presence(stack, colleague).state.value == "break"
