"""The softphone's "your recent calls": GET /conversations?agent=me is the signed-in agent's."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.bootstrap import Container
from tests import conversation_script as script
from tests.conversation_stream import deliver_stream

DAY = "2025-11-25"  # script.T0 is 01:00 on this day in Tokyo


def recent(client: Any, token: str, query: str) -> list[str]:
    response = client.http.get(
        f"/conversations?from={DAY}&to={DAY}&{query}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.body
    return [c["conversation_id"] for c in json.loads(response.body)["conversations"]]


def test_agent_me_lists_the_signed_in_agents_own_calls(
    client: Any, container: Container, staff_token: Any
) -> None:
    owners = script.answered_by_owner(n=41)  # answered by "owner"
    by_x = script.offered_five_times_then_answered_by_x(n=42)  # answered by "agent_x"
    for s in (owners, by_x):
        for event in s.events():
            container.ledger.store_event(event)
    deliver_stream(container)

    assert recent(client, staff_token("agent_x"), "agent=me") == [by_x.call_sid]
    assert recent(client, staff_token("owner"), "agent=me") == [owners.call_sid]
    assert recent(client, staff_token("nobody"), "agent=me") == []
    # A supervisor lists any agent's calls; a rep only their own (see test_read_access.py).
    boss = staff_token("boss", supervisor=True)
    assert recent(client, boss, "agent=agent_x") == [by_x.call_sid]
