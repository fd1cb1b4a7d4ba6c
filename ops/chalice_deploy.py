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

On a chalice-owned stage (the default of `ops deploy`: the stack holds no function, see
ops/stage_template.py) it writes, besides, what the template would have given the functions and
Chalice's config can say (https://aws.github.io/chalice/topics/configfile.html, lambda_functions):
`lambda_memory_size`, `lambda_timeout` and `reserved_concurrency` of the functions
infra/resources.json overrides, from those same overrides; and, in the stage's
environment_variables, the stack's stream and queue ARNs the app's event sources read when
Chalice imports it (chalice/cli/factory.py applies the stage's environment_variables before
importing app.py), so a bare `chalice deploy` binds the consumers to the stack's streams and queue.

Generated keys are left out of the package fingerprint (ops/deployment.py): `chalice package`
merges the template's own values over them either way.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ops.chalice_config import (
    SOURCE_VARIABLES,
    chalice_name,
    function_overrides,
)
from ops.deployed import StageStore, parameter_path, stack_name, stack_settings
from ops.deployment import Blocked, Deployment


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


class StackValues:
    """Values of template expressions as the deployed stack has them: parameters, resources'
    ids, and the few attributes the functions' settings need. Anything else is refused."""

    def __init__(self, deployment: Deployment, template: dict[str, Any]) -> None:
        self.deployment = deployment
        cloudformation = deployment.client("cloudformation")
        name = stack_name(deployment.stage)
        stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
        defaults = {
            k: str(v["Default"])
            for k, v in template.get("Parameters", {}).items()
            if "Default" in v
        }
        given = {p["ParameterKey"]: p["ParameterValue"] for p in stack.get("Parameters", [])}
        self.parameters = {**defaults, **given}
        self.resources: dict[str, tuple[str, str]] = {}
        for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=name):
            for resource in page["StackResourceSummaries"]:
                self.resources[resource["LogicalResourceId"]] = (
                    resource.get("ResourceType", ""),
                    resource.get("PhysicalResourceId", ""),
                )

    def resolve(self, value: Any) -> Any:
        if isinstance(value, str | int | bool):
            return value
        if isinstance(value, dict) and set(value) == {"Ref"}:
            if value["Ref"] in self.parameters:
                return self.parameters[value["Ref"]]
            return self._physical(value["Ref"])
        if isinstance(value, dict) and set(value) == {"Fn::GetAtt"}:
            logical, attribute = value["Fn::GetAtt"]
            return self._attribute(logical, attribute)
        if isinstance(value, dict) and set(value) == {"Fn::Sub"}:
            whole = re.fullmatch(r"\$\{(\w+)\.(\w+)\}", str(value["Fn::Sub"]))
            if whole:
                return self._attribute(whole.group(1), whole.group(2))
        raise Blocked(f"cannot resolve {json.dumps(value)} from the stack")

    def _physical(self, logical: str) -> str:
        if logical not in self.resources:
            raise Blocked(f"runs once the stack has {logical}")
        return self.resources[logical][1]

    def _attribute(self, logical: str, attribute: str) -> str:
        kind = self.resources.get(logical, ("", ""))[0]
        physical = self._physical(logical)
        if kind == "AWS::SQS::Queue" and attribute == "Arn":
            sqs = self.deployment.client("sqs")
            found = sqs.get_queue_attributes(QueueUrl=physical, AttributeNames=["QueueArn"])
            return str(found["Attributes"]["QueueArn"])
        if kind == "AWS::DynamoDB::Table" and attribute == "StreamArn":
            table = self.deployment.client("dynamodb").describe_table(TableName=physical)
            return str(table["Table"]["LatestStreamArn"])
        raise Blocked(f"cannot resolve {logical}.{attribute} ({kind}) from the stack")


def event_sources(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Logical id of each function with a stream or queue event -> that event's properties."""
    found: dict[str, dict[str, Any]] = {}
    for logical, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for event in resource.get("Properties", {}).get("Events", {}).values():
            if event.get("Type") in ("DynamoDB", "SQS"):
                if logical in found:
                    raise Blocked(f"{logical} has two stream/queue events: not handled")
                found[logical] = event["Properties"]
    return found


def source_arns(values: StackValues, template: dict[str, Any]) -> dict[str, str]:
    """The variables the app's event sources read at import -> the stack's ARNs."""
    arns: dict[str, str] = {}
    for logical, properties in event_sources(template).items():
        if logical not in SOURCE_VARIABLES:
            raise Blocked(
                f"{logical} has an event source the app reads from no known variable: add it "
                "to ops/chalice_deploy.py SOURCE_VARIABLES"
            )
        source = properties.get("Stream", properties.get("Queue"))
        arns[SOURCE_VARIABLES[logical]] = str(values.resolve(source))
    return arns


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
    """The stage's section of .chalice/config.json with the generated keys filled in (and, on a
    chalice-owned stage, the functions' sizes and the event sources' ARNs)."""
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
    variables = stage.setdefault("environment_variables", {})
    variables["SETTINGS_PARAMETER_PATH"] = parameter_path(deployment.stage)
    if deployment.options.pipeline:
        return stage  # type: ignore[no-any-return]
    values = StackValues(deployment, template)
    for function, settings in function_overrides().items():
        entry = functions.setdefault(function, {})
        for key, value in settings.items():
            entry[key] = int(values.resolve(value))
    variables.update(source_arns(values, template))
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
        from ops.deployment import DONE

        # Not deployment.settings(): a chalice-owned stage has no public URL before its API.
        if deployment.stack_status() not in DONE:
            raise Blocked("runs once the stack is deployed")
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
        if self._deployed_to_restore(deployment) is not None:
            todo.append(
                f"restore .chalice/deployed/{deployment.stage}.json (what chalice deploy made "
                "for this stage) from the artifacts bucket"
            )
        return todo

    def _deployed_to_restore(self, deployment: Deployment) -> bytes | None:
        """This checkout has no record of the stage's API and event sources, the artifacts
        bucket has: without it `chalice deploy` would make a second API and second mappings
        (it finds functions by name, everything else by that record)."""
        if deployment.options.pipeline:
            return None
        from ops.chalice_config import deployed_file
        from ops.deployment import ChaliceReleases

        if deployed_file(deployment.config_file, deployment.stage).is_file():
            return None
        return ChaliceReleases(deployment).kept_deployed()

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
        kept = self._deployed_to_restore(deployment)
        if kept is not None:
            from ops.chalice_config import deployed_file

            path = deployed_file(deployment.config_file, deployment.stage)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(kept)
