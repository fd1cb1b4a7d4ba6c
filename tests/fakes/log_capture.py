"""Capture what the Powertools Logger writes, as parsed JSON lines.

The Logger binds its stream when it is created (at import), before pytest's capsys swaps
sys.stdout, so tests add a second handler with the Logger's own formatter instead.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from chalicelib.platform.observability import logger


class LogLines:
    def __init__(self, stream: io.StringIO) -> None:
        self._stream = stream

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self._stream.getvalue().splitlines() if line]


@contextmanager
def captured_logs() -> Iterator[LogLines]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    # Another test (or the stand-in) may have quieted the shared Logger; capture INFO and up.
    saved_level = logger.log_level
    logger.setLevel("INFO")
    try:
        yield LogLines(stream)
    finally:
        logger.setLevel(saved_level)
        logger.removeHandler(handler)
