"""A Task's Timeout "can be up to a maximum of 2 weeks (1,209,600 seconds)"
(https://www.twilio.com/docs/taskrouter/api/task, Create a Task): a follow-up timeout above it
would make every voicemail and callback task creation fail at Twilio, so settings refuse it."""

from __future__ import annotations

import pytest

from chalicelib.platform.settings import TASK_TIMEOUT_MAX, ConfigurationError
from tests.conftest import make_settings


def test_followups_may_wait_the_longest_timeout_twilio_accepts_and_no_longer() -> None:
    assert TASK_TIMEOUT_MAX == 1_209_600
    settings = make_settings(followup_task_timeout_seconds=TASK_TIMEOUT_MAX)
    assert settings.escalation.followup_task_timeout_seconds == TASK_TIMEOUT_MAX
    with pytest.raises((ConfigurationError, ValueError)):
        make_settings(followup_task_timeout_seconds=TASK_TIMEOUT_MAX + 1)
