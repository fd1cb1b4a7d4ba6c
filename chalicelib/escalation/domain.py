"""The escalation timeline of a waiting call: owner, team, everyone, then the fallback.

Step Functions runs the clock (one execution per task, see infra/escalation.asl.json); this module
decides what each step does, from what TaskRouter says about the task and who is available:

- a stage nobody can answer is skipped at once (owner not available -> team; nobody in the team
  available -> everyone); `everyone` is never skipped, TaskRouter offers the call to whoever
  becomes available first;
- the timeline never moves backwards: a late or repeated step cannot undo a later stage;
- a task that is no longer waiting (accepted, canceled, completed, ...) is left alone: a step
  after that is a no-op, never a second update;
- while an agent's phone is ringing for the task (status `reserved`) the stage is not changed;
  the step looks again when the ring is over.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.routing.plan import ESCALATION_ORDER, Stage, TeamPresence

INBOUND_CALL = "inbound_call"
VOICEMAIL = "voicemail"
CALLBACK = "callback"

# TaskRouter assignment statuses in which the caller is still waiting for someone.
PENDING = "pending"
RESERVED = "reserved"
WAITING_STATUSES = frozenset({PENDING, RESERVED})

# TaskRouter events after which the task's timeline has nothing left to do.
ENDING_EVENTS = frozenset(
    {"reservation.accepted", "task.canceled", "task.completed", "task.wrapup", "task.deleted"}
)
STARTING_EVENT = "task.created"
# Events of a task that is still waiting, arriving after task.created: each starts the timeline
# if it never started (Step Functions was down, or the task.created callback was lost: TaskRouter
# documents no retry of event callbacks, https://www.twilio.com/docs/taskrouter/api/event/
# reference). The execution is named after the task, so a running or finished timeline is never
# started twice. Not task.updated: our own steps write it.
WAITING_EVENTS = frozenset(
    {
        "task-queue.entered",
        "workflow.target-matched",
        "workflow.skipped",
        "workflow.timeout",
        "reservation.rejected",
        "reservation.timeout",
    }
)

# Follow-ups sit below live callers (twiml.LIVE_CALL_PRIORITY): a callback promised to a
# customer before a voicemail, both after anyone waiting on the line.
CALLBACK_PRIORITY = 5
VOICEMAIL_PRIORITY = 1


@dataclass(frozen=True)
class StageTimeouts:
    owner: int
    team: int
    everyone: int
    # How long to look again when an agent's phone is ringing for the task.
    ringing: int

    def for_stage(self, stage: Stage) -> int:
        return {Stage.OWNER: self.owner, Stage.TEAM: self.team, Stage.EVERYONE: self.everyone}[
            stage
        ]


@dataclass(frozen=True)
class StepResult:
    """What a step did; Step Functions branches on `live` and `stage` and waits `wait_seconds`."""

    live: bool
    stage: Stage
    wait_seconds: int = 0
    # The attributes to write to the task (None: nothing to write).
    attributes: dict[str, Any] | None = None
    skipped: tuple[Stage, ...] = ()
    reason: str = ""

    def output(self) -> dict[str, Any]:
        return {
            "live": self.live,
            "stage": self.stage.value,
            "wait_seconds": self.wait_seconds,
            "updated": self.attributes is not None,
            "skipped": [s.value for s in self.skipped],
            "reason": self.reason,
        }


def stage_of(attributes: Mapping[str, Any]) -> Stage:
    try:
        return Stage(str(attributes.get("stage", Stage.EVERYONE)))
    except ValueError:
        return Stage.EVERYONE


def is_waiting(status: str) -> bool:
    return status in WAITING_STATUSES


def starts_timeline(
    event_type: str, attributes: Mapping[str, Any], assignment_status: str = ""
) -> bool:
    """A live caller's task was created, or is still waiting: its timeline starts unless it
    already has one (follow-up tasks have none)."""
    if attributes.get("type", INBOUND_CALL) != INBOUND_CALL:
        return False
    if event_type == STARTING_EVENT:
        return True
    return event_type in WAITING_EVENTS and assignment_status in WAITING_STATUSES


def recovers_timeline(event_type: str) -> bool:
    """Whether a start on this event is a safety net (the timeline normally already runs)."""
    return event_type in WAITING_EVENTS


def ends_timeline(event_type: str) -> bool:
    return event_type in ENDING_EVENTS


def first_answerable(
    wanted: Stage, attributes: Mapping[str, Any], team: TeamPresence | None
) -> tuple[Stage, tuple[Stage, ...]]:
    """The first stage from `wanted` on with someone available to answer, and those skipped."""
    owner = str(attributes.get("owner_agent_id") or "")
    skipped: list[Stage] = []
    for stage in ESCALATION_ORDER[ESCALATION_ORDER.index(wanted) :]:
        if stage == Stage.OWNER and not (owner and team and team.is_available(owner)):
            skipped.append(stage)
            continue
        if stage == Stage.TEAM and not (team and team.available_count() > 0):
            skipped.append(stage)
            continue
        return stage, tuple(skipped)
    raise AssertionError("unreachable: everyone and fallback are never skipped")


def enter_stage(
    wanted: Stage,
    status: str,
    attributes: Mapping[str, Any],
    team: TeamPresence | None,
    timeouts: StageTimeouts,
) -> StepResult:
    """The step that moves a waiting task into `wanted` (or the first answerable stage after)."""
    current = stage_of(attributes)
    if not is_waiting(status):
        return StepResult(live=False, stage=current, reason=f"task is {status}")
    if status == RESERVED:
        return StepResult(
            live=True, stage=current, wait_seconds=timeouts.ringing, reason="agent ringing"
        )
    target, skipped = first_answerable(wanted, attributes, team)
    if ESCALATION_ORDER.index(target) < ESCALATION_ORDER.index(current):
        # Never backwards: the task already went further than this (late or repeated) step.
        target, skipped = current, ()
    if target == Stage.FALLBACK:
        return StepResult(live=True, stage=Stage.FALLBACK, reason="already in fallback")
    update = None if target == current else {**attributes, "stage": target.value}
    return StepResult(
        live=True,
        stage=target,
        wait_seconds=timeouts.for_stage(target),
        attributes=update,
        skipped=skipped,
    )


def enter_fallback(
    status: str, attributes: Mapping[str, Any], timeouts: StageTimeouts
) -> StepResult:
    """The last step: take a still-waiting caller out of the queue to voicemail or callback."""
    current = stage_of(attributes)
    if not is_waiting(status):
        return StepResult(live=False, stage=current, reason=f"task is {status}")
    if status == RESERVED:
        # Someone's phone is ringing for this caller right now: give it the ring, then look again.
        return StepResult(
            live=True, stage=current, wait_seconds=timeouts.ringing, reason="agent ringing"
        )
    update = None if current == Stage.FALLBACK else {**attributes, "stage": Stage.FALLBACK.value}
    return StepResult(live=True, stage=Stage.FALLBACK, attributes=update)


def timeline_input(task_sid: str, attributes: Mapping[str, Any]) -> dict[str, str]:
    """The execution input: which task, which call, and the stage the routing plan chose."""
    return {
        "task_sid": task_sid,
        "call_sid": str(attributes.get("call_sid", "")),
        "start_stage": stage_of(attributes).value,
    }


@dataclass(frozen=True)
class FollowUp:
    """A voicemail or callback request: a task so the caller is not lost when nobody answered."""

    kind: str  # VOICEMAIL or CALLBACK
    original_call_sid: str
    caller: str
    customer_id: str = ""
    customer_name: str = ""
    owner_agent_id: str = ""
    team: str = ""
    recording_sid: str = ""
    recording_url: str = ""
    recording_seconds: int = 0
    reason: str = ""

    @property
    def priority(self) -> int:
        return CALLBACK_PRIORITY if self.kind == CALLBACK else VOICEMAIL_PRIORITY

    def task_attributes(self) -> dict[str, Any]:
        """Attributes the follow-up workflow filters route on (owner, then team, then everyone).

        No `stage`: a follow-up has no timeline, and the live-call stage filters must pass it by.
        """
        attributes: dict[str, Any] = {
            "type": self.kind,
            "original_call_sid": self.original_call_sid,
            "caller": self.caller,
            "customer_id": self.customer_id,
            "customer_name": self.customer_name,
            "owner_agent_id": self.owner_agent_id,
            "team": self.team,
            "reason": self.reason,
        }
        if self.kind == CALLBACK:
            attributes["callback_number"] = self.caller
        else:
            attributes.update(
                recording_sid=self.recording_sid,
                recording_url=self.recording_url,
                recording_seconds=self.recording_seconds,
            )
        return attributes
