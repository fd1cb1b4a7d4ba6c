"""Recordings as Twilio keeps them: a conference's recording when the conference ends, a
`<Record>` verb's voicemail, their status callbacks, and the URL their media is fetched from.

The REST API (ops/standin/rest.py) serves, lists and deletes them from here, and lists a
conference's recordings (`for_conference`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ops.standin import payloads
from ops.standin.resources import Recording
from ops.standin.shared import Part, Shared

if TYPE_CHECKING:
    from ops.standin.delivery import Delivery
    from ops.standin.resources import Conference


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
        """The conference ended: its recording is made, and reported a little later.

        The recording status callback is sent only for the events subscribed to
        (`completed` unless told otherwise): an `absent` or `failed` recording calls back only
        a subscriber of that event
        (https://support.twilio.com/hc/en-us/articles/360014251313).
        `conference.recording_fault` (a chaos knob) makes it go wrong: "absent" keeps an
        `absent` recording (error 16102, "Recording was detected as silent and not stored":
        https://www.twilio.com/docs/api/errors/16102); "failed" keeps no recording resource
        (the conference recording's statuses have no `failed`:
        https://www.twilio.com/docs/voice/api/conference-recording-resource); "unannounced"
        keeps a completed recording whose callback is lost.
        """
        started = conference.started or self.now()
        duration = max(0, int((conference.ended or self.now()) - started))
        fault = conference.recording_fault
        status = {"absent": "absent", "failed": "failed"}.get(fault, "completed")
        recording = Recording(
            sid=conference.recording_sid,
            created=started,
            start=started,
            duration=duration if status == "completed" else 0,
            channels=conference.recording_channels,
            source="StartConferenceRecordingAPI",
            status=status,
            conference_sid=conference.sid,
            error_code=16102 if status == "absent" else None,
        )
        if fault:
            self.stats.count(f"RecordingFault:{fault}")
        if status != "failed":
            self.recordings[recording.sid] = recording
        if (
            conference.recording_callback
            and status in conference.recording_events
            and fault != "unannounced"
        ):
            form = payloads.recording_callback(
                account_sid=self.account.account_sid,
                recording_sid=recording.sid,
                recording_url=self.recording_url(recording.sid),
                status=status,
                duration=recording.duration,
                channels=recording.channels,
                start_time=recording.start,
                source=recording.source,
                conference_sid=conference.sid,
            )
            if recording.error_code is not None:
                form["ErrorCode"] = str(recording.error_code)
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

    def for_conference(self, conference_sid: str) -> list[Recording]:
        """The conference's recordings Twilio still has (not deleted), oldest first."""
        return sorted(
            (
                r
                for r in self.recordings.values()
                if r.conference_sid == conference_sid and not r.deleted
            ),
            key=lambda r: r.created,
        )
