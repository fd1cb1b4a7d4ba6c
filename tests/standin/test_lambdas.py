"""Lambda's event sources as the stand-in plays them: a poller outlives a source it cannot read."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from botocore.exceptions import EndpointConnectionError
from chalice import Chalice

from ops.standin.clock import Scheduler
from ops.standin.lambdas import LambdaRuntime, Writes, deployed_queues


class QueueDoesNotExist(Exception):
    pass


class Sqs:
    """A queue behind a moto server that is unreachable for the first `down` polls."""

    exceptions = SimpleNamespace(QueueDoesNotExist=QueueDoesNotExist)

    def __init__(self, down: int, exists: bool = True) -> None:
        self.down = down
        self.exists = exists
        self.polls = 0
        self.waiting = [{"MessageId": "m1", "ReceiptHandle": "r1", "Body": "recording ready"}]
        self.deleted: list[str] = []

    def get_queue_url(self, QueueName: str) -> dict[str, str]:
        self.polls += 1
        if self.polls <= self.down:
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:5000/")
        if not self.exists:
            raise QueueDoesNotExist(QueueName)
        return {"QueueUrl": f"http://127.0.0.1:5000/000000000000/{QueueName}"}

    def receive_message(self, **_: Any) -> dict[str, Any]:
        messages, self.waiting = self.waiting, []
        return {"Messages": messages}

    def delete_message(self, ReceiptHandle: str, **_: Any) -> None:
        self.deleted.append(ReceiptHandle)


def runtime(sqs: Sqs) -> tuple[LambdaRuntime, Scheduler, list[str]]:
    app = Chalice(app_name="standin-lambdas")
    received: list[str] = []

    @app.on_sqs_message(queue="recording-copies")
    def copy_recording(event: Any) -> None:
        received.extend(record.body for record in event)

    clock = Scheduler(start=0.0)
    lambdas = LambdaRuntime(app, SimpleNamespace(client=lambda _name: sqs), clock)
    lambdas.start()
    return lambdas, clock, received


def test_a_queue_poller_counts_an_unreachable_source_and_delivers_once_it_is_back() -> None:
    sqs = Sqs(down=2)
    lambdas, clock, received = runtime(sqs)
    clock.run(until=10.0)
    assert received == ["recording ready"]
    assert sqs.deleted == ["r1"]
    assert lambdas.failures == {"copy_recording": 2}
    assert "reading the source" in lambdas.last_error["copy_recording"]
    assert sqs.polls >= 9  # still polling after the failures


def test_a_queue_this_stack_does_not_have_is_the_handlers_failure_and_no_longer_polled() -> None:
    sqs = Sqs(down=0, exists=False)
    lambdas, clock, received = runtime(sqs)
    clock.run(until=10.0)
    assert (sqs.polls, received, lambdas.failures) == (1, [], {"copy_recording": 1})
    assert lambdas.failing == {"copy_recording"}
    assert lambdas.last_error["copy_recording"] == "no such queue: recording-copies"


def test_a_handler_reads_the_queue_the_stack_binds_it_to_not_its_declared_name() -> None:
    sqs = Sqs(down=0)
    app = Chalice(app_name="standin-lambdas")

    @app.on_sqs_message(queue="recording-copies")
    def copy_recording(event: Any) -> None:
        pass

    asked: list[str] = []
    original = sqs.get_queue_url

    def get_queue_url(QueueName: str) -> dict[str, str]:
        asked.append(QueueName)
        return original(QueueName)

    sqs.get_queue_url = get_queue_url  # type: ignore[method-assign]
    clock = Scheduler(start=0.0)
    LambdaRuntime(
        app,
        SimpleNamespace(client=lambda _name: sqs),
        clock,
        queues={"copy_recording": "cc-local-recording-copy"},
    ).start()
    clock.run(until=3.0)
    assert set(asked) == {"cc-local-recording-copy"}
    assert sqs.deleted == ["r1"]


def test_the_deployed_template_binds_the_copy_worker_to_the_stages_recordings_queue() -> None:
    from app import app
    from ops.standin.harness import local_settings

    settings = local_settings()
    bound = deployed_queues(settings)
    assert bound == {"copy_worker": settings.recordings.recordings_queue}
    declared = {s.name for s in app.event_sources if hasattr(s, "queue")}
    assert declared == set(bound)


def test_a_failed_message_comes_back_after_the_queues_visibility_timeout_on_the_virtual_clock() -> (
    None
):
    import boto3
    from moto import mock_aws

    app = Chalice(app_name="standin-lambdas")
    attempts: list[tuple[float, str]] = []
    clock = Scheduler(start=0.0)

    @app.on_sqs_message(queue="recording-copies")
    def copy_recording(event: Any) -> None:
        for record in event:
            attempts.append(
                (clock.now(), record.to_dict()["attributes"]["ApproximateReceiveCount"])
            )
        if len(attempts) == 1:
            raise RuntimeError("twilio answered 500")

    with mock_aws():
        session = boto3.session.Session(region_name="ap-northeast-1")
        writes = Writes()  # polls only after a send or when a failed message is due back
        writes.install(session)
        sqs = session.client("sqs")
        url = sqs.create_queue(
            QueueName="recording-copies", Attributes={"VisibilityTimeout": "1800"}
        )["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="RE1")
        lambdas = LambdaRuntime(app, session, clock, writes=writes)
        lambdas.start()
        clock.run(until=1900.0)
        assert [count for _, count in attempts] == ["1", "2"]
        assert 1800.0 <= attempts[1][0] - attempts[0][0] <= 1802.0
        assert lambdas.failures == {"copy_recording": 1} and lambdas.failing == set()
        assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []
