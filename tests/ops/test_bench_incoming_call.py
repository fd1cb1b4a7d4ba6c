"""`python -m ops bench incoming-call`: runs on any day and hour, and reads TwiML as XML."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest

from ops.benchmarks import incoming_call

ENQUEUE = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Enqueue workflowSid="WW1">'
    '<Task priority="10" timeout="120">{"stage":"owner","caller":"+81312345678"}</Task>'
    "</Enqueue></Response>"
)
CLOSED = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Say>closed</Say>'
    '<Gather action="https://x/choice" numDigits="1"><Say>menu</Say></Gather>'
    '<Redirect method="POST">https://x/choice</Redirect></Response>'
)
SATURDAY_NIGHT = "2026-12-05T23:00+09:00"


def test_the_enqueued_task_attributes_are_read_from_the_twiml() -> None:
    assert incoming_call.task_attributes(ENQUEUE.encode()) == {
        "stage": "owner",
        "caller": "+81312345678",
    }


def test_the_closed_hours_menu_has_no_task() -> None:
    assert incoming_call.task_attributes(CLOSED) is None


def test_any_other_answer_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="neither"):
        incoming_call.task_attributes("<Response><Hangup/></Response>")


def test_at_needs_a_utc_offset() -> None:
    assert incoming_call.aware_datetime(SATURDAY_NIGHT).utcoffset() is not None
    with pytest.raises(argparse.ArgumentTypeError, match="offset"):
        incoming_call.aware_datetime("2026-12-05T23:00")
    with pytest.raises(argparse.ArgumentTypeError, match="ISO 8601"):
        incoming_call.aware_datetime("saturday night")


def test_fresh_import_cpu_time_is_measured_in_a_child_process() -> None:
    assert incoming_call.fresh_import_cpu_seconds("pass", runs=1) > 0


@pytest.fixture
def quick(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No fresh interpreters (the cold-start figures), and the environment left as it was."""
    imports = {"import app": 0.3, "import boto3": 0.15}
    monkeypatch.setattr(
        incoming_call,
        "fresh_import_cpu_seconds",
        lambda statement, runs: imports.get(statement, 0.45),
    )
    monkeypatch.delenv("BUSINESS_HOURS", raising=False)
    with mock.patch.dict(os.environ):
        yield


def test_a_saturday_night_measures_the_routed_path(quick: Any, capsys: Any) -> None:
    assert incoming_call.main(["--calls", "5", "--at", SATURDAY_NIGHT]) == 0

    out = capsys.readouterr().out
    assert "business hours: open around the clock, Asia/Tokyo (--hours always)" in out
    assert "first call Sat 2026-12-05 23:00 Asia/Tokyo" in out
    assert "5 routed" in out
    assert "0 outside hours" in out
    assert "incoming-call handler" in out
    assert "assignment handler" in out
    assert "import app 300 ms, import boto3 150 ms: 2.00x (goal <= 2x)" in out


def test_the_configured_calendar_on_a_saturday_night_times_the_closed_path(
    quick: Any, capsys: Any
) -> None:
    argv = ["--calls", "3", "--at", SATURDAY_NIGHT, "--hours", "configured"]
    assert incoming_call.main(argv) == 0

    out = capsys.readouterr().out
    assert "the bundled business_hours.json, Asia/Tokyo (--hours configured)" in out
    assert "closed at the first call" in out
    assert "0 routed" in out
    assert "3 outside hours" in out
    assert "incoming-call outside hours handler" in out
    assert "assignment handler" not in out
    assert "2.00x" in out
