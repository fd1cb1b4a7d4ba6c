"""A DynamoDB that accepts connections and never answers: the caller is still enqueued, in time.

No moto here: botocore talks to a real socket on 127.0.0.1 that stalls, so the real client
timeouts configured in bootstrap.Container are what is exercised.
"""

from __future__ import annotations

import socket
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from chalicelib import bootstrap
from tests.conftest import TwilioPoster, make_settings
from tests.data import incoming_call_form


@pytest.fixture
def stalled_endpoint() -> Iterator[str]:
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()
    held: list[socket.socket] = []

    def accept_and_stall() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            held.append(conn)  # read nothing, answer nothing

    thread = threading.Thread(target=accept_and_stall, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(timeout=2)
    for conn in held:
        conn.close()
    server.close()


def test_stalled_dynamodb_degrades_to_everyone_within_budget(
    stalled_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", stalled_endpoint)
    settings = make_settings(dynamodb_timeout_seconds=0.3)
    container = bootstrap.Container(
        settings=settings, boto_session=boto3.session.Session(region_name="ap-northeast-1")
    )
    bootstrap.use(container)
    try:
        from chalice.test import Client

        from app import app

        with Client(app) as client:
            started = time.monotonic()
            response: Any = TwilioPoster(client).post(
                "/twilio/voice/incoming", incoming_call_form()
            )
            elapsed = time.monotonic() - started
    finally:
        bootstrap.use(None)
    assert response.status_code == 200
    task = ET.fromstring(response.body).find("./Enqueue/Task")
    assert task is not None
    assert '"routing_degraded":true' in (task.text or "")
    # Two attempts of 0.3 s each, far inside Twilio's 15 s webhook budget.
    assert elapsed < 5, f"took {elapsed:.1f} s"
