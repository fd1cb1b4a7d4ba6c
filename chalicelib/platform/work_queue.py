"""Durable hand-off to background work: a message on an SQS queue with a dead-letter queue.

The queue is looked up by name once per cold start (the URL differs between moto, the local
stack and AWS; the name is what infra/resources.json and the Lambda's event source agree on).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.platform.errors import StorageUnavailable


class WorkQueue:
    def __init__(self, client: Any, queue_name: str) -> None:
        self._sqs = client
        self._name = queue_name
        self._url: str | None = None

    @property
    def name(self) -> str:
        return self._name

    def url(self) -> str:
        if self._url is None:
            try:
                self._url = str(self._sqs.get_queue_url(QueueName=self._name)["QueueUrl"])
            except (ClientError, BotoCoreError) as exc:
                raise StorageUnavailable(f"queue {self._name} not reachable: {exc}") from exc
        return self._url

    def send(self, body: str, delay_seconds: int = 0) -> str:
        try:
            result = self._sqs.send_message(
                QueueUrl=self.url(), MessageBody=body, DelaySeconds=delay_seconds
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable(f"send to {self._name} failed: {exc}") from exc
        return str(result["MessageId"])
