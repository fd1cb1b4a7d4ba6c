"""Amazon Transcribe's side of a rehearsal: when the app starts a job on a recording, a while
later the job's channel-identified JSON lands where the job said, and EventBridge delivers the
"Transcribe Job State Change" event to the app's rule.

moto records the job but writes no transcript and sends no event, so without this the
transcript step never ran in a rehearsal. The words are not speech recognition: each party
says a line naming themselves (the caller's call sid, the agent's id), alternately, on the
channel the stand-in's conference put them on (channel 1 is whoever joined first). The check
then asks whether the app's speaker turns give each line to the right speaker.

Output format: https://docs.aws.amazon.com/transcribe/latest/dg/channel-id-output-batch.html
(`results.channel_labels.channels[].items[]`, times as strings, `type` pronunciation or
punctuation). OutputKey: a key ending in `.json` is the file; any other key is a folder that
gets `<job name>.json`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ops.standin.clock import Scheduler

# Virtual seconds from StartTranscriptionJob to the finished event (assumption: Transcribe
# takes minutes on a call-length file; the app must not depend on how many).
JOB_SECONDS = 120.0
_RECORDING_SID = re.compile(r"RE[0-9a-fA-F]{32}")
_REQUEST = "standin.transcribe.request"


@dataclass(frozen=True)
class Line:
    """One utterance: who said it, on which channel (`ch_0` is channel 1), and the word that
    names them."""

    speaker: str  # "customer" | "agent"
    channel_label: str
    marker: str
    start: float


def script(first_joined: str, caller_marker: str, agent_marker: str) -> list[Line]:
    """Four lines, caller and agent in turn, 3 s apart; `first_joined` ("customer" or "agent")
    is on ch_0."""
    channel = {
        "customer": "ch_0" if first_joined == "customer" else "ch_1",
        "agent": "ch_0" if first_joined == "agent" else "ch_1",
    }
    lines = []
    for n, speaker in enumerate(("customer", "agent", "customer", "agent")):
        marker = caller_marker if speaker == "customer" else agent_marker
        lines.append(Line(speaker, channel[speaker], marker, 1.0 + 3.0 * n))
    return lines


def transcript_json(job_name: str, account_id: str, lines: list[Line]) -> dict[str, Any]:
    """Transcribe's batch output with channel identification, for `lines`."""
    by_channel: dict[str, list[dict[str, Any]]] = {"ch_0": [], "ch_1": []}
    every: list[dict[str, Any]] = []
    for line in lines:
        words = [("hello", "pronunciation"), (line.marker, "pronunciation"), (".", "punctuation")]
        at = line.start
        for content, kind in words:
            item: dict[str, Any] = {
                "channel_label": line.channel_label,
                "alternatives": [{"confidence": "1.0", "content": content}],
                "type": kind,
            }
            if kind == "pronunciation":
                item.update(start_time=f"{at:.2f}", end_time=f"{at + 0.4:.2f}")
                at += 0.4
            by_channel[line.channel_label].append(item)
            every.append(item)
    return {
        "jobName": job_name,
        "accountId": account_id,
        "results": {
            "transcripts": [{"transcript": " ".join(f"hello {x.marker}." for x in lines)}],
            "channel_labels": {
                "channels": [
                    {"channel_label": label, "items": items} for label, items in by_channel.items()
                ],
                "number_of_channels": 2,
            },
            "items": every,
        },
        "status": "COMPLETED",
    }


def output_key(job_name: str, requested: str) -> str:
    if not requested:
        return f"{job_name}.json"
    if requested.endswith(".json"):
        return requested
    return f"{requested.rstrip('/')}/{job_name}.json"


class Transcription:
    """Plays Transcribe for the app's `StartTranscriptionJob` calls made through one session.

    `speakers(recording_sid)` answers (first joined, caller marker, agent marker) from the
    stand-in's conference, or None for a recording that is not a two-party conference.
    `deliver(event)` hands an EventBridge event to the rules (LambdaRuntime.put_event).
    """

    def __init__(
        self,
        clock: Scheduler,
        session: Any,
        speakers: Callable[[str], tuple[str, str, str] | None],
        deliver: Callable[[dict[str, Any]], None],
        account_id: str = "123456789012",
        region: str = "ap-northeast-1",
    ) -> None:
        self._clock = clock
        self._session = session
        self._speakers = speakers
        self._deliver = deliver
        self._account_id = account_id
        self._region = region
        # What each recording's transcript said, by recording sid (the check reads it).
        self.spoken: dict[str, list[Line]] = {}
        self.jobs_started = 0
        self.jobs_finished = 0
        self._s3: Any = None

    def install(self) -> None:
        """Before any client of the session exists: clients copy the session's handlers."""
        events = self._session.events
        events.register("before-call.transcribe.StartTranscriptionJob", self._asked)
        events.register("after-call.transcribe.StartTranscriptionJob", self._answered)

    def _asked(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        # botocore hands the same request context to before-call and after-call.
        body = params.get("body") or b"{}"
        context[_REQUEST] = json.loads(body.decode() if isinstance(body, bytes) else body)

    def _answered(self, http_response: Any, context: dict[str, Any], **_: Any) -> None:
        request = context.pop(_REQUEST, None)
        # A refused start (ConflictException: the job exists) starts nothing.
        if request is None or http_response.status_code != 200:
            return
        self.jobs_started += 1
        self._clock.after(JOB_SECONDS, self._finish, request)

    def _finish(self, request: dict[str, Any]) -> None:
        name = str(request["TranscriptionJobName"])
        # The job's name names the recording (the app's choice, not Transcribe's), else its media.
        media = str(request.get("Media", {}).get("MediaFileUri", ""))
        found = _RECORDING_SID.search(name) or _RECORDING_SID.search(media)
        parties = self._speakers(found.group(0)) if found else None
        if found is None or parties is None:
            lines: list[Line] = []
        else:
            lines = script(*parties)
            self.spoken[found.group(0)] = lines
        body = json.dumps(transcript_json(name, self._account_id, lines)).encode()
        if self._s3 is None:  # one client for the day: making one costs more than the write
            self._s3 = self._session.client("s3")
        self._s3.put_object(
            Bucket=str(request["OutputBucketName"]),
            Key=output_key(name, str(request.get("OutputKey", ""))),
            Body=body,
            ContentType="application/json",
        )
        self.jobs_finished += 1
        self._deliver(
            {
                "version": "0",
                "id": f"transcribe-{name}",
                "detail-type": "Transcribe Job State Change",
                "source": "aws.transcribe",
                "account": self._account_id,
                "time": datetime.fromtimestamp(self._clock.now(), UTC).strftime(
                    "%Y-%m-%dT%H:%M:%SZ"
                ),
                "region": self._region,
                "resources": [],
                "detail": {"TranscriptionJobName": name, "TranscriptionJobStatus": "COMPLETED"},
            }
        )
