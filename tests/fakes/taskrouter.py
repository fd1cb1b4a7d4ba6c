"""TaskRouter tasks and Twilio calls as the REST API shows them, behind RecordingHttpClient.

Tasks have a status, attributes and a version served as ETag; an update carrying If-Match with
a stale version gets 412 like the real API. Tests move tasks along (accept, cancel) and read
back what the app wrote, and when.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.twilio_http import RecordedRequest, RecordingHttpClient

TASK_PATH = r"/v1/Workspaces/WS\w+/Tasks/(WT\w+)$"
TASKS_PATH = r"/v1/Workspaces/WS\w+/Tasks$"
CALL_PATH = r"/2010-04-01/Accounts/AC\w+/Calls/(CA\w+)\.json$"


@dataclass
class FakeTask:
    sid: str
    status: str
    attributes: dict[str, Any]
    version: int = 0
    priority: int = 0
    timeout: int = 0
    channel: str = ""


@dataclass
class Write:
    """An attribute update TaskRouter accepted, and the task's status at that moment."""

    task_sid: str
    status: str
    attributes: dict[str, Any]


@dataclass
class FakeTaskRouter:
    http: RecordingHttpClient
    tasks: dict[str, FakeTask] = field(default_factory=dict)
    writes: list[Write] = field(default_factory=list)
    redirects: list[tuple[str, str]] = field(default_factory=list)
    # The status of the call's task at the moment each redirect arrived.
    redirect_statuses: list[str] = field(default_factory=list)
    rejected_writes: int = 0
    # Runs after a task is read and before the response returns: a way to make a change land
    # between a step's read and its write (a race).
    after_fetch: Callable[[FakeTask], None] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.http.respond("GET", TASK_PATH, self._fetch)
        self.http.respond("POST", TASK_PATH, self._update)
        self.http.respond("POST", TASKS_PATH, self._create)
        self.http.respond("POST", CALL_PATH, self._redirect)

    def add(self, sid: str, attributes: dict[str, Any], status: str = "pending") -> FakeTask:
        task = FakeTask(sid, status, dict(attributes))
        self.tasks[sid] = task
        return task

    def set_status(self, sid: str, status: str) -> None:
        with self._lock:
            task = self.tasks[sid]
            task.status = status
            task.version += 1

    def created(self, kind: str | None = None) -> list[FakeTask]:
        return [
            t
            for t in self.tasks.values()
            if t.channel and (kind is None or t.attributes.get("type") == kind)
        ]

    def writes_to(self, sid: str) -> list[dict[str, Any]]:
        return [w.attributes for w in self.writes if w.task_sid == sid]

    @staticmethod
    def _sid(request: RecordedRequest, pattern: str) -> str:
        import re

        match = re.search(pattern, request.path)
        assert match, request.path
        return match.group(1)

    def _body(self, task: FakeTask) -> dict[str, Any]:
        return {
            "sid": task.sid,
            "assignment_status": task.status,
            "attributes": json.dumps(task.attributes),
            "priority": task.priority,
        }

    def _fetch(self, request: RecordedRequest) -> tuple[Any, ...]:
        with self._lock:
            task = self.tasks.get(self._sid(request, TASK_PATH))
            if task is None:
                return 404, {"code": 20404, "message": "not found", "status": 404}
            response = (200, self._body(task), {"ETag": str(task.version)})
        if self.after_fetch:
            self.after_fetch(task)
        return response

    def _update(self, request: RecordedRequest) -> tuple[Any, ...]:
        with self._lock:
            task = self.tasks[self._sid(request, TASK_PATH)]
            if_match = request.headers.get("If-Match")
            if if_match is not None and if_match != str(task.version):
                self.rejected_writes += 1
                return 412, {"code": 20412, "message": "version mismatch", "status": 412}
            task.attributes = json.loads(str(request.data["Attributes"]))
            task.version += 1
            self.writes.append(Write(task.sid, task.status, dict(task.attributes)))
            return 200, self._body(task), {"ETag": str(task.version)}

    def _create(self, request: RecordedRequest) -> tuple[Any, ...]:
        with self._lock:
            sid = f"WT{len(self.tasks) + 0xF000:032x}"
            task = FakeTask(
                sid,
                "pending",
                json.loads(str(request.data["Attributes"])),
                priority=int(request.data.get("Priority", 0)),
                timeout=int(request.data.get("Timeout", 0)),
                channel=str(request.data.get("TaskChannel", "")),
            )
            self.tasks[sid] = task
            return 201, self._body(task)

    def _redirect(self, request: RecordedRequest) -> tuple[Any, ...]:
        sid = self._sid(request, CALL_PATH)
        self.redirects.append((sid, str(request.data.get("Url"))))
        self.redirect_statuses.extend(
            t.status for t in self.tasks.values() if t.attributes.get("call_sid") == sid
        )
        return 200, {"sid": sid, "status": "in-progress"}
