"""What operators see: call identifiers on every log line, 5xx counted by route, flushed metrics."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalice import Chalice, ChaliceViewError
from chalice.test import Client

import app as app_module
from chalicelib.platform import observability
from tests.conftest import TwilioPoster
from tests.data import incoming_call_form
from tests.fakes.log_capture import captured_logs


def json_lines(text: str) -> list[dict[str, Any]]:
    lines = []
    for line in text.splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def emf_metrics(lines: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Metric name -> the EMF record it was emitted in."""
    found = {}
    for record in lines:
        for directive in record.get("_aws", {}).get("CloudWatchMetrics", []):
            for metric in directive["Metrics"]:
                found[metric["Name"]] = record
    return found


def test_webhook_log_lines_carry_the_call_sid_and_are_cleared_after(
    twilio: TwilioPoster, resources: Any
) -> None:
    form = incoming_call_form()
    with captured_logs() as logs:
        assert twilio.post("/twilio/voice/incoming", form).status_code == 200
        observability.logger.info("after the request")
    lines = logs.records()
    during, after = lines[:-1], lines[-1]
    assert during, "the incoming call logged nothing"
    assert all(line.get("call_sid") == form["CallSid"] for line in during)
    assert "call_sid" not in after


def test_metrics_are_flushed_per_request_with_the_stage_dimension(
    twilio: TwilioPoster, resources: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    twilio.post("/twilio/voice/incoming", incoming_call_form())
    metrics = emf_metrics(json_lines(capsys.readouterr().out))
    assert metrics, "no metrics flushed"
    record = next(iter(metrics.values()))
    assert record["service"] == "contact-center"
    assert record["stage"] == observability.STAGE
    assert record["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "ContactCenter"


@pytest.fixture
def failing_app() -> Chalice:
    """A small app with the real middleware of app.py and a route that fails."""
    failing = Chalice(app_name="failing")
    failing.register_middleware(app_module.trace_and_flush, "all")
    failing.register_middleware(app_module.observe, "http")

    @failing.route("/twilio/broken", methods=["POST"])
    def broken() -> None:
        raise ChaliceViewError("the directory is on fire")

    @failing.route("/fine")
    def fine() -> dict[str, bool]:
        return {"ok": True}

    return failing


def test_a_5xx_is_counted_in_total_and_by_route(
    failing_app: Chalice, capsys: pytest.CaptureFixture[str]
) -> None:
    with Client(failing_app) as client:
        assert client.http.post("/twilio/broken").status_code == 500
    metrics = emf_metrics(json_lines(capsys.readouterr().out))
    assert metrics[observability.WEBHOOK_ERRORS]["WebhookErrors"] in (1.0, [1.0])
    by_route = metrics[observability.WEBHOOK_ERRORS_BY_ROUTE]
    assert by_route["route"] == "/twilio/broken"
    assert by_route["stage"] == observability.STAGE
    # The total carries no route dimension: the alarm matches the exact dimension set.
    assert "route" not in metrics[observability.WEBHOOK_ERRORS]


def test_a_success_counts_no_error(
    failing_app: Chalice, capsys: pytest.CaptureFixture[str]
) -> None:
    with Client(failing_app) as client:
        assert client.http.get("/fine").status_code == 200
    metrics = emf_metrics(json_lines(capsys.readouterr().out))
    assert observability.WEBHOOK_ERRORS not in metrics
