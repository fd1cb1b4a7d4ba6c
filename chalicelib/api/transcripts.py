"""Live transcripts: Twilio's real-time transcription callback, the stream consumer that scores
sentiment off the webhook path, and the supervisors' list of flagged calls.

The callback stores one line (or a session event) and answers: Comprehend is never on its path.
Twilio retries a transcription callback answered 5xx, 408, 425 or 429 (error 17580), so a
storage failure answers 503 and the retry stores the same line again, idempotently.
The transcript itself is read through GET /conversations/{call_sid}/transcript
(chalicelib/api/recordings.py), next to the recording's.
"""

from __future__ import annotations

import os

from chalice import Blueprint, Response
from chalice.app import DynamoDBEvent

from chalicelib import bootstrap
from chalicelib.api.auth import require_supervisor
from chalicelib.api.web import CORS, FORM, json_response, twilio_form, webhook
from chalicelib.platform.observability import logger, metrics
from chalicelib.telephony import webhooks

transcripts = Blueprint(__name__)

# As CONVERSATION_EVENTS_STREAM_ARN (chalicelib/api/conversations.py): Chalice needs an ARN at
# import; deployed stages bind the table's own stream in infra/resources.json (TranscriptStream).
LIVE_TRANSCRIPTS_STREAM_ARN = os.environ.get(
    "LIVE_TRANSCRIPTS_STREAM_ARN",
    "arn:aws:dynamodb:ap-northeast-1:000000000000:table/cc-local-live-transcripts/stream/local",
)


@transcripts.route(webhooks.TRANSCRIPTION_REALTIME, methods=["POST"], content_types=[FORM])
@webhook
def realtime_transcription() -> Response:
    from chalicelib.transcripts.domain import TranscriptionCallback

    request = transcripts.current_request
    form = twilio_form(request)
    callback = TranscriptionCallback.from_form(form)
    outcome = bootstrap.container().live_transcripts.accept_callback(
        callback, dict(request.query_params or {})
    )
    return json_response({"outcome": outcome})


@transcripts.on_dynamodb_record(
    stream_arn=LIVE_TRANSCRIPTS_STREAM_ARN,
    batch_size=100,
    maximum_batching_window_in_seconds=1,
    name="transcript_stream",
)
def transcript_stream(event: DynamoDBEvent) -> None:
    """Score the new lines of the calls in a batch and rebuild each call's mood, once per call.

    Only inserted lines and session events matter (the scorer's own updates and summaries are
    MODIFY events or `summary` keys). Raising makes Lambda retry the batch: scoring skips lines
    already scored and the summary is rebuilt whole, so a retry only repeats work."""
    calls = [
        str(record.keys["call_sid"]["S"])
        for record in event
        if record.event_name == "INSERT"
        and str(record.keys.get("sk", {}).get("S", "")).startswith(("line#", "session#"))
    ]
    try:
        scored = bootstrap.container().sentiment_scorer.score_calls(calls)
        logger.info("live transcripts scored", calls=scored)
    finally:
        if metrics.metric_set:
            metrics.flush_metrics()


@transcripts.route("/transcripts/flagged", methods=["GET"], cors=CORS)
@webhook
def flagged_calls() -> Response:
    """Today's calls flagged for a supervisor (negative mood or an alert word), live first.
    Kept apart from the presence board so the supervisors' floor can take it over whole."""
    from chalicelib.conversations.search import local_day

    require_supervisor(transcripts.current_request)
    c = bootstrap.container()
    day = local_day(c.clock(), c.settings.conversations.report_timezone)
    rows = [
        {
            "call_sid": item["call_sid"],
            "agent_id": item.get("agent_id", ""),
            "live": bool(item.get("live")),
            "sentiment": item.get("sentiment"),
            "negative": float(item.get("negative") or 0),
            "keywords": list(item.get("keywords") or []),
            "reasons": list(item.get("reasons") or []),
        }
        for item in c.transcript_store.flagged(day)
    ]
    rows.sort(key=lambda r: not r["live"])
    return json_response({"calls": rows}, headers={"Cache-Control": "no-store"})
