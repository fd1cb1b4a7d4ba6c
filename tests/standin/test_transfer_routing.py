"""A transfer reaches exactly whom the agent named, through the app's generated workflow.

The stand-in evaluates `chalicelib.routing.workflow.workflow_definition` as TaskRouter would
(filters in
order, target expressions, `skip_if`, target timeouts, then the default filter), with the
attributes `chalicelib.softphone.calls.transfer_task_attributes` writes.
"""

from __future__ import annotations

from dataclasses import replace

from chalicelib.routing.workflow import workflow_definition
from chalicelib.softphone.calls import TransferTarget, held_call_from, transfer_task_attributes
from ops.standin.engine import Standin
from tests.conftest import make_settings
from tests.data import sid
from tests.standin.test_engine import WQ, available, build

# sato, ito and kato are in team "a", mori in team "b" (tests.standin.test_engine.AGENTS).


def standin_with_app_workflow() -> Standin:
    standin, _, _ = build()
    workflow = workflow_definition(make_settings(queue_sid_everyone=WQ))
    standin.account = replace(standin.account, workflow=workflow)
    return standin


def transfer(standin: Standin, target: TransferTarget) -> str:
    """Sato's call, offered the way chalicelib.softphone.calls.start_transfer offers it."""
    inbound = {
        "type": "inbound_call",
        "call_sid": sid("CA", 1),
        "caller": "+81311112222",
        "owner_agent_id": "sato",
        "team": "a",
        "stage": "owner",
        "conference": {"sid": sid("CF", 1), "participants": {"customer": sid("CA", 1)}},
    }
    call = held_call_from("sato", sid("WT", 1), inbound)
    assert call is not None
    attributes = transfer_task_attributes(call, target, sid("WT", 1))
    task = standin.create_task(attributes, priority=20, timeout=45)
    standin.clock.run(until=standin.now() + 300)
    return task.sid


def offered_to(standin: Standin, task_sid: str) -> list[str]:
    return [
        standin.workers[r.worker_sid].agent_id
        for r in standin.reservations.values()
        if r.task_sid == task_sid
    ]


def test_a_transfer_to_a_busy_colleague_never_widens_to_their_team() -> None:
    standin = standin_with_app_workflow()
    available(standin, "kato")  # ito's teammate is free; ito is not
    task_sid = transfer(standin, TransferTarget("cold", to_agent="ito", agent_team="a"))
    assert offered_to(standin, task_sid) == []
    assert standin.tasks[task_sid].status == "canceled"  # its own timeout, 45 s


def test_a_transfer_to_an_available_colleague_is_offered_to_them_only() -> None:
    standin = standin_with_app_workflow()
    available(standin, "kato", "ito")
    task_sid = transfer(standin, TransferTarget("warm", to_agent="ito", agent_team="a"))
    assert offered_to(standin, task_sid)[:1] == ["ito"]
    assert set(offered_to(standin, task_sid)) == {"ito"}


def test_a_transfer_to_a_team_with_nobody_free_never_widens_to_everyone() -> None:
    standin = standin_with_app_workflow()
    available(standin, "kato", "ito")  # team a is free, team b (mori) is not
    task_sid = transfer(standin, TransferTarget("warm", to_team="b"))
    assert offered_to(standin, task_sid) == []
    assert standin.tasks[task_sid].status == "canceled"


def test_a_transfer_to_a_team_is_offered_to_its_members() -> None:
    standin = standin_with_app_workflow()
    available(standin, "kato", "mori")
    task_sid = transfer(standin, TransferTarget("warm", to_team="b"))
    assert offered_to(standin, task_sid)[:1] == ["mori"]
