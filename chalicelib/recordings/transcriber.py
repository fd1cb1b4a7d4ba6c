"""Amazon Transcribe batch jobs on recordings in our bucket, one speaker per channel.

Transcribe writes its JSON into our bucket (`OutputBucketName`/`OutputKey`), encrypted with our
key; nothing is kept in the service's own bucket. The job name is deterministic: starting it a
second time is refused (ConflictException) instead of paying for a second transcription.
https://docs.aws.amazon.com/transcribe/latest/APIReference/API_StartTranscriptionJob.html
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.platform.errors import StorageUnavailable


class Transcriber:
    def __init__(self, client: Any, output_bucket: str, kms_key_id: str = "") -> None:
        self._transcribe = client
        self._output_bucket = output_bucket
        self._kms_key_id = kms_key_id

    def start(self, job_name: str, media_uri: str, language: str, output_key: str) -> bool:
        """Start a channel-identified job; False if a job of that name already exists."""
        params: dict[str, Any] = {
            "TranscriptionJobName": job_name,
            "LanguageCode": language,
            "MediaFormat": "wav",
            "Media": {"MediaFileUri": media_uri},
            "OutputBucketName": self._output_bucket,
            "OutputKey": output_key,
            "Settings": {"ChannelIdentification": True},
        }
        if self._kms_key_id:
            params["OutputEncryptionKMSKeyId"] = self._kms_key_id
        try:
            self._transcribe.start_transcription_job(**params)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConflictException":
                return False
            raise StorageUnavailable(f"start transcription {job_name} failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageUnavailable(f"start transcription {job_name} failed: {exc}") from exc
        return True

    def status(self, job_name: str) -> tuple[str, str]:
        """The job's status and, if it failed, why."""
        try:
            job = self._transcribe.get_transcription_job(TranscriptionJobName=job_name)
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable(f"get transcription {job_name} failed: {exc}") from exc
        detail = job["TranscriptionJob"]
        return str(detail["TranscriptionJobStatus"]), str(detail.get("FailureReason", ""))
