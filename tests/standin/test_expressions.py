"""The TaskRouter expression subset the workflow uses, evaluated as TaskRouter does."""

from __future__ import annotations

import pytest

from ops.standin.expressions import ExpressionError, evaluate


def test_filter_expression_reads_bare_task_attributes() -> None:
    assert evaluate("stage == 'owner'", {"stage": "owner"})
    assert not evaluate("stage == 'owner'", {"stage": "team"})


def test_target_expression_compares_task_and_worker() -> None:
    task = {"owner_agent_id": "sato"}
    assert evaluate("task.owner_agent_id == worker.agent_id", task, {"agent_id": "sato"})
    assert not evaluate("task.owner_agent_id == worker.agent_id", task, {"agent_id": "ito"})


def test_missing_attributes_compare_false_even_with_not_equal() -> None:
    assert not evaluate("task.team == worker.team", {}, {"team": "a"})
    assert not evaluate("team != 'a'", {})


def test_skip_if_reads_available_workers() -> None:
    assert evaluate("workers.available == 0", {}, workers_available=0)
    assert not evaluate("workers.available == 0", {}, workers_available=2)


def test_boolean_operators_lists_and_has() -> None:
    worker = {"skills": ["ja", "en"], "team": "osaka"}
    assert evaluate("skills HAS 'en' AND team IN ['osaka', 'tokyo']", {}, worker, bare="worker")
    assert evaluate("1==1", {})
    assert evaluate("NOT (team == 'a') OR team == 'b'", {"team": "c"})


def test_unparseable_expression_is_an_error() -> None:
    with pytest.raises(ExpressionError):
        evaluate("stage == ", {})


def test_skip_if_reads_the_queues_counts_by_availability_and_activity() -> None:
    """worker-presence documents workers.available, workers.unavailable and workers.WAxx."""
    counts = {"available": 0, "unavailable": 3, "WA" + "1" * 32: 2}
    assert evaluate("workers.available == 0", {}, workers=counts)
    assert evaluate("workers.unavailable > 2", {}, workers=counts)
    assert evaluate(f"workers.WA{'1' * 32} < 3", {}, workers=counts)
    assert not evaluate(f"workers.WA{'2' * 32} > 0", {}, workers=counts), "no one in it: 0"
