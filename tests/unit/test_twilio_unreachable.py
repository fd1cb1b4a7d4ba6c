"""Twilio out of reach: the adapter says TelephonyUnavailable, whatever the transport raised.

twilio's HTTP client lets the requests library's errors (a refused connection, a timeout) through
unwrapped; the escalation state machine retries only our own error names
(infra/escalation.asl.json), so an unwrapped ConnectionError failed an execution at once.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
import requests
from twilio.http import HttpClient

from chalicelib.platform.errors import TelephonyUnavailable
from chalicelib.platform.settings import TwilioCredentials
from chalicelib.telephony.rest import TwilioGateway

WORKSPACE = "WS" + "b" * 32
TASK = "WT" + "1" * 32


class Unreachable(HttpClient):
    """An HTTP client whose every request fails the way a dead network fails."""

    def __init__(self, error: Exception) -> None:
        super().__init__(logger=logging.getLogger("unreachable-twilio"), is_async=False)
        self.error = error

    def request(self, *args: Any, **kwargs: Any) -> Any:
        raise self.error


@pytest.mark.parametrize(
    "error",
    [requests.exceptions.ConnectionError("refused"), requests.exceptions.ReadTimeout("slow")],
    ids=["refused", "timeout"],
)
def test_every_kind_of_request_reports_twilio_unavailable(error: Exception) -> None:
    gateway = TwilioGateway(
        TwilioCredentials(account_sid="AC" + "a" * 32, auth_token="t"),
        WORKSPACE,
        http_client=Unreachable(error),
    )
    calls = [
        lambda: gateway.fetch_task(TASK),
        lambda: gateway.update_task_if_unchanged(TASK, {"stage": "team"}, "1"),
        lambda: gateway.delete_recording("RE" + "2" * 32),
        lambda: gateway.create_task("WW" + "c" * 32, {"type": "callback"}, 0, 3600),
    ]
    for call in calls:
        with pytest.raises(TelephonyUnavailable):
            call()
