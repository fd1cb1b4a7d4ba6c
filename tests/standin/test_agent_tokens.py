"""The stand-in's softphone renews its Cognito ID token before it expires, as the page does.

Tokens expire on the wall clock (an hour) whatever the rehearsal's virtual clock says: a
20,000-call day took 78 minutes and every request after the hour was answered 401.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from ops.standin.population import AgentApi, seconds_left
from ops.standin.transport import Reply


def jwt(exp: float, name: str) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256'})}.{part({'exp': int(exp), 'name': name})}.signature"


class SeenTokens:
    def __init__(self) -> None:
        self.tokens: list[str] = []

    def call_json(self, method: str, path: str, token: str, body: Any = None) -> Reply:
        self.tokens.append(token)
        return Reply(200, "{}", 1.0)


def test_a_token_about_to_expire_is_renewed_before_the_request() -> None:
    transport = SeenTokens()
    renewed = jwt(time.time() + 3600, "fresh")
    api = AgentApi(
        transport, {"sato": jwt(time.time() + 60, "old")}, renew=lambda agent_id: renewed
    )
    api.request("sato", "GET", "/agents/me/call")
    api.heartbeat("sato")
    assert transport.tokens == [renewed, renewed]


def test_a_fresh_token_is_kept() -> None:
    transport = SeenTokens()
    token = jwt(time.time() + 3600, "fresh")
    calls: list[str] = []
    api = AgentApi(transport, {"sato": token}, renew=lambda agent_id: calls.append(agent_id) or "")
    api.request("sato", "GET", "/agents/me/call")
    assert (transport.tokens, calls) == ([token], [])


def test_seconds_left_reads_exp_and_treats_garbage_as_expired() -> None:
    assert 3590 < seconds_left(jwt(time.time() + 3600, "x")) <= 3600
    assert seconds_left("not-a-jwt") == 0.0
