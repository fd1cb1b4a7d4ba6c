"""CloudFormation for `ops deploy` tests: moto's, as far as it takes the packaged template.

moto 5.2 has no SAM transform (it drops AWS::Serverless::Function) and no CloudFormation support
for Cognito pools or Secrets Manager secrets, and a stack it cannot finish it does not fail the
way AWS does. So this fake, at the boto3 client boundary:

- hands moto the packaged template minus the SAM resources and everything that refers to them
  (functions, their alarms, the API, the state machine): moto creates the tables, buckets,
  queues, roles and topic from the very properties AWS gets;
- creates what moto skips and the stage cannot do without, from the template's own properties:
  the staff pool, its client and groups (ops/cognito_local.py's parameters), the Twilio secret
  and the public URL parameter, and lists them among the stack's resources like AWS does;
- keeps the template as sent (GetTemplate TemplateStage=Original), answers UpdateStack with the
  same template and parameters with AWS's ValidationError "No updates are to be performed.";
- fails a create or update on demand (`fail_next`; `fail_next_update` for the next update only):
  the stack ends ROLLBACK_COMPLETE (a first create) or UPDATE_ROLLBACK_COMPLETE, with a *_FAILED
  event carrying the resource's reason, as DescribeStackEvents shows it.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

SAM = "AWS::Serverless::"
# Types moto's CloudFormation skips; created here (the stage needs them) or left out.
MADE_HERE = {
    "AWS::Cognito::UserPool",
    "AWS::Cognito::UserPoolClient",
    "AWS::Cognito::UserPoolGroup",
    "AWS::SecretsManager::Secret",
}


def _refs(value: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::GetAtt":
                found.add(inner[0] if isinstance(inner, list) else str(inner).split(".")[0])
            elif key == "Fn::Sub":
                text = inner if isinstance(inner, str) else inner[0]
                found |= {m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", text)}
                if not isinstance(inner, str):
                    found |= _refs(inner[1])
            else:
                found |= _refs(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= _refs(inner)
    return found


# Types moto's CloudFormation does not model (it skips them with a warning), so a Fn::GetAtt of
# one fails the whole stack there ("references undefined resource"): left out with what names them.
UNMODELLED = {"AWS::CloudWatch::Alarm"}


def for_moto(template: dict[str, Any]) -> dict[str, Any]:
    """The packaged template (or a chalice-owned stage's) as far as moto takes it."""
    resources = template["Resources"]
    dropped = {
        k
        for k, r in resources.items()
        if r["Type"].startswith(SAM) or r["Type"] in MADE_HERE | UNMODELLED
    }
    while True:
        more = {k for k, r in resources.items() if k not in dropped and _refs(r) & dropped}
        if not more:
            break
        dropped |= more
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": template.get("Parameters", {}),
        "Conditions": template.get("Conditions", {}),
        "Resources": {k: r for k, r in resources.items() if k not in dropped},
    }


class MotoStacks:
    """The fake client; one per test (it keeps the stacks' original templates)."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.moto = session.client("cloudformation")
        self.originals: dict[str, tuple[str, dict[str, str]]] = {}
        self.extra: dict[str, list[dict[str, Any]]] = {}
        self.failed: dict[str, dict[str, Any]] = {}  # stack name -> its fake failed state
        self.fail_next: tuple[str, str] | None = None  # (logical id, reason)
        self.fail_next_update: tuple[str, str] | None = None  # the same, for an update only
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.moto, name)

    # --- writes ---------------------------------------------------------------------------

    def create_stack(self, **request: Any) -> dict[str, Any]:
        self.calls.append("CreateStack")
        name = request["StackName"]
        assert set(request["Capabilities"]) >= {"CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"}
        if name in self.failed:
            raise ClientError(
                {
                    "Error": {
                        "Code": "AlreadyExistsException",
                        "Message": f"Stack [{name}] already exists",
                    }
                },
                "CreateStack",
            )
        template = json.loads(request["TemplateBody"])
        if self.fail_next:
            self._fail(name, "CREATE", "ROLLBACK_COMPLETE", template)
            return {"StackId": name}
        answer: dict[str, Any] = self.moto.create_stack(
            StackName=name,
            TemplateBody=json.dumps(for_moto(template)),
            Parameters=request["Parameters"],
            Capabilities=request["Capabilities"],
        )
        self.originals[name] = (request["TemplateBody"], _parameters(request))
        self.extra[name] = self._make_what_moto_skips(template, _parameters(request))
        self.extra[name] += self._roles_moto_lost(name, template)
        return answer

    def update_stack(self, **request: Any) -> dict[str, Any]:
        self.calls.append("UpdateStack")
        name = request["StackName"]
        body, parameters = self.originals[name]
        if json.loads(body) == json.loads(request["TemplateBody"]) and parameters == _parameters(
            request
        ):
            raise ClientError(
                {
                    "Error": {
                        "Code": "ValidationError",
                        "Message": "No updates are to be performed.",
                    }
                },
                "UpdateStack",
            )
        if self.fail_next_update:
            self.fail_next, self.fail_next_update = self.fail_next_update, None
        if self.fail_next:
            self._fail(
                name, "UPDATE", "UPDATE_ROLLBACK_COMPLETE", json.loads(request["TemplateBody"])
            )
            return {"StackId": name}
        self.failed.pop(name, None)
        answer: dict[str, Any] = self.moto.update_stack(
            StackName=name,
            TemplateBody=json.dumps(for_moto(json.loads(request["TemplateBody"]))),
            Parameters=request["Parameters"],
            Capabilities=request["Capabilities"],
        )
        self.originals[name] = (request["TemplateBody"], _parameters(request))
        return answer

    def delete_stack(self, StackName: str) -> dict[str, Any]:
        self.calls.append("DeleteStack")
        if self.failed.pop(StackName, {}).get("StackStatus") == "ROLLBACK_COMPLETE":
            return {}
        self.originals.pop(StackName, None)
        result: dict[str, Any] = self.moto.delete_stack(StackName=StackName)
        return result

    def _fail(self, name: str, verb: str, status: str, template: dict[str, Any]) -> None:
        logical, reason = self.fail_next or ("", "")
        kind = template["Resources"][logical]["Type"]
        self.fail_next = None
        now = datetime.now(UTC)
        events = [
            _event(name, name, "AWS::CloudFormation::Stack", f"{verb}_IN_PROGRESS", "", now),
            _event(name, logical, kind, f"{verb}_FAILED", reason, now),
            _event(name, name, "AWS::CloudFormation::Stack", status, "", now),
        ]
        previous = self.failed.get(name, {}).get("events", [])
        self.failed[name] = {"StackStatus": status, "events": list(reversed(events)) + previous}

    # --- reads ----------------------------------------------------------------------------

    def describe_stacks(self, StackName: str) -> dict[str, Any]:
        failed = self.failed.get(StackName)
        if failed and failed["StackStatus"] == "ROLLBACK_COMPLETE":
            return {"Stacks": [{"StackName": StackName, "StackStatus": "ROLLBACK_COMPLETE"}]}
        answer: dict[str, Any] = self.moto.describe_stacks(StackName=StackName)
        if failed:
            answer["Stacks"][0]["StackStatus"] = failed["StackStatus"]
        return answer

    def describe_stack_events(self, StackName: str) -> dict[str, Any]:
        failed = self.failed.get(StackName, {}).get("events", [])
        real: list[dict[str, Any]] = []
        if StackName in self.originals:
            real = self.moto.describe_stack_events(StackName=StackName)["StackEvents"]
        return {"StackEvents": failed + real}

    def get_template(self, StackName: str, TemplateStage: str) -> dict[str, Any]:
        assert TemplateStage == "Original"
        return {"TemplateBody": self.originals[StackName][0]}

    def list_stack_resources(self, StackName: str) -> dict[str, Any]:
        listed = self.moto.list_stack_resources(StackName=StackName)["StackResourceSummaries"]
        # moto lists what it skipped with no type; AWS lists every resource with its own.
        known = [r for r in listed if r.get("ResourceType")]
        return {"StackResourceSummaries": known + self.extra.get(StackName, [])}

    def get_paginator(self, operation: str) -> Any:
        if operation == "list_stack_resources":
            return _Pages2(self.list_stack_resources)
        if operation == "describe_stack_events":
            return _Pages2(self.describe_stack_events)
        return self.moto.get_paginator(operation)

    # --- what moto's CloudFormation skips ---------------------------------------------------

    def _make_what_moto_skips(
        self, template: dict[str, Any], parameters: dict[str, str]
    ) -> list[dict[str, Any]]:
        from ops.cognito_local import client_parameters, pool_parameters

        stage = parameters["Stage"]
        cognito = self.session.client("cognito-idp")
        pool = cognito.create_user_pool(PoolName=f"contact-center-{stage}", **pool_parameters())
        pool_id = pool["UserPool"]["Id"]
        client = cognito.create_user_pool_client(
            UserPoolId=pool_id, ClientName="softphone", **client_parameters()
        )["UserPoolClient"]["ClientId"]
        made = [("UserPool", "AWS::Cognito::UserPool", pool_id)]
        made.append(("UserPoolClient", "AWS::Cognito::UserPoolClient", client))
        for logical, resource in template["Resources"].items():
            if resource["Type"] == "AWS::Cognito::UserPoolGroup":
                group = resource["Properties"]["GroupName"]
                cognito.create_group(UserPoolId=pool_id, GroupName=group)
                made.append((logical, resource["Type"], group))
        secret = template["Resources"]["TwilioSecret"]["Properties"]
        arn = self.session.client("secretsmanager").create_secret(
            Name=f"contact-center/{stage}/twilio", SecretString=secret["SecretString"]
        )["ARN"]
        made.append(("TwilioSecret", "AWS::SecretsManager::Secret", arn))
        if "PublicBaseUrlParameter" not in for_moto(template)["Resources"]:
            # Packaged: it names the SAM API moto drops. A chalice-owned stage's names the
            # API Chalice made (a parameter), and moto makes it once that is set.
            url = parameters.get("PublicBaseUrl") or (
                f"https://{uuid.uuid4().hex[:10]}.execute-api.ap-northeast-1.amazonaws.com/api"
            )
            name = f"/contact-center/{stage}/public_base_url"
            self.session.client("ssm").put_parameter(Name=name, Value=url, Type="String")
            made.append(("PublicBaseUrlParameter", "AWS::SSM::Parameter", name))
        # moto's CloudFormation ignores PointInTimeRecoverySpecification; AWS applies it.
        dynamodb = self.session.client("dynamodb")
        for resource in self.moto.list_stack_resources(StackName=f"contact-center-{stage}")[
            "StackResourceSummaries"
        ]:
            if resource.get("ResourceType") == "AWS::DynamoDB::Table":
                dynamodb.update_continuous_backups(
                    TableName=resource["PhysicalResourceId"],
                    PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
                )
        return [
            {
                "LogicalResourceId": logical,
                "ResourceType": kind,
                "PhysicalResourceId": physical,
                "ResourceStatus": "CREATE_COMPLETE",
            }
            for logical, kind, physical in made
        ]

    def _roles_moto_lost(self, name: str, template: dict[str, Any]) -> list[dict[str, Any]]:
        """Roles dropped from moto's template because a policy names a function or the state
        machine: created with their trust policy, listed as the stack's. Their inline policies
        are not (what they name does not exist here); tests/infra/test_iam.py judges those."""
        kept = for_moto(template)["Resources"]
        iam = self.session.client("iam")
        made = []
        for logical, resource in template["Resources"].items():
            if resource["Type"] != "AWS::IAM::Role" or logical in kept:
                continue
            role = f"{name}-{logical}-{uuid.uuid4().hex[:8]}"
            iam.create_role(
                RoleName=role,
                AssumeRolePolicyDocument=json.dumps(
                    resource["Properties"]["AssumeRolePolicyDocument"]
                ),
            )
            made.append(
                {
                    "LogicalResourceId": logical,
                    "ResourceType": "AWS::IAM::Role",
                    "PhysicalResourceId": role,
                    "ResourceStatus": "CREATE_COMPLETE",
                }
            )
        return made


class _Pages2:
    def __init__(self, call: Any) -> None:
        self.call = call

    def paginate(self, **kwargs: Any) -> list[dict[str, Any]]:
        return [self.call(**kwargs)]


def _parameters(request: dict[str, Any]) -> dict[str, str]:
    return {p["ParameterKey"]: p["ParameterValue"] for p in request.get("Parameters", [])}


def _event(
    stack: str, logical: str, kind: str, status: str, reason: str, at: datetime
) -> dict[str, Any]:
    event = {
        "StackName": stack,
        "EventId": uuid.uuid4().hex,
        "LogicalResourceId": logical,
        "ResourceType": kind,
        "ResourceStatus": status,
        "Timestamp": at,
    }
    if reason:
        event["ResourceStatusReason"] = reason
    return event


class StageSession:
    """A boto3 session whose CloudFormation client is the fake above (one per session) and
    whose other clients can be made to fail once on a named operation (`fail_once`): after
    `after` calls of it succeed, the next one answers a ClientError."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.region_name = session.region_name
        self.cloudformation = MotoStacks(session)
        self.faults: dict[tuple[str, str], list[int]] = {}

    def fail_once(self, service: str, method: str, after: int = 0) -> None:
        self.faults[(service, method)] = [after]

    def client(self, service: str, **kwargs: Any) -> Any:
        if service == "cloudformation":
            return self.cloudformation
        return _Faulty(self, service, self.session.client(service, **kwargs))

    def resource(self, service: str, **kwargs: Any) -> Any:
        """A boto3 resource whose client answers the faults too (through botocore's events)."""
        resource = self.session.resource(service, **kwargs)
        events = resource.meta.client.meta.events
        for (fault_service, method), fault in list(self.faults.items()):
            if fault_service != service:
                continue
            operation = "".join(part.capitalize() for part in method.split("_"))

            def maybe_fail(fault: list[int] = fault, key: Any = (service, method), **_: Any) -> Any:
                if key not in self.faults:
                    return None
                if fault[0] > 0:
                    fault[0] -= 1
                    return None
                del self.faults[key]
                error = {"Code": "InternalServerError", "Message": "injected fault"}
                raise ClientError({"Error": error}, key[1])

            events.register(f"before-call.{service}.{operation}", maybe_fail)
        return resource


class _Faulty:
    def __init__(self, owner: StageSession, service: str, client: Any) -> None:
        self._owner = owner
        self._service = service
        self._client = client

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        fault = self._owner.faults.get((self._service, name))
        if fault is None or not callable(attribute):
            return attribute

        def maybe_fail(*args: Any, **kwargs: Any) -> Any:
            if fault[0] > 0:
                fault[0] -= 1
                return attribute(*args, **kwargs)
            del self._owner.faults[(self._service, name)]
            error = {"Code": "InternalError", "Message": "injected fault"}
            raise ClientError({"Error": error}, name)

        return maybe_fail
