"""A supervisor puts a rep away or signs them out (issue 19, item 4): the same transitions as the
softphone's and `python -m ops sign-out`."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.bootstrap import Container
from tests.data import put_agent


@pytest.fixture
def floor(container: Container, resources: Any, staff_token: Any) -> dict[str, str]:
    put_agent(resources, container.settings, "sato", team="tokyo")
    return {
        "sato": staff_token("sato"),
        "ito": staff_token("ito"),
        "boss": staff_token("boss", supervisor=True),
    }


def send(client: Any, method: str, path: str, token: str, body: Any = None) -> Any:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    return getattr(client.http, method.lower())(
        path, headers=headers, body=json.dumps(body) if body is not None else None
    )


def test_a_supervisor_puts_a_rep_away_then_signs_them_out(
    client: Any, container: Container, floor: dict[str, str]
) -> None:
    assert send(client, "POST", "/agents/me/session", floor["sato"]).status_code == 200
    path = "/supervisor/agents/sato/state"
    away = send(client, "PUT", path, floor["boss"], {"state": "away"})
    assert away.status_code == 200, away.body
    assert json.loads(away.body) == {"agent_id": "sato", "state": "away", "forced_by": "boss"}
    assert container.presence_store.get("sato").state.value == "away"  # type: ignore[union-attr]
    out = send(client, "PUT", path, floor["boss"], {"state": "offline"})
    assert json.loads(out.body)["state"] == "offline"
    assert container.presence_store.get("sato").state.value == "offline"  # type: ignore[union-attr]
    # Signed out, they cannot be put away (sign in first): 409.
    assert send(client, "PUT", path, floor["boss"], {"state": "away"}).status_code == 409


def test_reps_are_refused_and_bad_requests_are_4xx(
    client: Any, container: Container, floor: dict[str, str]
) -> None:
    send(client, "POST", "/agents/me/session", floor["sato"])
    path = "/supervisor/agents/sato/state"
    assert send(client, "PUT", path, floor["ito"], {"state": "offline"}).status_code == 403
    assert container.presence_store.get("sato").state.value == "available"  # type: ignore[union-attr]
    assert send(client, "PUT", path, floor["boss"], {"state": "break"}).status_code == 400
    unknown = "/supervisor/agents/nobody/state"
    assert send(client, "PUT", unknown, floor["boss"], {"state": "away"}).status_code == 404
