"""End to end: the whole app in-process (moto, Lambda event sources played) against the stand-in.

A handful of calls, each checked against the ground truth the stand-in recorded, not against
what the app says happened.
"""

from __future__ import annotations

from ops.simulate import Report, run_scenarios


def test_scenarios_hold_against_the_ground_truth() -> None:
    report = Report()
    run_scenarios(report, seed=7, floor_size=12)
    statuses = {check.name: check.status for check in report.checks}
    assert statuses["scenario: owner answers"] == "PASS", report.checks
    assert statuses["scenario: owner away -> team"] == "PASS", report.checks
    assert statuses["scenario: missed offer -> next agent"] == "PASS", report.checks
    assert statuses["scenario: caller abandons in queue"] == "PASS", report.checks
    assert statuses["scenario: nobody -> voicemail"] == "PASS", report.checks
    assert statuses["scenario: transfer"] == "PASS", report.checks
    assert not report.failed
