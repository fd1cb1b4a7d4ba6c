"""Presence over HTTP: the softphone's session routes, TaskRouter's events, the board feed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.bootstrap import Container
from tests.conftest import TwilioPoster
from tests.data import ACCOUNT_SID, put_agent, sid

EVENTS_PATH = "/twilio/taskrouter/events"
T0 = 1_764_000_000_000


class FakeClock:
    def __init__(self, now: int = T0) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock(container: Container) -> FakeClock:
    fake = FakeClock()
    container.clock = fake
    return fake


@pytest.fixture
def agent(container: Container, resources: Any, staff_token: Any) -> dict[str, str]:
    put_agent(resources, container.settings, "sato", team="tokyo")
    put_agent(resources, container.settings, "suzuki", team="osaka")
    return {"Authorization": f"Bearer {staff_token('sato')}"}


def call(client: Any, method: str, path: str, headers: dict[str, str], body: Any = None) -> Any:
    send = getattr(client.http, method.lower())
    kwargs: dict[str, Any] = {"headers": {**headers, "Content-Type": "application/json"}}
    if body is not None:
        kwargs["body"] = json.dumps(body)
    return send(path, **kwargs)


def test_signing_in_makes_the_agent_available(client: Any, agent: dict[str, str]) -> None:
    response = call(client, "POST", "/agents/me/session", agent)
    assert response.status_code == 200
    body = response.json_body
    assert (body["agent_id"], body["state"], body["reason"]) == ("sato", "available", "signed_in")
    assert body["heartbeat_interval_seconds"] == 15


def test_requests_without_a_token_are_401(client: Any, cognito_pool: Any) -> None:
    for method, path in [
        ("POST", "/agents/me/session"),
        ("POST", "/agents/me/heartbeat"),
        ("PUT", "/agents/me/status"),
        ("DELETE", "/agents/me/session"),
        ("GET", "/presence"),
    ]:
        assert call(client, method, path, {}).status_code == 401, path


def test_an_agent_changes_only_their_own_presence(
    client: Any, agent: dict[str, str], container: Container
) -> None:
    container.presence.sign_in("suzuki")
    call(client, "POST", "/agents/me/session", agent)
    call(client, "PUT", "/agents/me/status", agent, {"state": "break"})
    assert container.presence_store.get("sato").state == "break"  # type: ignore[union-attr]
    assert container.presence_store.get("suzuki").state == "available"  # type: ignore[union-attr]


def test_status_accepts_only_manual_states(client: Any, agent: dict[str, str]) -> None:
    call(client, "POST", "/agents/me/session", agent)
    assert call(client, "PUT", "/agents/me/status", agent, {"state": "on_call"}).status_code == 400
    assert call(client, "PUT", "/agents/me/status", agent, {"x": 1}).status_code == 400
    ok = call(client, "PUT", "/agents/me/status", agent, {"state": "away"})
    assert (ok.status_code, ok.json_body["state"], ok.json_body["reason"]) == (
        200,
        "away",
        "manual",
    )


def test_a_manual_change_during_a_call_is_a_conflict(
    client: Any, agent: dict[str, str], twilio: TwilioPoster, clock: FakeClock
) -> None:
    call(client, "POST", "/agents/me/session", agent)
    assert twilio.post(EVENTS_PATH, reservation("reservation.accepted", clock.now + 5)).status_code
    response = call(client, "PUT", "/agents/me/status", agent, {"state": "break"})
    assert response.status_code == 409
    assert "not allowed while on_call" in response.body.decode()


def test_heartbeat_before_sign_in_is_a_conflict(client: Any, agent: dict[str, str]) -> None:
    assert call(client, "POST", "/agents/me/heartbeat", agent).status_code == 409


def test_signing_out_makes_offline(client: Any, agent: dict[str, str]) -> None:
    call(client, "POST", "/agents/me/session", agent)
    response = call(client, "DELETE", "/agents/me/session", agent)
    assert (response.status_code, response.json_body["state"]) == (200, "offline")


def test_routes_answer_cors_for_the_pages(client: Any, agent: dict[str, str]) -> None:
    response = call(client, "POST", "/agents/me/session", agent)
    assert response.headers.get("Access-Control-Allow-Origin")
    allowed = response.headers.get("Access-Control-Allow-Headers", "")
    assert "Authorization" in allowed
    assert "X-Client-Version" in allowed


def reservation(event_type: str, at_ms: int, n: int = 1, task: int = 1) -> dict[str, str]:
    return {
        "Sid": sid("EV", n),
        "AccountSid": ACCOUNT_SID,
        "WorkspaceSid": "WS" + "b" * 32,
        "EventType": event_type,
        "ResourceType": "Reservation",
        "ResourceSid": sid("WR", task),
        "ReservationSid": sid("WR", task),
        "TaskSid": sid("WT", task),
        "WorkerSid": sid("WK", 1),
        "WorkerAttributes": json.dumps({"agent_id": "sato", "team": "tokyo"}),
        "Timestamp": str(at_ms // 1000),
        "TimestampMs": str(at_ms),
    }


def test_reservation_events_drive_ringing_on_call_and_wrap_up(
    client: Any, agent: dict[str, str], twilio: TwilioPoster, container: Container, clock: FakeClock
) -> None:
    call(client, "POST", "/agents/me/session", agent)
    states = []
    for n, event_type in enumerate(
        ["reservation.created", "reservation.accepted", "reservation.wrapup"], start=1
    ):
        assert (
            twilio.post(EVENTS_PATH, reservation(event_type, T0 + n * 1000, n)).status_code == 200
        )
        states.append(container.presence_store.get("sato").state.value)  # type: ignore[union-attr]
    assert states == ["ringing", "on_call", "wrap_up"]


def test_a_late_duplicate_event_does_not_undo_a_newer_state(
    client: Any, agent: dict[str, str], twilio: TwilioPoster, container: Container, clock: FakeClock
) -> None:
    call(client, "POST", "/agents/me/session", agent)
    twilio.post(EVENTS_PATH, reservation("reservation.accepted", T0 + 2000, 2))
    twilio.post(EVENTS_PATH, reservation("reservation.created", T0 + 1000, 1))  # late
    twilio.post(EVENTS_PATH, reservation("reservation.accepted", T0 + 2000, 2))  # again
    presence = container.presence_store.get("sato")
    assert presence is not None
    assert presence.state == "on_call"


def test_a_missed_reservation_makes_the_agent_away_with_missed_call(
    client: Any, agent: dict[str, str], twilio: TwilioPoster, container: Container, clock: FakeClock
) -> None:
    call(client, "POST", "/agents/me/session", agent)
    twilio.post(EVENTS_PATH, reservation("reservation.created", T0 + 1000, 1))
    twilio.post(EVENTS_PATH, reservation("reservation.timeout", T0 + 21_000, 2))
    presence = container.presence_store.get("sato")
    assert presence is not None
    assert (presence.state, presence.reason) == ("away", "missed_call")


def test_a_rejected_reservation_goes_back_to_the_state_before(
    client: Any, agent: dict[str, str], twilio: TwilioPoster, container: Container, clock: FakeClock
) -> None:
    call(client, "POST", "/agents/me/session", agent)
    twilio.post(EVENTS_PATH, reservation("reservation.created", T0 + 1000, 1))
    twilio.post(EVENTS_PATH, reservation("reservation.rejected", T0 + 3000, 2))
    assert container.presence_store.get("sato").state == "available"  # type: ignore[union-attr]


def board(client: Any, headers: dict[str, str], since: str | None = None) -> Any:
    path = "/presence" + (f"?since={since}" if since else "")
    return client.http.get(path, headers=headers)


def test_the_board_lists_every_agent_with_counts_and_a_version(
    client: Any, agent: dict[str, str], container: Container, clock: FakeClock
) -> None:
    container.presence.sign_in("sato")
    container.presence.sign_in("suzuki")
    container.presence.choose("suzuki", "break")
    response = board(client, agent)
    assert response.status_code == 200
    feed = response.json_body
    rows = [dict(zip(feed["fields"], row, strict=True)) for row in feed["agents"]]
    assert {(r["id"], r["team"], r["state"]) for r in rows} == {
        ("sato", "tokyo", "available"),
        ("suzuki", "osaka", "break"),
    }
    assert feed["counts"] == {"osaka": {"break": 1}, "tokyo": {"available": 1}}
    assert feed["full"] is True


def test_the_board_answers_304_when_nothing_changed_and_only_changes_otherwise(
    client: Any, agent: dict[str, str], container: Container, clock: FakeClock
) -> None:
    container.presence.sign_in("sato")
    container.presence.sign_in("suzuki")
    clock.now += 20_000  # sign-ins are now older than the cursor's overlap window
    version = board(client, agent).json_body["version"]
    clock.now += 1000
    assert board(client, agent, version).status_code == 304
    clock.now += 20_000
    container.presence.choose("suzuki", "away")
    clock.now += 1000
    delta = board(client, agent, version).json_body
    assert delta["full"] is False
    assert [row[0] for row in delta["agents"]] == ["suzuki"]
    assert delta["version"] != version


def test_the_board_snapshot_is_shared_between_viewers(
    client: Any, agent: dict[str, str], container: Container, clock: FakeClock
) -> None:
    container.presence.sign_in("sato")
    for _ in range(20):
        assert board(client, agent).status_code == 200
    assert container.presence_board.builds == 1
    clock.now += 1000
    board(client, agent)
    assert container.presence_board.builds == 2


def test_the_board_fires_due_timers_when_it_rebuilds(
    client: Any, agent: dict[str, str], container: Container, clock: FakeClock
) -> None:
    container.presence.sign_in("suzuki")
    clock.now += 46_000
    rows = board(client, agent).json_body["agents"]
    assert [(r[0], r[3], r[4]) for r in rows] == [("suzuki", "away", "heartbeat_lost")]
    assert container.presence_store.get("suzuki").state == "away"  # type: ignore[union-attr]
