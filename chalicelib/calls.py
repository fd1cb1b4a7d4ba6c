"""Calls placed and controlled from the softphone: outbound dialling, hold, mute, transfer.

Domain only: it decides what to ask Twilio (through the gateway passed in) and who may ask.
The one rule everything here rests on: an agent controls only a call they hold. See
`held_call` for how that is checked.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field

from chalicelib.models import TwilioForm
from chalicelib.observability import count, logger
from chalicelib.phone_numbers import InvalidPhoneNumber, masked, to_e164


class OutboundRequest(TwilioForm):
    """What the TwiML App posts when the softphone calls `device.connect({params: {To}})`."""

    call_sid: str = Field(alias="CallSid", pattern=r"^CA[0-9a-fA-F]{32}$")
    account_sid: str = Field(alias="AccountSid", min_length=1)
    from_: str = Field(alias="From", default="")
    to: str = Field(alias="To", default="")


@dataclass(frozen=True)
class OutboundDecision:
    """Either the number to dial for `agent_id`, or why the call is refused."""

    agent_id: str
    number_e164: str = ""
    refused: str = ""  # "not_an_agent" | "invalid_number"


def decide_outbound(request: OutboundRequest, default_country: str) -> OutboundDecision:
    """What the TwiML App does with a call from the softphone: dial `To`, if it is a number."""
    identity = request.from_.removeprefix("client:") if request.from_.startswith("client:") else ""
    if not identity:
        count("OutboundRefusedNotAgent")
        logger.warning("outbound call not from a softphone", call_sid=request.call_sid)
        return OutboundDecision(agent_id="", refused="not_an_agent")
    try:
        number = to_e164(request.to, default_country)
    except InvalidPhoneNumber:
        count("OutboundRefusedInvalidNumber")
        logger.info(
            "outbound number invalid",
            call_sid=request.call_sid,
            agent_id=identity,
            number=masked(request.to),
        )
        return OutboundDecision(agent_id=identity, refused="invalid_number")
    count("OutboundCallsDialled")
    logger.info(
        "outbound call dialled", call_sid=request.call_sid, agent_id=identity, to=masked(number)
    )
    return OutboundDecision(agent_id=identity, number_e164=number)
