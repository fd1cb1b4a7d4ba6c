"""The supervisors' live floor (issue 19, item 2): GET /supervisor/floor from one snapshot per
container, whoever watches (chalicelib/supervision/floor.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.bootstrap import Container
from tests import conversation_script as script
from tests.conversation_stream import deliver_stream
from tests.data import put_agent


class Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def talking(n: int) -> script.CallScript:
    """Answered by the owner 6 s in, still talking."""
    s = script.CallScript(n=n)
    s.leg("ringing", 0).task("task.created", 1)
    s.offer("owner", 1, 6, "accepted")
    s.conference("conference-start", 6)
    s.conference("participant-join", 6, s.call_sid)
    return s


def waiting(n: int) -> script.CallScript:
    """Queued 1 s in, ringing the owner, nobody answered yet."""
    s = script.CallScript(n=n, customer_id="C9")
    s.leg("ringing", 0).task("task.created", 1)
    return s


@pytest.fixture
def floor(container: Container, resources: Any) -> Clock:
    for s in (talking(71), waiting(72), script.answered_by_owner(n=73)):
        for event in s.events():
            container.ledger.store_event(event)
    deliver_stream(container)
    put_agent(resources, container.settings, "owner", team="tokyo")
    clock = Clock(script.T0 + 90_000)  # 90 s after the calls began
    container.clock = clock  # type: ignore[method-assign]
    return clock


def get(client: Any, token: str) -> Any:
    return client.http.get("/supervisor/floor", headers={"Authorization": f"Bearer {token}"})


def test_the_floor_shows_who_waits_who_talks_and_alerts(
    client: Any, container: Container, floor: Clock, staff_token: Any
) -> None:
    assert get(client, staff_token("sato")).status_code == 403
    response = get(client, staff_token("boss", supervisor=True))
    assert response.status_code == 200
    view = json.loads(response.body)
    [caller] = view["waiting"]
    assert caller["conversation_id"] == waiting(72).call_sid
    assert caller["wait_seconds"] == 89  # queued 1 s after the call began
    assert caller["customer_id"] == "C9"
    [call] = view["on_calls"]
    assert (call["conversation_id"], call["agent_id"]) == (talking(71).call_sid, "owner")
    assert call["talk_seconds"] == 84
    # The ended call is not on the floor but counts in the team's day.
    assert view["teams"]["tokyo"]["answered"] >= 1
    kinds = {a["kind"] for a in view["alerts"]}
    assert "longest_wait" in kinds  # 89 s >= the 60 s default


def test_viewers_share_one_snapshot_per_refresh(
    client: Any, container: Container, floor: Clock, staff_token: Any
) -> None:
    token = staff_token("boss", supervisor=True)
    cache = container.supervisor_floor
    for _ in range(20):  # twenty supervisors polling within one refresh interval
        assert get(client, token).status_code == 200
    assert cache.builds == 1
    floor.now += int(container.settings.supervision.floor_refresh_seconds * 1000)
    get(client, token)
    assert cache.builds == 2
