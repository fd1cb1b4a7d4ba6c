"""The stand-in's softphone renews its Cognito ID token before it expires, as the page does.

Tokens expire on the wall clock (an hour) whatever the rehearsal's virtual clock says: a
20,000-call day took 78 minutes and every request after the hour was answered 401.
"""

from __future__ import annotations

import time
from typing import Any

from ops.standin.population import AgentApi, seconds_left
from ops.standin.transport import Reply


def jwt(exp: float, name: str) -> str:
    """A signed token with `exp` (the key does not matter: the softphone never verifies it)."""
    import jwt as pyjwt

    return pyjwt.encode({"exp": int(exp), "name": name}, "k" * 32, algorithm="HS256")


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
