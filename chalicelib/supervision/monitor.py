"""Listen, whisper, barge: a supervisor's softphone joins a live call's conference.

Twilio's Conference Participant resource does all three
(https://www.twilio.com/docs/voice/api/conference-participant-resource):
- listen: `Muted=true`; the supervisor hears everyone and nobody hears them.
- whisper: `Coaching=true` with `CallSidToCoach=<the rep's leg>`; "the participant being coached
  is the only participant who can hear the participant who is coaching", and "if `true`,
  `call_sid_to_coach` must be defined".
- barge: neither; an ordinary participant everyone hears.
Muted, Coaching and CallSidToCoach are parameters of the participant's update too, so a mode is
switched in place; DELETE removes the participant. The supervisor joins with `Beep=false` (the
default beep would tell the customer someone joined) and a label `supervisor:<id>`, by which the
participant is updated and removed.

Which conference, and which leg is the rep's, come from the conversation's own events (the
conference status callbacks and the agent legs' status callbacks), whatever put the call in a
conference: generic over "the conversation's live conference". Each start, switch and stop is a
`supervisor_monitor` fact of the conversation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from chalicelib.conversations.events import CONFERENCE, FACT, VOICE, Event
from chalicelib.platform.errors import Conflict, InvalidInput, NotFound
from chalicelib.platform.observability import count, logger

MODES = ("listen", "whisper", "barge")
MONITOR_FACT = "supervisor_monitor"
ENDED = "ended"
SUPERVISOR_LABEL_PREFIX = "supervisor:"


def supervisor_label(agent_id: str) -> str:
    return SUPERVISOR_LABEL_PREFIX + agent_id


def participant_settings(mode: str, rep_call_sid: str) -> dict[str, Any]:
    """The Participants API parameters of a mode (twilio's Python names)."""
    if mode == "listen":
        return {"muted": True, "coaching": False}
    if mode == "whisper":
        return {"muted": False, "coaching": True, "call_sid_to_coach": rep_call_sid}
    if mode == "barge":
        return {"muted": False, "coaching": False}
    raise InvalidInput(f"mode must be one of: {', '.join(MODES)}")


@dataclass
class LiveCall:
    """A conversation's conference while it is live, as its events tell it."""

    conference_sid: str
    rep_call_sid: str
    rep_agent_id: str
    # Supervisors monitoring now: agent id -> their mode.
    monitors: dict[str, str] = field(default_factory=dict)


def live_call(events: Iterable[Event]) -> LiveCall | None:
    """The conversation's live conference and the rep's leg in it; None when the call is not
    live (no conference yet, it ended, or no rep's leg is in it)."""
    ordered = sorted(events, key=lambda e: (e.occurred_ms, e.key))
    agent_legs: dict[str, str] = {}  # call sid -> agent id
    joined: dict[str, dict[str, str]] = {}  # conference sid -> call sid -> label
    ended: set[str] = set()
    monitors: dict[str, str] = {}
    for e in ordered:
        form = e.form
        if e.source == VOICE:
            to, from_ = form.get("To", ""), form.get("From", "")
            client = (
                to if to.startswith("client:") else from_ if from_.startswith("client:") else ""
            )
            agent = e.context.get("agent") or client.removeprefix("client:")
            if agent:
                agent_legs[form.get("CallSid", "")] = agent
        elif e.source == CONFERENCE:
            sid, kind, leg = (
                form.get("ConferenceSid", ""),
                form.get("StatusCallbackEvent", ""),
                form.get("CallSid", ""),
            )
            participants = joined.setdefault(sid, {})
            if kind == "participant-join" and leg:
                participants[leg] = form.get("ParticipantLabel", "")
            elif kind == "participant-leave":
                participants.pop(leg, None)
            elif kind == "conference-end":
                ended.add(sid)
        elif e.source == FACT and form.get("Fact") == MONITOR_FACT:
            supervisor, mode = (
                str(e.attributes.get("supervisor_id", "")),
                str(e.attributes.get("mode", "")),
            )
            if mode == ENDED:
                monitors.pop(supervisor, None)
            elif supervisor:
                monitors[supervisor] = mode
    for sid in reversed(list(joined)):  # the latest conference first
        if sid in ended:
            continue
        reps = [
            leg
            for leg, label in joined[sid].items()
            if leg in agent_legs and not label.startswith(SUPERVISOR_LABEL_PREFIX)
        ]
        if reps:
            rep = reps[-1]  # the latest to join: after a transfer, the colleague
            return LiveCall(sid, rep, agent_legs[rep], monitors)
    return None


class ConversationEvents(Protocol):
    def events(self, conversation_id: str) -> list[Event]: ...


class MonitorGateway(Protocol):
    def join_supervisor(
        self, conference_sid: str, identity: str, label: str, caller_id: str, **mode: Any
    ) -> str: ...
    def update_participant(self, conference_sid: str, participant: str, **changes: Any) -> None: ...
    def remove_participant(self, conference_sid: str, participant: str) -> bool: ...


class Facts(Protocol):
    def record_call_fact(
        self, call_sid: str, fact: str, occurred_ms: int, data: dict[str, Any]
    ) -> None: ...


class Monitoring:
    def __init__(
        self,
        events: ConversationEvents,
        gateway: MonitorGateway,
        facts: Facts,
        caller_id: str,
        clock: Callable[[], int],
    ) -> None:
        self._events = events
        self._gateway = gateway
        self._facts = facts
        self._caller_id = caller_id
        self._clock = clock

    def _live(self, conversation_id: str) -> LiveCall:
        events = self._events.events(conversation_id)
        if not events:
            raise NotFound(f"no conversation {conversation_id}")
        call = live_call(events)
        if call is None:
            raise Conflict(f"conversation {conversation_id} is not live")
        return call

    def state(self, conversation_id: str) -> dict[str, Any]:
        """Who monitors the call now, and how (what the rep's page shows)."""
        events = self._events.events(conversation_id)
        if not events:
            raise NotFound(f"no conversation {conversation_id}")
        call = live_call(events)
        monitors = call.monitors if call else {}
        return {
            "conversation_id": conversation_id,
            "live": call is not None,
            "agent_id": call.rep_agent_id if call else None,
            "supervisors": [{"agent_id": a, "mode": m} for a, m in sorted(monitors.items())],
        }

    def monitor(self, conversation_id: str, supervisor_id: str, mode: str) -> dict[str, Any]:
        """Join the supervisor in `mode`, or switch their mode in place if already in."""
        call = self._live(conversation_id)
        settings = participant_settings(mode, call.rep_call_sid)
        label = supervisor_label(supervisor_id)
        if supervisor_id in call.monitors:
            self._gateway.update_participant(call.conference_sid, label, **settings)
            switched = True
        else:
            self._gateway.join_supervisor(
                call.conference_sid, f"client:{supervisor_id}", label, self._caller_id, **settings
            )
            switched = False
        self._record(conversation_id, supervisor_id, mode, call)
        count(f"SupervisorMonitor_{mode}")
        logger.info(
            "supervisor monitoring",
            agent_id=supervisor_id,
            mode=mode,
            switched=switched,
            conference_sid=call.conference_sid,
            conversation_id=conversation_id,
        )
        return {
            "conversation_id": conversation_id,
            "conference_sid": call.conference_sid,
            "agent_id": call.rep_agent_id,
            "mode": mode,
            "switched": switched,
        }

    def stop(self, conversation_id: str, supervisor_id: str) -> dict[str, Any]:
        call = self._live(conversation_id)
        if supervisor_id not in call.monitors:
            raise NotFound(f"{supervisor_id} is not monitoring {conversation_id}")
        self._gateway.remove_participant(call.conference_sid, supervisor_label(supervisor_id))
        self._record(conversation_id, supervisor_id, ENDED, call)
        logger.info("supervisor monitoring ended", agent_id=supervisor_id)
        return {"conversation_id": conversation_id, "mode": ENDED}

    def _record(self, conversation_id: str, supervisor_id: str, mode: str, call: LiveCall) -> None:
        self._facts.record_call_fact(
            conversation_id,
            MONITOR_FACT,
            self._clock(),
            {"supervisor_id": supervisor_id, "mode": mode, "agent_id": call.rep_agent_id},
        )
