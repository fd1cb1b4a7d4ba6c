"""Who may read a conversation record (chalicelib/supervision/access.py), without AWS."""

from __future__ import annotations

import pytest

from chalicelib.supervision.access import NotYours, check_may_read, readers, scoped_search

RECORD = {
    "answered_by": "agent_x",
    "owner_agent_id": "agent_a",
    "offers": [
        {"agent_id": "agent_a", "outcome": "timed_out"},
        {"agent_id": "agent_t", "outcome": "transferred"},
        {"agent_id": "agent_r", "outcome": "ringing"},
        {"agent_id": "agent_n", "outcome": "rejected"},
        {"agent_id": "agent_c", "outcome": "canceled"},
    ],
}


def test_readers_are_who_took_it_the_owner_and_who_it_rings() -> None:
    assert readers(RECORD) == {"agent_x", "agent_a", "agent_t", "agent_r"}


def test_a_rep_who_let_it_ring_out_or_refused_it_may_not_read_it() -> None:
    for agent in ("agent_n", "agent_c", "stranger"):
        with pytest.raises(NotYours):
            check_may_read(RECORD, "CA1", agent, is_supervisor=False)
    check_may_read(RECORD, "CA1", "stranger", is_supervisor=True)


def test_a_record_without_answer_or_owner_is_for_supervisors_only() -> None:
    assert readers({"answered_by": None, "owner_agent_id": "", "offers": None}) == set()


def test_a_reps_listing_is_narrowed_to_their_own_calls() -> None:
    assert scoped_search({}, "sato", False) == {"agent": "sato"}
    assert scoped_search({"agent": "me", "outcome": "answered"}, "sato", False) == {
        "agent": "sato",
        "outcome": "answered",
    }
    for asked in ({"agent": "ito"}, {"team": "tokyo"}, {"customer": "C1"}):
        with pytest.raises(NotYours):
            scoped_search(asked, "sato", False)
    assert scoped_search({"team": "tokyo"}, "boss", True) == {"team": "tokyo"}
    assert scoped_search({}, "boss", True) == {}
