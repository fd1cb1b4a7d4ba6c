"""The escalation timeline's decisions and business hours: pure, no AWS, no Twilio."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from chalicelib.escalation.business_hours import (
    InvalidBusinessHours,
    around_the_clock,
    load_calendar,
    parse_calendar,
)
from chalicelib.escalation.domain import (
    CALLBACK,
    VOICEMAIL,
    FollowUp,
    StageTimeouts,
    ends_timeline,
    enter_fallback,
    enter_stage,
    starts_timeline,
)
from chalicelib.presence.domain import AgentState
from chalicelib.routing.plan import AgentPresence, Stage, TeamPresence

TIMEOUTS = StageTimeouts(owner=20, team=40, everyone=90, ringing=25)
TOKYO = ZoneInfo("Asia/Tokyo")


def team(**states: str) -> TeamPresence:
    return TeamPresence.of(
        "tokyo", [AgentPresence(a, "tokyo", AgentState(s)) for a, s in states.items()]
    )


def attrs(stage: str = "owner", owner: str = "owner") -> dict[str, object]:
    return {"type": "inbound_call", "call_sid": "CA1", "owner_agent_id": owner, "stage": stage}


def test_owner_available_stays_with_owner_without_an_update() -> None:
    step = enter_stage(Stage.OWNER, "pending", attrs(), team(owner="available"), TIMEOUTS)
    assert (step.live, step.stage, step.wait_seconds, step.attributes) == (
        True,
        Stage.OWNER,
        20,
        None,
    )


def test_owner_away_skips_to_team_at_once() -> None:
    step = enter_stage(
        Stage.OWNER, "pending", attrs(), team(owner="away", mate="available"), TIMEOUTS
    )
    assert step.stage == Stage.TEAM
    assert step.skipped == (Stage.OWNER,)
    assert step.attributes is not None and step.attributes["stage"] == "team"
    assert step.attributes["call_sid"] == "CA1", "other attributes are kept"
    assert step.wait_seconds == 40


def test_nobody_in_team_skips_to_everyone() -> None:
    step = enter_stage(Stage.TEAM, "pending", attrs("owner"), team(owner="on_call"), TIMEOUTS)
    assert (step.stage, step.skipped) == (Stage.EVERYONE, (Stage.TEAM,))


def test_unknown_caller_goes_to_everyone() -> None:
    step = enter_stage(Stage.OWNER, "pending", attrs("owner", owner=""), None, TIMEOUTS)
    assert step.stage == Stage.EVERYONE


@pytest.mark.parametrize("status", ["assigned", "canceled", "completed", "wrapping"])
def test_a_task_no_longer_waiting_is_left_alone(status: str) -> None:
    for step in (
        enter_stage(Stage.TEAM, status, attrs(), team(mate="available"), TIMEOUTS),
        enter_fallback(status, attrs("everyone"), TIMEOUTS),
    ):
        assert step.live is False
        assert step.attributes is None


def test_timeline_never_moves_backwards() -> None:
    step = enter_stage(Stage.OWNER, "pending", attrs("everyone"), team(owner="available"), TIMEOUTS)
    assert step.stage == Stage.EVERYONE
    assert step.attributes is None


def test_ringing_agent_defers_the_next_stage() -> None:
    for step in (
        enter_stage(Stage.TEAM, "reserved", attrs(), team(mate="available"), TIMEOUTS),
        enter_fallback("reserved", attrs("everyone"), TIMEOUTS),
    ):
        assert step.live is True
        assert step.attributes is None
        assert step.wait_seconds == TIMEOUTS.ringing


def test_fallback_marks_the_stage_once() -> None:
    first = enter_fallback("pending", attrs("everyone"), TIMEOUTS)
    assert first.attributes is not None and first.attributes["stage"] == "fallback"
    again = enter_fallback("pending", first.attributes, TIMEOUTS)
    assert again.stage == Stage.FALLBACK and again.attributes is None


def test_only_live_call_tasks_start_a_timeline() -> None:
    assert starts_timeline("task.created", {"type": "inbound_call"})
    assert starts_timeline("task.created", {})
    assert not starts_timeline("task.created", {"type": "voicemail"})
    assert not starts_timeline("task.updated", {"type": "inbound_call"}, "pending")


def test_a_later_event_of_a_waiting_task_starts_a_timeline_that_never_started() -> None:
    """TaskRouter documents no retry of event callbacks (taskrouter/api/event/reference): a
    lost task.created must not leave a caller without a timeline."""
    call = {"type": "inbound_call"}
    for kind in ("workflow.timeout", "reservation.timeout", "task-queue.entered"):
        assert starts_timeline(kind, call, "pending")
        assert starts_timeline(kind, call, "reserved")
        assert not starts_timeline(kind, call, "canceled"), "nobody waits any more"
        assert not starts_timeline(kind, {"type": "voicemail"}, "pending")
    assert not starts_timeline("reservation.accepted", call, "assigned")
    assert ends_timeline("reservation.accepted") and ends_timeline("task.canceled")
    assert not ends_timeline("reservation.rejected")


def test_follow_up_tasks_are_routed_by_their_own_filters_owner_team_everyone() -> None:
    from chalicelib.routing.workflow import workflow_definition
    from tests.conftest import make_settings

    vm = FollowUp(VOICEMAIL, "CA1", "+81312345678", owner_agent_id="sato", team="tokyo")
    cb = FollowUp(CALLBACK, "CA1", "+81312345678", team="tokyo")
    assert "stage" not in vm.task_attributes(), "the live-call stage filters must pass it by"
    assert cb.task_attributes()["callback_number"] == "+81312345678"
    assert cb.priority > vm.priority
    settings = make_settings(followup_owner_seconds=3600, followup_team_seconds=7200)
    filters = {
        f["filter_friendly_name"]: f
        for f in workflow_definition(settings)["task_routing"]["filters"]
    }
    owner = filters["follow_up_owner"]
    assert owner["expression"] == "type IN ['voicemail', 'callback'] AND owner_agent_id != ''"
    assert [t.get("timeout") for t in owner["targets"]] == [3600, 7200, None]
    assert all("skip_if" not in t for t in owner["targets"]), "they wait for the owner"
    assert filters["follow_up_team"]["targets"][0]["expression"] == "task.team == worker.team"
    names = list(filters)
    assert names.index("follow_up_owner") > names.index("everyone")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TOKYO)


def test_default_hours_are_weekdays_nine_to_six_in_tokyo() -> None:
    calendar = load_calendar()
    assert calendar.is_open("tokyo", at("2026-06-01T09:00"))  # Monday
    assert not calendar.is_open("tokyo", at("2026-06-01T08:59"))
    assert not calendar.is_open("tokyo", at("2026-06-01T18:00"))
    assert not calendar.is_open("tokyo", at("2026-06-06T12:00"))  # Saturday
    assert not calendar.is_open(None, at("2026-01-01T12:00")), "New Year is a holiday"
    # 00:30 UTC on Monday is 09:30 in Tokyo.
    assert calendar.is_open("tokyo", datetime(2026, 6, 1, 0, 30, tzinfo=UTC))


def test_around_the_clock_is_open_every_minute_of_the_week() -> None:
    calendar = load_calendar(around_the_clock())
    for day in range(7, 14):  # 2026-06-07 is a Sunday
        assert calendar.is_open(None, at(f"2026-06-{day:02d}T00:00"))
        assert calendar.is_open("tokyo", at(f"2026-06-{day:02d}T23:59"))
    assert calendar.is_open(None, at("2026-01-01T12:00")), "no holidays"


def test_team_overrides_inherit_the_rest() -> None:
    calendar = parse_calendar(
        {
            "time_zone": "Asia/Tokyo",
            "weekly": {"mon": [["09:00", "18:00"]]},
            "holidays": ["2026-06-01"],
            "teams": {
                "osaka": {"weekly": {"sat": [["10:00", "15:00"]]}, "holidays": []},
                "london": {"time_zone": "Europe/London"},
            },
        }
    )
    assert calendar.is_open("osaka", at("2026-06-06T11:00"))
    assert calendar.is_open("osaka", at("2026-06-01T10:00")), "osaka has no holidays"
    assert not calendar.is_open("tokyo", at("2026-06-01T10:00"))
    # 10:00 in London on Monday 8 June is 18:00 in Tokyo.
    assert calendar.is_open("london", datetime(2026, 6, 8, 10, 0, tzinfo=ZoneInfo("Europe/London")))


@pytest.mark.parametrize(
    "bad",
    [
        {"weekly": {}},
        {"time_zone": "Mars/Olympus", "weekly": {}},
        {"time_zone": "Asia/Tokyo", "weekly": {"monday": []}},
        {"time_zone": "Asia/Tokyo", "weekly": {"mon": [["18:00", "09:00"]]}},
        {"time_zone": "Asia/Tokyo", "weekly": {}, "holidays": ["1 Jan"]},
    ],
)
def test_bad_hours_fail_at_load(bad: dict[str, object]) -> None:
    with pytest.raises(InvalidBusinessHours):
        load_calendar(json.dumps(bad))
