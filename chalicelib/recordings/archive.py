"""The recordings bucket: write a recording so S3 itself checks it, read back what S3 holds,
store and read transcripts, and hand out short-lived playback links.

Every write is server-side encrypted with KMS whatever the bucket default says, and carries a
SHA-256 checksum that S3 verifies on receipt (a corrupted upload is refused, not stored).
https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.platform.errors import NotFound, StorageUnavailable
from chalicelib.recordings.domain import StoredObject

WAV = "audio/wav"


class RecordingArchive:
    def __init__(self, client: Any, bucket: str, kms_key_id: str = "") -> None:
        self._s3 = client
        self._bucket = bucket
        self._kms_key_id = kms_key_id

    @property
    def bucket(self) -> str:
        return self._bucket

    def _encryption(self) -> dict[str, str]:
        params = {"ServerSideEncryption": "aws:kms"}
        if self._kms_key_id:
            params["SSEKMSKeyId"] = self._kms_key_id
        return params

    def put_recording(
        self, key: str, body: bytes, sha256_b64: str, metadata: dict[str, str]
    ) -> None:
        try:
            self._s3.put_object(
                Bucket=self._bucket,
                Key=key,
                Body=body,
                ContentType=WAV,
                # Both: S3 refuses the upload if the body does not hash to this value.
                ChecksumAlgorithm="SHA256",
                ChecksumSHA256=sha256_b64,
                Metadata=metadata,
                **self._encryption(),
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable(f"put s3://{self._bucket}/{key} failed: {exc}") from exc

    def stored(self, key: str, reread: bool = False) -> StoredObject:
        """Size and SHA-256 as S3 reports them now; with `reread`, also the SHA-256 of the bytes
        read back from that exact version (streamed, so memory stays flat)."""
        try:
            head = self._s3.head_object(Bucket=self._bucket, Key=key, ChecksumMode="ENABLED")
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                raise NotFound(f"s3://{self._bucket}/{key} does not exist") from exc
            raise StorageUnavailable(f"head s3://{self._bucket}/{key} failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageUnavailable(f"head s3://{self._bucket}/{key} failed: {exc}") from exc
        version_id = str(head.get("VersionId") or "")
        return StoredObject(
            key=key,
            size=int(head["ContentLength"]),
            sha256_b64=str(head.get("ChecksumSHA256", "")),
            version_id=version_id,
            read_sha256_b64=self._read_digest(key, version_id) if reread else "",
        )

    def _read_digest(self, key: str, version_id: str) -> str:
        params = {"Bucket": self._bucket, "Key": key}
        if version_id:
            params["VersionId"] = version_id
        digest = hashlib.sha256()
        try:
            body = self._s3.get_object(**params)["Body"]
            for chunk in body.iter_chunks(chunk_size=1024 * 1024):
                digest.update(chunk)
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable(f"re-read s3://{self._bucket}/{key} failed: {exc}") from exc
        return base64.b64encode(digest.digest()).decode()

    def put_json(self, key: str, document: Any) -> None:
        body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
        try:
            self._s3.put_object(
                Bucket=self._bucket,
                Key=key,
                Body=body,
                ContentType="application/json",
                **self._encryption(),
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable(f"put s3://{self._bucket}/{key} failed: {exc}") from exc

    def get_json(self, key: str) -> Any:
        try:
            body = self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                raise NotFound(f"s3://{self._bucket}/{key} does not exist") from exc
            raise StorageUnavailable(f"get s3://{self._bucket}/{key} failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageUnavailable(f"get s3://{self._bucket}/{key} failed: {exc}") from exc
        try:
            return json.loads(body)
        except ValueError as exc:
            raise StorageUnavailable(f"s3://{self._bucket}/{key} is not JSON") from exc

    def playback_url(self, key: str, ttl_seconds: int) -> str:
        """A presigned GET: the browser plays the file straight from S3 for `ttl_seconds`."""
        try:
            return str(
                self._s3.generate_presigned_url(
                    "get_object",
                    Params={"Bucket": self._bucket, "Key": key, "ResponseContentType": WAV},
                    ExpiresIn=ttl_seconds,
                )
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable(f"presign s3://{self._bucket}/{key} failed: {exc}") from exc
