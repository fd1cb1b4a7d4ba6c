"""Shared pieces of benchmark scripts: percentiles, request counting, fresh-process timing."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from typing import Any


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank; values need not be sorted."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


class AwsRequestCounter:
    """Counts every AWS request a boto3 session sends, by service and operation."""

    def __init__(self, session: Any) -> None:
        self.by_operation: Counter[str] = Counter()
        session.events.register("before-send", self._count)

    def _count(self, request: Any = None, **kwargs: Any) -> None:
        target = request.headers.get("X-Amz-Target", b"") if request is not None else b""
        name = target.decode() if isinstance(target, bytes) else str(target)
        self.by_operation[name.split(".")[-1] or request.method] += 1

    @property
    def total(self) -> int:
        return sum(self.by_operation.values())

    def reset(self) -> None:
        self.by_operation.clear()


def fresh_import_seconds(statement: str, runs: int = 5) -> float:
    """Median wall time of `statement` in a fresh interpreter (a cold-start proxy)."""
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", statement], check=True)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def use_moto_in_process() -> None:
    """Environment for a benchmark that runs the app against moto in this process, quietly.

    Called before the app is imported: the Logger reads its level once, at import.
    """
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        os.environ.pop(key, None)
    # The figures are what a benchmark prints, not the app's log lines.
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",  # noqa: S106 - moto's dummy credentials
        AWS_DEFAULT_REGION="ap-northeast-1",
    )
