"""Twilio's REST API as the app reaches it, served from the stand-in's state.

Paths are Twilio's, with the product host folded into the first segment the way
`chalicelib.telephony.rest.rebased_http_client` sends them:
`https://taskrouter.twilio.com/v1/...` arrives as `/taskrouter/v1/...`,
`https://api.twilio.com/2010-04-01/...` as `/api/2010-04-01/...`.
Bodies are the JSON Twilio returns (snake_case, `meta.key` on lists) so twilio's own client
parses them; errors are Twilio's error document (`code`, `message`, `status`).
"""

from __future__ import annotations

import base64
import bisect
import hmac
import json
import re
import urllib.parse
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from chalicelib.platform.settings import TASK_TIMEOUT_MAX
from chalicelib.telephony import webhooks
from ops.standin import payloads
from ops.standin.engine import Standin
from ops.standin.resources import (
    Call,
    Conference,
    Participant,
    Recording,
    Reservation,
    Task,
    Worker,
)
from ops.standin.wav import recording_wav

JSON = "application/json"


@dataclass(frozen=True)
class RestReply:
    status: int
    body: bytes
    content_type: str = JSON
    headers: tuple[tuple[str, str], ...] = ()


# The request's headers, for the few handlers that read one (If-Match); per thread, since the
# HTTP server answers requests on several.
_request_headers: ContextVar[Mapping[str, str]] = ContextVar("request_headers")


class RestError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def _json(data: Any, status: int = 200) -> RestReply:
    return RestReply(status, json.dumps(data, ensure_ascii=False).encode())


def _flag(value: str | None) -> bool | None:
    return None if value is None else value.lower() == "true"


@dataclass(frozen=True)
class Exchange:
    """One request the stand-in answered, and its reply."""

    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    reply: RestReply


Handler = Callable[["Rest", re.Match[str], Mapping[str, str], Mapping[str, str]], RestReply]


class Rest:
    def __init__(self, standin: Standin, media_seconds: float | None = None) -> None:
        self.s = standin
        self.requests: list[tuple[str, str]] = []
        # Set to a list to keep every request with its reply (tests/openapi checks them against
        # Twilio's OpenAPI description); None on long runs, where it would only grow.
        self.exchanges: list[Exchange] | None = None
        # At most this much audio per recording (None: the whole recording). A day's worth of
        # full-length stereo WAVs (~5 MB per 3-minute call) does not fit in moto's S3 in memory;
        # the copy pipeline is the same whatever the length.
        self.media_seconds = media_seconds
        # Rehearsal fault: the next this many call updates (redirects) answer 503, as Twilio does
        # when it has a bad moment (issue 18: a key pressed in the queue must still be served).
        self.unavailable_call_updates = 0

    def media(self, recording: Recording, requested_channels: str | None) -> tuple[bytes, int]:
        """The bytes a download of `recording` gets, and their channel count: mixed to mono
        unless RequestedChannels=2 is asked for (and the recording has two)."""
        channels = 2 if requested_channels == "2" and recording.channels == 2 else 1
        seconds = float(recording.duration)
        if self.media_seconds is not None:
            seconds = min(seconds, self.media_seconds)
        return recording_wav(seconds, channels), channels

    # ---- entry point -----------------------------------------------------------------------

    def handle(
        self,
        method: str,
        path: str,
        query: Mapping[str, str],
        form: Mapping[str, str],
        authorization: str | None,
        headers: Mapping[str, str] | None = None,
    ) -> RestReply:
        reply = self._handle(method, path, query, form, authorization, headers)
        if self.exchanges is not None:
            self.exchanges.append(Exchange(method, path, dict(query), dict(form), reply))
        return reply

    def _handle(
        self,
        method: str,
        path: str,
        query: Mapping[str, str],
        form: Mapping[str, str],
        authorization: str | None,
        headers: Mapping[str, str] | None = None,
    ) -> RestReply:
        _request_headers.set({k.lower(): v for k, v in (headers or {}).items()})
        self.requests.append((method, path))
        self.s.stats.count(f"Rest:{method}")
        if not self._authorized(authorization):
            return _json({"code": 20003, "message": "Authenticate", "status": 401}, 401)
        for route_method, pattern, handler in _ROUTES:
            if route_method != method:
                continue
            match = pattern.fullmatch(path)
            if match:
                try:
                    return handler(self, match, query, form)
                except RestError as exc:
                    return _json(
                        {"code": exc.code, "message": str(exc), "status": exc.status}, exc.status
                    )
                except KeyError as exc:
                    return _json(
                        {"code": 20404, "message": f"not found: {exc}", "status": 404}, 404
                    )
        return _json({"code": 20404, "message": f"no route {method} {path}", "status": 404}, 404)

    def _authorized(self, header: str | None) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        account = self.s.account
        if user == account.account_sid:
            return hmac.compare_digest(password, account.auth_token)
        # An API key: its SID as the user, its secret as the password
        # (https://www.twilio.com/docs/iam/api-keys); a wrong secret is a 401 like a wrong token.
        secret = account.api_keys.get(user)
        return secret is not None and hmac.compare_digest(password, secret)

    def _workspace(self, match: re.Match[str]) -> None:
        if match.group("ws") != self.s.account.workspace_sid:
            raise RestError(404, 20404, f"workspace {match.group('ws')} not found")

    # ---- resources as Twilio renders them --------------------------------------------------

    @property
    def _ac_uri(self) -> str:
        return f"/2010-04-01/Accounts/{self.s.account.account_sid}"

    def _ws_url(self, rest: str) -> str:
        return f"https://taskrouter.twilio.com/v1/Workspaces/{self.s.account.workspace_sid}/{rest}"

    def task_json(self, task: Task) -> dict[str, Any]:
        s = self.s
        return {
            "account_sid": s.account.account_sid,
            "workspace_sid": s.account.workspace_sid,
            "workflow_sid": task.workflow_sid,
            "workflow_friendly_name": "contact-center",
            "sid": task.sid,
            "age": int(s.now() - task.created),
            "assignment_status": task.status,
            "attributes": json.dumps(task.attributes, ensure_ascii=False),
            "priority": task.priority,
            "reason": task.reason or None,
            "timeout": task.timeout,
            "task_queue_sid": task.queue_sid or None,
            "task_queue_friendly_name": "Everyone" if task.queue_sid else None,
            "task_channel_unique_name": task.channel,
            "date_created": payloads.iso8601(task.created),
            "date_updated": payloads.iso8601(task.updated),
            "url": self._ws_url(f"Tasks/{task.sid}"),
            "links": {"reservations": self._ws_url(f"Tasks/{task.sid}/Reservations")},
        }

    def worker_json(self, worker: Worker) -> dict[str, Any]:
        activity = self.s.activities[worker.activity_sid]
        return {
            "account_sid": self.s.account.account_sid,
            "workspace_sid": self.s.account.workspace_sid,
            "sid": worker.sid,
            "friendly_name": worker.name,
            "attributes": json.dumps(worker.attributes, ensure_ascii=False),
            "activity_sid": activity.sid,
            "activity_name": activity.name,
            "available": activity.available,
            "date_status_changed": payloads.iso8601(worker.activity_since),
            "date_created": payloads.iso8601(worker.date_created),
            "url": self._ws_url(f"Workers/{worker.sid}"),
        }

    def reservation_json(self, reservation: Reservation) -> dict[str, Any]:
        worker = self.s.workers[reservation.worker_sid]
        return {
            "account_sid": self.s.account.account_sid,
            "workspace_sid": self.s.account.workspace_sid,
            "sid": reservation.sid,
            "task_sid": reservation.task_sid,
            "worker_sid": worker.sid,
            "worker_name": worker.name,
            "reservation_status": reservation.status,
            "date_created": payloads.iso8601(reservation.created),
            "url": self._ws_url(f"Tasks/{reservation.task_sid}/Reservations/{reservation.sid}"),
        }

    def call_json(self, call: Call) -> dict[str, Any]:
        price, price_unit = self.s.voice.price(call)
        return {
            "account_sid": self.s.account.account_sid,
            "sid": call.sid,
            "from": call.from_,
            "to": call.to,
            "status": call.status,
            "direction": call.direction,
            "parent_call_sid": call.parent_call_sid or None,
            "start_time": payloads.rfc2822(call.answered_at) if call.answered_at else None,
            "end_time": payloads.rfc2822(call.ended_at) if call.ended_at else None,
            "duration": str(int(call.ended_at - call.answered_at))
            if call.ended_at and call.answered_at
            else None,
            "date_created": payloads.rfc2822(call.created),
            # null until Twilio has rated the ended call (ops/standin/voice.py Voice.price).
            "price": price,
            "price_unit": price_unit,
            "uri": f"/2010-04-01/Accounts/{self.s.account.account_sid}/Calls/{call.sid}.json",
        }

    def conference_json(self, conference: Conference) -> dict[str, Any]:
        return {
            "account_sid": self.s.account.account_sid,
            "sid": conference.sid,
            "friendly_name": conference.friendly_name,
            "status": conference.status,
            "region": conference.region,
            "date_created": payloads.rfc2822(conference.created),
            "uri": f"{self._ac_uri}/Conferences/{conference.sid}.json",
        }

    def participant_json(self, conference: Conference, call_sid: str) -> dict[str, Any]:
        participant = conference.participants[call_sid]
        return {
            "account_sid": self.s.account.account_sid,
            "conference_sid": conference.sid,
            "call_sid": call_sid,
            "label": participant.label,
            "muted": participant.muted,
            "hold": participant.hold,
            "end_conference_on_exit": participant.end_on_exit,
            "coaching": participant.coaching,
            "call_sid_to_coach": participant.call_sid_to_coach or None,
            # Twilio's participant statuses: queued connecting ringing connected complete failed.
            "status": "connected" if participant.status == "connected" else "complete",
            "uri": f"{self._ac_uri}/Conferences/{conference.sid}/Participants/{call_sid}.json",
        }

    def recording_json(self, recording: Recording) -> dict[str, Any]:
        return {
            "account_sid": self.s.account.account_sid,
            "sid": recording.sid,
            "call_sid": recording.call_sid or None,
            "conference_sid": recording.conference_sid or None,
            "status": recording.status,
            "channels": recording.channels,
            "duration": str(recording.duration),
            "source": recording.source,
            "start_time": payloads.rfc2822(recording.start),
            "date_created": payloads.rfc2822(recording.created),
            "media_url": self.s.recorder.recording_url(recording.sid),
            "uri": f"{self._ac_uri}/Recordings/{recording.sid}.json",
        }

    def conference_recording_json(self, recording: Recording) -> dict[str, Any]:
        """A Conference Recording resource: the fields Twilio's OpenAPI description names for
        it (no `media_url`, unlike a Recording).
        https://www.twilio.com/docs/voice/api/conference-recording-resource"""
        return {
            "account_sid": self.s.account.account_sid,
            "api_version": "2010-04-01",
            "call_sid": recording.call_sid or None,
            "conference_sid": recording.conference_sid,
            "date_created": payloads.rfc2822(recording.created),
            "date_updated": payloads.rfc2822(recording.created + recording.duration),
            "start_time": payloads.rfc2822(recording.start),
            "duration": str(recording.duration),
            "sid": recording.sid,
            "price": None,
            "price_unit": "USD",
            "status": recording.status,
            "channels": recording.channels,
            "source": recording.source,
            "error_code": recording.error_code,
            "encryption_details": None,
            "uri": (
                f"{self._ac_uri}/Conferences/{recording.conference_sid}"
                f"/Recordings/{recording.sid}.json"
            ),
        }

    @staticmethod
    def page(key: str, items: list[dict[str, Any]], url: str) -> RestReply:
        """One page of a list, as each API pages: TaskRouter with `meta`, the 2010-04-01 API
        with `uri`, `start`, `end` and `next_page_uri` beside the items (its List responses in
        Twilio's OpenAPI description)."""
        if url.startswith("https://taskrouter.twilio.com/"):
            return _json(
                {
                    key: items,
                    "meta": {
                        "key": key,
                        "page": 0,
                        "page_size": len(items),
                        "first_page_url": url,
                        "next_page_url": None,
                        "previous_page_url": None,
                        "url": url,
                    },
                }
            )
        return _json(
            {
                key: items,
                "page": 0,
                "page_size": len(items),
                "start": 0,
                "end": max(0, len(items) - 1),
                "uri": url,
                "first_page_uri": url,
                "next_page_uri": None,
                "previous_page_uri": None,
            }
        )

    # ---- TaskRouter ------------------------------------------------------------------------

    def tasks_list(self, m: re.Match[str], q: Mapping[str, str], f: Mapping[str, str]) -> RestReply:
        self._workspace(m)
        with self.s.lock:
            statuses = set(q.get("AssignmentStatus", "").split(",")) - {""}
            # A Task's attributes are "only displayed in FETCH action that returns a single
            # resource. Otherwise, it will be null" (the Task schema in Twilio's OpenAPI
            # description; https://www.twilio.com/docs/taskrouter/api/task#task-properties).
            items = [
                {**self.task_json(t), "attributes": None}
                for t in self.s.tasks.values()
                if not statuses or t.status in statuses
            ]
        return self.page("tasks", items, self._ws_url("Tasks"))

    # Callback fields the Event resource carries at its top level (snake_case); the others go
    # in `event_data`. https://www.twilio.com/docs/taskrouter/api/event
    _EVENT_TOP_LEVEL: ClassVar[dict[str, str]] = {
        "Sid": "sid",
        "EventType": "event_type",
        "AccountSid": "account_sid",
        "WorkspaceSid": "workspace_sid",
        "EventDescription": "description",
        "ResourceType": "resource_type",
        "ResourceSid": "resource_sid",
    }
    _EVENT_RESOURCES: ClassVar[dict[str, str]] = {
        "task": "Tasks",
        "worker": "Workers",
        "workflow": "Workflows",
    }
    _EVENT_FILTERS: ClassVar[dict[str, str]] = {
        "EventType": "EventType",
        "TaskSid": "TaskSid",
        "WorkerSid": "WorkerSid",
        "ReservationSid": "ReservationSid",
        "TaskQueueSid": "TaskQueueSid",
        "WorkflowSid": "WorkflowSid",
        "TaskChannel": "TaskChannelUniqueName",
        "Sid": "Sid",
    }

    def event_json(self, form: Mapping[str, str]) -> dict[str, Any]:
        """A logged event as the Event resource: the callback's common fields at the top level,
        the event's own fields in `event_data` under their snake_case names with the callback's
        string values, `workspace_name`/`workspace_sid` among them (Twilio's ListEvent example
        in twilio_taskrouter_v1.json)."""
        at_ms = int(form["TimestampMs"])
        top = {name: form.get(field) for field, name in self._EVENT_TOP_LEVEL.items()}
        data = {
            _snake(k): v
            for k, v in form.items()
            if k not in self._EVENT_TOP_LEVEL and k not in ("Timestamp", "TimestampMs")
        }
        data["workspace_sid"] = form["WorkspaceSid"]
        resource_type = form.get("ResourceType", "")
        collection = self._EVENT_RESOURCES.get(resource_type)
        if resource_type == "reservation":
            task_sid = form.get("TaskSid")
            resource_url = self._ws_url(f"Tasks/{task_sid}/Reservations/{top['resource_sid']}")
        elif collection:
            resource_url = self._ws_url(f"{collection}/{top['resource_sid']}")
        else:
            resource_url = self._ws_url("")[:-1]
        return {
            **top,
            "actor_sid": self.s.account.workspace_sid,
            "actor_type": "workspace",
            "actor_url": self._ws_url("")[:-1],
            "event_data": data,
            "event_date": _iso(at_ms // 1000),
            "event_date_ms": at_ms,
            "resource_url": resource_url,
            "source": "twilio",
            "source_ip_address": "127.0.0.1",
            "url": self._ws_url(f"Events/{form['Sid']}"),
        }

    def events_list(
        self, m: re.Match[str], q: Mapping[str, str], f: Mapping[str, str]
    ) -> RestReply:
        """ListEvent: events on or after StartDate (else the last `Minutes`, default 15) and
        on or before EndDate (else now), filtered by the sids given; pages of PageSize (at most
        1000) linked by `next_page_url` with a PageToken (the resource does not support `Page`).
        https://www.twilio.com/docs/taskrouter/api/event"""
        self._workspace(m)
        now_ms = int(self.s.now() * 1000)
        try:
            start_ms = (
                _parse_iso_ms(q["StartDate"])
                if "StartDate" in q
                else now_ms - int(q.get("Minutes", "15")) * 60_000
            )
            end_ms = _parse_iso_ms(q["EndDate"]) if "EndDate" in q else now_ms
            size = min(int(q.get("PageSize", "50")), 1000)
            offset = int(q.get("PageToken", "PT0").removeprefix("PT"))
        except ValueError as exc:
            raise RestError(400, 20001, f"invalid parameter: {exc}") from exc
        if size < 1:
            raise RestError(400, 20001, "PageSize must be at least 1")
        filters = {field: q[param] for param, field in self._EVENT_FILTERS.items() if q.get(param)}
        with self.s.lock:
            # The log is in time order (the virtual clock only moves on): bisect the window.
            # Twilio's dates are whole seconds, so EndDate covers its whole second.
            taskrouter = self.s.taskrouter
            first = bisect.bisect_left(taskrouter.event_times_ms, start_ms)
            last = bisect.bisect_right(taskrouter.event_times_ms, end_ms + 999)
            matched = [
                e
                for e in taskrouter.event_log[first:last]
                if all(e.get(k) == v for k, v in filters.items())
            ]
        page = [self.event_json(e) for e in matched[offset : offset + size]]
        base = {k: v for k, v in q.items() if k not in ("PageToken", "Page")}
        url = self._ws_url("Events") + "?" + urllib.parse.urlencode(base)
        more = offset + size < len(matched)
        next_url = (
            self._ws_url("Events")
            + "?"
            + urllib.parse.urlencode({**base, "PageToken": f"PT{offset + size}"})
            if more
            else None
        )
        return _json(
            {
                "events": page,
                "meta": {
                    "key": "events",
                    "page": offset // size,
                    "page_size": size,
                    "first_page_url": url,
                    "next_page_url": next_url,
                    "previous_page_url": None,
                    "url": url,
                },
            }
        )

    def task_create(
        self, m: re.Match[str], q: Mapping[str, str], f: Mapping[str, str]
    ) -> RestReply:
        self._workspace(m)
        if f.get("WorkflowSid", self.s.account.workflow_sid) != self.s.account.workflow_sid:
            raise RestError(400, 20001, "unknown WorkflowSid")
        try:
            attributes = json.loads(f.get("Attributes", "{}"))
        except json.JSONDecodeError as exc:
            raise RestError(400, 20001, "Attributes is not JSON") from exc
        timeout = int(f.get("Timeout", "86400"))
        if not 1 <= timeout <= TASK_TIMEOUT_MAX:
            # "Can be up to a maximum of 2 weeks (1,209,600 seconds)" (taskrouter/api/task).
            raise RestError(400, 20001, f"Timeout must be between 1 and {TASK_TIMEOUT_MAX}")
        task = self.s.taskrouter.create_task(
            attributes,
            priority=int(f.get("Priority", "0")),
            timeout=timeout,
            channel=f.get("TaskChannel", "default"),
        )
        with self.s.lock:
            return self._task_reply(task, 201)

    def task_fetch(self, m: re.Match[str], q: Mapping[str, str], f: Mapping[str, str]) -> RestReply:
        self._workspace(m)
        with self.s.lock:
            return self._task_reply(self.s.tasks[m.group("wt")])

    def _task_reply(self, task: Task, status: int = 200) -> RestReply:
        """The task with its version in the ETag header, as on every Task POST and GET."""
        return replace(_json(self.task_json(task), status), headers=(("ETag", task.etag()),))

    @staticmethod
    def _unless_changed(task: Task) -> None:
        """If-Match: the update or delete goes through only at the version the client read.
        https://www.twilio.com/docs/taskrouter/api/task#task-version"""
        expected = _request_headers.get({}).get("if-match")
        if expected and expected != task.etag():
            raise RestError(412, 20412, f"Task {task.sid} does not match the If-Match version")

    def task_update(
        self, m: re.Match[str], q: Mapping[str, str], f: Mapping[str, str]
    ) -> RestReply:
        self._workspace(m)
        sid = m.group("wt")
        with self.s.lock:
            task = self.s.tasks[sid]
            self._unless_changed(task)
            if "Attributes" in f:
                if task.status in {"completed", "canceled"}:
                    raise RestError(400, 20001, f"Task {sid} is already {task.status}")
                try:
                    attributes = json.loads(f["Attributes"])
                except json.JSONDecodeError as exc:
                    raise RestError(400, 20001, "Attributes is not JSON") from exc
                self.s.taskrouter.update_task_attributes(sid, attributes)
            status = f.get("AssignmentStatus")
            if status == "canceled":
                if task.status not in {"pending", "reserved"}:
                    raise RestError(
                        400, 20001, f"Cannot cancel task {sid}: it is not pending or reserved"
                    )
                self.s.taskrouter.cancel_task(sid, f.get("Reason", "canceled via API"))
            elif status == "completed":
                if task.status not in {"assigned", "wrapping"}:
                    raise RestError(400, 20001, f"Cannot complete task {sid}: {task.status}")
                self.s.taskrouter.complete_task(sid, f.get("Reason", ""))
            elif status == "wrapping":
                if task.status != "assigned":
                    raise RestError(400, 20001, f"Cannot wrap up task {sid}: {task.status}")
                self.s.taskrouter.wrap_task(sid)
            if "Priority" in f:
                task.priority = int(f["Priority"])
            return self._task_reply(task)

    def task_delete(
        self, m: re.Match[str], q: Mapping[str, str], f: Mapping[str, str]
    ) -> RestReply:
        self._workspace(m)
        with self.s.lock:
            task = self.s.tasks[m.group("wt")]
            self._unless_changed(task)
            task.status = "canceled"
        return RestReply(204, b"")

    def reservations_list(
        self, m: re.Match[str], q: Mapping[str, str], f: Mapping[str, str]
    ) -> RestReply:
        self._workspace(m)
        with self.s.lock:
            if m.groupdict().get("wt"):
                sids = self.s.tasks[m.group("wt")].reservations
            else:
                sids = [
                    r.sid for r in self.s.reservations.values() if r.worker_sid == m.group("wk")
                ]
            items = [self.reservation_json(self.s.reservations[r]) for r in sids]
        if q.get("ReservationStatus"):
            items = [i for i in items if i["reservation_status"] == q["ReservationStatus"]]
        return self.page("reservations", items, self._ws_url("Reservations"))

    def reservation_fetch(
        self, m: re.Match[str], q: Mapping[str, str], f: Mapping[str, str]
    ) -> RestReply:
        self._workspace(m)
        with self.s.lock:
            return _json(self.reservation_json(self.s.reservations[m.group("wr")]))

    def reservation_update(
        self, m: re.Match[str], q: Mapping[str, str], f: Mapping[str, str]
    ) -> RestReply:
        self._workspace(m)
        sid = m.group("wr")
        with self.s.lock:
            reservation = self.s.reservations[sid]
            status = f.get("ReservationStatus")
            instruction = f.get("Instruction")
            if (
                (status or instruction)
                and reservation.status != "pending"
                and status
                not in {
                    "completed",
                    "wrapping",
                }
            ):
                raise RestError(400, 20001, f"Reservation {sid} is not pending")
        if instruction == "conference":
            self.s.taskrouter.apply_instruction(
                sid,
                {
                    "instruction": "conference",
                    "to": f.get("To"),
                    "from": f.get("From"),
                    "timeout": int(f.get("Timeout", "60")),
                    "post_work_activity_sid": f.get("PostWorkActivitySid"),
                    "status_callback": f.get("StatusCallback"),
                    "status_callback_event": f.get("StatusCallbackEvent"),
                    "conference_status_callback": f.get("ConferenceStatusCallback"),
                    "conference_status_callback_event": f.get("ConferenceStatusCallbackEvent"),
                    "conference_record": f.get("ConferenceRecord"),
                    "recording_channels": f.get("RecordingChannels"),
                    "conference_recording_status_callback": f.get(
                        "ConferenceRecordingStatusCallback"
                    ),
                    "end_conference_on_customer_exit": _flag(f.get("EndConferenceOnCustomerExit")),
                    "end_conference_on_exit": _flag(f.get("EndConferenceOnExit")),
                    "region": f.get("Region", "us1"),
                },
            )
        elif instruction == "Call" or instruction == "call":
            self.s.taskrouter.apply_instruction(
                sid,
                {
                    "instruction": "call",
                    "to": f.get("CallTo"),
                    "from": f.get("CallFrom"),
                    "url": f.get("CallUrl"),
                    "status_callback_url": f.get("CallStatusCallbackUrl"),
                    "accept": _flag(f.get("CallAccept")),
                    "timeout": int(f.get("CallTimeout", "60")),
                },
            )
        elif status == "accepted":
            self.s.taskrouter.accept_reservation(sid)
        elif status == "rejected":
            self.s.taskrouter.reject_reservation(sid, f.get("WorkerActivitySid"))
        elif status == "completed":
            self.s.taskrouter.complete_task(reservation.task_sid)
        with self.s.lock:
            return _json(self.reservation_json(reservation))

    def workers_list(
        self, m: re.Match[str], q: Mapping[str, str], f: Mapping[str, str]
    ) -> RestReply:
        self._workspace(m)
        with self.s.lock:
            items = [self.worker_json(w) for w in self.s.workers.values()]
        if q.get("ActivityName"):
            items = [i for i in items if i["activity_name"] == q["ActivityName"]]
        if q.get("FriendlyName"):
            items = [i for i in items if i["friendly_name"] == q["FriendlyName"]]
        return self.page("workers", items, self._ws_url("Workers"))

    def worker_fetch(
        self, m: re.Match[str], q: Mapping[str, str], f: Mapping[str, str]
    ) -> RestReply:
        self._workspace(m)
        with self.s.lock:
            return _json(self.worker_json(self.s.workers[m.group("wk")]))

    def worker_update(
        self, m: re.Match[str], q: Mapping[str, str], f: Mapping[str, str]
    ) -> RestReply:
        self._workspace(m)
        sid = m.group("wk")
        if sid not in self.s.workers:
            raise KeyError(sid)
        if "Attributes" in f:
            try:
                self.s.taskrouter.set_worker_attributes(sid, json.loads(f["Attributes"]))
            except json.JSONDecodeError as exc:
                raise RestError(400, 20001, "Attributes is not JSON") from exc
        if "ActivitySid" in f:
            if f["ActivitySid"] not in self.s.activities:
                raise RestError(400, 20001, f"Activity {f['ActivitySid']} not found")
            with self.s.lock:
                worker = self.s.workers[sid]
                if f.get("RejectPendingReservations") == "true" and worker.reservation_sid:
                    self.s.taskrouter.reject_reservation(worker.reservation_sid)
            self.s.taskrouter.set_activity(sid, f["ActivitySid"])
        with self.s.lock:
            return _json(self.worker_json(self.s.workers[sid]))

    def activities_list(
        self, m: re.Match[str], q: Mapping[str, str], f: Mapping[str, str]
    ) -> RestReply:
        self._workspace(m)
        items = [
            {
                "account_sid": self.s.account.account_sid,
                "workspace_sid": self.s.account.workspace_sid,
                "sid": a.sid,
                "friendly_name": a.name,
                "available": a.available,
                "url": self._ws_url(f"Activities/{a.sid}"),
            }
            for a in self.s.activities.values()
        ]
        if m.groupdict().get("wa"):
            match = [i for i in items if i["sid"] == m.group("wa")]
            if not match:
                raise KeyError(m.group("wa"))
            return _json(match[0])
        return self.page("activities", items, self._ws_url("Activities"))

    def workflow_fetch(
        self, m: re.Match[str], q: Mapping[str, str], f: Mapping[str, str]
    ) -> RestReply:
        self._workspace(m)
        sid = m.groupdict().get("ww")
        item = {
            "account_sid": self.s.account.account_sid,
            "workspace_sid": self.s.account.workspace_sid,
            "sid": self.s.account.workflow_sid,
            "friendly_name": "contact-center",
            "configuration": json.dumps(self.s.account.workflow),
            "task_reservation_timeout": self.s.account.reservation_timeout,
            "assignment_callback_url": self.s.delivery.app_url(webhooks.TASKROUTER_ASSIGNMENT),
            "url": self._ws_url(f"Workflows/{self.s.account.workflow_sid}"),
        }
        if sid is None:
            return self.page("workflows", [item], self._ws_url("Workflows"))
        if sid != self.s.account.workflow_sid:
            raise KeyError(sid)
        if "Configuration" in f:
            self.s.account.workflow.clear()
            self.s.account.workflow.update(json.loads(f["Configuration"]))
        return _json(item)

    # ---- Voice -----------------------------------------------------------------------------

    def _account(self, m: re.Match[str]) -> None:
        if m.group("ac") != self.s.account.account_sid:
            raise RestError(404, 20404, "account not found")

    def calls_list(self, m: re.Match[str], q: Mapping[str, str], f: Mapping[str, str]) -> RestReply:
        self._account(m)
        with self.s.lock:
            items = [
                self.call_json(c)
                for c in self.s.calls.values()
                if not q.get("Status") or c.status == q["Status"]
            ]
        return self.page("calls", items, f"{self._ac_uri}/Calls.json")

    def call_fetch(self, m: re.Match[str], q: Mapping[str, str], f: Mapping[str, str]) -> RestReply:
        self._account(m)
        with self.s.lock:
            return _json(self.call_json(self.s.calls[m.group("ca")]))

    def call_update(
        self, m: re.Match[str], q: Mapping[str, str], f: Mapping[str, str]
    ) -> RestReply:
        self._account(m)
        sid = m.group("ca")
        with self.s.lock:
            if self.unavailable_call_updates > 0:
                self.unavailable_call_updates -= 1
                raise RestError(503, 20503, "Service Unavailable")
            call = self.s.calls[sid]
            if call.status not in {"queued", "ringing", "in-progress"} and (
                f.get("Url") or f.get("Twiml")
            ):
                raise RestError(400, 21220, "Call is not in-progress. Cannot redirect.")
        self.s.voice.update_call(
            sid, status=f.get("Status", ""), url=f.get("Url", ""), twiml=f.get("Twiml", "")
        )
        with self.s.lock:
            return _json(self.call_json(self.s.calls[sid]))

    def transcription_create(
        self, m: re.Match[str], q: Mapping[str, str], f: Mapping[str, str]
    ) -> RestReply:
        """Start real-time transcription on a call (ops/standin/live_transcription.py)."""
        from ops.standin.live_transcription import TranscriptionRefused

        self._account(m)
        try:
            session = self.s.live_transcription.start(m.group("ca"), dict(f))
        except TranscriptionRefused as exc:
            raise RestError(exc.status, exc.code, str(exc)) from exc
        with self.s.lock:
            return _json(self.s.live_transcription.resource(session))

    def call_create(
        self, m: re.Match[str], q: Mapping[str, str], f: Mapping[str, str]
    ) -> RestReply:
        self._account(m)
        if not f.get("To") or not (f.get("Url") or f.get("Twiml")):
            raise RestError(400, 21201, "To and Url (or Twiml) are required")
        call = self.s.voice.outbound_call(
            to=f["To"],
            from_=f.get("From", self.s.account.company_number),
            url=f.get("Url", ""),
            twiml=f.get("Twiml", ""),
            status_callback=f.get("StatusCallback", ""),
            status_events=f.get("StatusCallbackEvent", "completed"),
            timeout=float(f.get("Timeout", "60")),
        )
        with self.s.lock:
            return _json(self.call_json(call), 201)

    def conferences_list(
        self, m: re.Match[str], q: Mapping[str, str], f: Mapping[str, str]
    ) -> RestReply:
        self._account(m)
        with self.s.lock:
            items = [
                self.conference_json(c)
                for c in self.s.conferences.values()
                if (not q.get("FriendlyName") or c.friendly_name == q["FriendlyName"])
                and (not q.get("Status") or c.status == q["Status"])
            ]
        return self.page("conferences", items, f"{self._ac_uri}/Conferences.json")

    def conference_fetch(
        self, m: re.Match[str], q: Mapping[str, str], f: Mapping[str, str]
    ) -> RestReply:
        self._account(m)
        with self.s.lock:
            return _json(self.conference_json(self.s.conferences[m.group("cf")]))

    def conference_update(
        self, m: re.Match[str], q: Mapping[str, str], f: Mapping[str, str]
    ) -> RestReply:
        self._account(m)
        with self.s.lock:
            conference = self.s.conferences[m.group("cf")]
            if f.get("Status") == "completed":
                self.s.conferencing.end_conference(conference, "conference-ended-via-api")
            return _json(self.conference_json(conference))

    def participants_list(
        self, m: re.Match[str], q: Mapping[str, str], f: Mapping[str, str]
    ) -> RestReply:
        self._account(m)
        with self.s.lock:
            conference = self.s.conferences[m.group("cf")]
            items = [
                self.participant_json(conference, sid)
                for sid, p in conference.participants.items()
                if p.status == "connected"
            ]
        return self.page(
            "participants", items, f"{self._ac_uri}/Conferences/{m.group('cf')}/Participants.json"
        )

    def conference_recordings_list(
        self, m: re.Match[str], q: Mapping[str, str], f: Mapping[str, str]
    ) -> RestReply:
        """GET .../Conferences/{ConferenceSid}/Recordings.json: the conference's recordings
        (a conference Twilio does not know is a 404, an empty list one with no recording).
        https://www.twilio.com/docs/voice/api/conference-recording-resource#read-multiple-conferencerecording-resources"""
        self._account(m)
        cf = m.group("cf")
        with self.s.lock:
            if cf not in self.s.conferences:
                raise KeyError(cf)
            items = [self.conference_recording_json(r) for r in self.s.recorder.for_conference(cf)]
        return self.page("recordings", items, f"{self._ac_uri}/Conferences/{cf}/Recordings.json")

    def _participant(self, m: re.Match[str]) -> tuple[Conference, Participant]:
        """The participant named in the path by CallSid or by its label (percent-encoded).
        https://www.twilio.com/docs/voice/api/conference-participant-resource"""
        conference = self.s.conferences[m.group("cf")]
        return conference, self.s.conferencing.participant(
            conference, urllib.parse.unquote(m.group("ca"))
        )

    def participant_fetch(
        self, m: re.Match[str], q: Mapping[str, str], f: Mapping[str, str]
    ) -> RestReply:
        self._account(m)
        with self.s.lock:
            conference, participant = self._participant(m)
            return _json(self.participant_json(conference, participant.call_sid))

    def participant_update(
        self, m: re.Match[str], q: Mapping[str, str], f: Mapping[str, str]
    ) -> RestReply:
        self._account(m)
        with self.s.lock:
            conference, participant = self._participant(m)
            if participant.status != "connected":
                raise RestError(404, 20404, "participant not connected")
            # Strict: Coaching=true names the coached leg in the same request, as on create.
            coaching, coached = _flag(f.get("Coaching")), f.get("CallSidToCoach")
            refusal = self.s.conferencing.coaching_refusal(conference, coaching, coached)
            if refusal:
                raise RestError(400, 20001, refusal)
            self.s.conferencing.update_participant(
                conference,
                participant,
                _flag(f.get("Hold")),
                _flag(f.get("Muted")),
                coaching,
                coached,
            )
            if _flag(f.get("EndConferenceOnExit")) is not None:
                participant.end_on_exit = bool(_flag(f.get("EndConferenceOnExit")))
            return _json(self.participant_json(conference, participant.call_sid))

    def participant_delete(
        self, m: re.Match[str], q: Mapping[str, str], f: Mapping[str, str]
    ) -> RestReply:
        self._account(m)
        with self.s.lock:
            conference, participant = self._participant(m)
            if participant.status != "connected":
                raise RestError(404, 20404, "participant not connected")
            self.s.conferencing.leave(
                conference, self.s.calls[participant.call_sid], "participant_updated_via_api"
            )
        return RestReply(204, b"")

    def participant_create(
        self, m: re.Match[str], q: Mapping[str, str], f: Mapping[str, str]
    ) -> RestReply:
        self._account(m)
        if not f.get("To") or not f.get("From"):
            raise RestError(400, 21201, "To and From are required")
        cf = m.group("cf")
        if not re.fullmatch(rf"CF{_SID}", cf):
            cf = self.s.conferencing.by_name(urllib.parse.unquote(cf), dict(f)).sid
        coached = f.get("CallSidToCoach", "")
        # Coaching "defaults to `false` unless `call_sid_to_coach` is defined".
        coaching = _flag(f.get("Coaching"))
        coaching = bool(coached) if coaching is None else coaching
        with self.s.lock:
            if cf not in self.s.conferences:
                raise KeyError(cf)
            refusal = self.s.conferencing.coaching_refusal(
                self.s.conferences[cf], coaching, coached
            )
        if refusal:
            raise RestError(400, 20001, refusal)
        call = self.s.conferencing.add_participant(
            cf,
            to=f["To"],
            from_=f["From"],
            label=f.get("Label", ""),
            end_on_exit=bool(_flag(f.get("EndConferenceOnExit"))),
            status_callback=f.get("StatusCallback", ""),
            status_events=f.get("StatusCallbackEvent", "completed"),
            timeout=float(f.get("Timeout", "60")),
            muted=bool(_flag(f.get("Muted"))),
            coaching=coaching,
            call_sid_to_coach=coached if coaching else "",
        )
        with self.s.lock:
            conference = self.s.conferences[cf]
            return _json(
                {
                    "account_sid": self.s.account.account_sid,
                    "conference_sid": conference.sid,
                    "call_sid": call.sid,
                    "label": f.get("Label"),
                    "status": "queued",
                },
                201,
            )

    def recording_fetch(
        self, m: re.Match[str], q: Mapping[str, str], f: Mapping[str, str]
    ) -> RestReply:
        self._account(m)
        with self.s.lock:
            recording = self.s.recordings[m.group("re")]
            if recording.deleted:
                raise KeyError(recording.sid)
            return _json(self.recording_json(recording))

    def recording_media(
        self, m: re.Match[str], q: Mapping[str, str], f: Mapping[str, str]
    ) -> RestReply:
        """The media: WAV unless `.mp3` is asked for (served as WAV bytes: no encoder here)."""
        self._account(m)
        with self.s.lock:
            recording = self.s.recordings[m.group("re")]
            if recording.deleted:
                raise KeyError(recording.sid)
        data, channels = self.media(recording, q.get("RequestedChannels"))
        self.s.stats.count(f"RecordingMediaFetched:{channels}ch")
        return RestReply(200, data, "audio/x-wav")

    def recording_delete(
        self, m: re.Match[str], q: Mapping[str, str], f: Mapping[str, str]
    ) -> RestReply:
        self._account(m)
        with self.s.lock:
            self.s.recordings[m.group("re")].deleted = True
        self.s.stats.count("RecordingsDeleted")
        return RestReply(204, b"")


_SID = r"[0-9a-fA-F]{32}"
_WS = rf"/taskrouter/v1/Workspaces/(?P<ws>WS{_SID})"
_AC = rf"/api/2010-04-01/Accounts/(?P<ac>AC{_SID})"


def _r(method: str, pattern: str, handler: Handler) -> tuple[str, re.Pattern[str], Handler]:
    return method, re.compile(pattern), handler


_ROUTES: tuple[tuple[str, re.Pattern[str], Handler], ...] = (
    _r("GET", rf"{_WS}/Tasks", Rest.tasks_list),
    _r("POST", rf"{_WS}/Tasks", Rest.task_create),
    _r("GET", rf"{_WS}/Tasks/(?P<wt>WT{_SID})", Rest.task_fetch),
    _r("POST", rf"{_WS}/Tasks/(?P<wt>WT{_SID})", Rest.task_update),
    _r("DELETE", rf"{_WS}/Tasks/(?P<wt>WT{_SID})", Rest.task_delete),
    _r("GET", rf"{_WS}/Tasks/(?P<wt>WT{_SID})/Reservations", Rest.reservations_list),
    _r(
        "GET",
        rf"{_WS}/Tasks/(?P<wt>WT{_SID})/Reservations/(?P<wr>WR{_SID})",
        Rest.reservation_fetch,
    ),
    _r(
        "POST",
        rf"{_WS}/Tasks/(?P<wt>WT{_SID})/Reservations/(?P<wr>WR{_SID})",
        Rest.reservation_update,
    ),
    _r("GET", rf"{_WS}/Events", Rest.events_list),
    _r("GET", rf"{_WS}/Workers", Rest.workers_list),
    _r("GET", rf"{_WS}/Workers/(?P<wk>WK{_SID})", Rest.worker_fetch),
    _r("POST", rf"{_WS}/Workers/(?P<wk>WK{_SID})", Rest.worker_update),
    _r("GET", rf"{_WS}/Workers/(?P<wk>WK{_SID})/Reservations", Rest.reservations_list),
    _r(
        "GET",
        rf"{_WS}/Workers/(?P<wk>WK{_SID})/Reservations/(?P<wr>WR{_SID})",
        Rest.reservation_fetch,
    ),
    _r(
        "POST",
        rf"{_WS}/Workers/(?P<wk>WK{_SID})/Reservations/(?P<wr>WR{_SID})",
        Rest.reservation_update,
    ),
    _r("GET", rf"{_WS}/Activities", Rest.activities_list),
    _r("GET", rf"{_WS}/Activities/(?P<wa>WA{_SID})", Rest.activities_list),
    _r("GET", rf"{_WS}/Workflows", Rest.workflow_fetch),
    _r("GET", rf"{_WS}/Workflows/(?P<ww>WW{_SID})", Rest.workflow_fetch),
    _r("POST", rf"{_WS}/Workflows/(?P<ww>WW{_SID})", Rest.workflow_fetch),
    _r("GET", rf"{_AC}/Calls\.json", Rest.calls_list),
    _r("POST", rf"{_AC}/Calls\.json", Rest.call_create),
    _r("GET", rf"{_AC}/Calls/(?P<ca>CA{_SID})\.json", Rest.call_fetch),
    _r("POST", rf"{_AC}/Calls/(?P<ca>CA{_SID})\.json", Rest.call_update),
    _r(
        "POST",
        rf"{_AC}/Calls/(?P<ca>CA{_SID})/Transcriptions\.json",
        Rest.transcription_create,
    ),
    _r("GET", rf"{_AC}/Conferences\.json", Rest.conferences_list),
    _r("GET", rf"{_AC}/Conferences/(?P<cf>CF{_SID})\.json", Rest.conference_fetch),
    _r("POST", rf"{_AC}/Conferences/(?P<cf>CF{_SID})\.json", Rest.conference_update),
    _r("GET", rf"{_AC}/Conferences/(?P<cf>CF{_SID})/Participants\.json", Rest.participants_list),
    _r(
        "GET",
        rf"{_AC}/Conferences/(?P<cf>CF{_SID})/Recordings\.json",
        Rest.conference_recordings_list,
    ),
    _r("POST", rf"{_AC}/Conferences/(?P<cf>CF{_SID})/Participants\.json", Rest.participant_create),
    # The conference by friendly name (created if there is none), for adding a participant.
    _r("POST", rf"{_AC}/Conferences/(?P<cf>[^/]+?)/Participants\.json", Rest.participant_create),
    _r(
        "GET",
        rf"{_AC}/Conferences/(?P<cf>CF{_SID})/Participants/(?P<ca>[^/]+?)\.json",
        Rest.participant_fetch,
    ),
    _r(
        "POST",
        rf"{_AC}/Conferences/(?P<cf>CF{_SID})/Participants/(?P<ca>[^/]+?)\.json",
        Rest.participant_update,
    ),
    _r(
        "DELETE",
        rf"{_AC}/Conferences/(?P<cf>CF{_SID})/Participants/(?P<ca>[^/]+?)\.json",
        Rest.participant_delete,
    ),
    _r("GET", rf"{_AC}/Recordings/(?P<re>RE{_SID})\.json", Rest.recording_fetch),
    _r("DELETE", rf"{_AC}/Recordings/(?P<re>RE{_SID})\.json", Rest.recording_delete),
    _r("DELETE", rf"{_AC}/Recordings/(?P<re>RE{_SID})", Rest.recording_delete),
    _r("GET", rf"{_AC}/Recordings/(?P<re>RE{_SID})(?:\.wav|\.mp3)?", Rest.recording_media),
)


def _snake(name: str) -> str:
    """`WorkerTimeInPreviousActivityMs` -> `worker_time_in_previous_activity_ms`."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _iso(epoch_s: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_iso_ms(text: str) -> int:
    """An ISO 8601 date-time (`Z` or an offset; a date alone is midnight UTC) -> epoch ms."""
    from datetime import UTC, datetime

    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)
