"""The rehearsal's checks say which calls to look at when a figure differs from the truth."""

from __future__ import annotations

from ops.simulate import _outcome_differences


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
