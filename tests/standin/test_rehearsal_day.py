"""A small day with chaos and both faults, through `python -m ops simulate`'s own code: every
check passes, and the same seed gives the same day (the ground truth, call for call)."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pytest

from chalicelib.recordings.domain import ChannelMap, MappingSource
from ops.simulate import Report, add_arguments, run_day

FAULTS = ["--chaos", "--throttle", "0.05", "--stepfunctions-down", "60,120", "--transfers", "0.2"]


def day(truth: Path, seed: int, calls: int = 30, faults: list[str] = FAULTS) -> Report:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(
        [
            "--agents",
            "12",
            "--calls",
            str(calls),
            "--seed",
            str(seed),
            "--truth",
            str(truth),
            *faults,
        ]
    )
    report = Report()
    run_day(report, args)
    return report


def calls(truth: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in truth.read_text().splitlines() if line.strip()]


@pytest.mark.timeout(600)
def test_a_chaotic_faulty_day_passes_every_check_and_repeats_exactly(tmp_path: Path) -> None:
    first = day(tmp_path / "first.jsonl", seed=4)
    assert not first.failed, [(c.name, c.detail) for c in first.failed]
    assert {c.status for c in first.checks} == {"PASS"}
    assert any(c.name.startswith("recordings:") for c in first.checks)
    assert any(c.name.startswith("transcripts:") for c in first.checks)
    second = day(tmp_path / "second.jsonl", seed=4)
    assert calls(tmp_path / "first.jsonl") == calls(tmp_path / "second.jsonl")
    assert [(c.name, c.status) for c in first.checks] == [(c.name, c.status) for c in second.checks]


@pytest.mark.timeout(300)
def test_recordings_left_at_twilio_fail_the_day(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The Lambda stand-in as it was: the copy worker polled its declared queue name, which the
    # stack does not have, so every copy job waited in the stack's queue.
    monkeypatch.setattr("ops.standin.lambdas.deployed_queues", lambda settings: {})
    report = day(tmp_path / "truth.jsonl", seed=2, calls=6, faults=[])
    [recordings] = [c for c in report.checks if c.name.startswith("recordings:")]
    assert recordings.status == "FAIL"
    assert "not copied (received)" in recordings.detail


@pytest.mark.timeout(300)
def test_a_caller_filed_on_the_wrong_channel_fails_the_day(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An app that trusted "agent first" and ignored the join callbacks.
    monkeypatch.setattr(
        "chalicelib.recordings.pipeline.channel_map",
        lambda job, context: ChannelMap(2, 1, MappingSource.TASKROUTER_ORDER),
    )
    report = day(tmp_path / "truth.jsonl", seed=4, calls=30, faults=["--chaos"])
    [recordings] = [c for c in report.checks if c.name.startswith("recordings:")]
    assert recordings.status == "FAIL"
    assert "caller on channel 1, our record says 2 (taskrouter-order)" in recordings.detail
    # And the transcripts of those calls give the caller's words to the agent.
    [transcripts] = [c for c in report.checks if c.name.startswith("transcripts:")]
    assert transcripts.status == "FAIL"
    assert "a line given to the wrong speaker" in transcripts.detail


@pytest.mark.timeout(300)
def test_a_traced_task_tells_its_whole_story_without_changing_the_day(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = day(tmp_path / "plain.jsonl", seed=2, calls=6, faults=["--chaos"])
    capsys.readouterr()
    # "WT" is in every task sid: every task is traced.
    traced = day(tmp_path / "traced.jsonl", seed=2, calls=6, faults=["--chaos", "--trace", "WT"])
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("TRACE ")]

    assert calls(tmp_path / "plain.jsonl") == calls(tmp_path / "traced.jsonl")
    assert [(c.name, c.status) for c in plain.checks] == [(c.name, c.status) for c in traced.checks]
    answered = next(line for line in lines if "EventType=reservation.accepted" in line)
    task = re.search(r"TaskSid=(WT\w+)", answered)
    assert task
    story = [line for line in lines if task.group(1) in line]
    assert any("EventType=task.wrapup" in line and "presence wrap_up" in line for line in story)
    completed = [line for line in story if line.split()[2] == "rest" and "POST" in line]
    assert any("AssignmentStatus=completed" in line for line in completed), story
