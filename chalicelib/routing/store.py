"""DynamoDB adapters for the CRM-owner mapping, the agent directory and presence reads.

Key design (documented in infra/README.md):
- customers: `phone` (E.164) -> customer_id, customer_name, owner_agent_id, team.
- agents: `agent_id` -> name, team, worker_sid, client_identity.
- presence: `agent_id` -> state, team, version...; GSI `team-index` (team, agent_id) so one
  Query returns the owner and every teammate's state for the routing decision.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.platform.errors import StorageUnavailable
from chalicelib.presence.domain import AgentState
from chalicelib.routing.plan import AgentPresence, Customer, TeamPresence

TEAM_INDEX = "team-index"


def _customer(item: dict[str, Any]) -> Customer:
    return Customer(
        phone=str(item["phone"]),
        customer_id=str(item["customer_id"]),
        name=str(item.get("customer_name", "")),
        owner_agent_id=str(item.get("owner_agent_id", "")),
        team=str(item.get("team", "")),
    )


class CustomerDirectory:
    """The CRM-owner mapping: who a calling number belongs to."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def find_by_phone(self, phone_e164: str) -> Customer | None:
        try:
            item = self._table.get_item(Key={"phone": phone_e164}).get("Item")
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable(f"customers lookup failed: {exc}") from exc
        return _customer(item) if item else None


class AgentDirectory:
    """Agents as HR knows them: team, Twilio worker, browser client identity."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, agent_id: str) -> dict[str, Any] | None:
        try:
            item: dict[str, Any] | None = self._table.get_item(Key={"agent_id": agent_id}).get(
                "Item"
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable(f"agent lookup failed: {exc}") from exc
        return item

    def all(self) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {}
        try:
            while True:
                page = self._table.scan(**kwargs)
                yield from page.get("Items", [])
                if "LastEvaluatedKey" not in page:
                    return
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable(f"agent scan failed: {exc}") from exc

    def has_team(self, team: str) -> bool:
        """Whether any agent in the directory belongs to `team`.

        A Scan with a filter, stopping at the first page with a match: the directory is small
        (hundreds of items, one or two pages), and only a transfer to a team asks.
        """
        from boto3.dynamodb.conditions import Attr

        kwargs: dict[str, Any] = {
            "FilterExpression": Attr("team").eq(team),
            "ProjectionExpression": "agent_id",
        }
        try:
            while True:
                page = self._table.scan(**kwargs)
                if page.get("Items"):
                    return True
                if "LastEvaluatedKey" not in page:
                    return False
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable(f"agent scan failed: {exc}") from exc


def _presence(item: dict[str, Any]) -> AgentPresence:
    try:
        state = AgentState(str(item.get("state", AgentState.OFFLINE)))
    except ValueError:
        state = AgentState.OFFLINE
    return AgentPresence(
        agent_id=str(item["agent_id"]), team=str(item.get("team", "")), state=state
    )


class PresenceReader:
    """Reads of the presence table that routing needs: one Query per team."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def team_presence(self, team: str) -> TeamPresence:
        members: list[AgentPresence] = []
        kwargs: dict[str, Any] = {
            "IndexName": TEAM_INDEX,
            "KeyConditionExpression": Key("team").eq(team),
            "ProjectionExpression": "agent_id, team, #s",
            "ExpressionAttributeNames": {"#s": "state"},
        }
        try:
            while True:
                page = self._table.query(**kwargs)
                members.extend(_presence(item) for item in page.get("Items", []))
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable(f"presence query failed: {exc}") from exc
        return TeamPresence.of(team, members)
