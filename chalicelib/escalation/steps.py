"""The escalation timeline's moving parts: the TaskRouter event subscriber that starts and stops
it, and the two steps Step Functions invokes (enter a stage, offer the fallback).

Steps read the task from TaskRouter first and write back with If-Match on the version they read,
so a step that races an accept (or a hang-up) fails its conditional write, reads again, sees the
task is no longer waiting and does nothing: never a second update after the task ended.
If Step Functions itself is down, callers still widen out by the workflow's backstop timeouts;
the failure is logged and counted (`EscalationTimelineFailed`), never raised into TaskRouter.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib.escalation.domain import (
    INBOUND_CALL,
    StageTimeouts,
    StepResult,
    ends_timeline,
    enter_fallback,
    enter_stage,
    recovers_timeline,
    starts_timeline,
    timeline_input,
)
from chalicelib.platform.errors import StorageUnavailable, TaskChanged
from chalicelib.platform.observability import count, logger
from chalicelib.routing.plan import Stage, TeamPresence
from chalicelib.telephony.tasks import TaskSnapshot

if TYPE_CHECKING:
    from chalicelib.platform.settings import Settings
    from chalicelib.telephony.taskrouter_events import TaskRouterEvent

# A conditional write that loses this many races in a row gives up (the backstop takes over).
MAX_WRITE_ATTEMPTS = 3

Clock = Callable[[], int]


class Timelines(Protocol):
    """Step Functions, one execution per task (chalicelib/escalation/timelines.py)."""

    def start(self, task_sid: str, execution_input: dict[str, Any]) -> bool: ...

    def stop(self, task_sid: str, cause: str) -> bool: ...


class Tasks(Protocol):
    """The task and the caller's leg, at Twilio's REST API (chalicelib/telephony/rest.py)."""

    def fetch_task(self, task_sid: str) -> TaskSnapshot: ...

    def update_task_if_unchanged(
        self, task_sid: str, attributes: dict[str, Any], version: str
    ) -> None: ...

    def redirect_call(self, call_sid: str, url: str) -> None: ...


class Presence(Protocol):
    """Who of a team is available (chalicelib/routing/store.py)."""

    def team_presence(self, team: str) -> TeamPresence: ...


class CallFacts(Protocol):
    """The conversation record's facts (chalicelib/conversations/facts.py)."""

    def record_call_fact(
        self, call_sid: str, fact: str, occurred_ms: int, data: dict[str, Any]
    ) -> None: ...


def timeouts(settings: Settings) -> StageTimeouts:
    return StageTimeouts(
        owner=settings.escalation.escalation_owner_seconds,
        team=settings.escalation.escalation_team_seconds,
        everyone=settings.escalation.escalation_everyone_seconds,
        # Look again once the agent's ring is over (plus a little for the events to land).
        ringing=settings.routing.agent_ring_seconds + 2,
    )


def record_fact(
    facts: CallFacts, clock: Clock, call_sid: str, fact: str, data: dict[str, Any]
) -> None:
    """Tell the conversation record (issue 5) something that has no TaskRouter task of its own.

    A failure here is logged and counted, never allowed to break the caller's flow.
    """
    if not call_sid:
        return
    try:
        facts.record_call_fact(call_sid, fact, clock(), data)
    except Exception:  # noqa: BLE001 - analytics must never cost a caller their call
        count("ConversationFactFailed")
        logger.exception("conversation fact not recorded", call_sid=call_sid, fact=fact)


class EscalationSteps:
    """The timeline's subscriber and steps.

    `timelines` is None when the stage has no state machine (`ESCALATION_STATE_MACHINE_ARN`
    empty): the workflow's backstop timeouts alone widen the call. `fallback_url` is the public
    URL of the fallback menu a step redirects the caller to.
    """

    def __init__(
        self,
        timelines: Timelines | None,
        tasks: Tasks,
        presence: Presence,
        facts: CallFacts,
        stage_timeouts: StageTimeouts,
        fallback_url: str,
        clock: Clock,
    ) -> None:
        self._timelines = timelines
        self._tasks = tasks
        self._presence = presence
        self._facts = facts
        self._timeouts = stage_timeouts
        self._fallback_url = fallback_url
        self._clock = clock

    # --- the subscriber: start on task.created, stop when the task no longer waits -----------

    def on_taskrouter_event(self, event: TaskRouterEvent) -> None:
        """Start or stop the task's timeline. Idempotent and order-independent."""
        attributes = event.task_attributes
        is_call = attributes.get("type", INBOUND_CALL) == INBOUND_CALL
        if not event.task_sid or not is_call:
            return
        starting = starts_timeline(event.event_type, attributes, event.task_assignment_status)
        if not starting and not ends_timeline(event.event_type):
            return
        if self._timelines is None:
            count("EscalationTimelineDisabled")
            return
        from chalicelib.escalation.timelines import TimelineUnavailable

        try:
            if starting:
                started = self._timelines.start(
                    event.task_sid, timeline_input(event.task_sid, attributes)
                )
                if recovers_timeline(event.event_type):
                    # Usually already running: refused, or (same input, still open) answered as
                    # a success by Step Functions without a second execution ("Executions with
                    # the same name and input are considered idempotent", StartExecution). So
                    # this counts starts that were not refused, not necessarily recoveries.
                    count(
                        "EscalationTimelineSafetyStart" if started else "EscalationTimelineRunning"
                    )
                else:
                    count("EscalationTimelineStarted" if started else "EscalationTimelineDuplicate")
                logger.info(
                    "escalation timeline started"
                    if started
                    else "escalation timeline already running",
                    task_sid=event.task_sid,
                    call_sid=attributes.get("call_sid"),
                    stage=attributes.get("stage"),
                )
            else:
                stopped = self._timelines.stop(event.task_sid, event.event_type)
                if stopped:
                    count("EscalationTimelineStopped")
                    logger.info(
                        "escalation timeline stopped",
                        task_sid=event.task_sid,
                        cause=event.event_type,
                    )
        except TimelineUnavailable as exc:
            # The workflow's backstop still widens the call; a late step is a no-op by itself.
            count("EscalationTimelineFailed")
            logger.error(
                "escalation timeline unavailable",
                task_sid=event.task_sid,
                event_type=event.event_type,
                problem=str(exc),
            )

    # --- the steps Step Functions runs -------------------------------------------------------

    def _team(self, snapshot: TaskSnapshot) -> TeamPresence | None:
        team = str(snapshot.attributes.get("team") or "")
        if not team:
            return None
        try:
            return self._presence.team_presence(team)
        except StorageUnavailable as exc:
            # Without presence nobody can be shown available: the call widens to everyone.
            count("EscalationPresenceUnavailable")
            logger.error(
                "escalation could not read presence", task_sid=snapshot.task_sid, problem=str(exc)
            )
            return None

    def _write(self, snapshot: TaskSnapshot, attributes: dict[str, Any]) -> None:
        self._tasks.update_task_if_unchanged(snapshot.task_sid, attributes, snapshot.version)

    def enter_stage_step(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """Step Functions' `Owner`, `Team` and `Everyone` states."""
        task_sid = str(event["task_sid"])
        wanted = Stage(str(event["stage"]))
        for attempt in range(1, MAX_WRITE_ATTEMPTS + 1):
            snapshot = self._tasks.fetch_task(task_sid)
            needs_presence = snapshot.status == "pending" and wanted in (Stage.OWNER, Stage.TEAM)
            team = self._team(snapshot) if needs_presence else None
            result = enter_stage(wanted, snapshot.status, snapshot.attributes, team, self._timeouts)
            if result.attributes is None:
                break
            try:
                self._write(snapshot, result.attributes)
                break
            except TaskChanged:
                count("EscalationWriteRaced")
                if attempt == MAX_WRITE_ATTEMPTS:
                    raise
        _log_step(task_sid, wanted, result)
        return result.output()

    def fallback_step(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """Step Functions' `Fallback` state: still waiting after everyone had their chance.

        The call is redirected only by the step that wrote `stage: fallback` (a conditional
        write on a waiting task): a repeated step, or one that lost a race with an accept, never
        pulls a caller out of a conversation.
        """
        task_sid = str(event["task_sid"])
        wrote = False
        for attempt in range(1, MAX_WRITE_ATTEMPTS + 1):
            snapshot = self._tasks.fetch_task(task_sid)
            result = enter_fallback(snapshot.status, snapshot.attributes, self._timeouts)
            if result.attributes is None:
                break
            try:
                self._write(snapshot, result.attributes)
                wrote = True
                break
            except TaskChanged:
                count("EscalationWriteRaced")
                if attempt == MAX_WRITE_ATTEMPTS:
                    raise
        if wrote:
            call_sid = str(snapshot.attributes.get("call_sid") or event.get("call_sid") or "")
            # Out of the queue and into the menu; TaskRouter cancels the task as the call leaves.
            self._tasks.redirect_call(call_sid, self._fallback_url)
            count("EscalationFallbackOffered")
            record_fact(
                self._facts, self._clock, call_sid, "fallback_offered", {"task_sid": task_sid}
            )
        _log_step(task_sid, Stage.FALLBACK, result)
        return result.output()


def _log_step(task_sid: str, wanted: Stage, result: StepResult) -> None:
    count(f"EscalationStage_{result.stage.value}" if result.live else "EscalationStepNoop")
    logger.info(
        "escalation step",
        task_sid=task_sid,
        wanted=wanted.value,
        **result.output(),
    )
