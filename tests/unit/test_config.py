from __future__ import annotations

import pytest

from chalicelib.platform.settings import (
    LOCAL_AUTH_TOKEN,
    ConfigurationError,
    Settings,
    load_twilio_credentials,
)

BASE = {
    "STAGE": "local",
    "PUBLIC_BASE_URL": "http://127.0.0.1:8000",
    "CUSTOMERS_TABLE": "c",
    "AGENTS_TABLE": "a",
    "PRESENCE_TABLE": "p",
    "PRESENCE_HISTORY_TABLE": "ph",
    "RECORDINGS_BUCKET": "r",
    "RECORDINGS_TABLE": "rt",
    "CONVERSATION_EVENTS_TABLE": "ce",
    "CONVERSATIONS_TABLE": "cv",
    "ANALYTICS_BUCKET": "an",
    "WEB_SITE_BUCKET": "w",
}


def test_local_stage_uses_documented_token_when_unset() -> None:
    settings = Settings.from_environment(BASE)
    assert load_twilio_credentials(settings).auth_token == LOCAL_AUTH_TOKEN


def test_local_stage_reads_token_from_environment() -> None:
    settings = Settings.from_environment({**BASE, "TWILIO_AUTH_TOKEN": "mine"})
    assert load_twilio_credentials(settings).auth_token == "mine"


def test_deployed_stage_refuses_to_start_without_a_secret_name() -> None:
    with pytest.raises(ConfigurationError, match="TWILIO_SECRET_NAME"):
        Settings.from_environment({**BASE, "STAGE": "prod", "TWILIO_AUTH_TOKEN": "in-config"})


def test_missing_table_names_fail_hard() -> None:
    env = dict(BASE)
    del env["CUSTOMERS_TABLE"]
    with pytest.raises(ConfigurationError, match="customers_table"):
        Settings.from_environment(env)


def test_unknown_conference_region_is_refused() -> None:
    with pytest.raises(ConfigurationError):
        Settings.from_environment({**BASE, "CONFERENCE_REGION": "mars1"})


def test_deployed_stage_reads_credentials_from_secrets_manager() -> None:
    import json

    import boto3
    from moto import mock_aws

    with mock_aws():
        boto3.client("secretsmanager").create_secret(
            Name="cc/prod/twilio",
            SecretString=json.dumps({"account_sid": "AC1", "auth_token": "from-secret"}),
        )
        settings = Settings.from_environment(
            {**BASE, "STAGE": "prod", "TWILIO_SECRET_NAME": "cc/prod/twilio"}
        )
        assert load_twilio_credentials(settings).auth_token == "from-secret"
