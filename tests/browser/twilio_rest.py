"""Twilio's REST API for the browser tests' local stack, on 127.0.0.1, recording every request.

The app reaches Twilio only through `TwilioGateway`; with `TWILIO_API_BASE_URL` set, its HTTP
client sends `https://<product>.twilio.com/<path>` here as `/<product>/<path>`. This server keeps
just the state call control reads (which tasks a worker holds, each task's attributes, the
conferences) and answers in Twilio's JSON shapes, so the browser's hold/transfer/hang-up go
through the real API and the test asserts what Twilio was asked to do.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class TwilioRequest:
    method: str
    path: str
    form: dict[str, str]


@dataclass
class HeldTask:
    worker_sid: str
    attributes: dict[str, Any]
    status: str = "assigned"
    reservation: str = "accepted"


@dataclass
class FakeTwilioRest:
    requests: list[TwilioRequest] = field(default_factory=list)
    tasks: dict[str, HeldTask] = field(default_factory=dict)
    conferences: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def offer_call(self, worker_sid: str, task_sid: str, attributes: dict[str, Any]) -> None:
        """TaskRouter reserved `task_sid` for the worker: their browser rings."""
        with self._lock:
            self.tasks[task_sid] = HeldTask(worker_sid, attributes, "reserved", "pending")

    def give_call(
        self, worker_sid: str, task_sid: str, conference_sid: str, attributes: dict[str, Any]
    ) -> None:
        """The worker accepted `task_sid`, now connected in `conference_sid` (as TaskRouter
        records it once the conference instruction has run)."""
        with self._lock:
            self.tasks[task_sid] = HeldTask(worker_sid, attributes)
            self.conferences[conference_sid] = f"task-{task_sid}"

    def wait_seen(
        self, method: str, path_pattern: str, timeout: float = 5.0
    ) -> list[TwilioRequest]:
        """The matching requests, once there is at least one (the app may still be sending)."""
        deadline = time.monotonic() + timeout
        while not (found := self.seen(method, path_pattern)) and time.monotonic() < deadline:
            time.sleep(0.05)
        return found

    def seen(self, method: str, path_pattern: str) -> list[TwilioRequest]:
        with self._lock:
            return [
                r for r in self.requests if r.method == method and re.search(path_pattern, r.path)
            ]

    # -- request handling ------------------------------------------------------------------

    def handle(self, method: str, path: str, form: dict[str, str]) -> tuple[int, Any]:
        with self._lock:
            self.requests.append(TwilioRequest(method, path, form))
            return self._answer(method, path, form)

    def _answer(self, method: str, path: str, form: dict[str, str]) -> tuple[int, Any]:
        if m := re.fullmatch(
            r"/taskrouter/v1/Workspaces/(WS\w+)/Workers/(WK\w+)/Reservations", path
        ):
            worker = m.group(2)
            wanted = form.get("ReservationStatus")
            rows = [
                {
                    "sid": f"WR{sid[2:]}",
                    "task_sid": sid,
                    "worker_sid": worker,
                    "reservation_status": task.reservation,
                    "workspace_sid": m.group(1),
                }
                for sid, task in self.tasks.items()
                if task.worker_sid == worker
                and task.status in ("reserved", "assigned")
                and wanted in (None, task.reservation)
            ]
            return 200, _page("reservations", rows, path)
        if m := re.fullmatch(r"/taskrouter/v1/Workspaces/(WS\w+)/Tasks/(WT\w+)", path):
            task = self.tasks.get(m.group(2))
            if task is None:
                return 404, {"code": 20404, "message": "not found", "status": 404}
            if method == "POST" and form.get("AssignmentStatus"):
                task.status = form["AssignmentStatus"]
            return 200, _task(m.group(2), m.group(1), task)
        if m := re.fullmatch(r"/taskrouter/v1/Workspaces/(WS\w+)/Tasks", path):
            sid = f"WT{next(self._ids):032x}"
            attributes = json.loads(form.get("Attributes", "{}"))
            self.tasks[sid] = HeldTask("", attributes, "pending")
            return 201, _task(sid, m.group(1), self.tasks[sid])
        conference = r"/api/2010-04-01/Accounts/(AC\w+)/Conferences/(CF\w+)"
        if m := re.fullmatch(conference + r"\.json", path):
            name = self.conferences.get(m.group(2))
            if name is None:
                return 404, {"code": 20404, "message": "not found", "status": 404}
            status = "completed" if form.get("Status") == "completed" else "in-progress"
            return 200, {
                "sid": m.group(2),
                "account_sid": m.group(1),
                "friendly_name": name,
                "status": status,
            }
        if method == "POST" and (m := re.fullmatch(conference + r"/Participants\.json", path)):
            # A participant added (a supervisor's softphone rung into the call).
            return 201, {
                "call_sid": f"CA{next(self._ids):032x}",
                "conference_sid": m.group(2),
                "account_sid": m.group(1),
                "label": form.get("Label"),
                "muted": form.get("Muted") == "true",
                "coaching": form.get("Coaching") == "true",
                "status": "queued",
            }
        if m := re.fullmatch(conference + r"/Participants/([\w:.%-]+)\.json", path):
            if method == "DELETE":
                return 204, ""
            return 200, {
                "call_sid": urllib.parse.unquote(m.group(3)),
                "conference_sid": m.group(2),
                "account_sid": m.group(1),
                "hold": form.get("Hold") == "true",
                "muted": form.get("Muted") == "true",
                "status": "connected",
            }
        if m := re.fullmatch(
            r"/api/2010-04-01/Accounts/(AC\w+)/Calls/(CA\w+)/Transcriptions\.json", path
        ):
            # Real-time transcription started on a live call (its callbacks are the test's).
            return 200, {
                "sid": f"GT{next(self._ids):032x}",
                "account_sid": m.group(1),
                "call_sid": m.group(2),
                "name": form.get("Name"),
                "status": "in-progress",
            }
        return 404, {"code": 20404, "message": f"no fake for {method} {path}", "status": 404}


def _page(key: str, rows: list[dict[str, Any]], path: str) -> dict[str, Any]:
    return {
        key: rows,
        "meta": {
            "key": key,
            "page": 0,
            "page_size": 50,
            "first_page_url": path,
            "previous_page_url": None,
            "next_page_url": None,
            "url": path,
        },
    }


def _task(sid: str, workspace_sid: str, task: HeldTask) -> dict[str, Any]:
    return {
        "sid": sid,
        "workspace_sid": workspace_sid,
        "assignment_status": task.status,
        "attributes": json.dumps(task.attributes),
        "priority": 0,
        "age": 1,
    }


class _Handler(BaseHTTPRequestHandler):
    fake: FakeTwilioRest

    def _serve(self) -> None:
        parts = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else ""
        form = dict(urllib.parse.parse_qsl(raw or parts.query))
        status, body = self.fake.handle(self.command, parts.path, form)
        payload = b"" if body == "" else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        return


class TwilioRestServer:
    """The fake on a free port of 127.0.0.1, in a daemon thread; `close()` stops it."""

    def __init__(self) -> None:
        self.fake = FakeTwilioRest()
        handler = type("Handler", (_Handler,), {"fake": self.fake})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
