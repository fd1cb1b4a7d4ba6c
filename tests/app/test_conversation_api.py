"""GET /conversations, GET /conversations/{id}, GET /kpis/today: staff only, filtered, paged."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.bootstrap import Container
from tests import conversation_script as script
from tests.conversation_stream import deliver_stream

DAY = "2025-11-25"  # script.T0 is 01:00 on this day in Tokyo


@pytest.fixture
def calls(container: Container) -> list[script.CallScript]:
    made = [
        script.answered_by_owner(n=31),
        script.offered_five_times_then_answered_by_x(n=32),
        script.abandoned_in_queue(n=33),
        script.short_abandon(n=34),
    ]
    for s in made:
        for event in s.events():
            container.ledger.store_event(event)
    deliver_stream(container)
    return made


def get(client: Any, path: str, token: str | None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.http.get(path, headers=headers)


def body(response: Any) -> Any:
    return json.loads(response.body)


def test_conversations_need_a_signed_in_staff_member(client: Any, calls: Any) -> None:
    assert get(client, f"/conversations?from={DAY}&to={DAY}", None).status_code == 401
    assert get(client, f"/conversations/{calls[0].call_sid}", None).status_code == 401
    assert get(client, "/kpis/today", None).status_code == 401


def test_list_filters_by_outcome_agent_and_customer(
    client: Any, calls: list[script.CallScript], staff_token: Any
) -> None:
    token = staff_token("boss", supervisor=True)
    everything = body(get(client, f"/conversations?from={DAY}&to={DAY}", token))
    assert len(everything["conversations"]) == 4
    assert everything["next_cursor"] is None
    answered = body(get(client, f"/conversations?from={DAY}&to={DAY}&outcome=answered", token))
    assert {c["conversation_id"] for c in answered["conversations"]} == {
        calls[0].call_sid,
        calls[1].call_sid,
    }
    by_agent = body(get(client, f"/conversations?from={DAY}&to={DAY}&agent=agent_x", token))
    assert [c["conversation_id"] for c in by_agent["conversations"]] == [calls[1].call_sid]
    by_customer = body(get(client, f"/conversations?from={DAY}&to={DAY}&customer=C1", token))
    assert len(by_customer["conversations"]) == 4
    by_team = body(get(client, f"/conversations?from={DAY}&to={DAY}&team=osaka", token))
    assert by_team["conversations"] == []


def test_list_pages_with_a_cursor_newest_first(
    client: Any, calls: list[script.CallScript], staff_token: Any
) -> None:
    token = staff_token("boss", supervisor=True)
    seen: list[str] = []
    path = f"/conversations?from={DAY}&to={DAY}&limit=3"
    page = body(get(client, path, token))
    seen += [c["conversation_id"] for c in page["conversations"]]
    assert len(seen) == 3 and page["next_cursor"]
    page = body(get(client, f"{path}&cursor={page['next_cursor']}", token))
    seen += [c["conversation_id"] for c in page["conversations"]]
    assert sorted(seen) == sorted(c.call_sid for c in calls)


def test_bad_filters_are_400(client: Any, calls: Any, staff_token: Any) -> None:
    token = staff_token("boss", supervisor=True)
    assert get(client, "/conversations?outcome=lost", token).status_code == 400
    assert get(client, "/conversations?from=yesterday", token).status_code == 400
    assert get(client, "/conversations?from=2025-01-01&to=2025-06-01", token).status_code == 400


def test_one_conversation_has_its_timeline(
    client: Any, calls: list[script.CallScript], staff_token: Any
) -> None:
    response = get(client, f"/conversations/{calls[1].call_sid}", staff_token("agent_x"))
    record = body(response)
    assert response.status_code == 200
    kinds = [entry["kind"] for entry in record["timeline"]]
    assert kinds.count("offered") == 6 and kinds.count("timed_out") == 5
    assert record["missed_offers"] == 5
    assert get(client, "/conversations/CA404", staff_token("sato")).status_code == 404


def test_a_conversation_read_before_the_stream_rebuilt_it_is_already_complete(
    client: Any, container: Container, staff_token: Any
) -> None:
    s = script.offered_five_times_then_answered_by_x(n=35)
    for event in s.events():
        container.ledger.store_event(event)  # no stream delivered: no record stored yet
    assert container.conversations.get(s.call_sid) is None
    response = get(client, f"/conversations/{s.call_sid}", staff_token("agent_x"))
    assert response.status_code == 200
    record = body(response)
    assert (record["outcome"], record["answered_by"], record["missed_offers"]) == (
        "answered",
        "agent_x",
        5,
    )
    assert record["event_count"] == len(s.events())


def test_kpi_feed_answers_with_cors_for_the_dashboard(
    client: Any, container: Container, staff_token: Any
) -> None:
    response = client.http.get(
        "/kpis/today",
        headers={
            "Authorization": f"Bearer {staff_token('sato')}",
            "Origin": "http://127.0.0.1:8080",
        },
    )
    feed = body(response)
    assert response.status_code == 200
    assert "access-control-allow-origin" in {k.lower() for k in response.headers}
    assert feed["timezone"] == "Asia/Tokyo"
    assert set(feed) >= {"totals", "by_hour", "by_team", "by_agent", "live", "heatmap"}
