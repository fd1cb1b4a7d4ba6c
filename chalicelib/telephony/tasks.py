"""A TaskRouter task as our REST adapter reads it, for the areas that update tasks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TaskSnapshot:
    """A TaskRouter task as read: status, attributes, and version for a conditional write.

    `version` is the task's ETag: an update sent with If-Match fails if the task changed since.
    https://www.twilio.com/docs/taskrouter/api/task#task-version
    """

    task_sid: str
    status: str
    attributes: dict[str, Any]
    version: str = ""
