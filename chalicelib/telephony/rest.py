"""The one door to Twilio's REST API.

Everything the app asks of Twilio goes through TwilioGateway, built on twilio's own `Client`
with an injectable `twilio.http.HttpClient`: tests pass a recording fake, local runs a client
that sends requests to the stand-in instead of api.twilio.com. twilio's REST package is
imported lazily: it is large, and the incoming-call path never needs it (cold starts).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from chalicelib.platform.errors import NotFound, TelephonyUnavailable


class RecordingNotFound(NotFound):
    """Twilio does not know the recording (never existed, or already deleted)."""


if TYPE_CHECKING:
    from twilio.http import HttpClient
    from twilio.rest import Client

    from chalicelib.platform.settings import TwilioCredentials
    from chalicelib.telephony.tasks import TaskSnapshot


def rebased_http_client(base_url: str, timeout: float = 5.0) -> HttpClient:
    """An HttpClient sending `https://<product>.twilio.com/<path>` to `<base_url>/<product>/<path>`.

    Only for local runs against the Twilio stand-in; production uses twilio's default client.
    """
    from twilio.http.http_client import TwilioHttpClient

    class _Rebased(TwilioHttpClient):
        def request(self, method: str, uri: str, *args: Any, **kwargs: Any) -> Any:
            parts = urlsplit(uri)
            product = parts.netloc.split(".")[0]
            uri = f"{base_url.rstrip('/')}/{product}{parts.path}"
            return super().request(method, uri, *args, **kwargs)

    return _Rebased(timeout=timeout, request_hooks=binary_safe_hooks())


def binary_safe_hooks() -> dict[str, list[Any]]:
    """requests hooks that keep audio bodies intact through twilio's text-only Response.

    twilio's HttpClient hands back `response.text`; for audio that would be a lossy guess at a
    character set. Decoding audio as latin-1 maps every byte to one character, so
    `text.encode("latin-1")` gives the exact bytes back (see TwilioGateway.fetch_recording_media).
    """

    def latin1_for_media(response: Any, *args: Any, **kwargs: Any) -> Any:
        content_type = response.headers.get("Content-Type", "")
        if content_type.startswith(("audio/", "application/octet-stream")):
            response.encoding = "latin-1"
        return response

    return {"response": [latin1_for_media]}


def default_http_client(timeout: float = 10.0) -> HttpClient:
    from twilio.http.http_client import TwilioHttpClient

    return TwilioHttpClient(timeout=timeout, request_hooks=binary_safe_hooks())


class TwilioGateway:
    def __init__(
        self,
        credentials: TwilioCredentials,
        workspace_sid: str,
        http_client: HttpClient | None = None,
    ) -> None:
        self._credentials = credentials
        self._workspace_sid = workspace_sid
        self._http_client = http_client or default_http_client()
        self._client: Client | None = None

    @property
    def client(self) -> Client:
        if self._client is None:
            from twilio.rest import Client

            # On a REST key when the stage has one: the key SID is the Basic auth user, the
            # requests still name the account (https://www.twilio.com/docs/iam/api-keys).
            user, password = self._credentials.rest_auth()
            self._client = Client(
                user,
                password,
                account_sid=self._credentials.account_sid,
                http_client=self._http_client,
            )
        return self._client

    def _workspace(self) -> Any:
        return self.client.taskrouter.v1.workspaces(self._workspace_sid)

    def update_task_attributes(self, task_sid: str, attributes: dict[str, Any]) -> None:
        self._call(
            lambda: (
                self._workspace()
                .tasks(task_sid)
                .update(attributes=json.dumps(attributes, ensure_ascii=False, sort_keys=True))
            ),
            f"update task {task_sid}",
        )

    def fetch_task_attributes(self, task_sid: str) -> tuple[str, dict[str, Any]]:
        """The task's assignment status and attributes."""
        task = self._call(
            lambda: self._workspace().tasks(task_sid).fetch(), f"fetch task {task_sid}"
        )
        return str(task.assignment_status), json.loads(task.attributes or "{}")

    def update_worker_activity(
        self, worker_sid: str, activity_sid: str, reject_pending: bool = False
    ) -> None:
        """`reject_pending` is only valid towards an unavailable activity (Twilio's rule)."""
        update: dict[str, Any] = {"activity_sid": activity_sid}
        if reject_pending:
            update["reject_pending_reservations"] = True
        self._call(
            lambda: self._workspace().workers(worker_sid).update(**update),
            f"update worker {worker_sid}",
        )

    def tasks_wrapping(self) -> list[tuple[str, int]]:
        """Every task in wrapping, as (task sid, epoch ms of its last change); pages of 1000."""
        tasks = self._call(
            lambda: self._workspace().tasks.list(assignment_status=["wrapping"], page_size=1000),
            "list wrapping tasks",
        )
        # 0 when the time is missing or not ISO 8601 (the library then leaves it a string).
        return [
            (str(t.sid), int(t.date_updated.timestamp() * 1000) if _is_time(t.date_updated) else 0)
            for t in tasks
        ]

    def taskrouter_events(self, start_ms: int, end_ms: int) -> list[dict[str, str]]:
        """TaskRouter's events from `start_ms` to `end_ms`, each as its EventCallbackUrl form.

        GET /v1/Workspaces/{WorkspaceSid}/Events with StartDate and EndDate (ISO 8601, whole
        seconds: the window is widened to them), pages of 1000 followed by `next_page_url`
        (never the `Page` parameter, which the resource does not support). TaskRouter keeps
        events for 30 days. https://www.twilio.com/docs/taskrouter/api/event
        """
        from datetime import UTC, datetime

        start = datetime.fromtimestamp(start_ms // 1000, UTC)
        end = datetime.fromtimestamp(-(-end_ms // 1000), UTC)
        events = self._call(
            lambda: self._workspace().events.list(start_date=start, end_date=end, page_size=1000),
            "list taskrouter events",
        )
        return [event_callback_form(event) for event in events]

    def worker_activities(self) -> dict[str, str]:
        """Every worker of the workspace -> its current activity sid (pages of 1000)."""
        workers = self._call(lambda: self._workspace().workers.list(page_size=1000), "list workers")
        return {str(w.sid): str(w.activity_sid) for w in workers}

    def _recording_url(self, recording_sid: str, extension: str) -> str:
        return (
            f"https://api.twilio.com/2010-04-01/Accounts/{self._credentials.account_sid}"
            f"/Recordings/{recording_sid}.{extension}"
        )

    def fetch_recording_media(
        self, recording_sid: str, channels: int, timeout: float = 120.0
    ) -> bytes:
        """The recording as WAV bytes. `channels=2` asks for both channels: conference
        recordings download mono unless `RequestedChannels=2` is given, and a mono recording
        cannot be asked for two (warning 16113).
        https://www.twilio.com/docs/voice/api/recording#fetch-a-recording-media-file
        """
        params = {"RequestedChannels": "2"} if channels == 2 else None
        what = f"fetch recording {recording_sid} media"
        response = self._call(
            lambda: self.client.request(
                "GET",
                self._recording_url(recording_sid, "wav"),
                params=params,
                headers={"Accept": "audio/wav"},
                timeout=timeout,
                # Media may be served by a redirect; requests drops our credentials for it.
                allow_redirects=True,
            ),
            what,
        )
        if response.status_code == 404:
            raise RecordingNotFound(f"{what}: Twilio has no such recording (404)")
        if response.status_code != 200:
            raise TelephonyUnavailable(
                f"{what} failed: HTTP {response.status_code}", status=response.status_code
            )
        content = response.content
        return content if isinstance(content, bytes) else str(content).encode("latin-1")

    def delete_recording(self, recording_sid: str) -> bool:
        """Delete Twilio's copy; False if it was already gone."""
        from twilio.base.exceptions import TwilioRestException

        try:
            return bool(self.client.recordings(recording_sid).delete())
        except TwilioRestException as exc:
            if exc.status == 404:
                return False
            raise _unavailable(f"delete recording {recording_sid} failed: {exc}", exc) from exc
        except _unreachable() as exc:
            raise _unavailable(f"delete recording {recording_sid} failed: {exc}", exc) from exc

    # --- escalation (issue 4) ---
    def fetch_task(self, task_sid: str) -> TaskSnapshot:
        """The task's status, attributes and version (ETag) for a conditional update; a task
        TaskRouter no longer has (deleted ~15 min after it ended) comes back as `deleted`."""
        from twilio.base.exceptions import TwilioRestException

        from chalicelib.telephony.tasks import TaskSnapshot

        try:
            response = self._workspace().tasks(task_sid).fetch_with_http_info()
        except TwilioRestException as exc:
            if exc.status == 404:
                return TaskSnapshot(task_sid=task_sid, status="deleted", attributes={})
            raise _unavailable(f"fetch task {task_sid} failed: {exc}", exc) from exc
        except _unreachable() as exc:
            raise _unavailable(f"fetch task {task_sid} failed: {exc}", exc) from exc
        task = response.data
        etag = {k.lower(): v for k, v in (response.headers or {}).items()}.get("etag", "")
        return TaskSnapshot(
            task_sid=task_sid,
            status=str(task.assignment_status),
            attributes=json.loads(task.attributes or "{}"),
            version=str(etag),
        )

    def update_task_if_unchanged(
        self, task_sid: str, attributes: dict[str, Any], version: str
    ) -> None:
        """Write the attributes only if the task is still at `version` (If-Match); raise
        TaskChanged if it moved on meanwhile (e.g. accepted).
        https://www.twilio.com/docs/taskrouter/api/task#task-version"""
        from twilio.base.exceptions import TwilioRestException

        from chalicelib.platform.errors import TaskChanged

        encoded = json.dumps(attributes, ensure_ascii=False, sort_keys=True)
        try:
            self._workspace().tasks(task_sid).update(
                attributes=encoded, **({"if_match": version} if version else {})
            )
        except TwilioRestException as exc:
            if exc.status == 412:
                raise TaskChanged(f"task {task_sid} changed since version {version}") from exc
            raise _unavailable(f"update task {task_sid} failed: {exc}", exc) from exc
        except _unreachable() as exc:
            raise _unavailable(f"update task {task_sid} failed: {exc}", exc) from exc

    def create_task(
        self, workflow_sid: str, attributes: dict[str, Any], priority: int, timeout: int
    ) -> str:
        """A task on the voice channel (so it waits for an agent's call capacity); its sid."""
        task = self._call(
            lambda: self._workspace().tasks.create(
                workflow_sid=workflow_sid,
                attributes=json.dumps(attributes, ensure_ascii=False, sort_keys=True),
                priority=priority,
                timeout=timeout,
                task_channel="voice",
            ),
            "create task",
        )
        return str(task.sid)

    def redirect_call(self, call_sid: str, url: str) -> None:
        """Take a live call wherever it is (e.g. a queue) to new TwiML at `url`.
        https://www.twilio.com/docs/voice/api/call-resource#update-a-call-resource"""
        self._call(
            lambda: self.client.calls(call_sid).update(url=url, method="POST"),
            f"redirect call {call_sid}",
        )

    def dial_customer(self, conference: str, **params: Any) -> str:
        """Ring the customer into the conference named `conference` (created by Twilio if it
        does not exist yet: the path takes a conference sid or friendly name, error 16003);
        the customer's CallSid. https://www.twilio.com/docs/voice/api/conference-participant-resource"""
        participant = self._call(
            lambda: self.client.conferences(conference).participants.create(**params),
            "add customer participant",
        )
        return str(participant.call_sid)

    def call_status(self, call_sid: str) -> str:
        """A call's status now (queued, ringing, in-progress, completed, busy, ...)."""
        call = self._call(lambda: self.client.calls(call_sid).fetch(), f"fetch call {call_sid}")
        return str(call.status or "")

    def cancel_call(self, call_sid: str) -> bool:
        """Stop a call that still rings (`Status=canceled` only acts on a queued or ringing
        call); False if Twilio no longer knows it as live.
        https://www.twilio.com/docs/voice/api/call-resource#update-a-call-resource"""
        from twilio.base.exceptions import TwilioRestException

        try:
            self._call(
                lambda: self.client.calls(call_sid).update(status="canceled"),
                f"cancel call {call_sid}",
            )
        except TelephonyUnavailable as exc:
            if isinstance(exc.__cause__, TwilioRestException) and exc.__cause__.status in (
                400,
                404,
            ):
                return False
            raise
        return True

    def participant_call_sid(self, conference_sid: str, label: str) -> str | None:
        """The CallSid of the conference's participant labelled `label`; None if there is none
        (Twilio lists only participants connecting or connected, and 404s the rest)."""
        from twilio.base.exceptions import TwilioRestException

        try:
            participant = self._call(
                lambda: self.client.conferences(conference_sid).participants(label).fetch(),
                f"fetch participant of {conference_sid}",
            )
        except TelephonyUnavailable as exc:
            if isinstance(exc.__cause__, TwilioRestException) and exc.__cause__.status == 404:
                return None
            raise
        return str(participant.call_sid)

    def live_conference_sid(self, friendly_name: str) -> str | None:
        """The in-progress conference named `friendly_name`, if any."""
        conferences = self._call(
            lambda: self.client.conferences.list(
                friendly_name=friendly_name, status="in-progress", limit=1
            ),
            "list conferences",
        )
        return str(conferences[0].sid) if conferences else None

    def start_transcription(
        self, call_sid: str, name: str, status_callback_url: str, language_code: str
    ) -> str:
        """Start Twilio Real-Time Transcription on a call in progress, both tracks, final
        results only; the Transcription's sid (GT...). Parameters as the Calls Transcriptions
        subresource documents them (https://www.twilio.com/docs/voice/api/realtime-transcription-resource,
        and `CreateRealtimeTranscriptionRequest` in Twilio's OpenAPI description): `Track`
        inbound_track | outbound_track | both_tracks, `StatusCallbackUrl` (absolute),
        `StatusCallbackMethod`, `LanguageCode` (BCP-47), `PartialResults`. `Name` lets the
        transcription be stopped by name (UpdateRealtimeTranscription, Sid or name)."""
        transcription = self._call(
            lambda: self.client.calls(call_sid).transcriptions.create(
                name=name,
                track="both_tracks",
                status_callback_url=status_callback_url,
                status_callback_method="POST",
                language_code=language_code,
                partial_results=False,
            ),
            f"start transcription on {call_sid}",
        )
        return str(transcription.sid)

    # --- softphone call control (issue 7) ---
    def accepted_task_sids(self, worker_sid: str) -> list[str]:
        """Tasks the worker holds right now (accepted reservations), newest first."""
        reservations = self._call(
            lambda: (
                self._workspace()
                .workers(worker_sid)
                .reservations.list(reservation_status="accepted", limit=20)
            ),
            f"list reservations of {worker_sid}",
        )
        return [str(r.task_sid) for r in reservations]

    def conference_name(self, conference_sid: str) -> str:
        conference = self._call(
            lambda: self.client.conferences(conference_sid).fetch(),
            f"fetch conference {conference_sid}",
        )
        return str(conference.friendly_name)

    def update_participant(self, conference_sid: str, participant: str, **changes: Any) -> None:
        """Hold, resume or mute one participant (`participant`: its CallSid or label).
        https://www.twilio.com/docs/voice/api/conference-participant-resource"""
        self._call(
            lambda: (
                self.client.conferences(conference_sid).participants(participant).update(**changes)
            ),
            f"update participant of {conference_sid}",
        )

    def join_supervisor(
        self, conference_sid: str, identity: str, label: str, caller_id: str, **mode: Any
    ) -> str:
        """Ring a supervisor's softphone (`identity`, client:<id>) into a live conference as a
        participant labelled `label`, muted or coaching as `mode` says; the new leg's CallSid.

        `beep=false`: the join beep (default `true`) would tell the customer someone joined.
        `from_` must be a number of the account or a client identifier.
        https://www.twilio.com/docs/voice/api/conference-participant-resource#create-a-participant
        """
        participant = self._call(
            lambda: self.client.conferences(conference_sid).participants.create(
                from_=caller_id,
                to=identity,
                label=label,
                beep="false",
                end_conference_on_exit=False,
                **mode,
            ),
            f"join supervisor to {conference_sid}",
        )
        return str(participant.call_sid)

    def remove_participant(self, conference_sid: str, participant: str) -> bool:
        """Take a participant out of the conference; False if they had already left."""
        from twilio.base.exceptions import TwilioRestException

        try:
            return bool(
                self._call(
                    lambda: (
                        self.client.conferences(conference_sid).participants(participant).delete()
                    ),
                    f"remove participant of {conference_sid}",
                )
            )
        except TelephonyUnavailable as exc:
            if isinstance(exc.__cause__, TwilioRestException) and exc.__cause__.status == 404:
                return False
            raise

    def end_conference(self, conference_sid: str) -> None:
        self._call(
            lambda: self.client.conferences(conference_sid).update(status="completed"),
            f"end conference {conference_sid}",
        )

    def complete_task(self, task_sid: str, reason: str) -> None:
        self._call(
            lambda: (
                self._workspace()
                .tasks(task_sid)
                .update(assignment_status="completed", reason=reason)
            ),
            f"complete task {task_sid}",
        )

    def pending_reservation(self, worker_sid: str) -> tuple[str, str] | None:
        """The reservation ringing the worker now, as (reservation sid, task sid); None if
        none. One List request (a voice worker has at most one pending reservation)."""
        reservations = self._call(
            lambda: (
                self._workspace()
                .workers(worker_sid)
                .reservations.list(reservation_status="pending", limit=1)
            ),
            f"list pending reservations of {worker_sid}",
        )
        return next(((str(r.sid), str(r.task_sid)) for r in reservations), None)

    def task_worker_names(self, task_sid: str) -> list[str]:
        """Who holds the task: the friendly names (our agent ids) of its accepted reservations."""
        reservations = self._call(
            lambda: (
                self._workspace()
                .tasks(task_sid)
                .reservations.list(reservation_status="accepted", limit=5)
            ),
            f"list reservations of task {task_sid}",
        )
        return [str(r.worker_name) for r in reservations if r.worker_name]

    def cancel_task(self, task_sid: str, reason: str) -> None:
        """Withdraw a task nobody has accepted (pending or reserved): its reservations end."""
        self._call(
            lambda: (
                self._workspace()
                .tasks(task_sid)
                .update(assignment_status="canceled", reason=reason)
            ),
            f"cancel task {task_sid}",
        )

    def fetch_call_price(self, call_sid: str) -> tuple[str | None, str]:
        """A call leg's price and currency; None until Twilio has rated the call (a while after
        it ends). https://www.twilio.com/docs/voice/api/call-resource#call-properties"""
        call = self._call(lambda: self.client.calls(call_sid).fetch(), f"fetch call {call_sid}")
        price = call.price
        return (None if price in (None, "") else str(price)), str(call.price_unit or "")

    def conference_recordings(self, conference_sid: str) -> list[dict[str, str]]:
        """The recordings Twilio made of a conference, each as the fields of its status
        callback (RecordingSid, RecordingStatus, ErrorCode, RecordingDuration, ...).

        GET /2010-04-01/Accounts/{AccountSid}/Conferences/{ConferenceSid}/Recordings.json;
        statuses in-progress, paused, stopped, processing, completed, absent.
        https://www.twilio.com/docs/voice/api/conference-recording-resource
        """
        from email.utils import format_datetime

        recordings = self._call(
            lambda: self.client.conferences(conference_sid).recordings.list(page_size=50),
            f"list recordings of conference {conference_sid}",
        )
        forms = []
        for r in recordings:
            started = r.start_time if _is_time(r.start_time) else None
            form = {
                "AccountSid": str(r.account_sid or self._credentials.account_sid),
                "ConferenceSid": str(r.conference_sid or conference_sid),
                "RecordingSid": str(r.sid),
                "RecordingStatus": str(r.status or ""),
                "ErrorCode": str(r.error_code if r.error_code is not None else 0),
                "RecordingDuration": str(r.duration or 0),
                "RecordingChannels": str(r.channels or 1),
                "RecordingSource": str(r.source or ""),
                "RecordingUrl": (
                    f"https://api.twilio.com/2010-04-01/Accounts/{self._credentials.account_sid}"
                    f"/Recordings/{r.sid}"
                ),
            }
            if started is not None:
                form["RecordingStartTime"] = format_datetime(started, usegmt=True)
            forms.append(form)
        return forms

    def wrap_task(self, task_sid: str, reason: str) -> bool:
        """Move an assigned task to wrapping; False if it was no longer assigned (400) or is
        deleted (404): nothing to do, do not retry."""
        return self._move_task(task_sid, "wrapping", reason)

    def finish_task(self, task_sid: str, reason: str) -> bool:
        """Complete a task that is still assigned or wrapping; False if it had already ended.

        Twilio answers 400 for a task no longer assigned or wrapping (completed, canceled) and
        404 once it is deleted (about 15 minutes after it ended): both mean there is nothing
        left to complete, so the caller must not retry them.
        https://www.twilio.com/docs/taskrouter/api/task#update-a-task-resource
        """
        return self._move_task(task_sid, "completed", reason)

    def _move_task(self, task_sid: str, status: str, reason: str) -> bool:
        """Set the task's assignment status; False when Twilio says it cannot (400) or the task
        is gone (404), which no retry changes."""
        from twilio.base.exceptions import TwilioRestException

        try:
            self._call(
                lambda: (
                    self._workspace()
                    .tasks(task_sid)
                    .update(assignment_status=status, reason=reason)
                ),
                f"set task {task_sid} {status}",
            )
        except TelephonyUnavailable as exc:
            cause = exc.__cause__
            if isinstance(cause, TwilioRestException) and cause.status in (400, 404):
                return False
            raise
        return True

    @staticmethod
    def _call(operation: Any, what: str) -> Any:
        try:
            return operation()
        except _unreachable() as exc:
            raise _unavailable(f"{what} failed: {exc}", exc) from exc


def _unavailable(message: str, exc: Exception) -> TelephonyUnavailable:
    """TelephonyUnavailable carrying the status Twilio answered with (TwilioRestException's
    `status`), or none when it did not answer."""
    status = getattr(exc, "status", None)
    return TelephonyUnavailable(message, status=status if isinstance(status, int) else None)


def _unreachable() -> tuple[type[Exception], ...]:
    """What Twilio being unreachable or refusing raises: twilio's own errors, and the requests
    library's (a refused connection, a timeout, a reset) that twilio's HTTP client lets through
    unwrapped. Both become TelephonyUnavailable, which the escalation state machine retries
    (infra/escalation.asl.json) and the API answers with a 503."""
    from requests.exceptions import RequestException
    from twilio.base.exceptions import TwilioException

    return (TwilioException, RequestException)


def _is_time(value: Any) -> bool:
    from datetime import datetime

    return isinstance(value, datetime)


# The callback's fields that the Event resource carries at its top level; every other field
# of the callback is in the resource's `event_data`, under its snake_case name.
_EVENT_TOP_LEVEL = {
    "Sid": "sid",
    "EventType": "event_type",
    "AccountSid": "account_sid",
    "WorkspaceSid": "workspace_sid",
    "EventDescription": "description",
    "ResourceType": "resource_type",
    "ResourceSid": "resource_sid",
}


def _camel(name: str) -> str:
    """`worker_time_in_previous_activity_ms` -> `WorkerTimeInPreviousActivityMs`."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def _form_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else str(value)


def event_callback_form(resource: Any) -> dict[str, str]:
    """An Event resource (twilio's EventInstance, or its JSON) as the EventCallbackUrl form.

    The Event resource (https://www.twilio.com/docs/taskrouter/api/event) has the callback's
    common fields at its top level in snake_case (`sid`, `event_type`, `resource_sid`...),
    the time as `event_date` (ISO 8601) and `event_date_ms`, and the event's own fields in
    `event_data`, documented only as "Data about the event. For more information, see Event
    types" (the Event types are the callback's fields,
    https://www.twilio.com/docs/taskrouter/api/event/reference). Twilio's own example in its
    OpenAPI description (twilio_taskrouter_v1.json, ListEvent) shows them as the callback's
    names in snake_case with string values (`worker_activity_name`, `worker_attributes` as a
    JSON string, `worker_time_in_previous_activity_ms`), and that is the mapping here: each
    `event_data` key back to its CamelCase form name, JSON kept as JSON text.

    Not carried by the resource: `Timestamp` and `TimestampMs` are the event's time, which is
    `event_date_ms` (taken for both); `WorkspaceName` is in `event_data` in Twilio's example.
    Attributes of tasks older than 30 days are redacted (the ListEvent `StartDate`
    description), so only a recent window can be read back into a conversation.
    """
    data = _field(resource, "event_data") or {}
    form = {_camel(str(key)): _form_value(value) for key, value in dict(data).items()}
    for form_name, resource_name in _EVENT_TOP_LEVEL.items():
        value = _field(resource, resource_name)
        if value not in (None, ""):
            form[form_name] = _form_value(value)
    form["ResourceType"] = form.get("ResourceType", "").lower()
    at_ms = _field(resource, "event_date_ms")
    if at_ms in (None, ""):
        date = _field(resource, "event_date")
        if isinstance(date, str):
            from datetime import datetime

            date = datetime.fromisoformat(date.replace("Z", "+00:00"))
        at_ms = int(date.timestamp() * 1000) if _is_time(date) else 0
    form["TimestampMs"] = str(int(at_ms))
    form["Timestamp"] = str(int(at_ms) // 1000)
    return form


def _field(resource: Any, name: str) -> Any:
    if isinstance(resource, dict):
        return resource.get(name)
    return getattr(resource, name, None)
