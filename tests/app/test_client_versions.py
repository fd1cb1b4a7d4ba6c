"""Every request goes through the version handshake; the pages get CORS on every answer."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import make_settings
from tests.data import incoming_call_form, put_agent

TOKEN = "/agents/me/token"
ORIGIN = "http://127.0.0.1:8080"


@pytest.fixture
def policy(container: Any) -> None:
    container.settings = make_settings(
        server_version="3.1.0", min_client_version="1.4.0", latest_client_version="1.6.0"
    )


def test_outdated_client_gets_426_with_a_readable_message(client: Any, policy: None) -> None:
    response = client.http.get(TOKEN, headers={"X-Client-Version": "1.3.9"})
    assert response.status_code == 426
    body = json.loads(response.body)
    assert body["Code"] == "UpgradeRequired"
    assert "1.3.9" in body["Message"]
    assert body["latest_client_version"] == "1.6.0"
    # The page must be able to read the refusal: CORS and the version headers are on it.
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert response.headers["X-Min-Client-Version"] == "1.4.0"


def test_current_client_passes_the_handshake_and_reaches_auth(client: Any, policy: None) -> None:
    response = client.http.get(TOKEN, headers={"X-Client-Version": "1.4.0"})
    assert response.status_code == 401
    assert response.headers["X-Server-Version"] == "3.1.0"
    assert response.headers["X-Latest-Client-Version"] == "1.6.0"
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_twilio_webhooks_without_the_header_are_unaffected(
    twilio: Any, policy: None, resources: Any
) -> None:
    response = twilio.post("/twilio/voice/incoming", incoming_call_form())
    assert response.status_code == 200
    assert "<Enqueue" in response.body.decode()
    assert response.headers["X-Server-Version"] == "3.1.0"


def test_preflight_allows_the_version_and_auth_headers_and_exposes_versions(
    client: Any,
) -> None:
    # chalice.test's client cannot read a bodiless answer; ask its gateway (what `chalice
    # local` runs, mirroring the preflight API Gateway generates) directly.
    from chalice.config import Config
    from chalice.local import LocalGateway

    from app import app

    gateway = LocalGateway(app, Config())
    answer = gateway.handle_request(
        "OPTIONS",
        TOKEN,
        {
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization,x-client-version",
        },
        b"",
    )
    headers = answer["headers"]
    assert answer["statusCode"] == 200
    allowed = headers["Access-Control-Allow-Headers"].lower().split(",")
    assert {"authorization", "x-client-version", "content-type"} <= set(allowed)
    assert headers["Access-Control-Allow-Origin"] == ORIGIN
    exposed = headers["Access-Control-Expose-Headers"].split(",")
    assert set(exposed) == {"X-Server-Version", "X-Min-Client-Version", "X-Latest-Client-Version"}
    assert "GET" in headers["Access-Control-Allow-Methods"]


def test_signed_in_current_client_gets_versions_and_cors_on_success(
    client: Any, staff_token: Any, resources: Any, container: Any
) -> None:
    put_agent(resources, container.settings, "sato")
    response = client.http.get(
        TOKEN,
        headers={"Authorization": f"Bearer {staff_token('sato')}", "X-Client-Version": "1.0.0"},
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert response.headers["Access-Control-Expose-Headers"]
    assert response.headers["X-Min-Client-Version"] == "1.0.0"
