"""Which stage an operator command acts on, and the settings it has there.

The local stack's settings are the `local` stage of `.chalice/config.json`, the same values
`chalice local` runs with, so the tools and the app can never disagree about table names.
A deployed stage's settings are read from its CloudFormation stack and SSM parameters
(ops/deployed.py, infra/README.md); the environment still overrides any of them.

Imports go one way: this module -> ops/deployed.py -> ops/chalice_config.py. `ROOT` and
`stage_environment` are re-exported here for the operator commands that import them from here.
"""

from __future__ import annotations

import os

from ops.chalice_config import ROOT as ROOT
from ops.chalice_config import stage_environment as stage_environment
from ops.deployed import deployed_settings
from ops.settings import OperatorSettings

LOCAL_AWS_ENDPOINT = "http://127.0.0.1:5000"


def local_environment() -> dict[str, str]:
    """Environment for anything that talks to the local stack (moto server on :5000)."""
    env = stage_environment("local")
    env.setdefault("AWS_ENDPOINT_URL", os.environ.get("AWS_ENDPOINT_URL", LOCAL_AWS_ENDPOINT))
    env.setdefault("AWS_ACCESS_KEY_ID", "testing")
    env.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    return env


def local_defaults() -> OperatorSettings:
    """The local stage's settings as committed, ignoring this shell's environment."""
    return OperatorSettings.from_environment(stage_environment("local"))


def settings_for(stage: str) -> OperatorSettings:
    """Settings for `stage`. For `local`, exports the local stack's AWS endpoint and lets the
    environment override any setting (TWILIO_AUTH_TOKEN, PUBLIC_BASE_URL...)."""
    if stage == "local":
        env = local_environment()
        for key in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            os.environ.setdefault(key, env[key])
        os.environ.setdefault("AWS_DEFAULT_REGION", env["AWS_DEFAULT_REGION"])
        names = OperatorSettings.field_names()
        overrides = {k: v for k, v in os.environ.items() if k.lower() in names}
        return OperatorSettings.from_environment({**env, **overrides})
    if os.environ.get("AWS_ENDPOINT_URL"):
        raise SystemExit(
            f"refusing to act on stage {stage!r} with AWS_ENDPOINT_URL set: unset it first"
        )
    import boto3

    return deployed_settings(boto3.session.Session(), stage)
