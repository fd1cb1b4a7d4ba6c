"""Contact-center KPIs over conversation records, defined once (docs/kpis.md) and used by the
dashboard feed, the operator report and the tests.

Definitions (inbound conversations; outbound ones are counted apart):
- offered: callers who reached the queue: outcome answered, abandoned_in_queue,
  abandoned_while_ringing, voicemail or callback. Short abandons, outside-hours calls and failed
  calls are not offered; short abandons are reported apart.
- abandoned: abandoned_in_queue + abandoned_while_ringing; abandonment rate = abandoned / offered.
  Callers who left a voicemail or asked for a call back are not abandoned (as in Amazon Connect,
  where queued callbacks are not abandoned).
- reach rate = answered / offered; service level = answered within the threshold / offered.
- speed of answer: queue wait of answered calls (average and 90th percentile, nearest rank).
- handle time of an answered call = talk + hold + wrap-up; AHT is its average.
- longest wait: the longest queue wait of any offered call, answered or not.
- owner-reach rate: answered by the customer's owner / offered calls of customers with an owner.
- missed offers: reservations that rang an agent and timed out or were rejected.

Outbound (conversations a rep placed from the softphone), per rep (`dialled_by`) and team:
- attempts: outbound conversations; connected: those the customer answered (outcome answered);
- talk time: talk_ms of the connected ones; connect rate = connected / attempts.
Internal calls (a rep calling a colleague, `internal`) are in no KPI: counted as internal_calls.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

OFFERED_OUTCOMES = frozenset(
    {"answered", "abandoned_in_queue", "abandoned_while_ringing", "voicemail", "callback"}
)
ABANDONED_OUTCOMES = frozenset({"abandoned_in_queue", "abandoned_while_ringing"})
MISSED_OFFER_OUTCOMES = frozenset({"timed_out", "rejected"})
# Upper bounds (seconds) of the wait-time distribution's buckets; the last is open-ended.
WAIT_BUCKETS_S = (5, 10, 20, 30, 60, 120, 300)
NO_TEAM = "(none)"


def percentile(sorted_values: list[int], p: float) -> int:
    """Nearest-rank percentile of an ascending list (0 for an empty one)."""
    if not sorted_values:
        return 0
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


class InboundCounts:
    """The sums behind one team's (or the floor's) inbound KPIs. Kept as sums, not rates, so
    parts add up exactly: per team into the floor here, per day into a month in
    chalicelib/supervision/rollup.py."""

    __slots__ = (
        "abandoned",
        "answered",
        "answered_in_sl",
        "handle_ms",
        "longest_wait_ms",
        "offered",
        "owner_answered",
        "owner_offered",
        "short_abandons",
        "waits",
    )

    def __init__(self) -> None:
        self.offered = 0
        self.answered = 0
        self.abandoned = 0
        self.short_abandons = 0
        self.answered_in_sl = 0
        self.handle_ms = 0
        self.longest_wait_ms = 0
        self.owner_offered = 0
        self.owner_answered = 0
        self.waits: list[int] = []

    def summary(self) -> dict[str, Any]:
        waits = sorted(self.waits)
        return {
            "offered": self.offered,
            "answered": self.answered,
            "abandoned": self.abandoned,
            "short_abandons": self.short_abandons,
            "abandonment_rate": _rate(self.abandoned, self.offered),
            "reach_rate": _rate(self.answered, self.offered),
            "service_level": _rate(self.answered_in_sl, self.offered),
            "asa_ms": round(sum(waits) / len(waits)) if waits else None,
            "asa_p90_ms": percentile(waits, 90) if waits else None,
            "aht_ms": round(self.handle_ms / self.answered) if self.answered else None,
            "longest_wait_ms": self.longest_wait_ms,
            "owner_reach_rate": _rate(self.owner_answered, self.owner_offered),
        }

    @classmethod
    def total_of(cls, parts: Iterable[InboundCounts]) -> InboundCounts:
        """The parts added up: sums summed, the longest wait the longest, the waits pooled."""
        total = cls()
        for p in parts:
            total.offered += p.offered
            total.answered += p.answered
            total.abandoned += p.abandoned
            total.short_abandons += p.short_abandons
            total.answered_in_sl += p.answered_in_sl
            total.handle_ms += p.handle_ms
            total.longest_wait_ms = max(total.longest_wait_ms, p.longest_wait_ms)
            total.owner_offered += p.owner_offered
            total.owner_answered += p.owner_answered
            total.waits.extend(p.waits)
        return total


def _local_weekday(started_ms: Any, zone: ZoneInfo) -> int | None:
    """Monday=0 of a start time in the report's zone; None without a start time."""
    if not started_ms:
        return None
    return datetime.fromtimestamp(int(started_ms) / 1000, zone).weekday()


def compute(
    records: Iterable[Mapping[str, Any]],
    service_level_ms: int = 20_000,
    timezone: str = "Asia/Tokyo",
) -> dict[str, Any]:
    """Every KPI of the issue over `records`, in one pass (written for speed: a month of a
    300-agent floor is ~600k records; see docs/conversations.md for the figure).

    A record without `weekday` (written before the fold set it, or built by hand) gets its
    weekday from `started_ms` in `timezone`; one without either is left out of the heatmap.
    """
    zone = ZoneInfo(timezone)
    teams: dict[str, InboundCounts] = {}
    outcomes: dict[str, int] = defaultdict(int)
    hourly_offered = [0] * 24
    hourly_abandoned = [0] * 24
    heatmap = [[0] * 24 for _ in range(7)]
    wait_buckets = [0] * (len(WAIT_BUCKETS_S) + 1)
    bucket_edges = [b * 1000 for b in WAIT_BUCKETS_S]
    # agent -> [answered, handle_ms, talk_ms, offers, missed_offers]
    agents: dict[str, list[int]] = {}
    # customer -> [conversations, total_ms, cost_micros]
    customers: dict[str, list[int]] = {}
    outbound = outbound_answered = internal = 0
    outbound_records: list[Mapping[str, Any]] = []
    offered_outcomes = OFFERED_OUTCOMES
    abandoned_outcomes = ABANDONED_OUTCOMES
    missed_outcomes = MISSED_OFFER_OUTCOMES

    for r in records:
        get = r.get
        outcome = get("outcome")
        if not outcome:
            continue
        if get("internal"):
            internal += 1  # a rep calling a colleague: no customer, in no customer KPI
            continue
        outcomes[outcome] += 1
        talk = get("talk_ms") or 0
        hold = get("hold_ms") or 0
        customer_id = get("customer_id")
        if customer_id:
            c = customers.get(customer_id)
            if c is None:
                c = customers[customer_id] = [0, 0, 0]
            c[0] += 1
            c[1] += talk + hold
            c[2] += get("cost_micros") or 0
        offers = get("offers")
        if offers:
            for offer in offers:
                a = agents.get(offer["agent_id"])
                if a is None:
                    a = agents[offer["agent_id"]] = [0, 0, 0, 0, 0]
                a[3] += 1
                if offer["outcome"] in missed_outcomes:
                    a[4] += 1
        if get("direction") == "outbound":
            outbound += 1
            outbound_records.append(r)
            if outcome == "answered":
                outbound_answered += 1
            continue
        team_name = get("team") or NO_TEAM
        team = teams.get(team_name)
        if team is None:
            team = teams[team_name] = InboundCounts()
        if outcome == "short_abandon":
            team.short_abandons += 1
            continue
        if outcome not in offered_outcomes:
            continue
        wait = get("queue_wait_ms") or 0
        hour = get("hour")
        abandoned = outcome in abandoned_outcomes
        if hour is not None:
            hourly_offered[hour] += 1
            weekday = get("weekday")
            if weekday is None:
                weekday = _local_weekday(get("started_ms"), zone)
            if weekday is not None:
                heatmap[weekday][hour] += 1
            if abandoned:
                hourly_abandoned[hour] += 1
        wait_buckets[bisect_right(bucket_edges, wait)] += 1
        team.offered += 1
        if wait > team.longest_wait_ms:
            team.longest_wait_ms = wait
        if get("owner_agent_id"):
            team.owner_offered += 1
        if outcome == "answered":
            handle = talk + hold + (get("wrap_ms") or 0)
            team.answered += 1
            team.waits.append(wait)
            team.handle_ms += handle
            if wait <= service_level_ms:
                team.answered_in_sl += 1
            if get("answered_relation") == "owner":
                team.owner_answered += 1
            agent = get("answered_by") or ""
            a = agents.get(agent)
            if a is None:
                a = agents[agent] = [0, 0, 0, 0, 0]
            a[0] += 1
            a[1] += handle
            a[2] += talk
        elif abandoned:
            team.abandoned += 1

    total = InboundCounts.total_of(teams.values())
    by_agent = rep_summaries(agents)
    return {
        "service_level_threshold_ms": service_level_ms,
        "totals": {
            **total.summary(),
            "outcomes": dict(sorted(outcomes.items())),
            "outbound": outbound,
            "outbound_answered": outbound_answered,
            "internal_calls": internal,
        },
        "by_hour": [
            {
                "hour": h,
                "offered": hourly_offered[h],
                "abandoned": hourly_abandoned[h],
                "abandonment_rate": _rate(hourly_abandoned[h], hourly_offered[h]),
            }
            for h in range(24)
        ],
        "heatmap": heatmap,
        "wait_distribution": [
            {"up_to_s": edge, "count": wait_buckets[i]}
            for i, edge in enumerate((*WAIT_BUCKETS_S, None))
        ],
        "by_team": {name: counts.summary() for name, counts in sorted(teams.items())},
        "by_agent": by_agent,
        "missed_offers": {agent: a["missed_offers"] for agent, a in by_agent.items()},
        "by_customer": {
            cid: {"conversations": c[0], "total_ms": c[1], "cost_micros": c[2]}
            for cid, c in sorted(customers.items())
        },
        "outbound": outbound_kpis(outbound_records),
    }


def outbound_summary(counts: list[int]) -> dict[str, Any]:
    """One row of the outbound KPIs from its sums `[attempts, connected, talk_ms]`."""
    attempts, connected, talk_ms = counts
    return {
        "attempts": attempts,
        "connected": connected,
        "talk_ms": talk_ms,
        "connect_rate": _rate(connected, attempts),
        "average_talk_ms": round(talk_ms / connected) if connected else None,
    }


def outbound_kpis(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Outbound calls per rep and team (module docstring): attempts, connected, talk time,
    connect rate. Records of other directions are left out."""
    totals = [0, 0, 0]
    agents: dict[str, list[int]] = {}
    teams: dict[str, list[int]] = {}
    for r in records:
        if r.get("direction") != "outbound" or not r.get("outcome") or r.get("internal"):
            continue
        connected = r.get("outcome") == "answered"
        talk = int(r.get("talk_ms") or 0) if connected else 0
        agent = str(r.get("dialled_by") or r.get("answered_by") or "")
        team = str(r.get("team") or NO_TEAM)
        for counts in (
            totals,
            agents.setdefault(agent, [0, 0, 0]),
            teams.setdefault(team, [0, 0, 0]),
        ):
            counts[0] += 1
            counts[1] += connected
            counts[2] += talk
    return {
        "totals": outbound_summary(totals),
        "by_agent": {a: outbound_summary(c) for a, c in sorted(agents.items()) if a},
        "by_team": {t: outbound_summary(c) for t, c in sorted(teams.items())},
    }


def rep_summaries(reps: Mapping[str, list[int]]) -> dict[str, dict[str, Any]]:
    """Per rep, from the sums [answered, handle_ms, talk_ms, offers, missed_offers]: the report's
    row, with the average handle time; sorted by rep, the unattributed ("") left out."""
    return {
        agent: {
            "answered": a[0],
            "handle_ms": a[1],
            "talk_ms": a[2],
            "offers": a[3],
            "missed_offers": a[4],
            "aht_ms": round(a[1] / a[0]) if a[0] else None,
        }
        for agent, a in sorted(reps.items())
        if agent
    }
