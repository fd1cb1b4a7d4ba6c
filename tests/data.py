"""Small builders for rows the tests need in the moto tables."""

from __future__ import annotations

from typing import Any

from chalicelib.platform.settings import Settings

ACCOUNT_SID = "AC" + "a" * 32


def sid(prefix: str, n: int) -> str:
    return f"{prefix}{n:032x}"


def put_customer(
    dynamodb: Any,
    settings: Settings,
    phone: str = "+81312345678",
    customer_id: str = "C1",
    name: str = "Sakura Foods",
    owner: str = "owner",
    team: str = "tokyo",
) -> None:
    dynamodb.Table(settings.routing.customers_table).put_item(
        Item={
            "phone": phone,
            "customer_id": customer_id,
            "customer_name": name,
            "owner_agent_id": owner,
            "team": team,
        }
    )


def put_agent(dynamodb: Any, settings: Settings, agent_id: str, team: str = "tokyo") -> None:
    dynamodb.Table(settings.routing.agents_table).put_item(
        Item={
            "agent_id": agent_id,
            "name": agent_id.title(),
            "team": team,
            "worker_sid": "WK" + agent_id.encode().hex()[:32].ljust(32, "0"),
            "client_identity": agent_id,
        }
    )


def put_presence(
    dynamodb: Any, settings: Settings, agent_id: str, state: str, team: str = "tokyo"
) -> None:
    dynamodb.Table(settings.presence.presence_table).put_item(
        Item={"agent_id": agent_id, "team": team, "state": state, "version": 1}
    )


def incoming_call_form(
    call_sid: str = sid("CA", 1), caller: str = "+81312345678"
) -> dict[str, str]:
    return {
        "CallSid": call_sid,
        "AccountSid": ACCOUNT_SID,
        "From": caller,
        "To": "+81300000000",
        "CallStatus": "ringing",
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
        "Caller": caller,
        "Called": "+81300000000",
        "FromCountry": "JP",
    }
