"""The reports' per-day roll-ups give the figures build_report computes from the records: over
the range, per period, per team and per rep, with either filter (chalicelib/supervision/
rollup.py)."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.supervision.reports import (
    Reports,
    build_report,
    build_report_from_rollups,
    wanted,
)
from chalicelib.supervision.rollup import fold_day, is_current
from ops.benchmarks.conversations import synthetic_records

SL_MS = 20_000
TZ = "Asia/Tokyo"
DAYS = ["2025-11-02", "2025-11-03", "2025-11-09", "2025-11-10"]  # two ISO weeks
OUTCOMES = [
    "answered",
    "abandoned_in_queue",
    "abandoned_while_ringing",
    "voicemail",
    "callback",
    "short_abandon",
    "outside_hours",
    "failed",
    "",
]
AGENTS = ["a1", "a2", "a3"]

offers = st.lists(
    st.fixed_dictionaries(
        {
            "agent_id": st.sampled_from(AGENTS),
            "outcome": st.sampled_from(["timed_out", "rejected", "accepted", "answered"]),
        }
    ),
    max_size=3,
)
records = st.fixed_dictionaries(
    {
        "outcome": st.sampled_from(OUTCOMES),
        "direction": st.sampled_from(["inbound", "inbound", "outbound"]),
        "internal": st.sampled_from([False, False, False, True]),
        "team": st.sampled_from(["east", "west", "", None]),
        "answered_by": st.sampled_from(["", *AGENTS]),
        "dialled_by": st.sampled_from(["", "a1", "a4"]),
        "owner_agent_id": st.sampled_from(["", "a1"]),
        "answered_relation": st.sampled_from(["", "owner", "team"]),
        "customer_id": st.sampled_from(["", "C1", "C2", "C3"]),
        # Waits around the 20 s threshold (answered within it, at it, after it).
        "queue_wait_ms": st.sampled_from([0, 5_000, 19_999, 20_000, 20_001, 95_000]),
        "talk_ms": st.integers(0, 600_000),
        "hold_ms": st.sampled_from([0, 15_000]),
        "wrap_ms": st.integers(0, 60_000),
        "cost_micros": st.integers(0, 60_000),
        "offers": offers,
        "wrap_up_code": st.sampled_from(["", "商談化", "不在"]),
        "hour": st.integers(0, 23),
    }
)
days = st.fixed_dictionaries({d: st.lists(records, max_size=25) for d in DAYS})


def both(by_day: dict[str, list[dict[str, Any]]], by: str, team: str, agent: str) -> tuple:
    from_records = build_report(by_day, by, wanted(team, agent), SL_MS, TZ)
    # Through JSON, as the bucket stores them.
    rollups = {d: json.loads(json.dumps(fold_day(rs, d, SL_MS, TZ))) for d, rs in by_day.items()}
    from_rollups = build_report_from_rollups(rollups, by, team, agent, SL_MS)
    return from_records, from_rollups


@settings(max_examples=60, deadline=None)
@given(
    by_day=days,
    by=st.sampled_from(["day", "week", "month"]),
    team=st.sampled_from(["", "east", "west"]),
    agent=st.sampled_from(["", "a1", "a2"]),
)
def test_rollups_give_the_figures_of_the_records(
    by_day: dict[str, list[dict[str, Any]]], by: str, team: str, agent: str
) -> None:
    from_records, from_rollups = both(by_day, by, team, agent)
    assert from_rollups == from_records


def test_rollups_of_a_synthetic_week_match_per_team_and_per_rep() -> None:
    by_day: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in synthetic_records(6_000, seed=3):
        by_day[datetime.fromtimestamp(r["started_ms"] / 1000, UTC).date().isoformat()].append(r)
    week = {d: by_day[d] for d in sorted(by_day)[:7]}
    from_records, from_rollups = both(week, "day", "", "")
    assert from_rollups == from_records
    # Not a vacuous match: teams, reps, waits for the p90 and costs are all there.
    assert len(from_records["by_team"]) == 30 and len(from_records["by_agent"]) > 250
    assert from_records["totals"]["asa_p90_ms"] and from_records["cost_per_customer"]
    assert len(from_records["wrap_up_codes"]["by_agent"]) > 250
    for team in ("team03", "team17"):
        records, rollups = both(week, "week", team, "")
        assert rollups == records and set(records["by_team"]) == {team}
    records, rollups = both(week, "month", "", "agent042")
    assert rollups == records and records["by_agent"]["agent042"]["answered"] > 0


class Bucket:
    """A dict standing in for the analytics bucket (store.RollupBucket is tested on moto)."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.puts: list[str] = []

    def get(self, day: str, parts: bool = True) -> dict[str, Any] | None:
        return self.objects.get(day)

    def put(self, day: str, rollup: Any) -> None:
        self.puts.append(day)
        self.objects[day] = json.loads(json.dumps(rollup))


class Table:
    def __init__(self, by_day: dict[str, list[dict[str, Any]]]) -> None:
        self.by_day = by_day
        self.reads: list[str] = []

    def day(self, day: str) -> Any:
        self.reads.append(day)
        return iter(self.by_day.get(day, []))


def test_past_days_are_folded_once_and_stored_today_is_read_live() -> None:
    from datetime import date

    one = {"outcome": "answered", "team": "east", "answered_by": "a1", "queue_wait_ms": 1000}
    table = Table({"2025-11-01": [one], "2025-11-10": [one]})
    bucket = Bucket()
    reports = Reports(table, bucket, TZ, SL_MS, lambda: date(2025, 11, 10))
    first = reports.report({"from": "2025-11-01", "to": "2025-11-10"})
    assert first["totals"]["answered"] == 2
    # Each past day without a roll-up is folded and stored; today is not stored.
    assert sorted(bucket.puts) == [f"2025-11-{d:02d}" for d in range(1, 10)]
    table.reads.clear()
    table.by_day["2025-11-10"] = [one, one]  # today goes on
    again = reports.report({"from": "2025-11-01", "to": "2025-11-10"})
    assert again["totals"]["answered"] == 3
    assert table.reads == ["2025-11-10"]
    # A threshold changed since: the stored roll-up is folded again.
    assert is_current(bucket.objects["2025-11-01"], SL_MS, TZ)
    assert not is_current(bucket.objects["2025-11-01"], 30_000, TZ)
    other = Reports(table, bucket, TZ, 30_000, lambda: date(2025, 11, 10))
    table.reads.clear()
    other.report({"from": "2025-11-01", "to": "2025-11-01"})
    assert table.reads == ["2025-11-01"]
    assert bucket.objects["2025-11-01"]["service_level_ms"] == 30_000


def test_a_day_read_live_and_from_its_rollup_give_the_same_report() -> None:
    from datetime import date

    by_day: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in synthetic_records(3_000, seed=4):
        by_day[datetime.fromtimestamp(r["started_ms"] / 1000, UTC).date().isoformat()].append(r)
    week = {d: by_day[d] for d in sorted(by_day)[:7]}
    first, last = min(week), max(week)
    for team, agent in (("", ""), ("team05", ""), ("", "agent007"), ("team05", "agent007")):
        expected = build_report(week, "week", wanted(team, agent), SL_MS, TZ)
        for today in (date(2030, 1, 1), date.fromisoformat(first)):  # all over; all live
            reports = Reports(Table(week), Bucket(), TZ, SL_MS, lambda t=today: t)
            params = {"from": first, "to": last, "by": "week", "team": team, "agent": agent}
            answer = reports.report(params)
            assert {k: answer[k] for k in expected} == expected


def test_a_day_folded_on_demand_is_reported_even_when_the_bucket_refuses_it() -> None:
    from datetime import date

    from chalicelib.platform.errors import StorageUnavailable

    class Refusing(Bucket):
        def put(self, day: str, rollup: Any) -> None:
            raise StorageUnavailable("roll-up write failed: SlowDown")

    one = {"outcome": "answered", "team": "east", "answered_by": "a1", "queue_wait_ms": 1000}
    table = Table({"2025-11-01": [one]})
    reports = Reports(table, Refusing(), TZ, SL_MS, lambda: date(2025, 11, 10))
    assert reports.report({"from": "2025-11-01"})["totals"]["answered"] == 1
