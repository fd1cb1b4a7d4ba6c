"""The Logger and Metrics, created once per process and shared by every module.

Logs are structured JSON with the call's identifiers as keys (`call_sid`, `task_sid`,
`agent_id`); metrics go out as CloudWatch embedded metric format on stdout, flushed after every
request by the middleware in app.py.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = "contact-center"
NAMESPACE = "ContactCenter"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


def count(name: str, value: int = 1) -> None:
    """Count one occurrence of something operators alarm or chart on."""
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def timing_ms(name: str, milliseconds: float) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Milliseconds, value=milliseconds)
