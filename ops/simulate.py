"""`python -m ops simulate`: rehearse a day of calls against our own code, with ground truth.

Runs the app in this process on moto with the Twilio stand-in (ops/standin) on a virtual
clock, so a day takes minutes and a seed repeats it exactly. Prints figures and a verdict:
- scenarios checked against the ground truth (owner answers, owner away -> team, missed offer
  -> next agent, caller abandons in queue; features the harness cannot drive say so);
- a day: arrivals by hour, callers with patience, agents with shifts, breaks and misses;
  calls dropped by us, conversations recorded vs calls placed, KPIs from our conversation
  records vs from the ground truth, presence at the end vs the truth, webhook latency,
  errors by route, Lambda handler failures;
- `--fault`: DynamoDB throttling a share of requests during the day.
Exits 1 when a check fails; the last line is the verdict. See docs/rehearsal.md.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ops.standin.engine import CallerPlan, Chaos
from ops.standin.population import (
    AgentProfile,
    Population,
    agent_profiles,
    caller_plans,
)

DAY_SECONDS = 9 * 3600.0
# Audio served per recording in a day run: 20,000 full-length stereo WAVs (~5 MB per 3-minute
# call) would not fit in moto's in-memory S3; the copy, verification and deletion are the same.
DAY_MEDIA_SECONDS = 1.0


@dataclass
class Check:
    name: str
    status: str  # PASS, FAIL, N/A
    detail: str = ""


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)

    def add(self, name: str, ok: bool | None, detail: str = "") -> None:
        status = "N/A" if ok is None else ("PASS" if ok else "FAIL")
        self.checks.append(Check(name, status, detail))
        print(f"  [{status}] {name}: {detail}", flush=True)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.status == "FAIL"]


# ---- directory --------------------------------------------------------------------------


def directory(agents: int, seed: int) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """The demo floor, grown to `agents` with the same teams when asked for more than 30."""
    from ops.demo import TEAMS, demo_agents, demo_customers, worker_sid

    floor = demo_agents()
    teams = list(TEAMS)
    n = len(floor)
    while len(floor) < agents:
        agent_id = f"agent{n + 1:03d}.sim"
        floor.append(
            {
                "agent_id": agent_id,
                "name": f"Agent {n + 1}",
                "team": teams[n % len(teams)],
                "worker_sid": worker_sid(agent_id),
            }
        )
        n += 1
    floor = floor[:agents]
    customers = demo_customers(floor, count=max(500, agents * 17), seed=7)
    return floor, customers


# ---- comparisons ------------------------------------------------------------------------


def truth_records(stack: Any) -> list[dict[str, Any]]:
    """The ground truth in the shape of conversation records, for
    chalicelib.conversations.kpis.compute."""
    from ops.standin.harness import TOKYO

    records = []
    for t in stack.truth.calls.values():
        if t.enqueued_at is None and t.outcome != "voicemail":
            continue
        # The KPIs' definitions (docs/kpis.md): a queued caller who hung up unanswered, in the
        # queue or later in the fallback menu, abandoned; a callback request did not.
        outcome = {
            "answered": "answered",
            "abandoned": "abandoned_in_queue",
            "ivr_hangup": "abandoned_in_queue",
            "voicemail": "voicemail",
            "callback_requested": "callback",
        }.get(t.outcome)
        if outcome is None:
            continue
        wait = (t.answered_at or t.caller_hung_up_at or t.ended_at or t.placed_at) - (
            t.enqueued_at or t.placed_at
        )
        records.append(
            {
                "conversation_id": t.call_sid,
                "outcome": outcome,
                "direction": "inbound",
                "team": t.team,
                "queue_wait_ms": round(wait * 1000),
                "hour": datetime.fromtimestamp(t.placed_at, TOKYO).hour,
                "weekday": datetime.fromtimestamp(t.placed_at, TOKYO).weekday(),
                "owner_agent_id": t.owner_agent_id,
                "answered_by": t.answered_by or "",
                "answered_relation": "owner"
                if t.answered_by and t.answered_by == t.owner_agent_id
                else "",
                "talk_ms": int((t.talk_seconds or 0) * 1000),
            }
        )
    return records


def app_records(stack: Any) -> list[dict[str, Any]] | None:
    """Conversation records the app wrote, or None if the app has no conversations table."""
    table = stack.settings.conversations.conversations_table
    if not table:
        return None
    items = stack.boto_session.resource("dynamodb").Table(table)
    records: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {}
    while True:
        page = items.scan(**kwargs)
        records.extend(page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return records
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


FALLBACK_WORDS = ("Failed", "Degraded", "Unavailable", "Raced", "Fallback", "Drift", "Retried")
KPI_KEYS = ("offered", "answered", "abandoned", "owner_reach_rate", "asa_ms")


def compare_kpis(report: Report, stack: Any) -> None:
    try:
        from chalicelib.conversations.kpis import compute
    except ImportError:
        report.add(
            "KPIs ours vs truth", None, "not available yet (chalicelib/conversations/kpis.py)"
        )
        return
    ours_raw = app_records(stack)
    if ours_raw is None:
        report.add("KPIs ours vs truth", None, "not available yet (no conversations table)")
        return
    ours = _plain(ours_raw)
    inbound = [r for r in ours if r.get("direction", "inbound") != "outbound"]
    mine = _summary(compute(inbound))
    truth_kpi_records = truth_records(stack)
    truth = _summary(compute(truth_kpi_records))
    if mine is None or truth is None or not all(k in mine and k in truth for k in KPI_KEYS):
        # Never compare absent figures (None == None would pass a check that cannot fail).
        report.add("KPIs ours vs truth", None, "cannot run: the KPI report has no totals")
        return
    differences = {}
    for key in KPI_KEYS:
        a, b = mine.get(key), truth.get(key)
        close = a == b or (
            key == "asa_ms" and a is not None and b is not None and abs(a - b) <= 1000
        )
        if not close:
            differences[key] = (a, b)
    shown = ", ".join(f"{k} ours={mine.get(k)} truth={truth.get(k)}" for k in KPI_KEYS)
    if differences:
        shown += "; calls counted differently " + json.dumps(
            _outcome_differences(inbound, truth_kpi_records)
        )
    report.add("KPIs ours vs truth", not differences, shown)


def _outcome_differences(
    ours: list[dict[str, Any]], truth: list[dict[str, Any]], most: int = 5
) -> dict[str, Any]:
    """Which calls our records put in another KPI class than the truth does (call sid: ours,
    truth): where to look when a KPI differs."""
    from chalicelib.conversations.kpis import ABANDONED_OUTCOMES, OFFERED_OUTCOMES

    def kpi_class(outcome: str) -> str:
        if outcome not in OFFERED_OUTCOMES:
            return "not offered"
        return "abandoned" if outcome in ABANDONED_OUTCOMES else outcome

    true_class = {str(r["conversation_id"]): kpi_class(str(r["outcome"])) for r in truth}
    differ = {}
    for record in ours:
        call_sid = str(record.get("conversation_id", ""))
        mine = kpi_class(str(record.get("outcome", "")))
        theirs = true_class.get(call_sid, "not offered")
        if theirs != mine:
            differ[call_sid] = (mine, theirs)
    shown = dict(sorted(differ.items())[:most])
    return {"count": len(differ), "e.g.": shown}


def _summary(result: dict[str, Any]) -> dict[str, Any] | None:
    """The report's day totals (`totals` in chalicelib/conversations/kpis.py)."""
    summary = result.get("totals")
    return summary if isinstance(summary, dict) else None


def _plain(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """DynamoDB Decimals -> int/float, as the report code reads records."""
    return json.loads(json.dumps(items, default=lambda d: float(d) if d % 1 else int(d)))


def compare_presence(report: Report, stack: Any) -> None:
    table = stack.settings.presence.presence_table
    items = stack.boto_session.resource("dynamodb").Table(table).scan().get("Items", [])
    if not items:
        report.add("presence at the end vs truth", None, "no presence records")
        return
    expected = {
        "Available": {"available"},
        "Offline": {"offline"},
        "Break": {"break"},
        "Away": {"away"},
        "Wrap-up": {"wrap_up", "available"},
        "Outbound call": {"on_call"},
    }
    wrong = []
    for item in items:
        try:
            worker = stack.standin.worker_by_agent(str(item["agent_id"]))
        except KeyError:
            continue
        activity = stack.standin.activities[worker.activity_sid].name
        if worker.task_sid or worker.reservation_sid:
            continue  # mid-call at the cut-off
        if str(item.get("state")) not in expected.get(activity, {activity.lower()}):
            wrong.append(f"{item['agent_id']}: ours={item.get('state')} twilio={activity}")
    report.add(
        "presence at the end vs truth",
        not wrong,
        f"{len(items) - len(wrong)}/{len(items)} agree" + (f"; e.g. {wrong[:3]}" if wrong else ""),
    )


# ---- scenarios --------------------------------------------------------------------------


def run_scenarios(report: Report, seed: int, floor_size: int = 30, date: str | None = None) -> None:
    from chalicelib.telephony.phone_numbers import caller_e164
    from ops.standin.harness import day_start, in_process_stack

    agents, customers = directory(floor_size, seed)
    profiles = [
        AgentProfile(a["agent_id"], a["team"], a["worker_sid"], miss_rate=0.0, away_after_miss=0.0)
        for a in agents
    ]
    population = Population(profiles, seed)
    with in_process_stack(agents, customers, population, seed=seed, start=day_start(date)) as stack:
        s = stack.standin

        def settle(seconds: float = 5.0) -> None:
            s.clock.run(until=s.now() + seconds)

        def everyone(activity: str) -> None:
            for a in agents:
                population._set(a["agent_id"], activity)
            settle(10)

        def call(customer: dict[str, str], patience: float = 600.0, name: str = "") -> Any:
            plan = CallerPlan(
                caller=caller_e164(customer["phone"], "JP") or customer["phone"],
                patience=patience,
                talk_seconds=60.0,
                customer_id=customer["customer_id"],
                owner_agent_id=customer["owner_agent_id"],
                team=customer["team"],
                scenario=name,
            )
            sid = s.place_call(plan)
            truth = stack.truth.get(sid)
            deadline = s.now() + patience + 300
            while truth.ended_at is None and s.now() < deadline:
                settle(10)
            settle(60)  # wrap-up ends, presence settles
            return truth

        owned = [c for c in customers if c["owner_agent_id"]]
        everyone("Available")
        customer = owned[0]
        truth = call(customer, name="owner answers")
        report.add(
            "scenario: owner answers",
            truth.offers[:1]
            and truth.offers[0].agent_id == customer["owner_agent_id"]
            and truth.answered_by == customer["owner_agent_id"],
            f"offered to {[o.agent_id for o in truth.offers]}, answered by {truth.answered_by}",
        )

        customer = owned[1]
        population._set(customer["owner_agent_id"], "Away")
        settle(10)
        truth = call(customer, name="owner away -> team")
        team = {a["agent_id"] for a in agents if a["team"] == customer["team"]}
        report.add(
            "scenario: owner away -> team",
            bool(truth.offers)
            and truth.offers[0].agent_id in team - {customer["owner_agent_id"]}
            and truth.answered_by in team,
            f"owner {customer['owner_agent_id']} away; offered to "
            f"{[o.agent_id for o in truth.offers]}, answered by {truth.answered_by}",
        )
        population._set(customer["owner_agent_id"], "Available")
        settle(10)

        customer = owned[2]
        population.script[customer["owner_agent_id"]] = [None]
        truth = call(customer, name="missed offer -> next agent")
        outcomes = [(o.agent_id, o.outcome) for o in truth.offers]
        report.add(
            "scenario: missed offer -> next agent",
            len(outcomes) >= 2
            and outcomes[0] == (customer["owner_agent_id"], "missed")
            and outcomes[-1][1] == "answered"
            and truth.answered_by != customer["owner_agent_id"],
            f"offers {outcomes}",
        )
        everyone("Available")

        everyone("Offline")
        truth = call(owned[3], patience=40.0, name="caller abandons in queue")
        report.add(
            "scenario: caller abandons in queue",
            truth.abandoned and truth.outcome == "abandoned" and not truth.offers,
            f"outcome {truth.outcome}, hung up after "
            f"{(truth.caller_hung_up_at or 0) - truth.placed_at:.0f} s, offers {len(truth.offers)}",
        )

        nobody_to_voicemail(report, stack, call, owned[4], everyone)
        transfer_scenario(report, stack, call, owned[5:], agents, everyone)


def transfer_scenario(
    report: Report,
    stack: Any,
    call: Callable[..., Any],
    owned: list[dict[str, str]],
    agents: list[dict[str, str]],
    everyone: Callable[[str], None],
) -> None:
    """The owner answers and hands the call over through the app's API, as the softphone does:
    cold to a named colleague, then warm to a team. Each is checked against the ground truth
    and against the conversation record the app wrote."""
    from ops.standin.population import TransferIntent

    everyone("Available")
    population = stack.population
    failures: list[str] = []
    details: list[str] = []
    teams = sorted({a["team"] for a in agents})
    for mode in ("cold", "warm"):
        customer = owned[0] if mode == "cold" else owned[1]
        owner = customer["owner_agent_id"]
        if mode == "cold":
            colleague = next(
                a["agent_id"]
                for a in agents
                if a["team"] == customer["team"] and a["agent_id"] != owner
            )
            intent = TransferIntent("cold", to_agent=colleague, after_seconds=20.0)
        else:
            other = next(t for t in teams if t != customer["team"])
            intent = TransferIntent("warm", to_team=other, after_seconds=20.0, consult_seconds=15.0)
        population.transfer_script[owner] = [intent]
        truth = call(customer, name=f"transfer ({mode})")
        population.transfer_script.pop(owner, None)
        problems, summary = check_transfer(stack, truth, owner, intent, agents)
        details.append(f"{mode}: {summary}")
        failures.extend(f"{mode}: {p}" for p in problems)
    report.add(
        "scenario: transfer",
        not failures,
        "; ".join(details) + (f" -- PROBLEMS {failures}" if failures else ""),
    )


def check_transfer(
    stack: Any, truth: Any, owner: str, intent: Any, agents: list[dict[str, str]]
) -> tuple[list[str], str]:
    """What went wrong with one transfer (truth vs intent, our record vs truth), and a summary."""
    problems: list[str] = []
    transfers = truth.transfers
    if len(transfers) != 1:
        return [f"{len(transfers)} transfers in the truth (expected 1)"], f"outcome {truth.outcome}"
    t = transfers[0]
    team_of = {a["agent_id"]: a["team"] for a in agents}
    if t.from_agent_id != owner or t.mode != intent.mode or t.answered_by is None:
        problems.append(f"truth: from {t.from_agent_id} mode {t.mode} taken by {t.answered_by}")
    elif intent.to_agent and t.answered_by != intent.to_agent:
        problems.append(f"named colleague {intent.to_agent}, but {t.answered_by} took it")
    elif intent.to_team and team_of.get(t.answered_by) != intent.to_team:
        problems.append(f"team {intent.to_team}, but {t.answered_by} took it")
    if t.from_left_at is None:
        problems.append("the first agent never left the conference")
    if truth.outcome != "answered" or truth.answered_by != owner:
        problems.append(f"truth outcome {truth.outcome} answered by {truth.answered_by}")
    table = stack.boto_session.resource("dynamodb").Table(
        stack.settings.conversations.conversations_table
    )
    item = table.get_item(Key={"conversation_id": truth.call_sid}).get("Item")
    if item is None:
        problems.append("no conversation record")
        return problems, f"truth {t.from_agent_id} -> {t.answered_by}, no record"
    record = _plain([item])[0]
    answered = [o["agent_id"] for o in record.get("offers", []) if o.get("outcome") == "answered"]
    if not {owner, str(t.answered_by)} <= set(answered):
        problems.append(
            f"record's answered offers {answered}, expected {owner} and {t.answered_by}"
        )
    if record.get("outcome") != "answered" or record.get("answered_by") != owner:
        problems.append(
            f"record outcome {record.get('outcome')} answered_by {record.get('answered_by')}"
        )
    if record.get("owner_agent_id") != truth.owner_agent_id or record.get("team") != truth.team:
        problems.append(
            f"record owner/team {record.get('owner_agent_id')}/{record.get('team')}, "
            f"customer's are {truth.owner_agent_id}/{truth.team}"
        )
    talk_ms, hold_ms = int(record.get("talk_ms") or 0), int(record.get("hold_ms") or 0)
    truth_talk, truth_hold = (
        round((truth.talk_seconds or 0) * 1000),
        round(truth.hold_seconds * 1000),
    )
    # Twilio's callback timestamps have whole seconds: allow 2 s either way.
    if abs(talk_ms - truth_talk) > 2000 or abs(hold_ms - truth_hold) > 2000:
        problems.append(
            f"talk/hold ours {talk_ms}/{hold_ms} ms, truth {truth_talk}/{truth_hold} ms"
        )
    summary = (
        f"{t.from_agent_id} -> {t.answered_by} "
        f"(offered {t.offered_to}, joined after {(t.joined_at or 0) - t.requested_at:.0f} s), "
        f"record answered offers {answered}, talk ours/truth {talk_ms / 1000:.0f}/"
        f"{truth_talk / 1000:.0f} s, hold ours/truth {hold_ms / 1000:.0f}/{truth_hold / 1000:.0f} s"
    )
    return problems, summary


def nobody_to_voicemail(
    report: Report, stack: Any, call: Callable[..., Any], customer: dict[str, str], everyone: Any
) -> None:
    """Nobody can answer: the escalation timeline (Step Functions, played on the virtual clock)
    walks the stages and offers the voicemail/callback menu; the caller leaves a message."""
    machines = stack.state_machines
    if machines is None or not stack.settings.escalation.escalation_state_machine_arn:
        report.add("scenario: nobody -> voicemail", None, "no escalation state machine configured")
        return
    everyone("Offline")
    truth = call(customer, patience=900.0, name="nobody -> voicemail")
    tasks = [t for t in stack.standin.tasks.values() if t.call_sid == truth.call_sid]
    executions = [e for t in tasks for e in machines.executions.values() if e.name == t.sid]
    path = (
        [state for _, state, what in executions[0].history if what == "entered"]
        if executions
        else []
    )
    report.add(
        "scenario: nobody -> voicemail",
        truth.outcome == "voicemail"
        and not truth.offers
        and bool(executions)
        and executions[0].status == "SUCCEEDED"
        and path[-1:] == ["FallbackOffered"],
        f"outcome {truth.outcome}, offers {len(truth.offers)}, timeline "
        f"{' > '.join(path) or 'none'} ({executions[0].status if executions else 'no execution'}), "
        f"menu after {_menu_after(stack, truth):.0f} s",
    )
    everyone("Available")


def _menu_after(stack: Any, truth: Any) -> float:
    """Seconds from the call's arrival until the timeline offered the fallback (-1 if never)."""
    for execution in stack.state_machines.executions.values():
        for when, state, what in execution.history:
            if state == "Fallback" and what == "entered":
                task = stack.standin.tasks.get(execution.name)
                if task is not None and task.call_sid == truth.call_sid:
                    return when - truth.placed_at
    return -1.0


# ---- a day ------------------------------------------------------------------------------


def throttle_dynamodb(share: float, seed: int) -> Callable[[Any], None]:
    """A botocore hook throttling a share of DynamoDB data-plane attempts.

    Each attempt is throttled with probability `share`; the call fails with DynamoDB's
    throttling error only when every attempt the calling client's retry budget allows was
    throttled (as botocore retries them), and a failed call is not executed (DynamoDB does not
    execute a throttled request). It hooks `before-call`: every `before-send` handler runs,
    moto's included, so a throttle answered there would still have been written.
    """
    from ops.standin.fastmoto import DATA_PLANE

    rng = random.Random(f"throttle:{seed}")
    counter = {"throttled": 0, "failed": 0}

    class _Http:
        status_code = 400

    def maybe_throttle(model: Any, context: Any = None, **_: Any) -> Any:
        if model.name not in DATA_PLANE:
            return None
        config = (context or {}).get("client_config")
        retries = getattr(config, "retries", None) or {}
        attempts = int(retries.get("total_max_attempts") or 3)  # botocore's default
        throttled = 0
        while throttled < attempts and rng.random() < share:
            throttled += 1
        counter["throttled"] += throttled
        if throttled < attempts:
            return None  # a retry went through (the retries' delays are not played)
        counter["failed"] += 1
        return _Http(), {
            "Error": {
                "Code": "ProvisionedThroughputExceededException",
                "Message": "Rate of requests exceeds the allowed throughput (rehearsal fault)",
            },
            "ResponseMetadata": {"HTTPStatusCode": 400, "RetryAttempts": attempts - 1},
        }

    def install(session: Any) -> None:
        session.events.register("before-call.dynamodb", maybe_throttle)

    install.counter = counter  # type: ignore[attr-defined]
    return install


def run_day(report: Report, args: argparse.Namespace) -> None:
    from ops.outbound_rehearsal import (
        OutboundFloor,
        outbound_checks,
        outbound_plans,
        split_calls,
    )
    from ops.standin.harness import day_start, in_process_stack, tokyo

    agents, customers = directory(args.agents, args.seed)
    population = Population(
        agent_profiles(agents, args.seed, DAY_SECONDS), args.seed, transfer_share=args.transfers
    )
    chaos = (
        Chaos(duplicate=0.05, reorder=0.10, fail_once=0.02, customer_first=0.10, seed=args.seed)
        if args.chaos
        else None
    )
    hooks = throttle_dynamodb(args.throttle, args.seed) if args.throttle else None
    truth_path = Path(args.truth) if args.truth else None
    outage = _window(args.stepfunctions_down)
    with in_process_stack(
        agents,
        customers,
        population,
        seed=args.seed,
        start=day_start(args.date),
        chaos=chaos,
        truth_path=truth_path,
        boto_hooks=hooks,
        stepfunctions_down=outage,
        pace=args.speed,
        media_seconds=DAY_MEDIA_SECONDS,
    ) as stack:
        s = stack.standin
        if args.trace:
            from ops.standin.trace import Tracer

            Tracer(s, stack.rest, set(args.trace), lambda agent_id: presence_item(stack, agent_id))
        start = s.now()
        population.schedule_day(s, start)
        inbound_calls, outbound_calls = split_calls(args.calls, args.outbound_share)
        plans = caller_plans(customers, inbound_calls, args.seed, start, DAY_SECONDS)
        for when, plan in plans:
            s.clock.at(when, s.place_call, plan)
        dialling = OutboundFloor(
            stack,
            outbound_plans(agents, population.profiles, outbound_calls, args.seed, start),
        )
        dialling.schedule()
        began = time.monotonic()
        end = start + DAY_SECONDS + 3600
        step = 1800.0
        at = start
        while at < end:
            at += step
            s.clock.run(until=at)
            done = sum(1 for t in stack.truth.calls.values() if t.ended_at is not None)
            print(
                f"    {tokyo(at)} calls placed {len(stack.truth.calls)}, ended {done}, "
                f"real {time.monotonic() - began:.0f} s",
                flush=True,
            )
        faulted = hooks is not None or outage is not None
        figures(report, stack, plans, time.monotonic() - began, hooks, faulted)
        if dialling.plans:
            outbound_checks(report, stack, dialling, _plain(app_records(stack) or []))
        if outage:
            stepfunctions_outage(report, stack, start + outage[0], start + outage[1])


def _window(text: str) -> tuple[float, float] | None:
    """ "START,END" in minutes after the day's start -> seconds; "" -> None."""
    if not text:
        return None
    first, _, last = text.partition(",")
    return float(first) * 60, float(last) * 60


def stepfunctions_outage(report: Report, stack: Any, began: float, ended: float) -> None:
    """The fault run's second half: Step Functions refused every call for a window."""
    from ops.standin.harness import tokyo

    refused = {
        k.removeprefix("Refused:"): v
        for k, v in stack.state_machines.counters.items()
        if k.startswith("Refused:")
    }
    counted = stack.app_counters.get("EscalationTimelineFailed", 0)
    print(
        f"  Step Functions down {tokyo(began)}-{tokyo(ended)}: refused {refused}; the app "
        f"counted EscalationTimelineFailed {counted}"
    )
    report.add(
        "outage: every refused Step Functions call counted by the app",
        bool(refused) and counted == sum(refused.values()),
        f"refused {sum(refused.values())}, counted {counted}",
    )
    during = [t for t in stack.truth.calls.values() if began <= t.placed_at < ended]
    outcomes: dict[str, int] = {}
    for t in during:
        outcomes[t.outcome] = outcomes.get(t.outcome, 0) + 1
    widened = sum(1 for t in during if len({o.agent_id for o in t.offers}) > 1)
    report.add(
        "outage: calls placed while Step Functions was down still handled",
        bool(during) and not ({"dropped", "in_progress"} & outcomes.keys()),
        f"{len(during)} calls, outcomes {dict(sorted(outcomes.items()))}, "
        f"{widened} offered to more than one agent",
    )


ENDED_TASK = frozenset({"completed", "canceled"})
FOLLOW_UPS = frozenset({"voicemail", "callback"})


def open_tasks(report: Report, stack: Any) -> None:
    """An hour after the last call every task has ended: the app completes wrapped tasks (the
    web softphone has no TaskRouter SDK); a task left open holds its worker's capacity."""
    s = stack.standin
    with s.lock:
        tasks = [t for t in s.tasks.values() if t.status not in ENDED_TASK]
    # A voicemail or callback nobody took yet waits for tomorrow's agents: work, not a leak.
    waiting = [t for t in tasks if t.status == "pending" and t.attributes.get("type") in FOLLOW_UPS]
    left = [t for t in tasks if t not in waiting]
    counts = Counter(f"{t.attributes.get('type', '?')} {t.status}" for t in left)
    report.add(
        "tasks still open at the end (goal 0)",
        not left,
        json.dumps(dict(sorted(counts.items())))
        + (f"; e.g. {[open_task_story(stack, t) for t in left[:3]]}" if left else "")
        + f"; follow-ups waiting for an agent: {len(waiting)}",
    )


def presence_item(stack: Any, agent_id: str) -> dict[str, Any]:
    """Our presence record of `agent_id` as stored ({} if none)."""
    table = stack.boto_session.resource("dynamodb").Table(stack.settings.presence.presence_table)
    item: dict[str, Any] = table.get_item(Key={"agent_id": agent_id}).get("Item") or {}
    return item


def open_task_story(stack: Any, task: Any) -> str:
    """What an operator needs to find why a task stayed open: since when, whose it is, what
    Twilio and our presence record say about that agent."""
    from ops.standin.harness import tokyo

    s = stack.standin
    with s.lock:
        worker = s.workers.get(task.worker_sid)
        activity = s.activities[worker.activity_sid].name if worker else "-"
        holds = worker.task_sid if worker else "-"
        reservations = [
            f"{s.reservations[r].status}@{tokyo(s.reservations[r].created)}"
            for r in task.reservations
        ]
    presence = presence_item(stack, worker.agent_id) if worker is not None else {}
    return (
        f"{task.sid} {task.status} since {tokyo(task.updated)}, created {tokyo(task.created)}, "
        f"reservations {reservations}; worker {worker.agent_id if worker else '-'} "
        f"{activity} holding {holds}; our presence {presence.get('state')} "
        f"wrapped_task={presence.get('wrapped_task')}"
    )


def figures(
    report: Report,
    stack: Any,
    plans: list[Any],
    real_seconds: float,
    hooks: Any,
    faulted: bool = False,
) -> None:
    """The day's checks. Under injected faults (`faulted`), a 503 that asked the sender to
    retry and a background invocation that failed and then succeeded on the Lambda service's
    retry are the designed fallbacks: reported, and only failing if never recovered."""
    s = stack.standin
    outcomes = stack.truth.outcomes()
    placed = len(plans)
    print(f"  calls placed {placed}; outcomes (truth) {dict(sorted(outcomes.items()))}")
    print(f"  real time {real_seconds:.0f} s for {DAY_SECONDS / 3600:.0f} h of traffic")
    unfinished = outcomes.get("in_progress", 0)
    report.add("every call ended", unfinished == 0, f"{unfinished} still in progress at the end")
    dropped = [t for t in stack.truth.calls.values() if t.outcome == "dropped"]
    report.add(
        "calls dropped by us (goal 0)",
        not dropped,
        f"{len(dropped)}" + (f"; e.g. {dropped[0].call_sid} {dropped[0].notes}" if dropped else ""),
    )
    records = app_records(stack)
    if records is None:
        report.add("conversations recorded vs calls placed", None, "not available yet")
    else:
        inbound = [r for r in records if r.get("direction", "inbound") != "outbound"]
        report.add(
            "conversations recorded vs calls placed",
            len(inbound) == placed,
            f"{len(inbound)} conversations / {placed} calls",
        )
    compare_kpis(report, stack)
    compare_presence(report, stack)
    open_tasks(report, stack)
    transfers_of_the_day(report, stack)
    records = recordings_of_the_day(report, stack)
    transcripts_of_the_day(report, stack, records)
    live_transcripts_of_the_day(report, stack)
    p50, p99, n = s.stats.latency_percentiles()
    print(f"  webhook latency (in-process, real ms): p50 {p50:.1f} p99 {p99:.1f} over {n} requests")
    errors = s.stats.errors_by_route()
    retry_asked = {
        path: {503: statuses[503]} for path, statuses in errors.items() if 503 in statuses
    }
    unexpected = {
        path: {code: n for code, n in statuses.items() if code != 503 or not faulted}
        for path, statuses in errors.items()
    }
    unexpected = {path: statuses for path, statuses in unexpected.items() if statuses}
    report.add(
        "webhook errors by route",
        not unexpected,
        json.dumps(unexpected) if unexpected else "none",
    )
    if faulted and retry_asked:
        print(f"  503 answered so the sender retries (fault fallbacks): {json.dumps(retry_asked)}")
    lost = s.stats.counters.get("CallbacksLost", 0)
    report.add("callbacks lost (after Twilio's retries)", lost == 0, str(lost))
    lambdas = stack.lambdas
    failures = lambdas.failures if lambdas else {}
    stuck = sorted(lambdas.failing) if lambdas else []
    if faulted:
        report.add(
            "background handlers: every failure recovered by a retry",
            not stuck,
            f"failed invocations {json.dumps(failures)}; still failing at the end: {stuck}"
            + (f" last {lambdas.last_error}" if stuck and lambdas else ""),
        )
    else:
        report.add(
            "background handlers (streams, schedules, queues)",
            not failures,
            json.dumps(failures) + (f" last {lambdas.last_error}" if failures and lambdas else ""),
        )
    api = stack.population.api
    api_failures = api.failures if api else []
    report.add(
        "agent API calls (after the softphone's retries)",
        not api_failures,
        f"{len(api_failures)} failed"
        + (f"; e.g. {api_failures[:3]}" if api_failures else "")
        + (f"; refused because {dict(api.refusals.most_common(4))}" if api and api.refusals else "")
        + (f"; retried {api.retried}" if api and api.retried else ""),
    )
    counters = {k: v for k, v in s.stats.counters.items() if not k.startswith("Rest:")}
    print(f"  stand-in counters {json.dumps(counters, sort_keys=True)}")
    if stack.state_machines is not None:
        machines = stack.state_machines.counters
        print(f"  Step Functions (played) {json.dumps(machines, sort_keys=True)}")
        report.add(
            "escalation timelines: none failed",
            machines.get("ExecutionsFailed", 0) == 0,
            f"{machines.get('ExecutionsStarted', 0)} started, "
            f"{machines.get('ExecutionsSucceeded', 0)} succeeded, "
            f"{machines.get('ExecutionsAborted', 0)} stopped, "
            f"{machines.get('ExecutionsFailed', 0)} failed",
        )
    if stack.app_counters is not None:
        fallbacks = {
            k: v
            for k, v in sorted(stack.app_counters.items())
            if any(w in k for w in FALLBACK_WORDS)
        }
        print(f"  app counters, fallbacks and failures: {json.dumps(fallbacks)}")
    if hooks is not None:
        print(
            "  DynamoDB attempts throttled by the fault hook: "
            f"{hooks.counter['throttled']}, calls failed after botocore's retries: "
            f"{hooks.counter['failed']}"
        )


def recordings_of_the_day(report: Report, stack: Any) -> dict[str, dict[str, Any]]:
    """Every recording Twilio made is in S3 with its channels (caller and agent apart on a
    conference recording, and our record says which channel the caller is on), byte for byte
    what Twilio served, and Twilio's copy was deleted only where that copy was verified (the
    rehearsal runs with `recording_twilio_copy=delete`, the strictest setting). Returns our
    record of each recording, by sid."""
    s = stack.standin
    with s.lock:
        made = list(s.recordings.values())
    table = stack.boto_session.resource("dynamodb").Table(
        stack.settings.recordings.recordings_table
    )
    bucket = stack.settings.recordings.recordings_bucket
    s3 = stack.boto_session.client("s3")
    problems: Counter[str] = Counter()
    example: dict[str, str] = {}
    copied = deleted = caller_first = 0
    records: dict[str, dict[str, Any]] = {}
    for recording in made:
        record = table.get_item(Key={"pk": f"recording#{recording.sid}"}).get("Item") or {}
        records[recording.sid] = record
        expected, channels = stack.rest.media(recording, "2")
        verified = False
        if record.get("status") != "copied":
            problem = f"not copied ({record.get('status', 'no record')})"
        elif int(record.get("channels", 0)) != channels:
            problem = f"{record.get('channels')} channels, Twilio has {channels}"
        else:
            try:
                body = s3.get_object(Bucket=bucket, Key=str(record["key"]))["Body"].read()
            except s3.exceptions.NoSuchKey:
                body = None
            verified = body == expected
            problem = "" if verified else "S3 copy differs from Twilio's media"
        copied += verified
        if recording.deleted:
            deleted += 1
            if not verified:
                problem = "deleted at Twilio without a verified copy"
        elif verified and record.get("twilio_copy") != "deleted":
            problem = "Twilio's copy kept after verification"
        if problem:
            problems[problem] += 1
            example.setdefault(problem, recording.sid)
        if channels == 2 and record:
            truth_channel = customer_channel(s, recording)
            caller_first += truth_channel == 1
            if int(record.get("customer_channel") or 0) != truth_channel:
                mislabelled = (
                    f"caller on channel {truth_channel}, our record says "
                    f"{record.get('customer_channel')} ({record.get('channel_mapping')})"
                )
                problems[mislabelled] += 1
                example.setdefault(mislabelled, recording.sid)
    report.add(
        "recordings: in S3 as Twilio made them, Twilio's copy deleted only after",
        bool(made) and not problems,
        f"{len(made)} made, {copied} copied and identical "
        f"({sum(r.channels == 2 for r in made)} two-channel, the caller on channel 1 of "
        f"{caller_first} as they joined first), {deleted} deleted at Twilio"
        + (f"; {json.dumps(dict(problems))} e.g. {example}" if problems else ""),
    )
    return records


def transcripts_of_the_day(report: Report, stack: Any, records: dict[str, dict[str, Any]]) -> None:
    """Every caller-and-agent recording was transcribed (Transcribe played by the stand-in, each
    party saying lines that name them on the channel the conference gave them), and our speaker
    turns give every line to whoever said it. `records`: our record of each recording, by sid
    (read by recordings_of_the_day)."""
    transcription = stack.transcription
    if transcription is None:
        return
    s = stack.standin
    with s.lock:
        made = [r.sid for r in s.recordings.values() if r.channels == 2]
    s3 = stack.boto_session.client("s3")
    bucket = stack.settings.recordings.recordings_bucket
    problems: Counter[str] = Counter()
    example: dict[str, str] = {}
    right = 0
    for sid in made:
        lines = transcription.spoken.get(sid)
        record = records.get(sid) or {}
        status = record.get("transcription_status")
        if lines is None:
            problem = f"no transcription job ({status or 'not started'})"
        elif status != "completed":
            problem = f"transcript not attached ({status})"
        else:
            body = s3.get_object(Bucket=bucket, Key=str(record["transcript_key"]))["Body"]
            turns = json.loads(body.read())["turns"]
            said = [(str(t["speaker"]), str(t["text"])) for t in turns]
            heard = len(said) == len(lines) and all(
                speaker == line.speaker and line.marker in text
                for (speaker, text), line in zip(said, lines, strict=True)
            )
            problem = "" if heard else "a line given to the wrong speaker"
            right += heard
        if problem:
            problems[problem] += 1
            example.setdefault(problem, sid)
    lost = stack.lambdas.events_lost if stack.lambdas else []
    if lost:
        problems["EventBridge event lost after Lambda's retries"] += len(lost)
    report.add(
        "transcripts: every line given to the speaker who said it",
        bool(made) and not problems,
        f"{len(made)} two-channel recordings, {transcription.jobs_started} jobs started, "
        f"{transcription.jobs_finished} finished, {right} with every line on its speaker"
        + (f"; {json.dumps(dict(problems))} e.g. {example}" if problems else ""),
    )


def live_transcripts_of_the_day(report: Report, stack: Any) -> None:
    """Real-time transcription (played by ops/standin/live_transcription.py, callbacks delayed
    and duplicated under chaos): every answered call was transcribed, every line the parties
    said is in our live transcript once, on the speaker who said it, in the order said, every
    transcribed call has a sentiment, and the calls whose customer said 解約 are flagged."""
    s = stack.standin
    with s.lock:
        spoken = {sid: list(lines) for sid, lines in s.live_transcription.spoken.items()}
        answered = [
            t.call_sid
            for t in stack.truth.calls.values()
            if t.answered_at is not None and (t.talk_seconds or 0) > 15
        ]
    transcripts = stack.container.live_transcripts
    problems: Counter[str] = Counter()
    example: dict[str, str] = {}
    lines_checked = unhappy = 0
    for call_sid in answered:
        said = spoken.get(call_sid)
        got = transcripts.transcript(call_sid)
        problem = ""
        if not said:
            problem = "answered call not transcribed"
        elif got is None:
            problem = "no live transcript stored"
        else:
            ours = [(line["speaker"], line["text"]) for line in got["lines"]]
            truth = [(line.speaker, line.text) for line in said]
            lines_checked += len(truth)
            if ours != truth:
                wrong = sum(
                    1 for a, b in zip(ours, truth, strict=False) if a[1] == b[1] and a[0] != b[0]
                )
                problem = (
                    "a line on the wrong speaker"
                    if wrong
                    else f"lines missing, repeated or out of order ({len(ours)} vs {len(truth)})"
                )
            elif got["sentiment"] is None or any(
                line["sentiment"] is None for line in got["lines"]
            ):
                problem = "no sentiment"
            elif any("解約" in text for speaker, text in truth if speaker == "customer"):
                unhappy += 1
                if not got["flagged"] or "解約" not in got["keywords"]:
                    problem = "a customer who said 解約 not flagged"
        if problem:
            problems[problem] += 1
            example.setdefault(problem, call_sid)
    report.add(
        "live transcripts: every line on its speaker, every call with a sentiment",
        bool(answered) and not problems,
        f"{len(answered)} answered calls, {lines_checked} lines, {unhappy} flagged for 解約"
        + (
            f"; {json.dumps(dict(problems), ensure_ascii=False)} e.g. {example}" if problems else ""
        ),
    )


def customer_channel(standin: Any, recording: Any) -> int:
    """Where Twilio put the caller of a two-channel conference recording: channel 1 if they
    joined the conference first, channel 2 (with everyone else) otherwise."""
    parties = standin.recording_parties(recording.sid)
    return 1 if parties is not None and parties[0] == "customer" else 2


def transfers_of_the_day(report: Report, stack: Any) -> None:
    """Every transfer the agents asked for: carried out by Twilio, and in our records."""
    requests = stack.population.transfer_requests
    transfers = [(t, x) for t in stack.truth.calls.values() for x in t.transfers]
    if not requests:
        print("  transfers: none asked for (--transfers 0)")
        return
    outcomes: dict[str, int] = {}
    for _, x in transfers:
        key = f"{x.mode} {x.outcome}"
        outcomes[key] = outcomes.get(key, 0) + 1
    refused = [r for r in requests if r[2] != 202]
    print(
        f"  transfers: {len(requests)} asked for, {len(refused)} refused by the app; "
        f"truth {dict(sorted(outcomes.items()))}"
    )
    table = stack.boto_session.resource("dynamodb").Table(
        stack.settings.conversations.conversations_table
    )
    missing = []
    for truth, x in transfers:
        if x.outcome != "joined":
            continue
        item = table.get_item(Key={"conversation_id": truth.call_sid}).get("Item") or {}
        answered = {
            o.get("agent_id") for o in item.get("offers", []) if o.get("outcome") == "answered"
        }
        if not {x.from_agent_id, x.answered_by} <= answered:
            missing.append(truth.call_sid)
    joined = sum(1 for _, x in transfers if x.outcome == "joined")
    report.add(
        "transfers: both agents in our conversation record",
        not missing and not refused,
        f"{joined - len(missing)}/{joined} transferred calls show both agents"
        + (f"; e.g. {missing[:3]}" if missing else "")
        + (f"; {len(refused)} requests refused: {refused[:3]}" if refused else ""),
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--agents", type=int, default=30)
    parser.add_argument("--calls", type=int, default=600)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--chaos", action="store_true", help="duplicate/reorder/fail callbacks")
    parser.add_argument(
        "--speed",
        type=float,
        default=0.0,
        help="at most X virtual seconds per real second (the same day, watchable as it "
        "happens); 0 (default) runs as fast as possible",
    )
    parser.add_argument("--throttle", type=float, default=0.0, help="fault: DynamoDB share")
    parser.add_argument(
        "--stepfunctions-down",
        default="",
        metavar="START,END",
        help="fault: Step Functions refuses every call from START to END minutes into the day",
    )
    parser.add_argument(
        "--fault",
        action="store_true",
        help="the fault run: --throttle 0.05 and --stepfunctions-down 60,120 unless given",
    )
    parser.add_argument(
        "--transfers",
        type=float,
        default=0.03,
        metavar="SHARE",
        help="share of answered calls the agent transfers (cold or warm, to an agent or a team)",
    )
    parser.add_argument(
        "--date",
        default=None,
        metavar="YYYY-MM-DD",
        help="the working day to rehearse (09:00-18:00 Tokyo); default the first from today on",
    )
    parser.add_argument(
        "--trace",
        action="append",
        default=[],
        metavar="SID",
        help="print every webhook and REST request about this task or call (and, once known, "
        "its worker and legs) with the agent's presence after each; repeatable",
    )
    parser.add_argument(
        "--outbound-share",
        type=float,
        default=0.0,
        metavar="SHARE",
        help="share of the day's --calls the reps place from the softphone (outbound)",
    )
    parser.add_argument("--scenarios-only", action="store_true")
    parser.add_argument("--no-scenarios", action="store_true")
    parser.add_argument("--truth", default="var/ground-truth.jsonl", help="ground-truth log")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops simulate", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


def run(args: argparse.Namespace) -> int:
    if args.seed is None:
        args.seed = random.SystemRandom().randint(1, 999_999)
    if args.date is None:
        from ops.standin.harness import TOKYO, day_start

        args.date = datetime.fromtimestamp(day_start(), TOKYO).date().isoformat()
    if args.fault:
        args.throttle = args.throttle or 0.05
        args.stepfunctions_down = args.stepfunctions_down or "60,120"
    print(
        f"rehearsal seed={args.seed} agents={args.agents} calls={args.calls} chaos={args.chaos} "
        f"outbound_share={args.outbound_share} "
        f"throttle={args.throttle} stepfunctions_down={args.stepfunctions_down or 'no'} "
        f"date={args.date} (repeat with --seed {args.seed} --date {args.date})",
        flush=True,
    )
    report = Report()
    if not args.no_scenarios:
        print("scenarios:", flush=True)
        run_scenarios(report, args.seed, date=args.date)
    if not args.scenarios_only:
        print("day:", flush=True)
        run_day(report, args)
    passed = sum(c.status == "PASS" for c in report.checks)
    na = sum(c.status == "N/A" for c in report.checks)
    # A check that could not run is not a pass: the verdict says so and the exit code too.
    verdict = "FAIL" if report.failed else ("INCOMPLETE" if na else "PASS")
    print(
        f"VERDICT {verdict}: {passed} passed, {len(report.failed)} failed, {na} could not run "
        f"(seed {args.seed})"
    )
    return 1 if report.failed else (2 if na else 0)


if __name__ == "__main__":
    sys.exit(main())
