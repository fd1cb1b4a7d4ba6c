"""Before the softphone dials a customer: may this number be called, and from which of our
numbers. One use case, asked by the outbound webhook (the authority) and by the page's
dial check (so the rep reads the reason before calling).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from chalicelib.platform.errors import StorageUnavailable
from chalicelib.platform.observability import count, logger
from chalicelib.softphone.caller_id import choose_caller_id, team_of
from chalicelib.softphone.dial_rules import DialCheck, DialPolicy, check_number
from chalicelib.telephony.phone_numbers import masked


class DoNotCallList(Protocol):
    def contains(self, phone_e164: str) -> bool: ...


class AgentLookup(Protocol):
    def get(self, agent_id: str) -> dict[str, Any] | None: ...


@dataclass(frozen=True)
class Screening:
    """The check of the number; `caller_id` is what the customer sees when it is dialled."""

    check: DialCheck
    caller_id: str


class OutboundScreen:
    def __init__(
        self,
        do_not_call: DoNotCallList,
        policy: DialPolicy,
        agents: AgentLookup,
        company_number: str,
    ) -> None:
        self._do_not_call = do_not_call
        self._policy = policy
        self._agents = agents
        self._company_number = company_number

    def _listed(self, number: str) -> bool | None:
        try:
            return self._do_not_call.contains(number)
        except StorageUnavailable as exc:
            count("DoNotCallListUnavailable")
            logger.warning("do-not-call list unavailable", problem=str(exc))
            return None

    def check(self, raw_number: str, agent_id: str = "") -> DialCheck:
        result = check_number(raw_number, self._policy, self._listed)
        if result.refused:
            count(f"OutboundRefused_{result.refused.value}")
            logger.info(
                "outbound number refused",
                agent_id=agent_id or None,
                reason=result.refused.value,
                number=masked(result.number_e164 or raw_number),
            )
        return result

    def caller_id_for(self, agent_id: str) -> str:
        """The rep's team's number (one GetItem on the agents table), else the company number;
        also the company number when the directory cannot be read: the call still goes out,
        from a number that is certainly ours."""
        try:
            agent = self._agents.get(agent_id)
        except StorageUnavailable as exc:
            count("CallerIdDirectoryUnavailable")
            logger.warning("caller id from the company number", agent_id=agent_id, problem=str(exc))
            agent = None
        return choose_caller_id(team_of(agent), self._company_number)

    def screen(self, agent_id: str, raw_number: str) -> Screening:
        """The outbound webhook's check: the number's verdict and the caller ID to dial with."""
        result = self.check(raw_number, agent_id)
        caller_id = self.caller_id_for(agent_id) if result.allowed else ""
        return Screening(result, caller_id)
