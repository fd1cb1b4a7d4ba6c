"""The incoming-call use case: from Twilio's webhook to a routing plan, never dropping a caller.

Two reads at most (the customer by number, then the presence of the owner's team in one Query);
any failure of our storage degrades to the widest queue, logged with the call sid and counted.
"""

from __future__ import annotations

from typing import Protocol

from chalicelib.platform.errors import StorageUnavailable
from chalicelib.platform.observability import count, logger
from chalicelib.routing.plan import Customer, RoutingPlan, TeamPresence, degraded_plan, plan_route
from chalicelib.telephony.forms import IncomingCall
from chalicelib.telephony.phone_numbers import caller_e164, masked


class Customers(Protocol):
    def find_by_phone(self, phone_e164: str) -> Customer | None: ...


class Presence(Protocol):
    def team_presence(self, team: str) -> TeamPresence: ...


def route_incoming_call(
    call: IncomingCall, customers: Customers, presence: Presence, default_country: str
) -> RoutingPlan:
    caller = caller_e164(call.from_, default_country)
    try:
        customer = customers.find_by_phone(caller) if caller else None
        team = presence.team_presence(customer.team) if customer and customer.team else None
    except StorageUnavailable as exc:
        return _degrade(call, caller, str(exc))
    except Exception as exc:  # noqa: BLE001 - a bug of ours must not drop a live caller
        logger.exception("routing failed unexpectedly", call_sid=call.call_sid)
        return _degrade(call, caller, repr(exc))
    plan = plan_route(call.call_sid, caller, customer, team)
    count(f"CallsRouted_{plan.stage.value}")
    logger.info(
        "call routed",
        call_sid=call.call_sid,
        stage=plan.stage.value,
        caller=masked(caller),
        customer_id=customer.customer_id if customer else None,
        owner_agent_id=customer.owner_agent_id if customer else None,
    )
    return plan


def _degrade(call: IncomingCall, caller: str | None, reason: str) -> RoutingPlan:
    count("RoutingDegraded")
    logger.error("routing degraded to everyone", call_sid=call.call_sid, reason=reason)
    return degraded_plan(call.call_sid, caller)
