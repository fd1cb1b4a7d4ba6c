"""KPI definitions on small sets computed by hand (docs/kpis.md)."""

from __future__ import annotations

from typing import Any

from chalicelib.conversations.kpis import compute, percentile


def conv(outcome: str, wait_s: float = 0, **fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "outcome": outcome,
        "direction": "inbound",
        "queue_wait_ms": int(wait_s * 1000),
        "team": "tokyo",
        "hour": 10,
        "weekday": 0,
        "owner_agent_id": "owner",
        "customer_id": "C1",
        "offers": [],
    }
    record.update(fields)
    return record


SET = [
    conv(
        "answered",
        10,
        answered_by="owner",
        answered_relation="owner",
        talk_ms=60_000,
        hold_ms=10_000,
        wrap_ms=20_000,
    ),
    conv(
        "answered",
        30,
        answered_by="x",
        answered_relation="other",
        talk_ms=120_000,
        hour=11,
        offers=[
            {"agent_id": "owner", "outcome": "timed_out"},
            {"agent_id": "owner", "outcome": "timed_out"},
            {"agent_id": "x", "outcome": "answered"},
        ],
    ),
    conv("abandoned_in_queue", 45, hour=11, weekday=2),
    conv("abandoned_while_ringing", 15, offers=[{"agent_id": "y", "outcome": "canceled"}]),
    conv("short_abandon", 2),
    conv("voicemail", 100, owner_agent_id=""),
    conv("outside_hours", 0),
    conv("failed", 0),
    conv("answered", 0, direction="outbound", answered_by="x", talk_ms=30_000),
    {"outcome": None, "direction": "inbound"},
]


def test_offered_excludes_short_abandons_outside_hours_failed_and_outbound() -> None:
    t = compute(SET)["totals"]
    assert t["offered"] == 5
    assert t["answered"] == 2
    assert t["abandoned"] == 2
    assert t["short_abandons"] == 1
    assert t["abandonment_rate"] == 0.4
    assert t["reach_rate"] == 0.4
    assert t["outbound"] == 1 and t["outbound_answered"] == 1


def test_service_level_speed_of_answer_handle_time_and_longest_wait() -> None:
    t = compute(SET, service_level_ms=20_000)["totals"]
    assert t["service_level"] == 0.2  # one of five offered answered within 20 s
    assert t["asa_ms"] == 20_000
    assert t["asa_p90_ms"] == 30_000
    assert t["aht_ms"] == (60_000 + 10_000 + 20_000 + 120_000) // 2
    assert t["longest_wait_ms"] == 100_000
    assert compute(SET, service_level_ms=30_000)["totals"]["service_level"] == 0.4


def test_owner_reach_counts_only_customers_with_an_owner() -> None:
    assert compute(SET)["totals"]["owner_reach_rate"] == 0.25  # 1 of 4 with an owner


def test_missed_offers_per_agent_count_timeouts_and_rejections_not_cancels() -> None:
    result = compute(SET)
    assert result["missed_offers"] == {"owner": 2, "x": 0, "y": 0}
    assert result["by_agent"]["x"]["answered"] == 1
    assert result["by_agent"]["x"]["aht_ms"] == 120_000


def test_hourly_heatmap_and_wait_distribution() -> None:
    result = compute(SET)
    assert result["by_hour"][10]["offered"] == 3
    assert result["by_hour"][11] == {
        "hour": 11,
        "offered": 2,
        "abandoned": 1,
        "abandonment_rate": 0.5,
    }
    assert result["heatmap"][0][10] == 3 and result["heatmap"][2][11] == 1
    buckets = {b["up_to_s"]: b["count"] for b in result["wait_distribution"]}
    assert buckets == {5: 0, 10: 0, 20: 2, 30: 0, 60: 2, 120: 1, 300: 0, None: 0}


def test_by_customer_totals_time_and_cost() -> None:
    records = [
        conv("answered", 5, talk_ms=60_000, hold_ms=5_000, cost_micros=20_000),
        conv("answered", 5, talk_ms=30_000, cost_micros=10_000, direction="outbound"),
        conv("short_abandon", 1, customer_id="C2"),
    ]
    by_customer = compute(records)["by_customer"]
    assert by_customer["C1"] == {"conversations": 2, "total_ms": 95_000, "cost_micros": 30_000}
    assert by_customer["C2"]["conversations"] == 1


def test_nearest_rank_percentile() -> None:
    assert percentile(list(range(1, 11)), 90) == 9
    assert percentile([5], 90) == 5
    assert percentile([], 90) == 0


def test_no_calls_gives_no_rates_rather_than_zero() -> None:
    t = compute([])["totals"]
    assert t["offered"] == 0
    assert t["abandonment_rate"] is None and t["asa_ms"] is None


def test_a_record_without_weekday_takes_it_from_its_start_time_in_the_report_zone() -> None:
    # 2025-11-24 16:30 UTC is Tuesday 01:30 in Tokyo (weekday 1), still Monday in UTC.
    started_ms = 1_764_001_800_000
    without = conv("answered", 5, hour=1, started_ms=started_ms)
    del without["weekday"]
    kpis = compute([without, conv("abandoned_in_queue", 40, hour=1, weekday=None)])
    assert kpis["heatmap"][1][1] == 1
    assert sum(map(sum, kpis["heatmap"])) == 1  # no weekday and no start time: not placed
    assert kpis["by_hour"][1]["offered"] == 2
    assert compute([without], timezone="UTC")["heatmap"][0][1] == 1
