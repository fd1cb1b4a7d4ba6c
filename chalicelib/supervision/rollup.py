"""Per-day roll-ups of the reports: a finished local day's conversations folded once into sums
that add up across days exactly, so a month is read as 31 small objects, not 600k records.

A roll-up keeps only counts, sums of milliseconds, cost sums, the longest wait and the answered
calls' waits (the ASA's 90th percentile is a rank, which no sum keeps); every rate and average
(service level, abandonment, ASA, AHT, owner reach, connect rate) is computed from the summed
parts with chalicelib.conversations.kpis's own definitions. tests/unit/test_report_rollups.py
checks that a report over roll-ups is build_report's over the records, on generated days, per
team and per rep, with either filter.

The report's filters are `team` (a team's records) and `agent` (the calls a rep answered), so a
day is folded into three views of the same sums, each read whole:
- `all`: the whole day (the report without a filter);
- `teams`: one part per team;
- `reps`: one per answering rep, per team.
The parts of `teams` and `reps` are kept as JSON strings, decoded only when that team or rep is
asked for: a month of a 300-rep floor decoded whole took 8 s, the `all` views alone 1.4 s with
the rest as strings (ops/benchmarks/reports_page.py prints today's figure).
A part's customers are kept as columns (ids, conversations, ms, cost): one list each decodes
far faster than thousands of little lists.

A roll-up depends on the service level threshold (answered within it is counted per call), so
it records the threshold and the time zone it was folded with, and the report folds a day again
when either has changed since.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from chalicelib.conversations.kpis import (
    ABANDONED_OUTCOMES,
    MISSED_OFFER_OUTCOMES,
    NO_TEAM,
    OFFERED_OUTCOMES,
    InboundCounts,
    outbound_summary,
    rep_summaries,
)
from chalicelib.softphone.wrap_up import NO_CODE

ROLLUP_VERSION = 2

# A team's inbound counts, in this order (kpis.InboundCounts's fields; the waits are kept apart).
_COUNT_FIELDS = (
    "offered",
    "answered",
    "abandoned",
    "short_abandons",
    "answered_in_sl",
    "handle_ms",
    "longest_wait_ms",
    "owner_offered",
    "owner_answered",
)
(OFFERED, ANSWERED, ABANDONED, SHORT, IN_SL, HANDLE, LONGEST, OWNER_OFFERED, OWNER_ANSWERED) = (
    range(len(_COUNT_FIELDS))
)
# wrap_up.tally_codes's name for calls without a team.
CODES_NO_TEAM = "-"


class Sums:
    """Sums of some conversations, mergeable: folded from records, read from a stored part,
    added to each other, and turned into the report's figures."""

    __slots__ = (
        "codes",
        "conversations",
        "counts",
        "customers",
        "dialled",
        "internal",
        "outbound",
        "outcomes",
        "reps",
        "waits",
    )

    def __init__(self) -> None:
        self.conversations = 0
        self.counts: dict[str, list[int]] = {}  # team (kpis's name) -> _COUNT_FIELDS
        self.waits: dict[str, list[int]] = {}  # team -> queue waits of the answered calls
        self.outcomes: dict[str, int] = {}
        self.outbound = [0, 0]  # outbound conversations, those answered
        self.internal = 0
        self.reps: dict[str, list[int]] = {}  # agent -> [answered, handle, talk, offers, missed]
        self.customers: dict[str, list[int]] = {}  # customer -> [conversations, ms, cost]
        self.dialled: dict[str, dict[str, list[int]]] = {}  # team -> agent -> [att, conn, talk]
        self.codes: dict[str, dict[str, dict[str, int]]] = {}  # team -> rep -> code -> calls

    # --- folding records (kpis.compute and wrap_up.tally_codes, record by record) ----------
    def add_record(self, r: Mapping[str, Any], service_level_ms: int) -> None:
        get = r.get
        self.conversations += 1
        code = get("wrap_up_code")
        if get("answered_by") or get("direction") == "outbound" or code:
            reps = self.codes.setdefault(str(get("team") or CODES_NO_TEAM), {})
            codes = reps.setdefault(str(get("answered_by") or get("dialled_by") or "-"), {})
            code = str(code or NO_CODE)
            codes[code] = codes.get(code, 0) + 1
        outcome = get("outcome")
        if not outcome:
            return
        if get("internal"):
            self.internal += 1
            return
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        talk = get("talk_ms") or 0
        hold = get("hold_ms") or 0
        customer_id = get("customer_id")
        if customer_id:
            c = self.customers.setdefault(str(customer_id), [0, 0, 0])
            c[0] += 1
            c[1] += talk + hold
            c[2] += get("cost_micros") or 0
        for offer in get("offers") or ():
            a = self.reps.setdefault(offer["agent_id"], [0, 0, 0, 0, 0])
            a[3] += 1
            if offer["outcome"] in MISSED_OFFER_OUTCOMES:
                a[4] += 1
        team = str(get("team") or NO_TEAM)
        if get("direction") == "outbound":
            connected = outcome == "answered"
            self.outbound[0] += 1
            self.outbound[1] += connected
            agent = str(get("dialled_by") or get("answered_by") or "")
            d = self.dialled.setdefault(team, {}).setdefault(agent, [0, 0, 0])
            d[0] += 1
            d[1] += connected
            d[2] += int(talk) if connected else 0
            return
        counts = self.counts.get(team)
        if counts is None:
            counts = self.counts[team] = [0] * len(_COUNT_FIELDS)
            self.waits[team] = []
        if outcome == "short_abandon":
            counts[SHORT] += 1
            return
        if outcome not in OFFERED_OUTCOMES:
            return
        wait = get("queue_wait_ms") or 0
        counts[OFFERED] += 1
        counts[LONGEST] = max(counts[LONGEST], wait)
        if get("owner_agent_id"):
            counts[OWNER_OFFERED] += 1
        if outcome == "answered":
            handle = talk + hold + (get("wrap_ms") or 0)
            counts[ANSWERED] += 1
            counts[HANDLE] += handle
            self.waits[team].append(wait)
            if wait <= service_level_ms:
                counts[IN_SL] += 1
            if get("answered_relation") == "owner":
                counts[OWNER_ANSWERED] += 1
            a = self.reps.setdefault(get("answered_by") or "", [0, 0, 0, 0, 0])
            a[0] += 1
            a[1] += handle
            a[2] += talk
        elif outcome in ABANDONED_OUTCOMES:
            counts[ABANDONED] += 1

    # --- adding stored parts ---------------------------------------------------------------
    def add_totals(self, part: Mapping[str, Any]) -> None:
        """The part's inbound, outcome and outbound counts only (what a period shows)."""
        self.conversations += part["conversations"]
        for team, values in part["counts"].items():
            have = self.counts.get(team)
            if have is None:
                self.counts[team] = list(values)
                self.waits[team] = list(part["waits"][team])
                continue
            for i, v in enumerate(values):
                have[i] = max(have[i], v) if i == LONGEST else have[i] + v
            self.waits[team].extend(part["waits"][team])
        for outcome, n in part["outcomes"].items():
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + n
        self.outbound[0] += part["outbound"][0]
        self.outbound[1] += part["outbound"][1]
        self.internal += part["internal"]

    def add(self, part: Mapping[str, Any]) -> None:
        """A whole stored part (`stored()`'s shape)."""
        self.add_totals(part)
        for agent, values in part["reps"].items():
            _add(self.reps, agent, values)
        customers = self.customers
        c = part["customers"]
        for cid, n, ms, cost in zip(c["id"], c["conversations"], c["ms"], c["cost"], strict=True):
            have = customers.get(cid)
            if have is None:
                customers[cid] = [n, ms, cost]
            else:
                have[0] += n
                have[1] += ms
                have[2] += cost
        for team, agents in part["dialled"].items():
            into = self.dialled.setdefault(team, {})
            for agent, values in agents.items():
                _add(into, agent, values)
        for team, reps in part["codes"].items():
            into_team = self.codes.setdefault(team, {})
            for rep, codes in reps.items():
                into_rep = into_team.setdefault(rep, {})
                for code, n in codes.items():
                    into_rep[code] = into_rep.get(code, 0) + n

    def stored(self) -> dict[str, Any]:
        ids = sorted(self.customers)
        values = [self.customers[cid] for cid in ids]
        return {
            "conversations": self.conversations,
            "counts": self.counts,
            "waits": self.waits,
            "outcomes": self.outcomes,
            "outbound": self.outbound,
            "internal": self.internal,
            "reps": self.reps,
            "customers": {
                "id": ids,
                "conversations": [v[0] for v in values],
                "ms": [v[1] for v in values],
                "cost": [v[2] for v in values],
            },
            "dialled": self.dialled,
            "codes": self.codes,
        }

    # --- the report's figures ----------------------------------------------------------------
    def totals_and_teams(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The report's `totals` and `by_team` (kpis.compute's shape)."""
        teams = {}
        for name, values in self.counts.items():
            counts = InboundCounts()
            for i, field in enumerate(_COUNT_FIELDS):
                setattr(counts, field, values[i])
            counts.waits = self.waits[name]
            teams[name] = counts
        totals = {
            **InboundCounts.total_of(teams.values()).summary(),
            "outcomes": dict(sorted(self.outcomes.items())),
            "outbound": self.outbound[0],
            "outbound_answered": self.outbound[1],
            "internal_calls": self.internal,
        }
        return totals, {name: counts.summary() for name, counts in sorted(teams.items())}

    def figures(self) -> dict[str, Any]:
        """Everything the report shows over the range."""
        totals, by_team = self.totals_and_teams()
        dialled: dict[str, list[int]] = {}
        dialled_teams: dict[str, list[int]] = {}
        dialled_total = [0, 0, 0]
        for team, agents in self.dialled.items():
            for agent, values in agents.items():
                _add(dialled, agent, values)
                _add(dialled_teams, team, values)
                for i, v in enumerate(values):
                    dialled_total[i] += v
        codes_total: dict[str, int] = {}
        codes_team: dict[str, dict[str, int]] = {}
        codes_rep: dict[str, dict[str, int]] = {}
        for team, reps in self.codes.items():
            team_codes = codes_team.setdefault(team, {})
            for rep, counts in reps.items():
                rep_codes = codes_rep.setdefault(rep, {})
                for code, n in counts.items():
                    codes_total[code] = codes_total.get(code, 0) + n
                    team_codes[code] = team_codes.get(code, 0) + n
                    rep_codes[code] = rep_codes.get(code, 0) + n
        return {
            "conversations": self.conversations,
            "totals": totals,
            "by_team": by_team,
            "by_agent": rep_summaries(self.reps),
            "cost_per_customer": {
                cid: {"conversations": c[0], "total_ms": c[1], "cost_micros": c[2]}
                for cid, c in sorted(self.customers.items())
            },
            "outbound": {
                "totals": outbound_summary(dialled_total),
                "by_agent": {a: outbound_summary(c) for a, c in sorted(dialled.items()) if a},
                "by_team": {t: outbound_summary(c) for t, c in sorted(dialled_teams.items())},
            },
            "wrap_up_codes": {
                # Counter.most_common's order: by count (sorted() keeps ties as they came).
                "total": dict(sorted(codes_total.items(), key=lambda item: -item[1])),
                "by_team": dict(sorted(codes_team.items())),
                "by_agent": dict(sorted(codes_rep.items())),
            },
        }


def _add(into: dict[str, list[int]], name: str, values: list[int]) -> None:
    have = into.get(name)
    if have is None:
        into[name] = list(values)
    else:
        for i, v in enumerate(values):
            have[i] += v


def fold_day(
    records: Iterable[Mapping[str, Any]], day: str, service_level_ms: int, timezone: str
) -> dict[str, Any]:
    """A day's records as a roll-up (JSON-able): the views `all`, `teams` and `reps`."""
    cells: dict[tuple[str, str], Sums] = {}
    for r in records:
        key = (str(r.get("team") or ""), str(r.get("answered_by") or ""))
        cell = cells.get(key)
        if cell is None:
            cell = cells[key] = Sums()
        cell.add_record(r, service_level_ms)
    stored = {key: cell.stored() for key, cell in cells.items()}
    everything, teams = Sums(), dict[str, Sums]()
    reps: dict[str, dict[str, Any]] = {}
    for (team, agent), part in sorted(stored.items()):
        everything.add(part)
        teams.setdefault(team, Sums()).add(part)
        if agent:
            reps.setdefault(agent, {})[team] = part
    return {
        "version": ROLLUP_VERSION,
        "day": day,
        "service_level_ms": service_level_ms,
        "timezone": timezone,
        "all": everything.stored(),
        "teams": {team: _text(sums.stored()) for team, sums in teams.items()},
        "reps": {agent: _text(parts) for agent, parts in reps.items()},
    }


def _text(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def parts_of(rollup: Mapping[str, Any], team: str, agent: str) -> list[Mapping[str, Any]]:
    """The stored parts holding the records reports.wanted(team, agent) keeps."""
    if agent:
        text = rollup["reps"].get(agent)
        by_team: dict[str, Any] = json.loads(text) if text else {}
        if team:
            return [by_team[team]] if team in by_team else []
        return list(by_team.values())
    if team:
        return [json.loads(rollup["teams"][team])] if team in rollup["teams"] else []
    return [rollup["all"]]


def is_current(rollup: Mapping[str, Any] | None, service_level_ms: int, timezone: str) -> bool:
    """Whether a stored roll-up was folded with today's rules (else fold the day again)."""
    return bool(
        rollup
        and rollup.get("version") == ROLLUP_VERSION
        and rollup.get("service_level_ms") == service_level_ms
        and rollup.get("timezone") == timezone
    )
