from __future__ import annotations

from chalicelib.presence.domain import AgentState
from chalicelib.routing.plan import (
    AgentPresence,
    Customer,
    Stage,
    TeamPresence,
    degraded_plan,
    plan_route,
)

CUSTOMER = Customer(
    phone="+81312345678",
    customer_id="C1",
    name="Sakura Foods",
    owner_agent_id="owner",
    team="tokyo",
)


def team(**states: AgentState) -> TeamPresence:
    return TeamPresence.of("tokyo", [AgentPresence(a, "tokyo", s) for a, s in states.items()])


def test_owner_available_rings_owner_first() -> None:
    plan = plan_route("CA1", CUSTOMER.phone, CUSTOMER, team(owner=AgentState.AVAILABLE))
    assert plan.stage is Stage.OWNER


def test_owner_away_rings_team_first() -> None:
    presence = team(owner=AgentState.AWAY, mate=AgentState.AVAILABLE)
    assert plan_route("CA1", CUSTOMER.phone, CUSTOMER, presence).stage is Stage.TEAM


def test_owner_on_a_call_counts_as_not_available() -> None:
    presence = team(owner=AgentState.ON_CALL, mate=AgentState.AVAILABLE)
    assert plan_route("CA1", CUSTOMER.phone, CUSTOMER, presence).stage is Stage.TEAM


def test_whole_team_away_goes_to_everyone() -> None:
    presence = team(owner=AgentState.AWAY, mate=AgentState.BREAK)
    assert plan_route("CA1", CUSTOMER.phone, CUSTOMER, presence).stage is Stage.EVERYONE


def test_unknown_caller_goes_straight_to_everyone() -> None:
    plan = plan_route("CA1", "+819099999999", None, None)
    assert plan.stage is Stage.EVERYONE
    assert plan.task_attributes()["customer_id"] == ""


def test_customer_without_owner_starts_with_team() -> None:
    customer = Customer("+81312345678", "C2", "Team Co", owner_agent_id="", team="tokyo")
    assert plan_route("CA1", None, customer, team(mate=AgentState.AVAILABLE)).stage is Stage.TEAM


def test_task_attributes_carry_everything_the_workflow_and_agent_need() -> None:
    plan = plan_route("CA1", CUSTOMER.phone, CUSTOMER, team(owner=AgentState.AVAILABLE))
    assert plan.task_attributes() == {
        "type": "inbound_call",
        "call_sid": "CA1",
        "caller": "+81312345678",
        "customer_id": "C1",
        "customer_name": "Sakura Foods",
        "owner_agent_id": "owner",
        "team": "tokyo",
        "stage": "owner",
        "initial_stage": "owner",
        "routing_degraded": False,
    }


def test_degraded_plan_is_everyone_and_says_so() -> None:
    plan = degraded_plan("CA1", "+81312345678")
    assert plan.stage is Stage.EVERYONE
    assert plan.task_attributes()["routing_degraded"] is True
