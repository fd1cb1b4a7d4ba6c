"""Callback URLs with a query verify however API Gateway presents that query.

Twilio signs the exact URL it requests, query included
(https://www.twilio.com/docs/usage/webhooks/webhooks-security). API Gateway's REST API gives the
function `queryStringParameters` / `multiValueQueryStringParameters`, and "the order of the
request parameters is not preserved"
(https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html).
chalice's test client, like `chalice local`, keeps the order of the path it is given, so each
test presents the query in every order API Gateway might.
"""

from __future__ import annotations

import itertools
import json
import urllib.parse
from typing import Any

import pytest

from tests.app.test_assignment import assignment_form
from tests.conftest import FORM, PUBLIC_BASE_URL, TwilioPoster, sign
from tests.data import ACCOUNT_SID, sid


def agent_leg_status() -> dict[str, str]:
    return {
        "AccountSid": ACCOUNT_SID,
        "CallSid": sid("CA", 2),
        "CallStatus": "ringing",
        "Direction": "outbound-api",
        "From": "+81312345678",
        "To": "client:sato",
        "SequenceNumber": "0",
        "Timestamp": "Tue, 14 Jan 2025 17:03:12 +0000",
    }


def orders(url: str) -> list[str]:
    """The path and query of `url`, once for every order of its query's parameters."""
    parts = urllib.parse.urlsplit(url)
    path = parts.path.removeprefix(urllib.parse.urlsplit(PUBLIC_BASE_URL).path)
    pairs = urllib.parse.parse_qsl(parts.query)
    return [
        path + "?" + urllib.parse.urlencode(order, quote_via=urllib.parse.quote)
        for order in itertools.permutations(pairs)
    ]


def agent_leg_callback(twilio: TwilioPoster) -> str:
    """The status callback URL the app hands TaskRouter for the agent's leg of a reservation."""
    instruction = json.loads(twilio.post("/twilio/taskrouter/assignment", assignment_form()).body)
    return str(instruction["status_callback"])


def test_the_agent_legs_status_callback_verifies_in_every_order_of_its_query(
    twilio: TwilioPoster, client: Any
) -> None:
    signed_url = agent_leg_callback(twilio)
    form = agent_leg_status()
    signature = sign(signed_url.removeprefix(PUBLIC_BASE_URL), form)
    presented = orders(signed_url)
    assert len(presented) == 24, "conversation, task, reservation and agent"
    for path in presented:
        response = client.http.post(
            path,
            headers={"Content-Type": FORM, "X-Twilio-Signature": signature},
            body=urllib.parse.urlencode(form),
        )
        assert response.status_code in (200, 204), (path, response.body)


@pytest.mark.parametrize("tamper", ["signature", "query"])
def test_a_reordered_query_does_not_let_a_wrong_signature_through(
    twilio: TwilioPoster, client: Any, tamper: str
) -> None:
    signed_url = agent_leg_callback(twilio)
    form = agent_leg_status()
    signature = sign(signed_url.removeprefix(PUBLIC_BASE_URL), form)
    if tamper == "signature":
        signature = sign(signed_url.removeprefix(PUBLIC_BASE_URL), form, token="another-token")
    for path in orders(signed_url):
        if tamper == "query":
            path = path.replace("agent=sato", "agent=ito")
        response = client.http.post(
            path,
            headers={"Content-Type": FORM, "X-Twilio-Signature": signature},
            body=urllib.parse.urlencode(form),
        )
        assert response.status_code == 403, path
