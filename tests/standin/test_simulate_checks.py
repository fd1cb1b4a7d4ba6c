"""The rehearsal's checks say which calls to look at when a figure differs from the truth."""

from __future__ import annotations

from types import SimpleNamespace

import boto3
from moto import mock_aws

from ops.simulate import Report, _outcome_differences, open_tasks
from tests.standin.test_engine import build


def test_calls_our_records_count_in_another_kpi_class_are_named() -> None:
    ours = [
        {"conversation_id": "CA1", "outcome": "voicemail"},
        {"conversation_id": "CA2", "outcome": "abandoned_while_ringing"},
        {"conversation_id": "CA3", "outcome": "short_abandon"},
        {"conversation_id": "CA4", "outcome": "answered"},
    ]
    truth = [
        {"conversation_id": "CA1", "outcome": "abandoned_in_queue"},
        {"conversation_id": "CA2", "outcome": "abandoned_in_queue"},  # both abandoned
        {"conversation_id": "CA4", "outcome": "answered"},
    ]
    # A short abandon is not offered in our KPIs, and the truth leaves unqueued calls out.
    assert _outcome_differences(ours, truth) == {
        "count": 1,
        "e.g.": {"CA1": ("voicemail", "abandoned")},
    }


@mock_aws
def test_a_task_left_open_is_told_with_its_agent_and_our_presence() -> None:
    standin, _, _ = build()
    worker = standin.worker_by_agent("sato")
    task = standin.create_task({"type": "callback"})
    with standin.lock:
        task.status, task.worker_sid, worker.task_sid = "wrapping", worker.sid, task.sid
    session = boto3.session.Session(region_name="ap-northeast-1")
    session.client("dynamodb").create_table(
        TableName="presence",
        KeySchema=[{"AttributeName": "agent_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "agent_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    session.resource("dynamodb").Table("presence").put_item(
        Item={"agent_id": "sato", "state": "wrap_up", "wrapped_task": task.sid}
    )
    stack = SimpleNamespace(
        standin=standin,
        boto_session=session,
        settings=SimpleNamespace(presence=SimpleNamespace(presence_table="presence")),
    )
    report = Report()
    open_tasks(report, stack)
    [check] = report.checks
    assert check.status == "FAIL"
    assert '{"callback wrapping": 1}' in check.detail
    assert f"{task.sid} wrapping since" in check.detail
    assert f"worker sato Offline holding {task.sid}" in check.detail
    assert f"our presence wrap_up wrapped_task={task.sid}" in check.detail
