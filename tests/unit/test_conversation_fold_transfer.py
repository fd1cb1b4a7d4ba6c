"""A transferred call's record keeps the customer's owner and team, and shows both agents."""

from __future__ import annotations

import json

from chalicelib.conversations.events import taskrouter_event
from chalicelib.conversations.fold import FoldPolicy, fold

CALL = "CA" + "1" * 32
T0 = 1_764_000_000_000


def event(n: int, kind: str, at_ms: int, attributes: dict, agent: str = "") -> object:
    form = {
        "Sid": f"EV{n:032d}",
        "EventType": kind,
        "TimestampMs": str(at_ms),
        "TaskSid": f"WT{attributes.get('type', 'inbound_call')[:1]:0>32}",
        "TaskAttributes": json.dumps(attributes),
    }
    if kind.startswith("reservation."):
        form["ReservationSid"] = f"WR{agent:0>32}"[:34]
        form["WorkerAttributes"] = json.dumps({"agent_id": agent, "team": "tokyo"})
    return taskrouter_event(form)


def test_transfer_task_does_not_replace_the_customers_owner_and_team() -> None:
    call = {"call_sid": CALL, "stage": "owner", "owner_agent_id": "sato", "team": "tokyo"}
    transfer = {
        "type": "transfer",
        "call_sid": CALL,
        "stage": "team",
        "owner_agent_id": "",
        "team": "osaka",
        "customer_owner_agent_id": "sato",
        "customer_team": "tokyo",
        "initial_stage": "owner",
    }
    events = [
        event(1, "task.created", T0, call),
        event(2, "reservation.created", T0 + 1000, call, "sato"),
        event(3, "reservation.accepted", T0 + 5000, call, "sato"),
        event(4, "task.created", T0 + 60000, transfer),
        event(5, "reservation.created", T0 + 61000, transfer, "ito"),
        event(6, "reservation.accepted", T0 + 64000, transfer, "ito"),
    ]
    record = fold(CALL, events, FoldPolicy())  # type: ignore[arg-type]
    assert (record["owner_agent_id"], record["team"]) == ("sato", "tokyo")
    assert record["answered_by"] == "sato" and record["answered_relation"] == "owner"
    assert record["stage_reached"] == "owner", "a transfer is not an escalation stage"
    answered = [o["agent_id"] for o in record["offers"] if o["outcome"] == "answered"]
    assert answered == ["sato", "ito"]
