"""The stand-in hands the app a callback's query in another order than the one Twilio signed,
as API Gateway may: it passes the parsed parameters, "except that the order of the request
parameters is not preserved"
(https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html).
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from ops.standin.transport import InProcessTransport, QueryOrder
from tests.app.test_assignment import assignment_form
from tests.app.test_callback_signatures import agent_leg_status
from tests.conftest import AUTH_TOKEN, PUBLIC_BASE_URL, TwilioPoster

URL = "https://cc.example.test/api/twilio/voice/status?agent=a&conversation=c&reservation=r&task=t"


def pairs(url: str) -> list[str]:
    return urllib.parse.urlsplit(url).query.split("&")


def test_a_query_is_presented_reordered_and_otherwise_unchanged() -> None:
    order = QueryOrder(seed=7)
    for _ in range(50):
        presented = order.present(URL)
        assert pairs(presented) != pairs(URL)
        assert sorted(pairs(presented)) == sorted(pairs(URL))
        assert presented.split("?")[0] == URL.split("?")[0]


def test_the_order_is_the_seeds() -> None:
    first, second = QueryOrder(seed=3), QueryOrder(seed=3)
    assert [first.present(URL) for _ in range(10)] == [second.present(URL) for _ in range(10)]


def test_a_query_with_one_parameter_or_none_and_a_kept_order_stay_as_they_are() -> None:
    order = QueryOrder()
    assert order.present(URL.split("&")[0]) == URL.split("&")[0]
    assert order.present(URL.split("?")[0]) == URL.split("?")[0]
    assert QueryOrder(keep=True).present(URL) == URL


def test_the_app_accepts_its_own_callback_whatever_order_the_stand_in_presents(
    client: Any,
) -> None:
    from app import app

    instruction = json.loads(
        TwilioPoster(client).post("/twilio/taskrouter/assignment", assignment_form()).body
    )
    callback = str(instruction["status_callback"])
    transport = InProcessTransport(app, PUBLIC_BASE_URL, AUTH_TOKEN)
    for _ in range(6):
        assert transport.post(callback, agent_leg_status()).status in (200, 204)
    impostor = InProcessTransport(app, PUBLIC_BASE_URL, "not-the-auth-token")
    assert impostor.post(callback, agent_leg_status()).status == 403
