"""The recording flow through the app: signed callback -> queue -> copy worker -> Transcribe
completion event -> transcript and playback for the staff who may hear the call."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from chalicelib import bootstrap
from chalicelib.conversations.events import conference_event, taskrouter_event
from chalicelib.recordings.domain import transcript_keys, transcription_job_name
from tests.conftest import TwilioPoster
from tests.conversation_stream import deliver_stream
from tests.data import ACCOUNT_SID
from tests.fakes.twilio_http import RecordingHttpClient
from tests.recording_data import (
    AGENT_CALL,
    CUSTOMER_CALL,
    RECORDING_SID,
    conference_recording_form,
    participant_join_form,
    transcribe_output,
    two_channel_wav,
)

STATUS = "/twilio/recordings/status"
WAV = two_channel_wav()


@pytest.fixture
def queue(container: bootstrap.Container, aws: Any) -> Any:
    sqs = aws.client("sqs")
    url = sqs.get_queue_url(QueueName=container.settings.recordings.recordings_queue)["QueueUrl"]
    container.settings = container.settings.with_values(
        **{"recording_copy_delay_seconds": 0, "recording_twilio_copy": "delete"}
    )

    def messages() -> list[str]:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
        return [m["Body"] for m in got.get("Messages", [])]

    return messages


def answered_by_sato(container: bootstrap.Container) -> None:
    """The conversations area's record: sato answered; the agent joined the conference first."""
    context = {"conversation": CUSTOMER_CALL}
    for form in (
        participant_join_form(AGENT_CALL, 1, "Tue, 4 Feb 2025 17:03:00 +0000"),
        participant_join_form(CUSTOMER_CALL, 2, "Tue, 4 Feb 2025 17:03:01 +0000"),
    ):
        container.ledger.store_event(conference_event(form, context))
    accepted = {
        "Sid": "EV" + "5" * 32,
        "EventType": "reservation.accepted",
        "TaskSid": "WT" + "5" * 32,
        "ReservationSid": "WR" + "5" * 32,
        "TaskAttributes": json.dumps({"call_sid": CUSTOMER_CALL}),
        "WorkerAttributes": json.dumps({"agent_id": "sato"}),
        "TimestampMs": "1738688580000",
    }
    container.ledger.store_event(taskrouter_event(accepted))
    deliver_stream(container)


def test_callback_answers_at_once_and_queues_the_copy(
    twilio: TwilioPoster, queue: Any, twilio_http: RecordingHttpClient
) -> None:
    response = twilio.post(f"{STATUS}?conversation={CUSTOMER_CALL}", conference_recording_form())
    assert response.status_code == 200
    assert json.loads(response.body) == {"recording_sid": RECORDING_SID, "outcome": "queued"}
    [body] = queue()
    job = json.loads(body)
    assert (job["recording_sid"], job["conversation_hint"], job["channels"]) == (
        RECORDING_SID,
        CUSTOMER_CALL,
        2,
    )
    assert twilio_http.requests == []  # no download inside the webhook


def test_unsigned_callback_is_refused_and_queues_nothing(twilio: TwilioPoster, queue: Any) -> None:
    assert twilio.post(STATUS, conference_recording_form(), signature=None).status_code == 403
    assert queue() == []


def test_callback_for_no_call_is_a_bad_request(twilio: TwilioPoster, queue: Any) -> None:
    form = conference_recording_form()
    del form["ConferenceSid"]
    assert twilio.post(STATUS, form).status_code == 400
    assert queue() == []


def test_absent_recording_queues_nothing(twilio: TwilioPoster, queue: Any) -> None:
    form = conference_recording_form(status="absent", error_code="13617")
    assert json.loads(twilio.post(STATUS, form).body)["outcome"] == "no-media"
    assert queue() == []


def test_a_throttled_store_is_a_503_and_queues_nothing(
    twilio: TwilioPoster, queue: Any, container: bootstrap.Container
) -> None:
    from botocore.exceptions import ClientError

    from chalicelib.recordings.store import RecordingStore

    class ThrottledTable:
        def update_item(self, **_: Any) -> Any:
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}},
                "UpdateItem",
            )

    container.recording_store = RecordingStore(ThrottledTable())
    response = twilio.post(f"{STATUS}?conversation={CUSTOMER_CALL}", conference_recording_form())
    assert response.status_code == 503  # a known failure, not an unexplained 500
    assert queue() == []


def run_worker(client: Any, bodies: list[str]) -> Any:
    event = client.events.generate_sqs_event(message_bodies=bodies, queue_name="copy")
    return client.lambda_.invoke("copy_worker", event)


def copy_sato_recording(
    client: Any,
    twilio: TwilioPoster,
    queue: Any,
    container: bootstrap.Container,
    twilio_http: RecordingHttpClient,
) -> list[str]:
    """sato's call recorded, its callback queued and the copy worker run; the queued bodies."""
    answered_by_sato(container)
    twilio_http.respond("GET", rf"/Recordings/{RECORDING_SID}\.wav$", (200, WAV))
    twilio_http.respond("DELETE", rf"/Recordings/{RECORDING_SID}\.json$", (204, ""))
    twilio.post(f"{STATUS}?conversation={CUSTOMER_CALL}", conference_recording_form())
    bodies = queue()
    run_worker(client, bodies)
    return bodies


def test_whole_flow_copy_transcript_and_playback(
    client: Any,
    twilio: TwilioPoster,
    queue: Any,
    container: bootstrap.Container,
    twilio_http: RecordingHttpClient,
    staff_token: Any,
    aws: Any,
) -> None:
    bodies = copy_sato_recording(client, twilio, queue, container, twilio_http)

    # A re-delivered callback after the copy: nothing queued, nothing fetched again.
    again = twilio.post(f"{STATUS}?conversation={CUSTOMER_CALL}", conference_recording_form())
    assert json.loads(again.body)["outcome"] == "duplicate"
    run_worker(client, bodies)  # and a re-delivered message copies nothing
    assert [r.method for r in twilio_http.requests] == ["GET", "DELETE"]

    # Transcribe finished: moto writes no output, so put the documented format where it would.
    record = container.recording_store.get(RECORDING_SID)
    assert record is not None
    raw_key, _ = transcript_keys(record["key"])
    job_name = transcription_job_name(RECORDING_SID)
    job = aws.client("transcribe").get_transcription_job(TranscriptionJobName=job_name)
    settings = job["TranscriptionJob"]["Settings"]
    assert settings["ChannelIdentification"] is True
    assert job["TranscriptionJob"]["LanguageCode"] == "ja-JP"
    aws.client("s3").put_object(
        Bucket=container.settings.recordings.recordings_bucket,
        Key=raw_key,
        Body=json.dumps(transcribe_output(job_name), ensure_ascii=False).encode(),
    )
    finished = client.events.generate_cw_event(
        source="aws.transcribe",
        detail_type="Transcribe Job State Change",
        detail={"TranscriptionJobName": job_name, "TranscriptionJobStatus": "COMPLETED"},
        resources=[],
    )
    client.lambda_.invoke("transcription_finished", finished)

    sato = {"Authorization": f"Bearer {staff_token('sato')}"}
    transcript = client.http.get(f"/conversations/{CUSTOMER_CALL}/transcript", headers=sato)
    assert transcript.status_code == 200
    [part] = json.loads(transcript.body)["recordings"]
    # The agent joined first: channel 1 (ch_0) is the agent.
    assert [(t["speaker"], t["text"]) for t in part["turns"]] == [
        ("agent", "お電話ありがとうございます。"),
        ("customer", "注文の確認。"),
        ("agent", "承知しました。"),
    ]

    playback = client.http.get(f"/conversations/{CUSTOMER_CALL}/recording", headers=sato)
    assert playback.status_code == 200
    assert playback.headers["Cache-Control"] == "no-store"
    [recording] = json.loads(playback.body)["recordings"]
    url = urlsplit(recording["url"])
    assert url.path.endswith(f"/{RECORDING_SID}.wav")
    assert (
        int(parse_qs(url.query)["X-Amz-Expires"][0])
        == container.settings.recordings.recording_url_ttl_seconds
    )
    assert (recording["customer_channel"], recording["agent_channel"]) == (2, 1)


def test_playback_only_for_supervisors_and_agents_on_the_call(
    client: Any,
    twilio: TwilioPoster,
    queue: Any,
    container: bootstrap.Container,
    twilio_http: RecordingHttpClient,
    staff_token: Any,
) -> None:
    answered_by_sato(container)
    twilio_http.respond("GET", rf"/Recordings/{RECORDING_SID}\.wav$", (200, WAV))
    twilio.post(f"{STATUS}?conversation={CUSTOMER_CALL}", conference_recording_form())
    run_worker(client, queue())
    path = f"/conversations/{CUSTOMER_CALL}/recording"

    def get(token: str | None) -> int:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return int(client.http.get(path, headers=headers).status_code)

    assert get(None) == 401
    assert get(staff_token("ito")) == 403
    assert get(staff_token("boss", supervisor=True)) == 200
    assert get(staff_token("sato")) == 200
    unknown = client.http.get(
        "/conversations/CA" + "f" * 32 + "/recording",
        headers={"Authorization": f"Bearer {staff_token('boss', supervisor=True)}"},
    )
    assert unknown.status_code == 404


def test_worker_failure_raises_so_the_queue_retries(
    client: Any, twilio: TwilioPoster, queue: Any, twilio_http: RecordingHttpClient
) -> None:
    twilio_http.fail("GET", rf"/Recordings/{RECORDING_SID}\.wav$", status=500)
    twilio.post(STATUS, conference_recording_form())
    with pytest.raises(Exception, match="HTTP 500"):
        run_worker(client, queue())
    assert twilio_http.calls("DELETE") == []
    assert ACCOUNT_SID in twilio_http.calls("GET")[0].url


def test_a_failed_transcription_is_recorded_with_its_reason_and_writes_no_turns(
    client: Any,
    twilio: TwilioPoster,
    queue: Any,
    container: bootstrap.Container,
    twilio_http: RecordingHttpClient,
    aws: Any,
) -> None:
    copy_sato_recording(client, twilio, queue, container, twilio_http)

    class FailedJob:
        """moto's jobs always end COMPLETED; Transcribe's can fail, with a reason."""

        def status(self, job_name: str) -> tuple[str, str]:
            return "FAILED", "The media format provided does not match the detected media format."

    container.transcriber = FailedJob()  # type: ignore[assignment]
    container.__dict__.pop("recordings", None)  # built with the real transcriber above
    failed = client.events.generate_cw_event(
        source="aws.transcribe",
        detail_type="Transcribe Job State Change",
        detail={
            "TranscriptionJobName": transcription_job_name(RECORDING_SID),
            "TranscriptionJobStatus": "FAILED",
        },
        resources=[],
    )
    client.lambda_.invoke("transcription_finished", failed)
    record = container.recording_store.get(RECORDING_SID)
    assert record is not None
    assert record["transcription_status"] == "failed"
    assert record["transcription_failure"].startswith("The media format provided")
    assert "transcript_key" not in record
    _, turns_key = transcript_keys(record["key"])
    listed = aws.client("s3").list_objects_v2(
        Bucket=container.settings.recordings.recordings_bucket, Prefix=turns_key
    )
    assert listed.get("KeyCount", 0) == 0
    # The recording itself is untouched: still copied and playable.
    assert record["status"] == "copied"
