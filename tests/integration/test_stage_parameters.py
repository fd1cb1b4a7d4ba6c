"""A deployed stage completes its settings from SSM (`/contact-center/<stage>`), env wins."""

from __future__ import annotations

from typing import Any

from chalicelib.platform.settings import AREAS, Settings, with_stage_parameters

# Every setting a stage cannot start without (table and bucket names), whatever its area.
REQUIRED = {
    name.upper()
    for area in AREAS.values()
    for name, field in area.model_fields.items()
    if field.is_required()
}


def test_settings_come_from_the_stage_path_and_environment_wins(aws: Any) -> None:
    ssm = aws.client("ssm")
    ssm.put_parameter(
        Name="/contact-center/dev/public_base_url", Value="https://cc.example.jp/api", Type="String"
    )
    ssm.put_parameter(
        Name="/contact-center/dev/twilio_workflow_sid", Value="WW" + "1" * 32, Type="String"
    )
    ssm.put_parameter(Name="/contact-center/dev/default_country", Value="US", Type="String")
    ssm.put_parameter(
        Name="/contact-center/prod/twilio_workflow_sid", Value="WWprod", Type="String"
    )
    environ = {
        "STAGE": "dev",
        "SETTINGS_PARAMETER_PATH": "/contact-center/dev",
        "TWILIO_SECRET_NAME": "contact-center/dev/twilio",
        "DEFAULT_COUNTRY": "JP",
        **{name: "t" for name in ("CUSTOMERS_TABLE", "AGENTS_TABLE", "PRESENCE_TABLE")},
    }
    merged = with_stage_parameters(environ)
    assert merged["PUBLIC_BASE_URL"] == "https://cc.example.jp/api"
    assert merged["TWILIO_WORKFLOW_SID"] == "WW" + "1" * 32
    assert merged["DEFAULT_COUNTRY"] == "JP"
    settings = Settings.from_environment(
        merged | {name: "t" for name in REQUIRED} | {"STAGE": "dev"}
    )
    assert (
        settings.url("/twilio/voice/incoming") == "https://cc.example.jp/api/twilio/voice/incoming"
    )


def test_without_a_path_nothing_is_read() -> None:
    environ = {"STAGE": "local"}
    assert with_stage_parameters(environ) is environ
