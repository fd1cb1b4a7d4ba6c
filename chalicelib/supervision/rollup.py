"""Per-day roll-ups of the reports: a finished local day's conversations folded once into sums
that add up across days exactly, so a month is read as 31 small objects, not 600k records.

A roll-up holds one *cell* per (team, answering rep) of the day (the report's two filters:
`team` keeps a team's records, `agent` the calls a rep answered), so any filter is a sum of
whole cells and gives the figures `build_report` gives over the records. A cell keeps only
counts, sums of milliseconds, cost sums, the maximum wait and the answered calls' waits (the
ASA's 90th percentile is a rank, which no sum keeps); every rate and average (service level,
abandonment, ASA, AHT, owner reach, connect rate) is computed from the summed cells with
chalicelib.conversations.kpis's own definitions. tests/unit/test_report_rollups.py checks the
two paths agree, on generated days, per team and per rep.

A roll-up depends on the service level threshold (answered within it is counted per call), so
it records the threshold and the time zone it was folded with, and the report folds a day again
when either has changed since.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from chalicelib.conversations.kpis import (
    ABANDONED_OUTCOMES,
    MISSED_OFFER_OUTCOMES,
    NO_TEAM,
    OFFERED_OUTCOMES,
    _Counts,
    _merge,
    _outbound_row,
)
from chalicelib.softphone.wrap_up import NO_CODE

ROLLUP_VERSION = 1

# A cell's inbound counts, in this order (kpis._Counts's fields, waits apart).
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


def _new_cell(team: str, agent: str) -> dict[str, Any]:
    return {
        "team": team,  # the records' `team` ("" for none)
        "agent": agent,  # their `answered_by` ("" for none)
        "conversations": 0,
        "counts": None,  # [_COUNT_FIELDS] once an inbound call with an outcome is seen
        "waits": [],  # queue waits of the answered calls
        "outcomes": {},
        "outbound": [0, 0],  # outbound conversations, those answered
        "internal": 0,
        "reps": {},  # agent -> [answered, handle_ms, talk_ms, offers, missed_offers]
        "customers": {},  # customer -> [conversations, total_ms, cost_micros]
        "dialled": {},  # outbound per rep: agent -> [attempts, connected, talk_ms]
        "codes": {},  # wrap-up: rep -> {code: calls}
    }


def fold_day(
    records: Iterable[Mapping[str, Any]], day: str, service_level_ms: int, timezone: str
) -> dict[str, Any]:
    """A day's records as a roll-up (JSON-able); the same rules as kpis.compute and
    wrap_up.tally_codes, record by record."""
    cells: dict[tuple[str, str], dict[str, Any]] = {}
    for r in records:
        get = r.get
        key = (str(get("team") or ""), str(get("answered_by") or ""))
        cell = cells.get(key)
        if cell is None:
            cell = cells[key] = _new_cell(*key)
        cell["conversations"] += 1
        # Wrap-up codes: the calls somebody took (wrap_up.tally_codes).
        code = get("wrap_up_code")
        if get("answered_by") or get("direction") == "outbound" or code:
            rep = str(get("answered_by") or get("dialled_by") or "-")
            codes = cell["codes"].setdefault(rep, {})
            code = str(code or NO_CODE)
            codes[code] = codes.get(code, 0) + 1
        outcome = get("outcome")
        if not outcome:
            continue
        if get("internal"):
            cell["internal"] += 1
            continue
        cell["outcomes"][outcome] = cell["outcomes"].get(outcome, 0) + 1
        talk = get("talk_ms") or 0
        hold = get("hold_ms") or 0
        customer_id = get("customer_id")
        if customer_id:
            c = cell["customers"].setdefault(str(customer_id), [0, 0, 0])
            c[0] += 1
            c[1] += talk + hold
            c[2] += get("cost_micros") or 0
        for offer in get("offers") or ():
            a = cell["reps"].setdefault(offer["agent_id"], [0, 0, 0, 0, 0])
            a[3] += 1
            if offer["outcome"] in MISSED_OFFER_OUTCOMES:
                a[4] += 1
        if get("direction") == "outbound":
            connected = outcome == "answered"
            cell["outbound"][0] += 1
            cell["outbound"][1] += connected
            d = cell["dialled"].setdefault(
                str(get("dialled_by") or get("answered_by") or ""), [0, 0, 0]
            )
            d[0] += 1
            d[1] += connected
            d[2] += int(talk) if connected else 0
            continue
        counts = cell["counts"]
        if counts is None:
            counts = cell["counts"] = [0] * len(_COUNT_FIELDS)
        if outcome == "short_abandon":
            counts[SHORT] += 1
            continue
        if outcome not in OFFERED_OUTCOMES:
            continue
        wait = get("queue_wait_ms") or 0
        counts[OFFERED] += 1
        counts[LONGEST] = max(counts[LONGEST], wait)
        if get("owner_agent_id"):
            counts[OWNER_OFFERED] += 1
        if outcome == "answered":
            handle = talk + hold + (get("wrap_ms") or 0)
            counts[ANSWERED] += 1
            counts[HANDLE] += handle
            cell["waits"].append(wait)
            if wait <= service_level_ms:
                counts[IN_SL] += 1
            if get("answered_relation") == "owner":
                counts[OWNER_ANSWERED] += 1
            a = cell["reps"].setdefault(get("answered_by") or "", [0, 0, 0, 0, 0])
            a[0] += 1
            a[1] += handle
            a[2] += talk
        elif outcome in ABANDONED_OUTCOMES:
            counts[ABANDONED] += 1
    return {
        "version": ROLLUP_VERSION,
        "day": day,
        "service_level_ms": service_level_ms,
        "timezone": timezone,
        "cells": [cells[k] for k in sorted(cells)],
    }


def is_current(rollup: Mapping[str, Any] | None, service_level_ms: int, timezone: str) -> bool:
    """Whether a stored roll-up was folded with today's rules (else fold the day again)."""
    return bool(
        rollup
        and rollup.get("version") == ROLLUP_VERSION
        and rollup.get("service_level_ms") == service_level_ms
        and rollup.get("timezone") == timezone
    )


def cell_filter(team: str, agent: str) -> Callable[[Mapping[str, Any]], bool]:
    """reports.wanted for cells."""

    def keep(cell: Mapping[str, Any]) -> bool:
        return (not team or cell["team"] == team) and (not agent or cell["agent"] == agent)

    return keep


def _add(into: dict[str, list[int]], name: str, values: list[int]) -> None:
    have = into.get(name)
    if have is None:
        into[name] = list(values)
    else:
        for i, v in enumerate(values):
            have[i] += v


def _team_counts(cells: list[Mapping[str, Any]]) -> dict[str, _Counts]:
    teams: dict[str, list[Mapping[str, Any]]] = {}
    for cell in cells:
        if cell["counts"] is not None:
            teams.setdefault(cell["team"] or NO_TEAM, []).append(cell)
    out = {}
    for name, parts in teams.items():
        counts = _Counts()
        for cell in parts:
            values = cell["counts"]
            for i, field in enumerate(_COUNT_FIELDS):
                if i == LONGEST:
                    counts.longest_wait_ms = max(counts.longest_wait_ms, values[i])
                else:
                    setattr(counts, field, getattr(counts, field) + values[i])
            counts.waits.extend(cell["waits"])
        out[name] = counts
    return out


def totals_and_teams(cells: list[Mapping[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The report's `totals` and `by_team` over summed cells (kpis.compute's shape)."""
    teams = _team_counts(cells)
    outcomes: dict[str, int] = {}
    outbound = outbound_answered = internal = 0
    for cell in cells:
        for outcome, n in cell["outcomes"].items():
            outcomes[outcome] = outcomes.get(outcome, 0) + n
        outbound += cell["outbound"][0]
        outbound_answered += cell["outbound"][1]
        internal += cell["internal"]
    totals = {
        **_merge(teams.values()).summary(),
        "outcomes": dict(sorted(outcomes.items())),
        "outbound": outbound,
        "outbound_answered": outbound_answered,
        "internal_calls": internal,
    }
    return totals, {name: counts.summary() for name, counts in sorted(teams.items())}


def summarize(cells: list[Mapping[str, Any]]) -> dict[str, Any]:
    """Everything the report shows over the whole range, from summed cells."""
    totals, by_team = totals_and_teams(cells)
    reps: dict[str, list[int]] = {}
    customers: dict[str, list[int]] = {}
    dialled: dict[str, list[int]] = {}
    dialled_teams: dict[str, list[int]] = {}
    dialled_total = [0, 0, 0]
    codes_total: dict[str, int] = {}
    codes_team: dict[str, dict[str, int]] = {}
    codes_rep: dict[str, dict[str, int]] = {}
    for cell in cells:
        for agent, values in cell["reps"].items():
            _add(reps, agent, values)
        for customer, values in cell["customers"].items():
            _add(customers, customer, values)
        for agent, values in cell["dialled"].items():
            _add(dialled, agent, values)
            _add(dialled_teams, cell["team"] or NO_TEAM, values)
            for i, v in enumerate(values):
                dialled_total[i] += v
        team_codes = codes_team.setdefault(cell["team"] or "-", {}) if cell["codes"] else {}
        for rep, counts in cell["codes"].items():
            rep_codes = codes_rep.setdefault(rep, {})
            for code, n in counts.items():
                codes_total[code] = codes_total.get(code, 0) + n
                team_codes[code] = team_codes.get(code, 0) + n
                rep_codes[code] = rep_codes.get(code, 0) + n
    return {
        "conversations": sum(cell["conversations"] for cell in cells),
        "totals": totals,
        "by_team": by_team,
        "by_agent": {
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
        },
        "cost_per_customer": {
            cid: {"conversations": c[0], "total_ms": c[1], "cost_micros": c[2]}
            for cid, c in sorted(customers.items())
        },
        "outbound": {
            "totals": _outbound_row(dialled_total),
            "by_agent": {a: _outbound_row(c) for a, c in sorted(dialled.items()) if a},
            "by_team": {t: _outbound_row(c) for t, c in sorted(dialled_teams.items())},
        },
        "wrap_up_codes": {
            "total": _most_common(codes_total),
            "by_team": {team: dict(c) for team, c in sorted(codes_team.items())},
            "by_agent": {rep: dict(c) for rep, c in sorted(codes_rep.items())},
        },
    }


def _most_common(counts: Mapping[str, int]) -> dict[str, int]:
    # Counter.most_common's order: by count, ties in first-seen order (sorted() is stable).
    return dict(sorted(counts.items(), key=lambda item: -item[1]))
