"""Day to day, `chalice deploy --stage S` on a stage `ops deploy` made: same roles, same settings.

`ops deploy` makes the stage with the packaged template (tables, buckets, queues, the state
machine, alarms, the secret, the roles, Twilio). For `chalice deploy` to ship a code change to
that stage, two things must come from the stack and not from a second copy:

- **The roles.** Each function runs with the role the template gives it (infra/resources.json:
  ApiHandlerRole, PresenceWorkerRole...). Chalice can use an existing role instead of making
  one: `manage_iam_role: false` with `iam_role_arn`, per function under `lambda_functions`
  (https://aws.github.io/chalice/topics/configfile.html, "manage_iam_role", "iam_role_arn").
  This step writes, for the stage in `.chalice/config.json`, each function's role ARN as the
  stack created it, so `chalice deploy` attaches the very roles CloudFormation deployed: one
  definition (infra/resources.json), no policy file that could drift from it.
- **The settings.** The template gives the functions their resource names through Globals
  (CUSTOMERS_TABLE: !Ref CustomersTable...), which `chalice deploy` does not read. The app
  already completes its environment from SSM under SETTINGS_PARAMETER_PATH at cold start
  (chalicelib/platform/settings.py, with_stage_parameters), so this step stores the stack's
  resource names there too, and puts SETTINGS_PARAMETER_PATH in the stage's
  environment_variables.

Generated keys (`manage_iam_role`, `iam_role_arn`) are left out of the package fingerprint
(ops/deploy.py): `chalice package` merges our own roles over them either way.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ops.deploy import Blocked, Deployment
from ops.deployed import StageStore, parameter_path, stack_name, stack_settings

GENERATED_KEYS = frozenset({"manage_iam_role", "iam_role_arn"})
API_HANDLER = ("APIHandler", "api_handler")


def chalice_name(logical_id: str) -> str:
    """Chalice's function name for the logical id `chalice package` gave it (the reverse of
    chalice.utils.to_cfn_resource_name): EscalationEnterStage -> escalation_enter_stage."""
    if logical_id == API_HANDLER[0]:
        return API_HANDLER[1]
    return re.sub(r"(?<!^)(?=[A-Z])", "_", logical_id).lower()


def function_roles(template: dict[str, Any]) -> dict[str, str]:
    """chalice function name -> the logical id of the role the template gives it."""
    roles: dict[str, str] = {}
    for logical, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        role = resource.get("Properties", {}).get("Role", {})
        if isinstance(role, dict) and "Fn::GetAtt" in role:
            roles[chalice_name(logical)] = role["Fn::GetAtt"][0]
    return roles


def role_arns(deployment: Deployment) -> dict[str, str]:
    """Role logical id -> its ARN, as the stack made it."""
    iam = deployment.client("iam")
    found: dict[str, str] = {}
    resources = deployment.client("cloudformation").get_paginator("list_stack_resources")
    for page in resources.paginate(StackName=stack_name(deployment.stage)):
        for resource in page["StackResourceSummaries"]:
            if resource.get("ResourceType") == "AWS::IAM::Role":
                name = resource["PhysicalResourceId"]
                found[resource["LogicalResourceId"]] = iam.get_role(RoleName=name)["Role"]["Arn"]
    return found


def stage_config(deployment: Deployment, template: dict[str, Any]) -> dict[str, Any]:
    """The stage's section of .chalice/config.json with the generated keys filled in."""
    config = json.loads(deployment.config_file.read_text())
    stage = json.loads(json.dumps(config["stages"][deployment.stage]))
    arns = role_arns(deployment)
    functions = stage.setdefault("lambda_functions", {})
    for function, role in sorted(function_roles(template).items()):
        if role not in arns:
            raise Blocked(f"runs once the stack has role {role}")
        entry = functions.setdefault(function, {})
        entry["manage_iam_role"] = False
        entry["iam_role_arn"] = arns[role]
    stage.setdefault("environment_variables", {})["SETTINGS_PARAMETER_PATH"] = parameter_path(
        deployment.stage
    )
    return stage  # type: ignore[no-any-return]


def stage_parameters(deployment: Deployment) -> dict[str, str]:
    """The settings the template's Globals (and merges) give the functions, as SSM parameters."""
    values = {k.lower(): v for k, v in stack_settings(deployment.session, deployment.stage).items()}
    resources = deployment.client("cloudformation").get_paginator("list_stack_resources")
    for page in resources.paginate(StackName=stack_name(deployment.stage)):
        for resource in page["StackResourceSummaries"]:
            if resource.get("ResourceType") == "AWS::StepFunctions::StateMachine":
                # Merged into the API handler only (infra/README.md: a cycle otherwise).
                values["escalation_state_machine_arn"] = resource["PhysicalResourceId"]
    from ops.settings import OperatorSettings

    operator_only = {"web_site_bucket", "web_distribution_id"}
    known = OperatorSettings.field_names()
    return {k: v for k, v in values.items() if k in known and k not in operator_only}


class ChaliceDeploy:
    """Make `chalice deploy --stage S` run the code with the stack's roles and settings."""

    title = "prepare `chalice deploy` (roles and settings from the stack)"

    def _template(self, deployment: Deployment) -> dict[str, Any]:
        path = deployment.options.build / "packaged.json"
        if not path.is_file() or deployment.stack_status() is None:
            raise Blocked("runs once the stack is deployed")
        template: dict[str, Any] = json.loads(path.read_text())
        return template

    def plan(self, deployment: Deployment) -> list[str]:
        deployment.settings()  # Blocked until the stack is there
        template = self._template(deployment)
        todo: list[str] = []
        current = json.loads(deployment.config_file.read_text())["stages"][deployment.stage]
        wanted = stage_config(deployment, template)
        if current != wanted:
            todo.append(
                f"write the stack's role ARNs for {len(function_roles(template))} function(s) "
                f"and SETTINGS_PARAMETER_PATH into .chalice/config.json (stage "
                f"{deployment.stage})"
            )
        stored = StageStore(deployment.session, deployment.stage).parameters()
        missing = sorted(k for k, v in stage_parameters(deployment).items() if stored.get(k) != v)
        if missing:
            todo.append(f"store {len(missing)} resource name(s) in SSM: {', '.join(missing)}")
        return todo

    def apply(self, deployment: Deployment) -> None:
        template = self._template(deployment)
        config = json.loads(deployment.config_file.read_text())
        config["stages"][deployment.stage] = stage_config(deployment, template)
        deployment.config_file.write_text(json.dumps(config, indent=2) + "\n")
        store = StageStore(deployment.session, deployment.stage)
        stored = store.parameters()
        for name, value in stage_parameters(deployment).items():
            if stored.get(name) != value:
                store.put_parameter(name, value)


def without_generated(value: Any) -> Any:
    """A config with the keys this module writes left out (for the package fingerprint)."""
    if isinstance(value, dict):
        return {k: without_generated(v) for k, v in value.items() if k not in GENERATED_KEYS}
    if isinstance(value, list):
        return [without_generated(v) for v in value]
    return value
