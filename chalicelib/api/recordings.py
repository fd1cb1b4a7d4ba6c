"""Recordings: Twilio's status callback, the copy worker, Transcribe's completion events, and
playback and transcripts for staff.

The callback answers Twilio at once; the copy runs in its own Lambda fed by an SQS queue whose
dead-letter queue alarms (infra/resources.json). Why a queue and not a state machine: each
recording is one independent, idempotent job with one retry policy; SQS gives retries with
back-off (the visibility timeout), a dead-letter queue and a native redrive for replay, for a
fraction of a cent per thousand recordings, and needs no orchestration. See docs/recordings.md.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalice import Blueprint, Rate, Response
from chalice.app import CloudWatchEvent, SQSEvent

from chalicelib import bootstrap
from chalicelib.api.auth import require_staff
from chalicelib.api.supervision import audited
from chalicelib.api.web import CORS, FORM, json_response, twilio_form, webhook
from chalicelib.platform.observability import count, logger, metrics
from chalicelib.recordings.job_names import TRANSCRIPTION_JOB_PREFIX
from chalicelib.telephony import webhooks

if TYPE_CHECKING:
    from chalicelib.recordings.pipeline import RecordingPipeline

recordings = Blueprint(__name__)

# Deployed stages: the queue infra/resources.json creates, and Settings.recordings_queue.
COPY_QUEUE_NAME = "contact-center-recording-copy"
# Chalice binds the worker when it imports the app, with the stage's environment_variables
# applied (chalice/cli/factory.py, load_chalice_app): `ops deploy` writes the stack's queue ARN
# there for `chalice deploy`. `chalice package` binds it in the template instead
# (infra/resources.json, CopyWorker), so there the name only fills the slot.
COPY_QUEUE_ARN = os.environ.get("RECORDING_COPY_QUEUE_ARN") or None
TRANSCRIBE_FINISHED = {
    "source": ["aws.transcribe"],
    "detail-type": ["Transcribe Job State Change"],
    "detail": {
        "TranscriptionJobStatus": ["COMPLETED", "FAILED"],
        "TranscriptionJobName": [{"prefix": TRANSCRIPTION_JOB_PREFIX}],
    },
}


@recordings.route(webhooks.RECORDING_STATUS, methods=["POST"], content_types=[FORM])
@webhook
def recording_status() -> Response:
    from chalicelib.recordings.domain import RecordingCallback
    from chalicelib.telephony.forms import parse_form

    request = recordings.current_request
    form = twilio_form(request)
    callback = parse_form(RecordingCallback, form)
    query = dict(request.query_params or {})
    c = bootstrap.container()
    # The conversation record's link to the recording (conversations area), then the copy.
    c.ledger.store_callback("recording" if callback.conference_sid else "voicemail", form, query)
    outcome = c.recordings.accept_callback(callback, context=query)
    return json_response({"recording_sid": callback.recording_sid, "outcome": outcome})


def _flush_metrics() -> None:
    if metrics.metric_set:
        metrics.flush_metrics()


@recordings.on_sqs_message(
    queue=None if COPY_QUEUE_ARN else COPY_QUEUE_NAME, queue_arn=COPY_QUEUE_ARN, batch_size=1
)
def copy_worker(event: SQSEvent) -> None:
    """Copy one recording per message. Raising returns the message to the queue for a retry;
    after the queue's maxReceiveCount it moves to the dead-letter queue, which alarms."""
    from chalicelib.recordings.domain import CopyInProgress, CopyJob

    pipeline = bootstrap.container().recordings
    try:
        for message in event:
            job = CopyJob.from_json(message.body)
            logger.append_keys(recording_sid=job.recording_sid)
            try:
                pipeline.copy_recording(job)
            except CopyInProgress:
                # Not a failure: the message comes back after its visibility timeout, and then
                # finds the recording copied (skipped) or the other job's claim lapsed.
                logger.info("recording copy claimed by another job; retried later")
                raise
            except Exception:
                count("RecordingCopyFailed")
                logger.exception(
                    "recording copy failed; twilio's copy is kept and the message retried",
                    conference_sid=job.conference_sid,
                    call_sid=job.call_sid,
                )
                raise
    finally:
        logger.remove_keys(["recording_sid"])
        _flush_metrics()


@recordings.on_cw_event(TRANSCRIBE_FINISHED)
def transcription_finished(event: CloudWatchEvent) -> None:
    """Amazon Transcribe's job state change (EventBridge): attach the speaker turns."""
    detail = event.detail
    try:
        bootstrap.container().recordings.attach_transcript(
            str(detail.get("TranscriptionJobName", "")),
            str(detail.get("TranscriptionJobStatus", "")),
        )
    finally:
        _flush_metrics()


@recordings.schedule(Rate(10, unit=Rate.MINUTES))
def reconcile_recordings(event: Any) -> None:
    """Ask Twilio for the recordings of conferences that ended without a recording callback:
    copy the completed ones, record the absent/failed ones lost and the rest missing
    (chalicelib/recordings/reconcile.py)."""
    try:
        c = bootstrap.container()
        c.recording_reconciler.reconcile(c.clock())
    finally:
        _flush_metrics()


def _staff_view(
    conversation_id: str,
    read: str,
    build: Callable[[RecordingPipeline, str, str, bool], dict[str, Any]],
) -> Response:
    request = recordings.current_request
    staff = require_staff(request)
    pipeline = bootstrap.container().recordings
    # The pipeline refuses (NotAllowed) all but supervisors and the agents on the call; the
    # read is audited either way.
    body = audited(
        request,
        staff,
        read,
        conversation_id,
        lambda: build(pipeline, conversation_id, staff.agent_id, staff.is_supervisor),
    )
    # Signed links and call content: never cached by a browser or proxy.
    return json_response(body, headers={"Cache-Control": "no-store"})


# `{call_sid}`: API Gateway needs one variable name per path level (see api/conversations.py).
@recordings.route("/conversations/{call_sid}/recording", methods=["GET"], cors=CORS)
@webhook
def conversation_recording(call_sid: str) -> Response:
    from chalicelib.recordings.pipeline import RecordingPipeline
    from chalicelib.supervision.audit import RECORDING

    return _staff_view(call_sid, RECORDING, RecordingPipeline.playback)


@recordings.route("/conversations/{call_sid}/transcript", methods=["GET"], cors=CORS)
@webhook
def conversation_transcript(call_sid: str) -> Response:
    """The live transcript (lines by speaker with sentiment: live during the call, whole after
    it) and the recording's post-call turns, for the supervisors and the agents on the call;
    every read audited."""
    from chalicelib.platform.errors import NotFound
    from chalicelib.recordings.domain import may_listen
    from chalicelib.recordings.pipeline import NotAllowed, answered_agents
    from chalicelib.supervision.audit import TRANSCRIPT

    c = bootstrap.container()

    def read(
        pipeline: RecordingPipeline, conversation_id: str, agent_id: str, is_supervisor: bool
    ) -> dict[str, Any]:
        live = c.live_transcripts.transcript(conversation_id)
        body: dict[str, Any] | None = None
        try:
            body = pipeline.transcript(conversation_id, agent_id, is_supervisor)
        except NotFound:
            if live is None:
                raise
        if body is None:
            # During the call there is no recording yet: the live transcript's own agent and
            # the conversation record decide who may read it.
            agents = {str(live["agent_id"]) if live else ""}
            agents |= answered_agents(c.ledger.current_record(conversation_id))
            if not may_listen(agent_id, is_supervisor, agents - {""}):
                raise NotAllowed("only supervisors and the agents on this call may read it")
            body = {"conversation_id": conversation_id, "recordings": []}
        body["live"] = live
        return body

    return _staff_view(call_sid, TRANSCRIPT, read)
