"""Listen, whisper, barge as Participants API parameters, and which conference and leg a
conversation's events name live (chalicelib/supervision/monitor.py), without AWS or Twilio."""

from __future__ import annotations

import pytest

from chalicelib.conversations.events import fact_event
from chalicelib.platform.errors import InvalidInput
from chalicelib.supervision.monitor import live_call, participant_settings
from tests import conversation_script as script

REP = "CA" + "1" * 32


def test_each_mode_is_its_participant_parameters() -> None:
    # https://www.twilio.com/docs/voice/api/conference-participant-resource
    assert participant_settings("listen", REP) == {"muted": True, "coaching": False}
    assert participant_settings("whisper", REP) == {
        "muted": False,
        "coaching": True,
        "call_sid_to_coach": REP,
    }
    assert participant_settings("barge", REP) == {"muted": False, "coaching": False}
    with pytest.raises(InvalidInput):
        participant_settings("shout", REP)


def answered(n: int) -> script.CallScript:
    s = script.CallScript(n=n)
    s.leg("ringing", 0).task("task.created", 1)
    s.offer("owner", 1, 6, "accepted")
    s.conference("conference-start", 6)
    s.conference("participant-join", 6, s.call_sid, ParticipantLabel="customer")
    s.conference("participant-join", 6, s.agent_leg_sid(1))
    return s


def test_a_live_call_names_its_conference_and_the_reps_leg() -> None:
    s = answered(61)
    call = live_call(s.events())
    assert call is not None
    assert (call.conference_sid, call.rep_call_sid, call.rep_agent_id) == (
        s.conference_sid,
        s.agent_leg_sid(1),
        "owner",
    )
    assert call.monitors == {}


def test_a_supervisors_leg_is_never_taken_for_the_rep_and_monitors_are_the_facts() -> None:
    s = answered(62)
    s.conference("participant-join", 20, "CA" + "7" * 32, ParticipantLabel="supervisor:boss")
    events = s.events()
    t = s.at(21)
    events.append(
        fact_event(s.call_sid, "supervisor_monitor", t, {"supervisor_id": "boss", "mode": "listen"})
    )
    events.append(
        fact_event(
            s.call_sid, "supervisor_monitor", t + 1, {"supervisor_id": "boss", "mode": "barge"}
        )
    )
    call = live_call(events)
    assert call is not None and call.rep_call_sid == s.agent_leg_sid(1)
    assert call.monitors == {"boss": "barge"}
    events.append(
        fact_event(
            s.call_sid, "supervisor_monitor", t + 2, {"supervisor_id": "boss", "mode": "ended"}
        )
    )
    assert live_call(events).monitors == {}  # type: ignore[union-attr]


def test_a_call_whose_conference_ended_or_never_began_is_not_live() -> None:
    s = answered(63)
    s.conference("participant-leave", 90, s.call_sid)
    s.conference("conference-end", 90)
    assert live_call(s.events()) is None
    queued = script.CallScript(n=64)
    queued.leg("ringing", 0).task("task.created", 1)
    assert live_call(queued.events()) is None
