"""The copy worker on moto S3, DynamoDB and Transcribe, with the recording fake of Twilio HTTP.

What must hold whatever fails: the S3 copy is verified before Twilio's copy is deleted; a failure
leaves Twilio's copy in place and raises (so the queue retries); nothing is copied twice.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from chalicelib import bootstrap
from chalicelib.conversations.events import conference_event
from chalicelib.platform.errors import StorageUnavailable, TelephonyUnavailable
from chalicelib.recordings.archive import RecordingArchive
from chalicelib.recordings.domain import (
    CopyJob,
    CopyNotVerified,
    CorruptMedia,
    RecordingCallback,
    StoredObject,
)
from chalicelib.telephony.forms import parse_form
from chalicelib.telephony.rest import RecordingNotFound
from tests.conftest import ENGINES
from tests.data import ACCOUNT_SID
from tests.fakes.twilio_http import RecordedRequest, RecordingHttpClient
from tests.recording_data import (
    AGENT_CALL,
    CUSTOMER_CALL,
    RECORDING_SID,
    VOICEMAIL_SID,
    conference_recording_form,
    participant_join_form,
    two_channel_wav,
    voicemail_recording_form,
)

pytestmark = ENGINES

MEDIA = rf"/Accounts/{ACCOUNT_SID}/Recordings/{RECORDING_SID}\.wav$"
RECORDING = rf"/Accounts/{ACCOUNT_SID}/Recordings/{RECORDING_SID}\.json$"
WAV = two_channel_wav()


def job_for(form: dict[str, str], context: dict[str, str] | None = None) -> CopyJob:
    callback = parse_form(RecordingCallback, form)
    return callback.copy_job(callback.timestamp or callback.started_at, context)  # type: ignore[arg-type]


@pytest.fixture
def delete_mode(container: bootstrap.Container) -> bootstrap.Container:
    container.settings = container.settings.with_values(
        **{"recording_twilio_copy": "delete", "recording_copy_delay_seconds": 0}
    )
    return container


@pytest.fixture
def s3(aws: Any) -> Any:
    return aws.client("s3")


def serve_media(twilio_http: RecordingHttpClient, data: bytes = WAV, pattern: str = MEDIA) -> None:
    twilio_http.respond("GET", pattern, (200, data))


def s3_versions(s3: Any, bucket: str) -> list[dict[str, Any]]:
    return s3.list_object_versions(Bucket=bucket, Prefix="recordings/").get("Versions", [])


def delete_checks_s3_first(s3: Any, bucket: str, twilio_http: RecordingHttpClient) -> list[str]:
    """Answer Twilio's DELETE, noting what S3 held at that moment (to prove order)."""
    seen: list[str] = []

    def responder(_request: RecordedRequest) -> tuple[int, Any]:
        for version in s3_versions(s3, bucket):
            body = s3.get_object(Bucket=bucket, Key=version["Key"])["Body"].read()
            seen.append(hashlib.sha256(body).hexdigest())
        return 204, ""

    twilio_http.respond("DELETE", RECORDING, responder)
    return seen


def join_conference(container: bootstrap.Container, first: str, second: str) -> None:
    """The conversations area's record of who joined the conference, in either arrival order."""
    context = {"conversation": CUSTOMER_CALL}
    later = participant_join_form(second, 2, "Tue, 4 Feb 2025 17:03:01 +0000")
    earlier = participant_join_form(first, 1, "Tue, 4 Feb 2025 17:03:00 +0000")
    container.ledger.store_event(conference_event(later, context))
    container.ledger.store_event(conference_event(earlier, context))


def test_dual_channel_recording_is_copied_verified_then_deleted_at_twilio(
    delete_mode: bootstrap.Container, twilio_http: RecordingHttpClient, s3: Any
) -> None:
    bucket = delete_mode.settings.recordings.recordings_bucket
    serve_media(twilio_http)
    seen_at_delete = delete_checks_s3_first(s3, bucket, twilio_http)
    join_conference(delete_mode, first=AGENT_CALL, second=CUSTOMER_CALL)

    result = delete_mode.recordings.copy_recording(
        job_for(conference_recording_form(), {"conversation": CUSTOMER_CALL})
    )

    key = f"recordings/2025/02/04/{CUSTOMER_CALL}/{RECORDING_SID}.wav"
    assert (result.copied, result.key, result.twilio_copy) == (True, key, "deleted")
    stored = s3.get_object(Bucket=bucket, Key=key)
    assert hashlib.sha256(stored["Body"].read()).hexdigest() == hashlib.sha256(WAV).hexdigest()
    assert stored["ServerSideEncryption"] == "aws:kms"
    assert stored["Metadata"] == {
        "conversation-id": CUSTOMER_CALL,
        "recording-sid": RECORDING_SID,
        "conference-sid": conference_recording_form()["ConferenceSid"],
        "call-sids": ",".join(sorted([CUSTOMER_CALL, AGENT_CALL])),
        "agent-ids": "",
        "duration-seconds": "1",
        "channels": "2",
        "customer-channel": "2",
        "agent-channel": "1",
        "channel-mapping": "join-order",
        "source": "StartConferenceRecordingAPI",
        "started-at": "2025-02-04T17:03:12+00:00",
    }
    # Exactly: the dual-channel media, then the delete, which found the verified copy in S3.
    assert [(r.method, r.path, r.params) for r in twilio_http.requests] == [
        (
            "GET",
            f"/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{RECORDING_SID}.wav",
            {"RequestedChannels": "2"},
        ),
        ("DELETE", f"/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{RECORDING_SID}.json", {}),
    ]
    assert seen_at_delete == [hashlib.sha256(WAV).hexdigest()]
    record = delete_mode.recording_store.get(RECORDING_SID)
    assert record is not None
    assert (record["status"], record["twilio_copy"], record["transcription_status"]) == (
        "copied",
        "deleted",
        "started",
    )


def test_customer_first_in_the_conference_is_channel_one_in_metadata(
    container: bootstrap.Container, twilio_http: RecordingHttpClient, s3: Any
) -> None:
    serve_media(twilio_http)
    join_conference(container, first=CUSTOMER_CALL, second=AGENT_CALL)
    result = container.recordings.copy_recording(
        job_for(conference_recording_form(), {"conversation": CUSTOMER_CALL})
    )
    head = s3.head_object(Bucket=container.settings.recordings.recordings_bucket, Key=result.key)
    assert (head["Metadata"]["customer-channel"], head["Metadata"]["agent-channel"]) == ("1", "2")


def test_keep_mode_never_deletes_at_twilio(
    container: bootstrap.Container, twilio_http: RecordingHttpClient
) -> None:
    serve_media(twilio_http)
    result = container.recordings.copy_recording(job_for(conference_recording_form()))
    assert result.twilio_copy == "kept"
    assert twilio_http.calls("DELETE") == []


def test_redelivered_job_copies_and_deletes_nothing_twice(
    delete_mode: bootstrap.Container, twilio_http: RecordingHttpClient, s3: Any
) -> None:
    serve_media(twilio_http)
    delete_checks_s3_first(s3, delete_mode.settings.recordings.recordings_bucket, twilio_http)
    job = job_for(conference_recording_form())
    first = delete_mode.recordings.copy_recording(job)
    again = delete_mode.recordings.copy_recording(job)
    assert (first.copied, again.copied) == (True, False)
    assert again.transcription == "already-started"
    assert len(twilio_http.calls("GET", ".wav")) == 1
    assert len(twilio_http.calls("DELETE")) == 1
    assert len(s3_versions(s3, delete_mode.settings.recordings.recordings_bucket)) == 1


def test_s3_put_failing_leaves_twilio_copy_and_retries_cleanly(
    delete_mode: bootstrap.Container,
    twilio_http: RecordingHttpClient,
    s3: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    serve_media(twilio_http)
    delete_checks_s3_first(s3, delete_mode.settings.recordings.recordings_bucket, twilio_http)
    failing = {"on": True}

    def refuse_put(**_kwargs: Any) -> None:
        if failing["on"]:
            raise s3.exceptions.ClientError(
                {"Error": {"Code": "ServiceUnavailable", "Message": "slow down"}}, "PutObject"
            )

    delete_mode.recording_archive._s3.meta.events.register("before-call.s3.PutObject", refuse_put)
    job = job_for(conference_recording_form())
    with pytest.raises(StorageUnavailable, match="put s3://"):
        delete_mode.recordings.copy_recording(job)
    assert twilio_http.calls("DELETE") == []
    assert s3_versions(s3, delete_mode.settings.recordings.recordings_bucket) == []
    assert (delete_mode.recording_store.get(RECORDING_SID) or {}).get("status") != "copied"

    failing["on"] = False  # the retry (SQS redelivery) succeeds
    assert delete_mode.recordings.copy_recording(job).twilio_copy == "deleted"
    assert len(twilio_http.calls("DELETE")) == 1


def test_twilio_media_fetch_failing_stores_nothing_and_deletes_nothing(
    delete_mode: bootstrap.Container, twilio_http: RecordingHttpClient, s3: Any
) -> None:
    twilio_http.fail("GET", MEDIA, status=503)
    with pytest.raises(TelephonyUnavailable, match="HTTP 503"):
        delete_mode.recordings.copy_recording(job_for(conference_recording_form()))
    assert twilio_http.calls("DELETE") == []
    assert s3_versions(s3, delete_mode.settings.recordings.recordings_bucket) == []


def test_truncated_media_is_not_stored(
    delete_mode: bootstrap.Container, twilio_http: RecordingHttpClient, s3: Any
) -> None:
    serve_media(twilio_http, WAV[: len(WAV) // 2])
    with pytest.raises(CorruptMedia, match="truncated"):
        delete_mode.recordings.copy_recording(job_for(conference_recording_form()))
    assert twilio_http.calls("DELETE") == []
    assert s3_versions(s3, delete_mode.settings.recordings.recordings_bucket) == []


def test_recording_unknown_at_twilio_is_an_error_with_nothing_deleted(
    delete_mode: bootstrap.Container, twilio_http: RecordingHttpClient, s3: Any
) -> None:
    twilio_http.respond("GET", MEDIA, (404, {"code": 20404, "message": "not found", "status": 404}))
    with pytest.raises(RecordingNotFound):
        delete_mode.recordings.copy_recording(job_for(conference_recording_form()))
    assert twilio_http.calls("DELETE") == []
    assert s3_versions(s3, delete_mode.settings.recordings.recordings_bucket) == []


class MismatchedArchive(RecordingArchive):
    """S3 reporting a different checksum than the bytes sent (a corrupted store)."""

    def stored(self, key: str, reread: bool = False) -> StoredObject:
        real = super().stored(key, reread)
        return StoredObject(real.key, real.size, "AAAA" + real.sha256_b64[4:], real.version_id)


def test_checksum_mismatch_in_s3_keeps_twilio_copy(
    delete_mode: bootstrap.Container, twilio_http: RecordingHttpClient, aws: Any
) -> None:
    serve_media(twilio_http)
    delete_mode.recording_archive = MismatchedArchive(
        aws.client("s3"), delete_mode.settings.recordings.recordings_bucket
    )
    with pytest.raises(CopyNotVerified, match="SHA-256"):
        delete_mode.recordings.copy_recording(job_for(conference_recording_form()))
    assert twilio_http.calls("DELETE") == []
    assert (delete_mode.recording_store.get(RECORDING_SID) or {}).get("status") != "copied"


def test_voicemail_takes_the_same_path_as_a_mono_recording(
    delete_mode: bootstrap.Container, twilio_http: RecordingHttpClient, s3: Any
) -> None:
    mono = two_channel_wav(channels=1)
    twilio_http.respond("GET", rf"/Recordings/{VOICEMAIL_SID}\.wav$", (200, mono))
    twilio_http.respond("DELETE", rf"/Recordings/{VOICEMAIL_SID}\.json$", (204, ""))
    result = delete_mode.recordings.copy_recording(job_for(voicemail_recording_form()))
    assert result.key == f"recordings/2025/02/05/{CUSTOMER_CALL}/{VOICEMAIL_SID}.wav"
    media = twilio_http.calls("GET", ".wav")[0]
    assert media.params == {}  # a mono recording cannot be asked for two channels (16113)
    head = s3.head_object(Bucket=delete_mode.settings.recordings.recordings_bucket, Key=result.key)
    assert head["Metadata"]["channel-mapping"] == "single-party"
    assert head["Metadata"]["customer-channel"] == "1"
    assert result.twilio_copy == "deleted"


def test_unlinked_conference_recording_is_still_copied_and_logged(
    container: bootstrap.Container,
    twilio_http: RecordingHttpClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    serve_media(twilio_http)
    result = container.recordings.copy_recording(job_for(conference_recording_form()))
    assert f"/{conference_recording_form()['ConferenceSid']}/" in result.key
    assert "recording not linked to a conversation yet; filed under its own sid" in caplog.messages


def test_copy_stamps_the_containers_clock_so_a_rehearsed_day_keeps_its_hours(
    delete_mode: bootstrap.Container, twilio_http: RecordingHttpClient, s3: Any
) -> None:
    serve_media(twilio_http)
    twilio_http.respond("DELETE", RECORDING, (204, ""))
    rehearsed_noon_ms = 1_738_670_400_000  # 2025-02-04 12:00:00 UTC
    delete_mode.clock = lambda: rehearsed_noon_ms

    delete_mode.recordings.copy_recording(job_for(conference_recording_form()))

    record = delete_mode.recording_store.get(RECORDING_SID) or {}
    assert record["copied_at"] == "2025-02-04T12:00:00+00:00"
    assert record["twilio_deleted_at"] == "2025-02-04T12:00:00+00:00"
