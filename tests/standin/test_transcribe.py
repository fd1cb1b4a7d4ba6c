"""Amazon Transcribe and EventBridge as the rehearsal plays them, held against AWS's documented
output (channel identification, OutputKey) and event patterns, not against what the app reads."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from chalice import Chalice
from chalice.app import CloudWatchEvent
from moto import mock_aws

from ops.standin.clock import Scheduler
from ops.standin.lambdas import LambdaRuntime, matches
from ops.standin.transcribe import JOB_SECONDS, Transcription, output_key, script, transcript_json

CALLER, AGENT = "CA" + "c" * 32, "sato"
RECORDING = "RE" + "1" * 32


def test_output_key_follows_the_documented_examples() -> None:
    # https://docs.aws.amazon.com/transcribe/latest/APIReference/API_StartTranscriptionJob.html
    assert output_key("my-first-transcription", "my-transcript.json") == "my-transcript.json"
    assert (
        output_key("my-first-transcription", "my-transcript")
        == "my-transcript/my-first-transcription.json"
    )
    assert output_key("job", "test-files/my-transcript.json") == "test-files/my-transcript.json"
    assert output_key("job", "test-files/my-transcript/") == "test-files/my-transcript/job.json"
    assert output_key("job", "") == "job.json"


@pytest.mark.parametrize("first", ["agent", "customer"])
def test_the_transcript_has_the_documented_channel_identification_shape(first: str) -> None:
    document = transcript_json("cc-job", "111122223333", script(first, CALLER, AGENT))
    assert document["jobName"] == "cc-job" and document["status"] == "COMPLETED"
    channels = document["results"]["channel_labels"]["channels"]
    assert [c["channel_label"] for c in channels] == ["ch_0", "ch_1"]
    for channel in channels:
        for item in channel["items"]:
            assert item["channel_label"] == channel["channel_label"]
            assert item["type"] in {"pronunciation", "punctuation"}
            [alternative] = item["alternatives"]
            assert set(alternative) == {"confidence", "content"}
            if item["type"] == "pronunciation":
                assert float(item["end_time"]) > float(item["start_time"])
                assert isinstance(item["start_time"], str)  # Transcribe writes times as strings
            else:
                assert "start_time" not in item
    ch_0 = " ".join(i["alternatives"][0]["content"] for i in channels[0]["items"])
    first_marker, other_marker = (AGENT, CALLER) if first == "agent" else (CALLER, AGENT)
    assert first_marker in ch_0 and other_marker not in ch_0


def test_event_patterns_match_as_eventbridge_content_filtering_does() -> None:
    pattern = {
        "source": ["aws.transcribe"],
        "detail": {"TranscriptionJobStatus": ["COMPLETED", "FAILED"], "Name": [{"prefix": "cc-"}]},
    }
    event = {
        "source": "aws.transcribe",
        "detail": {"TranscriptionJobStatus": "COMPLETED", "Name": "cc-RE1", "Extra": 1},
    }
    assert matches(pattern, event)
    assert not matches(pattern, {**event, "source": "aws.s3"})
    assert not matches(pattern, {**event, "detail": {**event["detail"], "Name": "other-RE1"}})
    assert not matches(pattern, {**event, "detail": {"TranscriptionJobStatus": "COMPLETED"}})
    with pytest.raises(ValueError, match="not played"):
        matches({"source": [{"anything-but": "x"}]}, event)


def rule_app(received: list[dict[str, Any]], fail_first: int = 0) -> Chalice:
    app = Chalice(app_name="standin-transcribe")
    calls = {"n": 0}

    @app.on_cw_event({"source": ["aws.transcribe"], "detail-type": ["Transcribe Job State Change"]})
    def finished(event: CloudWatchEvent) -> None:
        calls["n"] += 1
        if calls["n"] <= fail_first:
            raise RuntimeError("DynamoDB throttled")
        received.append(event.to_dict())

    return app


@mock_aws
@pytest.mark.parametrize("fail_first", [0, 2, 3])
def test_a_started_job_writes_its_output_and_the_rule_gets_the_event(fail_first: int) -> None:
    session = boto3.session.Session(region_name="ap-northeast-1")
    clock = Scheduler(start=1_796_000_000.0)
    received: list[dict[str, Any]] = []
    lambdas = LambdaRuntime(rule_app(received, fail_first), session, clock)
    transcription = Transcription(
        clock,
        session,
        speakers=lambda sid: ("customer", CALLER, AGENT) if sid == RECORDING else None,
        deliver=lambdas.put_event,
    )
    transcription.install()
    lambdas.start()
    s3 = session.client("s3")
    s3.create_bucket(
        Bucket="recordings", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"}
    )
    transcribe = session.client("transcribe")
    job = {
        "TranscriptionJobName": f"cc-{RECORDING}",
        "LanguageCode": "ja-JP",
        "MediaFormat": "wav",
        "Media": {"MediaFileUri": f"s3://recordings/recordings/{RECORDING}.wav"},
        "OutputBucketName": "recordings",
        "OutputKey": f"transcribe-output/{RECORDING}.json",
        "Settings": {"ChannelIdentification": True},
    }
    transcribe.start_transcription_job(**job)
    with pytest.raises(transcribe.exceptions.ConflictException):
        transcribe.start_transcription_job(**job)
    assert transcription.jobs_started == 1, "a refused start starts nothing"
    clock.run(until=clock.now() + JOB_SECONDS + 600)
    body = s3.get_object(Bucket="recordings", Key=f"transcribe-output/{RECORDING}.json")["Body"]
    output = json.loads(body.read())
    assert output["jobName"] == f"cc-{RECORDING}"
    assert [line.speaker for line in transcription.spoken[RECORDING]][:2] == ["customer", "agent"]
    if fail_first <= 2:  # Lambda's asynchronous invocation: the first try and two retries
        [event] = received
        assert event["detail"] == {
            "TranscriptionJobName": f"cc-{RECORDING}",
            "TranscriptionJobStatus": "COMPLETED",
        }
        assert event["source"] == "aws.transcribe" and not lambdas.events_lost
    else:
        assert not received
        assert lambdas.events_lost == [("finished", f"transcribe-cc-{RECORDING}")]
