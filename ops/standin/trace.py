"""Follow one task (or call) through a rehearsal: every webhook and callback the stand-in sent
about it, every REST request the app made about it, and the agent's presence after each.

A day that leaves one task open among 20,000 calls repeats exactly with its seed; this is how
an operator sees that task's story without the app's logs of the whole day. It only watches:
it draws nothing from the chaos random streams, so the traced day is the same day.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ops.standin.engine import Standin
from ops.standin.harness import tokyo
from ops.standin.rest import Rest, RestReply
from ops.standin.transport import Reply

# Form fields worth a line; the rest of Twilio's payload is the same for every callback.
SHOWN = (
    "EventType",
    "TaskSid",
    "ReservationSid",
    "WorkerSid",
    "TaskAssignmentStatus",
    "ReservationStatus",
    "WorkerActivityName",
    "TimestampMs",
    "CallSid",
    "CallStatus",
    "StatusCallbackEvent",
    "DialCallStatus",
    "AssignmentStatus",
    "ActivitySid",
    "Reason",
    "Status",
)

PresenceOf = Callable[[str], Mapping[str, Any]]


class Tracer:
    def __init__(
        self,
        standin: Standin,
        rest: Rest,
        sids: set[str],
        presence_of: PresenceOf,
        out: Callable[[str], None] = print,
    ) -> None:
        self.s = standin
        self.sids = set(sids)
        self._presence_of = presence_of
        self._out = out
        self._post = standin.transport.post
        self._handle = rest.handle
        standin.transport.post = self._traced_post  # type: ignore[method-assign]
        rest.handle = self._traced_handle  # type: ignore[method-assign]

    def _watched(self, *texts: str) -> bool:
        return any(sid in text for text in texts for sid in self.sids)

    def _follow(self, form: Mapping[str, str]) -> None:
        """A traced request's call leg, and a traced task's worker, are part of the story from
        then on (a callback's leg is named only by the URL the task gave it)."""
        if form.get("CallSid"):
            self.sids.add(form["CallSid"])
        if form.get("TaskSid") in self.sids and form.get("WorkerSid"):
            self.sids.add(form["WorkerSid"])

    def _line(self, kind: str, what: str, form: Mapping[str, str], status: int, body: str) -> None:
        fields = " ".join(f"{k}={form[k]}" for k in SHOWN if form.get(k))
        self._out(
            f"TRACE {tokyo(self.s.now())} {kind} {what} {fields} -> {status} {body[:160]!r}"
            f"{self._presence(form)}"
        )

    def _presence(self, form: Mapping[str, str]) -> str:
        worker = self.s.workers.get(form.get("WorkerSid", ""))
        if worker is None:
            return ""
        p = self._presence_of(worker.agent_id)
        return (
            f" | {worker.agent_id} presence {p.get('state')} since {p.get('since_ms')} "
            f"event_ms {p.get('event_ms')} wrapped_task {p.get('wrapped_task')}"
        )

    def _traced_post(self, url: str, form: Mapping[str, str]) -> Reply:
        reply = self._post(url, form)
        if self._watched(url, *form.values()):
            self._follow(form)
            self._line("webhook", url.split("?")[0], form, reply.status, reply.body)
        return reply

    def _traced_handle(
        self,
        method: str,
        path: str,
        query: Mapping[str, str],
        form: Mapping[str, str],
        authorization: str | None,
        headers: Mapping[str, str] | None = None,
    ) -> RestReply:
        reply = self._handle(method, path, query, form, authorization, headers)
        if self._watched(path, *form.values()):
            self._line(
                "rest", f"{method} {path}", form, reply.status, reply.body.decode(errors="replace")
            )
        return reply
