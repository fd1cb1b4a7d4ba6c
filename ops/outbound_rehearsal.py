"""The rehearsal's outbound calls: reps dialling customers through the softphone for a share of
their day, and the checks of presence, conversations and KPIs against the ground truth.

Each attempt is planned up front from the seed (rep, moment, number, what the customer at that
number does: answer after a few seconds, be busy, or never pick up). At its moment the rep dials
if they are free (available, no call ringing or live); otherwise they try again a minute later,
for half an hour, as a rep working down a call list would.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

from ops.standin.outbound import Callee, OutboundTruth
from ops.standin.population import talk_seconds

# What the customers at the numbers dialled do (a sales floor's call list).
BEHAVIOURS = (("answer", 0.65), ("no-answer", 0.25), ("busy", 0.10))
RETRY_SECONDS = 60.0
GIVE_UP_SECONDS = 1800.0
# The board shows the rep on the call within this long of the webhook (docs/softphone.md).
BOARD_SECONDS = 3.0
# A call that never connected frees the rep "at once": within this long of its end.
RELEASE_SECONDS = 3.0


@dataclass(frozen=True)
class OutboundPlan:
    agent_id: str
    at: float
    number: str
    callee: Callee


def split_calls(calls: int, outbound_share: float) -> tuple[int, int]:
    """(inbound, outbound) calls of a day of `calls` with `outbound_share` placed by reps."""
    outbound = round(calls * max(0.0, min(1.0, outbound_share)))
    return calls - outbound, outbound


def outbound_plans(
    agents: list[dict[str, str]],
    profiles: dict[str, Any],
    count: int,
    seed: int,
    start: float,
) -> list[OutboundPlan]:
    """`count` attempts spread over the reps' shifts, each with its own number and callee."""
    rng = random.Random(f"{seed}:outbound")
    names = sorted(a["agent_id"] for a in agents)
    plans: list[OutboundPlan] = []
    used: set[str] = set()
    for _ in range(count):
        agent_id = rng.choice(names)
        profile = profiles[agent_id]
        at = start + rng.uniform(
            profile.shift_start + 60, max(profile.shift_start + 120, profile.shift_end - 600)
        )
        number = ""
        while not number or number in used:
            number = _valid(f"+813{rng.randrange(10**8):08d}")
        used.add(number)
        roll = rng.random()
        behaviour = BEHAVIOURS[-1][0]
        for name, share in BEHAVIOURS:
            if roll < share:
                behaviour = name
                break
            roll -= share
        callee = Callee(
            behaviour,
            answer_after=min(25.0, max(2.0, rng.lognormvariate(math.log(6.0), 0.5))),
            talk_seconds=talk_seconds(rng),
            customer_hangs_up_first=rng.random() < 0.5,
        )
        plans.append(OutboundPlan(agent_id, at, number, callee))
    return sorted(plans, key=lambda p: p.at)


def _valid(number: str) -> str:
    """`number` if libphonenumber takes it for a Japanese number the app would dial, else ""."""
    from chalicelib.telephony.phone_numbers import InvalidPhoneNumber, to_e164

    try:
        return to_e164(number, "JP")
    except InvalidPhoneNumber:
        return ""


class OutboundFloor:
    """Places the planned attempts on the stand-in as the reps get free."""

    def __init__(self, stack: Any, plans: list[OutboundPlan]) -> None:
        self.stack = stack
        self.plans = plans
        self.placed: list[str] = []
        self.gave_up: list[OutboundPlan] = []

    def schedule(self) -> None:
        clock = self.stack.standin.clock
        for plan in self.plans:
            clock.at(plan.at, self._try, plan, plan.at)

    def _free(self, agent_id: str) -> bool:
        s = self.stack.standin
        worker = s.worker_by_agent(agent_id)
        return (
            s.activities[worker.activity_sid].name == "Available"
            and worker.task_sid is None
            and worker.reservation_sid is None
            and not s.dialler.is_on_call(agent_id)
        )

    def _try(self, plan: OutboundPlan, first: float) -> None:
        s = self.stack.standin
        with s.lock:
            free = self._free(plan.agent_id)
        if not free:
            if s.now() - first < GIVE_UP_SECONDS:
                s.clock.after(RETRY_SECONDS, self._try, plan, first)
            else:
                self.gave_up.append(plan)
            return
        self.placed.append(s.dialler.dial(plan.agent_id, plan.number, plan.callee))


EXPECTED = {"answer": "connected", "busy": "busy", "no-answer": "no_answer"}


def outbound_checks(
    report: Any, stack: Any, floor: OutboundFloor, records: list[dict[str, Any]]
) -> None:
    """Presence, conversations and KPIs of the day's outbound calls against the ground truth."""
    truths: list[OutboundTruth] = [stack.standin.dialler.calls[sid] for sid in floor.placed]
    outcomes: dict[str, int] = {}
    for t in truths:
        outcomes[t.outcome] = outcomes.get(t.outcome, 0) + 1
    print(
        f"  outbound: planned {len(floor.plans)}, placed {len(truths)}, rep never free "
        f"{len(floor.gave_up)}; outcomes (truth) {dict(sorted(outcomes.items()))}"
    )
    wrong = [t for t in truths if t.outcome != EXPECTED.get(t.behaviour)]
    report.add(
        "outbound: every call placed and ended as the customer did",
        bool(truths) and not wrong,
        f"{len(truths) - len(wrong)}/{len(truths)}"
        + (
            f"; e.g. {wrong[0].call_sid} {wrong[0].behaviour} -> {wrong[0].outcome}"
            if wrong
            else ""
        ),
    )
    offered = [(t.agent_id, t.call_sid, r) for t in truths for r in t.offers_during]
    report.add(
        "no inbound call offered to a rep on an outbound call",
        not offered,
        f"{len(offered)} offers" + (f"; e.g. {offered[:2]}" if offered else ""),
    )
    _presence_checks(report, stack, truths)
    _conversation_checks(report, truths, records)
    _kpi_checks(report, truths, records)


def _history(stack: Any, agent_id: str) -> list[dict[str, Any]]:
    return sorted(stack.container.presence_history.for_agent(agent_id), key=lambda h: str(h["seq"]))


def _presence_checks(report: Any, stack: Any, truths: list[OutboundTruth]) -> None:
    """From the webhook the rep is on a call (reason outbound) within BOARD_SECONDS; a call that
    never connected frees them within RELEASE_SECONDS of its end; a connected one wraps up."""
    late_on: list[str] = []
    late_off: list[str] = []
    histories: dict[str, list[dict[str, Any]]] = {}
    for t in truths:
        if t.rep_connected_at is None:
            continue
        history = histories.setdefault(t.agent_id, _history(stack, t.agent_id))
        placed_ms = t.placed_at * 1000
        on = next(
            (
                h
                for h in history
                if h["to"] == "on_call"
                and h["reason"] == "outbound"
                and placed_ms - 1000 <= int(h["at_ms"]) <= placed_ms + BOARD_SECONDS * 1000
            ),
            None,
        )
        if on is None:
            late_on.append(t.call_sid)
            continue
        want = (
            ("wrap_up", "call_ended")
            if t.outcome == "connected"
            else ("available", "not_connected")
        )
        end_ms = (t.ended_at or 0) * 1000
        off = next(
            (
                h
                for h in history
                if int(h["at_ms"]) >= int(on["at_ms"])
                and h["from"] == "on_call"
                and (h["to"], h["reason"]) == want
            ),
            None,
        )
        if off is None or int(off["at_ms"]) - end_ms > RELEASE_SECONDS * 1000:
            late_off.append(f"{t.call_sid} {t.outcome}")
    report.add(
        f"outbound: the rep is on a call (outbound) within {BOARD_SECONDS:.0f} s of dialling",
        not late_on,
        f"{len(truths) - len(late_on)}/{len(truths)}"
        + (f"; e.g. {late_on[:2]}" if late_on else ""),
    )
    report.add(
        f"outbound: wrap-up after a connected call, free within {RELEASE_SECONDS:.0f} s otherwise",
        not late_off,
        f"{len(truths) - len(late_off)}/{len(truths)}"
        + (f"; e.g. {late_off[:2]}" if late_off else ""),
    )


def _conversation_checks(
    report: Any, truths: list[OutboundTruth], records: list[dict[str, Any]]
) -> None:
    by_id = {str(r.get("conversation_id")): r for r in records}
    wrong: list[str] = []
    for t in truths:
        record = by_id.get(t.call_sid)
        if record is None:
            wrong.append(f"{t.call_sid} missing")
            continue
        connected = t.outcome == "connected"
        expected_outcome = "answered" if connected else "failed"
        problems = []
        if record.get("direction") != "outbound":
            problems.append(f"direction {record.get('direction')}")
        if record.get("outcome") != expected_outcome:
            problems.append(f"outcome {record.get('outcome')}")
        if (record.get("answered_by") or "") != (t.agent_id if connected else ""):
            problems.append(f"answered_by {record.get('answered_by')}")
        if connected and abs(int(record.get("talk_ms") or 0) - (t.talk_seconds or 0) * 1000) > 2000:
            problems.append(f"talk_ms {record.get('talk_ms')} vs {t.talk_seconds}")
        if record.get("caller") != t.number:
            problems.append("number")
        if problems:
            wrong.append(f"{t.call_sid} {', '.join(problems)}")
    report.add(
        "outbound: conversation records vs truth",
        bool(truths) and not wrong,
        f"{len(truths) - len(wrong)}/{len(truths)} agree"
        + (f"; e.g. {wrong[:2]}" if wrong else ""),
    )


def _kpi_checks(report: Any, truths: list[OutboundTruth], records: list[dict[str, Any]]) -> None:
    """The outbound KPIs per rep (attempts, connected, talk time) from our records equal the
    truth's; talk time within a second per call."""
    try:
        from chalicelib.conversations.kpis import outbound_kpis
    except ImportError:
        report.add("outbound: KPIs ours vs truth", None, "not available yet")
        return
    ours = outbound_kpis([r for r in records if r.get("direction") == "outbound"])
    truth_records = [
        {
            "conversation_id": t.call_sid,
            "direction": "outbound",
            "dialled_by": t.agent_id,
            "outcome": "answered" if t.outcome == "connected" else "failed",
            "answered_by": t.agent_id if t.outcome == "connected" else "",
            "talk_ms": int((t.talk_seconds or 0) * 1000),
            "team": "",
        }
        for t in truths
    ]
    truth = outbound_kpis(truth_records)
    differ = []
    for agent_id, theirs in truth["by_agent"].items():
        mine = ours["by_agent"].get(agent_id, {})
        for key in ("attempts", "connected"):
            if mine.get(key) != theirs[key]:
                differ.append(f"{agent_id} {key} ours={mine.get(key)} truth={theirs[key]}")
        if abs(int(mine.get("talk_ms", 0)) - theirs["talk_ms"]) > 1000 * max(
            1, theirs["connected"]
        ):
            differ.append(
                f"{agent_id} talk_ms ours={mine.get('talk_ms')} truth={theirs['talk_ms']}"
            )
    totals = ours["totals"]
    report.add(
        "outbound: KPIs per rep ours vs truth",
        bool(truths) and not differ,
        f"attempts {totals['attempts']}, connected {totals['connected']}, connect rate "
        f"{totals['connect_rate']}" + (f"; differ {differ[:3]}" if differ else ""),
    )
