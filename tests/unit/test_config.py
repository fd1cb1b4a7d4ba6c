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


def test_the_lambda_starts_without_the_operator_only_settings() -> None:
    env = {k: v for k, v in BASE.items() if k != "WEB_SITE_BUCKET"}
    assert Settings.from_environment(env).routing.customers_table == "c"


def test_each_setting_lands_in_its_area_under_its_environment_name() -> None:
    settings = Settings.from_environment(
        {**BASE, "PRESENCE_WRAP_UP_SECONDS": "12", "RECORDING_TWILIO_COPY": "delete"}
    )
    assert settings.presence.presence_wrap_up_seconds == 12
    assert settings.recordings.recording_twilio_copy == "delete"
    assert settings.flat()["presence_wrap_up_seconds"] == 12


def test_a_changed_copy_is_validated_like_the_original() -> None:
    settings = Settings.from_environment(BASE)
    assert settings.with_values(agent_ring_seconds=30).routing.agent_ring_seconds == 30
    assert settings.routing.agent_ring_seconds == 20
    with pytest.raises(ValueError, match="agent_ring_seconds"):
        settings.with_values(agent_ring_seconds=1)
    with pytest.raises(ValueError, match="unknown settings"):
        settings.with_values(agent_ring_secs=30)


def test_no_setting_name_belongs_to_two_areas() -> None:
    from chalicelib.platform.settings import AREAS

    names = [name for area in AREAS.values() for name in area.model_fields]
    root = [name for name in Settings.model_fields if name not in AREAS]
    assert len(names) + len(root) == len(set(names) | set(root))


# The Lambda runtime sets these (reserved) variables in every function
# (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime);
# chalice then appends its own name to AWS_EXECUTION_ENV when the app is created.
IN_LAMBDA = [
    {
        "AWS_LAMBDA_FUNCTION_NAME": "contact-center-dev",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
    },
    {"AWS_EXECUTION_ENV": "AWS_Lambda_python3.11 aws-chalice/1.31.2"},
    {"AWS_LAMBDA_FUNCTION_NAME": "contact-center-dev-escalation_enter_stage"},
]


@pytest.mark.parametrize("stage", ["local", "test"])
@pytest.mark.parametrize("lambda_env", IN_LAMBDA)
def test_a_local_stage_refuses_to_run_inside_lambda(stage: str, lambda_env: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError, match="refuses to run inside Lambda"):
        Settings.from_environment({**BASE, "STAGE": stage, **lambda_env})


def test_chalices_own_execution_env_outside_lambda_is_not_lambda() -> None:
    from chalice import Chalice

    env: dict[str, str] = {}
    Chalice("anywhere", env=env)  # what `chalice local`, the tests and the stand-in all do
    assert env["AWS_EXECUTION_ENV"].startswith("AWS_Lambda ")
    settings = Settings.from_environment({**BASE, **env})
    assert load_twilio_credentials(settings).auth_token == LOCAL_AUTH_TOKEN


def test_a_deployed_stage_runs_inside_lambda() -> None:
    env = {
        **BASE,
        **IN_LAMBDA[0],
        "STAGE": "prod",
        "PUBLIC_BASE_URL": "https://abc.execute-api.ap-northeast-1.amazonaws.com/api",
        "TWILIO_SECRET_NAME": "contact-center/prod/twilio",
    }
    assert not Settings.from_environment(env).is_local
