"""Who a transfer may name: a team is known from the agent directory, not from presence."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.routing.store import AgentDirectory
from tests.app.test_call_control import (
    CF,
    NEW_TASK,
    TASK,
    FakeTaskRouter,
    inbound_task_attributes,
)
from tests.data import put_agent, put_presence


@pytest.fixture
def post_as(client: Any, staff_token: Any) -> Any:
    def post(agent_id: str, path: str, body: dict[str, Any]) -> Any:
        return client.http.post(
            path,
            headers={
                "Authorization": f"Bearer {staff_token(agent_id)}",
                "Content-Type": "application/json",
                "X-Client-Version": "1.0.0",
            },
            body=json.dumps(body),
        )

    return post


def test_a_team_nobody_has_signed_in_to_yet_can_take_a_warm_transfer(
    post_as: Any, resources: Any, container: Any, twilio_http: Any
) -> None:
    taskrouter = FakeTaskRouter(twilio_http)
    put_agent(resources, container.settings, "sato", team="tokyo")
    put_presence(resources, container.settings, "sato", "on_call", team="tokyo")
    # osaka is in the directory, but nobody there has a presence row yet (early morning).
    put_agent(resources, container.settings, "suzuki", team="osaka")
    taskrouter.give("sato", TASK, inbound_task_attributes())

    response = post_as("sato", f"/calls/{CF}/transfer", {"to_team": "osaka", "mode": "warm"})

    assert response.status_code == 202, response.body
    assert json.loads(response.body)["transfer_task_sid"] == NEW_TASK
    [created] = twilio_http.calls("POST", "/Tasks")
    attributes = json.loads(created.data["Attributes"])
    assert (attributes["stage"], attributes["team"]) == ("team", "osaka")


def test_a_team_missing_from_the_directory_is_404_and_nothing_reaches_twilio(
    post_as: Any, resources: Any, container: Any, twilio_http: Any
) -> None:
    taskrouter = FakeTaskRouter(twilio_http)
    put_agent(resources, container.settings, "sato", team="tokyo")
    # A stale presence row names a team the directory no longer has.
    put_presence(resources, container.settings, "gone", "offline", team="nagoya")
    taskrouter.give("sato", TASK, inbound_task_attributes())

    response = post_as("sato", f"/calls/{CF}/transfer", {"to_team": "nagoya", "mode": "warm"})

    assert response.status_code == 404
    assert "no team nagoya" in json.loads(response.body)["Message"]
    assert twilio_http.requests == []


def test_the_directory_knows_a_team_with_members_on_any_page(
    resources: Any, container: Any
) -> None:
    for n in range(30):
        put_agent(resources, container.settings, f"agent{n:02d}", team="tokyo")
    put_agent(resources, container.settings, "zz-last", team="sapporo")
    table = resources.Table(container.settings.routing.agents_table)

    class SmallPages:
        """The real table, read 7 items per Scan page, as a big directory would be."""

        def scan(self, **kwargs: Any) -> Any:
            return table.scan(Limit=7, **kwargs)

    directory = AgentDirectory(SmallPages())
    assert directory.has_team("sapporo")
    assert directory.has_team("tokyo")
    assert not directory.has_team("osaka")
