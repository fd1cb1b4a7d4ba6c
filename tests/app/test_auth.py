"""Staff authentication: Cognito ID tokens verified against the pool's keys."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from chalice import Chalice
from chalice.test import Client

from chalicelib.api.auth import (
    InvalidToken,
    Staff,
    require_staff,
    require_supervisor,
    verify_id_token,
)

probe = Chalice(app_name="auth-probe")


@probe.route("/whoami")
def whoami() -> dict[str, Any]:
    staff = require_staff(probe.current_request)
    return {"agent_id": staff.agent_id, "supervisor": staff.is_supervisor}


@probe.route("/supervisors-only")
def supervisors_only() -> dict[str, Any]:
    return {"agent_id": require_supervisor(probe.current_request).agent_id}


@pytest.fixture
def probe_client(container: Any) -> Any:
    with Client(probe) as client:
        yield client


def get(client: Any, path: str, token: str | None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.http.get(path, headers=headers)


def test_agent_token_names_the_agent(probe_client: Any, staff_token: Any) -> None:
    response = get(probe_client, "/whoami", staff_token("sato.haruto"))
    assert response.status_code == 200
    assert response.json_body == {"agent_id": "sato.haruto", "supervisor": False}


def test_supervisor_group_is_recognised(probe_client: Any, staff_token: Any) -> None:
    token = staff_token("boss", supervisor=True)
    assert get(probe_client, "/whoami", token).json_body["supervisor"] is True
    assert get(probe_client, "/supervisors-only", token).status_code == 200


def test_agent_is_refused_supervisor_routes(probe_client: Any, staff_token: Any) -> None:
    assert get(probe_client, "/supervisors-only", staff_token("sato")).status_code == 403


@pytest.mark.parametrize("token", [None, "garbage", "a.b.c"])
def test_missing_or_malformed_token_is_401(
    probe_client: Any, cognito_pool: Any, token: str | None
) -> None:
    assert get(probe_client, "/whoami", token).status_code == 401


def test_token_for_another_app_client_is_401(
    probe_client: Any, staff_token: Any, container: Any
) -> None:
    token = staff_token("sato")
    container.settings = container.settings.with_values(**{"cognito_client_id": "someone-else"})
    assert get(probe_client, "/whoami", token).status_code == 401


def test_token_signed_by_another_key_is_refused(container: Any, cognito_pool: Any) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    forged_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    settings = container.settings
    claims = {
        "iss": settings.cognito_issuer,
        "aud": settings.auth.cognito_client_id,
        "token_use": "id",
        "cognito:username": "intruder",
        "iat": int(time.time()),
        "exp": int(time.time()) + 600,
    }
    forged = jwt.encode(claims, forged_key, algorithm="RS256", headers={"kid": "dummy"})
    with pytest.raises(InvalidToken):
        verify_id_token(forged, container.signing_keys, settings)


def test_expired_token_is_refused(container: Any, cognito_pool: Any) -> None:
    class StaticKeys:
        def __init__(self, key: Any) -> None:
            self._key = key

        def key(self, kid: str) -> Any:
            return self._key

    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    settings = container.settings
    claims = {
        "iss": settings.cognito_issuer,
        "aud": settings.auth.cognito_client_id,
        "token_use": "id",
        "cognito:username": "sato",
        "iat": int(time.time()) - 7200,
        "exp": int(time.time()) - 3600,
    }
    token = jwt.encode(claims, private, algorithm="RS256", headers={"kid": "k"})
    with pytest.raises(InvalidToken, match="expired"):
        verify_id_token(token, StaticKeys(private.public_key()), settings)
    fresh = jwt.encode(
        {**claims, "exp": int(time.time()) + 60}, private, algorithm="RS256", headers={"kid": "k"}
    )
    assert verify_id_token(fresh, StaticKeys(private.public_key()), settings) == Staff(
        "sato", frozenset()
    )


def test_keys_that_cannot_be_read_answer_503_not_401(
    probe_client: Any, staff_token: Any, container: Any
) -> None:
    """A good token the API cannot judge (the pool's JWKS is unreachable) is a dependency
    failure: 503 tells the page to retry, 401 would sign the agent out."""
    from chalicelib.platform.signing_keys import JwksKeys

    token = staff_token("sato")
    container.signing_keys = JwksKeys("http://127.0.0.1:9/.well-known/jwks.json", timeout=1.0)
    response = get(probe_client, "/whoami", token)
    assert response.status_code == 503
    assert response.json_body["Code"] == "ServiceUnavailable"
    # While the keys stay out of reach the answer stays 503 (and costs no new fetch).
    assert get(probe_client, "/whoami", token).status_code == 503


def test_first_token_after_a_cold_start_is_accepted(
    probe_client: Any, staff_token: Any, container: Any
) -> None:
    """A fresh container's monotonic clock starts near zero; its first token is still checked
    against freshly fetched keys (it was refused for a minute when "never" was 0.0)."""
    from chalicelib.platform.signing_keys import JwksKeys

    token = staff_token("sato")
    container.signing_keys = JwksKeys(container.settings.jwks_url, clock=lambda: 0.5)
    assert get(probe_client, "/whoami", token).status_code == 200
