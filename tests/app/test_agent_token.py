"""GET /agents/me/token: a Voice access token for the signed-in agent, and only for them."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt

from chalicelib.platform.settings import LOCAL_API_KEY_SECRET, LOCAL_API_KEY_SID, TwilioCredentials
from tests.conftest import make_settings
from tests.data import put_agent

PATH = "/agents/me/token"
APP_SID = "AP" + "d" * 32


def get_token(client: Any, token: str) -> Any:
    return client.http.get(
        PATH, headers={"Authorization": f"Bearer {token}", "X-Client-Version": "1.0.0"}
    )


def test_agent_gets_a_voice_token_for_their_own_client_identity(
    client: Any, container: Any, resources: Any, staff_token: Any
) -> None:
    container.settings = container.settings.with_values(
        **{"twilio_twiml_app_sid": APP_SID, "voice_token_ttl_seconds": 1800}
    )
    put_agent(resources, container.settings, "sato")
    resources.Table(container.settings.routing.agents_table).update_item(
        Key={"agent_id": "sato"},
        UpdateExpression="SET client_identity = :i",
        ExpressionAttributeValues={":i": "sato_desk"},
    )
    before = int(time.time())
    response = get_token(client, staff_token("sato"))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = json.loads(response.body)
    assert body["identity"] == "sato_desk"
    claims = jwt.decode(body["token"], LOCAL_API_KEY_SECRET, algorithms=["HS256"])
    assert claims["iss"] == LOCAL_API_KEY_SID
    assert claims["sub"] == container.settings.telephony.twilio_account_sid
    assert claims["grants"]["identity"] == "sato_desk"
    assert claims["grants"]["voice"] == {
        "incoming": {"allow": True},
        "outgoing": {"application_sid": APP_SID},
    }
    assert claims["exp"] == body["expires_at"]
    assert before + 1800 <= body["expires_at"] <= int(time.time()) + 1800
    assert jwt.get_unverified_header(body["token"])["cty"] == "twilio-fpa;v=1"


def test_token_is_only_for_the_signed_in_agent(
    client: Any, container: Any, resources: Any, staff_token: Any
) -> None:
    put_agent(resources, container.settings, "sato")
    put_agent(resources, container.settings, "tanaka")
    body = json.loads(get_token(client, staff_token("tanaka")).body)
    assert body["identity"] == "tanaka"


def test_signed_in_user_who_is_not_an_agent_is_refused(
    client: Any, resources: Any, staff_token: Any
) -> None:
    response = get_token(client, staff_token("auditor"))
    assert response.status_code == 403


def test_no_sign_in_no_token(client: Any) -> None:
    response = client.http.get(PATH, headers={"X-Client-Version": "1.0.0"})
    assert response.status_code == 401


def test_missing_api_key_is_a_clear_503_not_a_token_signed_with_the_auth_token(
    client: Any, container: Any, resources: Any, staff_token: Any
) -> None:
    token = staff_token("sato")
    put_agent(resources, container.settings, "sato")
    container.twilio_credentials = TwilioCredentials(
        account_sid="AC" + "a" * 32, auth_token="secret-auth-token"
    )
    response = get_token(client, token)
    assert response.status_code == 503
    assert "secret-auth-token" not in response.body.decode()


def test_token_lifetime_is_bounded_in_configuration() -> None:
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        make_settings(voice_token_ttl_seconds=7 * 86400)
