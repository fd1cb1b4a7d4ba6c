"""Who may write a call's wrap-up (note and code): the agents who were on it."""

from __future__ import annotations

import pytest

from chalicelib.softphone.wrap_up import NotYourCall, agents_on_call, check_may_note


def test_an_outbound_rep_whose_customer_never_answered_may_still_wrap_up() -> None:
    record = {"direction": "outbound", "dialled_by": "sato", "answered_by": None, "offers": []}
    assert agents_on_call(record) == {"sato"}
    check_may_note(record, "CA1", "sato", is_supervisor=False)
    with pytest.raises(NotYourCall):
        check_may_note(record, "CA1", "suzuki", is_supervisor=False)


def test_both_reps_of_an_internal_call_may_wrap_up() -> None:
    record = {"direction": "outbound", "internal": True, "dialled_by": "sato", "to_agent": "ito"}
    assert agents_on_call(record) == {"sato", "ito"}


def test_an_inbound_call_belongs_to_who_answered_and_who_took_it() -> None:
    record = {
        "answered_by": "sato",
        "offers": [
            {"agent_id": "ito", "outcome": "missed"},
            {"agent_id": "kato", "outcome": "answered"},
        ],
    }
    assert "sato" in agents_on_call(record) and "ito" not in agents_on_call(record)
