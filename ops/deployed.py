"""What a deployed stage is made of, read from AWS: its stack, its SSM settings, its secret.

The app learns its resource names from the environment CloudFormation gives its functions and
its Twilio sids from SSM parameters under `/contact-center/<stage>` (infra/README.md). The
operator tools (provision, doctor, imports) must see the same values, so they read the same
sources: the stack's resources, mapped to settings by the `contact-center:setting` metadata of
infra/resources.json, then the SSM parameters, then the environment (which wins).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from ops.chalice_config import stage_environment
from ops.infra import SETTING_KEY, TEMPLATE
from ops.settings import OperatorSettings


def stack_name(stage: str) -> str:
    return f"contact-center-{stage}"


def parameter_path(stage: str) -> str:
    return f"/contact-center/{stage}"


def secret_name(stage: str) -> str:
    return f"contact-center/{stage}/twilio"


def _setting_value(resource_type: str, physical_id: str) -> str:
    # An SQS queue's physical id is its URL; the app's settings name queues by name.
    if resource_type == "AWS::SQS::Queue" and physical_id.startswith("https://"):
        return physical_id.rstrip("/").rsplit("/", 1)[-1]
    return physical_id


def stack_settings(session: Any, stage: str) -> dict[str, str]:
    """VARIABLE -> value, for every environment variable the template gives the functions from
    one of its resources (Globals in infra/resources.json): tables, buckets, queues, the user
    pool; and for every resource whose `contact-center:setting` metadata names an operator
    setting the functions do not get (the web site's bucket, the CloudFront distribution)."""
    template = json.loads(TEMPLATE.read_text())
    variables = template.get("Globals", {}).get("Function", {}).get("Environment", {})
    source_of: dict[str, str] = {}
    for logical, resource in template.get("Resources", {}).items():
        setting = resource.get("Metadata", {}).get(SETTING_KEY)
        if setting:
            source_of[logical] = str(setting).upper()
    for variable, value in variables.get("Variables", {}).items():
        if isinstance(value, dict) and "Ref" in value:
            source_of[value["Ref"]] = variable
        elif isinstance(value, dict) and "Fn::GetAtt" in value:
            logical, attribute = value["Fn::GetAtt"]
            if attribute == "QueueName":
                source_of[logical] = variable
    cloudformation = session.client("cloudformation")
    found: dict[str, str] = {}
    for page in cloudformation.get_paginator("list_stack_resources").paginate(
        StackName=stack_name(stage)
    ):
        for resource in page["StackResourceSummaries"]:
            variable = source_of.get(resource["LogicalResourceId"])
            if variable and resource.get("PhysicalResourceId"):
                found[variable] = _setting_value(
                    resource["ResourceType"], resource["PhysicalResourceId"]
                )
    return found


@dataclass
class StageStore:
    """The stage's SSM settings and its Twilio secret (what provision writes, doctor reads)."""

    session: Any
    stage: str

    @property
    def secret_name(self) -> str:
        return secret_name(self.stage)

    def parameters(self) -> dict[str, str]:
        ssm = self.session.client("ssm")
        values: dict[str, str] = {}
        prefix = parameter_path(self.stage) + "/"
        for page in ssm.get_paginator("get_parameters_by_path").paginate(
            Path=parameter_path(self.stage)
        ):
            for parameter in page["Parameters"]:
                values[parameter["Name"].removeprefix(prefix)] = parameter["Value"]
        return values

    def put_parameter(self, name: str, value: str) -> None:
        self.session.client("ssm").put_parameter(
            Name=f"{parameter_path(self.stage)}/{name}",
            Value=value,
            Type="String",
            Overwrite=True,
        )

    def secret(self) -> dict[str, Any]:
        raw = self.session.client("secretsmanager").get_secret_value(SecretId=self.secret_name)
        value = json.loads(raw["SecretString"])
        return value if isinstance(value, dict) else {}

    def put_secret(self, value: dict[str, Any]) -> None:
        self.session.client("secretsmanager").put_secret_value(
            SecretId=self.secret_name, SecretString=json.dumps(value)
        )


def deployed_settings(session: Any, stage: str) -> OperatorSettings:
    """The settings the stage's functions run with, as far as AWS can tell from outside."""
    environment = {
        **stage_environment(stage),
        **stack_settings(session, stage),
        **{k.upper(): v for k, v in StageStore(session, stage).parameters().items()},
        **{k: v for k, v in os.environ.items() if k.lower() in OperatorSettings.field_names()},
        "SETTINGS_PARAMETER_PATH": parameter_path(stage),
    }
    environment.setdefault("AWS_DEFAULT_REGION", session.region_name or "ap-northeast-1")
    return OperatorSettings.from_environment(environment)
