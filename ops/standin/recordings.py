"""Recordings as Twilio keeps them: a conference's recording when the conference ends, a
`<Record>` verb's voicemail, their status callbacks, and the URL their media is fetched from.

The REST API (ops/standin/rest.py) serves, lists and deletes them from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ops.standin import payloads
from ops.standin.shared import Part, Shared

if TYPE_CHECKING:
    from ops.standin.conferences import Conference
    from ops.standin.delivery import Delivery


@dataclass
class Recording:
    sid: str
    created: float
    start: float
    duration: int
    channels: int
    source: str
    status: str = "completed"
    call_sid: str = ""
    conference_sid: str = ""
    deleted: bool = False


class Recorder(Part):
    def __init__(self, shared: Shared, delivery: Delivery) -> None:
        super().__init__(shared)
        self.delivery = delivery
        self.recordings: dict[str, Recording] = {}

    def recording_url(self, recording_sid: str) -> str:
        return (
            f"https://api.twilio.com/2010-04-01/Accounts/{self.account.account_sid}"
            f"/Recordings/{recording_sid}"
        )

    def conference_recorded(self, conference: Conference) -> None:
        """The conference ended: its recording is made, and reported a little later."""
        started = conference.started or self.now()
        duration = max(0, int((conference.ended or self.now()) - started))
        recording = Recording(
            sid=conference.recording_sid,
            created=started,
            start=started,
            duration=duration,
            channels=conference.recording_channels,
            source="StartConferenceRecordingAPI",
            conference_sid=conference.sid,
        )
        self.recordings[recording.sid] = recording
        if conference.recording_callback and "completed" in conference.recording_events:
            form = payloads.recording_callback(
                account_sid=self.account.account_sid,
                recording_sid=recording.sid,
                recording_url=self.recording_url(recording.sid),
                status="completed",
                duration=duration,
                channels=recording.channels,
                start_time=recording.start,
                source=recording.source,
                conference_sid=conference.sid,
            )
            # Twilio needs a few seconds to process a recording before it reports it.
            self.clock.after(3.0, self.delivery.callback, conference.recording_callback, form)

    def voicemail(self, call_sid: str, seconds: float) -> Recording:
        """A `<Record>` verb's recording of the last `seconds` of the call."""
        now = self.now()
        recording = Recording(
            sid=self.sid("RE"),
            created=now - seconds,
            start=now - seconds,
            duration=int(seconds),
            channels=1,
            source="RecordVerb",
            call_sid=call_sid,
        )
        self.recordings[recording.sid] = recording
        return recording

    def voicemail_ready(self, url: str, recording: Recording) -> None:
        """`<Record recordingStatusCallback>`: the voicemail's recording is ready."""
        self.delivery.callback(
            url,
            payloads.recording_callback(
                account_sid=self.account.account_sid,
                recording_sid=recording.sid,
                recording_url=self.recording_url(recording.sid),
                status="completed",
                duration=recording.duration,
                channels=1,
                start_time=recording.start,
                source="RecordVerb",
                call_sid=recording.call_sid,
            ),
        )
