"""The Logger, Metrics and Tracer, created once per process and shared by every module.

Logs are structured JSON with the call's identifiers as keys (`call_sid`, `task_sid`,
`agent_id`) so one call's story is one CloudWatch Logs Insights query (docs/runbook.md).
Metrics go out as CloudWatch embedded metric format on stdout, dimensioned by service and
stage, and are flushed after every invocation by the middleware in app.py. The alarms and the
dashboard in infra/resources.json refer to the metric names below: rename one there too.

The Tracer is disabled outside Lambda and in tests (POWERTOOLS_TRACE_DISABLED); in Lambda it
patches only botocore and requests. It is built on first use, not at import: the X-Ray SDK
loads botocore's endpoint data for a session of its own (~0.1 s), which `import app` should
not pay before the handler even runs (`python -m ops bench incoming-call` prints both costs).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric

SERVICE = "contact-center"
NAMESPACE = "ContactCenter"
STAGE = os.environ.get("STAGE", "local")

# Metric names that alarms and the dashboard use (infra/resources.json).
CALLS_OFFERED = "CallsOffered"
CALLS_ANSWERED = "CallsAnswered"
CALLS_ABANDONED = "CallsAbandoned"
FALLBACK_ROUTE_USED = "RoutingDegraded"  # the directory was slow or down: routed to everyone
ESCALATION_STAGE_PREFIX = "EscalationStage_"  # + owner / team / everyone
ESCALATION_TIMELINE_FAILED = "EscalationTimelineFailed"
PRESENCE_MIRROR_DRIFT = "PresenceDrift"
RECORDING_COPY_FAILED = "RecordingCopyFailed"
WEBHOOK_ERRORS = "WebhookErrors"  # 5xx answers, all routes: the alarm
WEBHOOK_ERRORS_BY_ROUTE = "WebhookErrorsByRoute"  # the same, dimensioned by route: the diagnosis

CALL_KEYS = ("call_sid", "task_sid", "agent_id")

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
metrics.set_default_dimensions(stage=STAGE)


@lru_cache(maxsize=1)
def tracer() -> Tracer:
    return Tracer(service=SERVICE, patch_modules=("botocore", "requests"))


def count(name: str, value: int = 1) -> None:
    """Count one occurrence of something operators alarm or chart on."""
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def timing_ms(name: str, milliseconds: float) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Milliseconds, value=milliseconds)


def count_by(name: str, dimension: str, value: str, amount: int = 1) -> None:
    """Count with one extra dimension, emitted at once in its own EMF record.

    Kept apart from `metrics` so the extra dimension does not leak onto the request's other
    metrics (whose dimension set the alarms match exactly).
    """
    with single_metric(
        name=name,
        unit=MetricUnit.Count,
        value=amount,
        namespace=NAMESPACE,
        default_dimensions={"service": SERVICE, "stage": STAGE},
    ) as metric:
        metric.add_dimension(name=dimension, value=value)


def bind(**keys: str) -> None:
    """Add call identifiers (call_sid, task_sid, agent_id) to every log line of this invocation.

    Empty values are ignored, so callers can pass what they have. The middleware clears them.
    """
    present = {k: v for k, v in keys.items() if v}
    if present:
        logger.append_keys(**present)
        for key in ("call_sid", "task_sid"):
            if key in present:
                tracer().put_annotation(key=key, value=present[key])


def bind_twilio_form(form: Mapping[str, str]) -> None:
    """Bind the identifiers a Twilio webhook carries: CallSid, TaskSid and, for TaskRouter,
    the call and agent inside the task and worker attributes."""
    task = _json(form.get("TaskAttributes"))
    worker = _json(form.get("WorkerAttributes"))
    bind(
        call_sid=form.get("CallSid") or str(task.get("call_sid") or ""),
        task_sid=form.get("TaskSid", ""),
        agent_id=str(worker.get("agent_id") or ""),
    )


def clear_call_keys() -> None:
    logger.remove_keys(list(CALL_KEYS))


def record_response(route: str, status_code: int) -> None:
    """Count a 5xx answer, in total and by route (the webhook-errors alarm and its diagnosis)."""
    if status_code >= 500:
        count(WEBHOOK_ERRORS)
        count_by(WEBHOOK_ERRORS_BY_ROUTE, "route", route)
        logger.error("answered with server error", status=status_code)


@contextmanager
def invocation(name: str) -> Iterator[None]:
    """One Lambda invocation of any kind: a trace subsegment, and the metrics flushed after."""
    try:
        if tracer().disabled:
            yield
        else:
            with tracer().provider.in_subsegment(f"## {name}"):
                yield
    finally:
        if metrics.metric_set:
            metrics.flush_metrics()
            # With POWERTOOLS_METRICS_DISABLED, flush keeps the set; at 100 values Powertools
            # then prints it anyway, so a disabled run would still pour EMF onto stdout.
            metrics.clear_metrics()
        clear_call_keys()


def _json(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
