"""The floor's view and alerts (chalicelib/supervision/floor.py), pure."""

from __future__ import annotations

from chalicelib.supervision.floor import Thresholds, floor_view

T = Thresholds(longest_wait_seconds=60, service_level=0.8, abandonment=0.1)
FIELDS = ["id", "name", "team", "state", "reason", "since", "v"]
NOW = 1_000_000


def test_outbound_calls_not_answered_are_not_callers_waiting() -> None:
    live = [
        {"conversation_id": "CA1", "direction": "outbound", "started_ms": NOW - 5000},
        {"conversation_id": "CA2", "started_ms": NOW - 30_000, "queued_ms": NOW - 20_000},
    ]
    view = floor_view(live, [], FIELDS, {}, NOW, T)
    assert [w["conversation_id"] for w in view["waiting"]] == ["CA2"]
    assert view["waiting"][0]["wait_seconds"] == 20
    assert view["alerts"] == []


def test_a_team_below_its_service_level_or_above_its_abandonment_alerts() -> None:
    teams = {
        "tokyo": {"offered": 10, "service_level": 0.5, "abandonment_rate": 0.2},
        "osaka": {"offered": 10, "service_level": 0.9, "abandonment_rate": 0.0},
        "nagoya": {"offered": 0, "service_level": None, "abandonment_rate": None},
    }
    view = floor_view([], [["a", "A", "tokyo", "available", "", 0, 1]], FIELDS, teams, NOW, T)
    assert sorted((a["kind"], a["team"]) for a in view["alerts"]) == [
        ("abandonment", "tokyo"),
        ("service_level", "tokyo"),
    ]
    assert view["agents"] == [
        {
            "id": "a",
            "name": "A",
            "team": "tokyo",
            "state": "available",
            "reason": "",
            "since": 0,
            "v": 1,
        }
    ]
