"""Who hears a call first: the customer's owner, then the owner's team, then everyone.

This is the contact center's routing plan as plain data. TaskRouter carries it out (the task
attributes select the workflow filter for the starting stage) and Step Functions widens it over
time; here we only decide where a call starts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from chalicelib.presence.domain import AgentState


class Stage(StrEnum):
    OWNER = "owner"
    TEAM = "team"
    EVERYONE = "everyone"
    FALLBACK = "fallback"


ESCALATION_ORDER: tuple[Stage, ...] = (Stage.OWNER, Stage.TEAM, Stage.EVERYONE, Stage.FALLBACK)


@dataclass(frozen=True)
class Customer:
    phone: str
    customer_id: str
    name: str
    owner_agent_id: str
    team: str


@dataclass(frozen=True)
class AgentPresence:
    agent_id: str
    team: str
    state: AgentState


@dataclass(frozen=True)
class TeamPresence:
    """What the routing decision needs to know about the owner's team right now."""

    team: str
    members: tuple[AgentPresence, ...]

    @classmethod
    def of(cls, team: str, members: Iterable[AgentPresence]) -> TeamPresence:
        return cls(team=team, members=tuple(members))

    def is_available(self, agent_id: str) -> bool:
        return any(m.agent_id == agent_id and m.state == AgentState.AVAILABLE for m in self.members)

    def available_count(self) -> int:
        return sum(1 for m in self.members if m.state == AgentState.AVAILABLE)


@dataclass(frozen=True)
class RoutingPlan:
    caller: str | None
    call_sid: str
    stage: Stage
    customer: Customer | None
    # True when we could not read the CRM or presence and sent the call to everyone.
    degraded: bool = False

    def task_attributes(self) -> dict[str, object]:
        """The TaskRouter task attributes: what the workflow filters on and agents are shown."""
        customer = self.customer
        return {
            "type": "inbound_call",
            "call_sid": self.call_sid,
            "caller": self.caller or "",
            "customer_id": customer.customer_id if customer else "",
            "customer_name": customer.name if customer else "",
            "owner_agent_id": customer.owner_agent_id if customer else "",
            "team": customer.team if customer else "",
            "stage": self.stage.value,
            "initial_stage": self.stage.value,
            "routing_degraded": self.degraded,
        }


def plan_route(
    call_sid: str, caller: str | None, customer: Customer | None, team: TeamPresence | None
) -> RoutingPlan:
    """Pick the first stage that has someone available to answer.

    An unknown caller, or a customer whose owner and team are all unavailable, goes to everyone;
    TaskRouter then offers the call to whoever becomes available first.
    """
    if customer is None:
        return RoutingPlan(caller=caller, call_sid=call_sid, stage=Stage.EVERYONE, customer=None)
    presence = team or TeamPresence.of(customer.team, ())
    if customer.owner_agent_id and presence.is_available(customer.owner_agent_id):
        stage = Stage.OWNER
    elif customer.team and presence.available_count() > 0:
        stage = Stage.TEAM
    else:
        stage = Stage.EVERYONE
    return RoutingPlan(caller=caller, call_sid=call_sid, stage=stage, customer=customer)


def degraded_plan(call_sid: str, caller: str | None) -> RoutingPlan:
    """The plan when our own storage failed: nobody is skipped, the widest queue takes the call."""
    return RoutingPlan(
        caller=caller, call_sid=call_sid, stage=Stage.EVERYONE, customer=None, degraded=True
    )
