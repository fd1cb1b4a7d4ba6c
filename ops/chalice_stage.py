"""A chalice-owned stage: `ops deploy` runs `chalice deploy`, then sets what its config cannot.

The default shape of a stage (docs/deploy.md, "Two shapes"): the stack holds everything but the
functions and the API (ops/stage_template.py), and `chalice deploy --stage S` makes and updates
those, with the stack's roles and settings written into .chalice/config.json beforehand
(ops/chalice_deploy.py). So the same command ships a code change day to day, in place: Chalice
finds its functions by name and its API, event sources and schedules in
`.chalice/deployed/<stage>.json`, and updates them.

After its `chalice deploy`, `ops deploy`:
- hands the API's id to the stack (`ApiStack`: the stack parameter `ChaliceRestApiId`), which then
  creates, from infra/resources.json's own definitions, the WAF association of the API's stage
  and the public URL parameter Twilio's webhooks are signed against;
- sets, from the packaged template's definitions, what Chalice's config cannot express (`Tune`):
  the stream mappings' bisect / retry limit / on-failure destination and the API stage's
  throttling. A later bare `chalice deploy` keeps them: on an existing mapping it only updates
  the batch size and window (chalice/deploy/planner.py, `update_lambda_event_source`), and on an
  existing API it overwrites the definition (PutRestApi) and makes a new deployment of the same
  stage (CreateDeployment), which leaves the stage's method settings and its WAF association as
  they are. Sizes, timeouts and reserved concurrency are in the config, so Chalice itself keeps
  them.

Every `chalice deploy` that `ops deploy` runs is a release, kept in the artifacts bucket under
`<stage>/chalice/history.json` with the functions' zip (the one `chalice package` built from the
same inputs: Chalice's deploy and package build the zip with the same packager). `ops rollback`
puts that zip back on every function (UpdateFunctionCode). A bare `chalice deploy` records no
release: the rollback after one goes to the release before the last `ops deploy`'s, and
`--to <live release>` goes back to what `ops deploy` last shipped.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Protocol

from botocore.exceptions import ClientError

from ops.chalice_config import (
    chalice_name,
    deployed_api_id,
    deployed_file,
    deployed_functions,
    function_name,
)
from ops.chalice_deploy import StackValues, event_sources
from ops.deployment import (
    DONE,
    Blocked,
    ChaliceReleases,
    Deployment,
    Stack,
    StepFailed,
    built,
    fingerprint,
)

API_STAGE = "api"  # api_gateway_stage of every deployed stage in .chalice/config.json


class ChaliceDeployer(Protocol):
    """Deploys the project whose config is `config_file` (<project>/.chalice/config.json)."""

    def deploy(self, stage: str, config_file: Path) -> None: ...


class ChaliceCli:
    """`chalice deploy --stage S` in the project, as an operator would run it."""

    def __init__(self, chalice: Path | None = None) -> None:
        self.chalice = chalice or Path(sys.executable).parent / "chalice"

    def deploy(self, stage: str, config_file: Path) -> None:
        done = subprocess.run(
            [str(self.chalice), "deploy", "--stage", stage],
            cwd=config_file.parent.parent,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise StepFailed(f"chalice deploy failed:\n{(done.stderr or done.stdout)[-2000:]}")


def _template(deployment: Deployment) -> dict[str, Any]:
    path = deployment.options.build / "packaged.json"
    if not path.is_file() or deployment.stack_status() not in DONE:
        raise Blocked("runs once the stack is deployed")
    template: dict[str, Any] = json.loads(path.read_text())
    return template


def _code_key(template: dict[str, Any]) -> str:
    """The artifacts-bucket key of the zip the Package step uploaded (every function's CodeUri)."""
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            return str(resource["Properties"]["CodeUri"]).split("/", 3)[3]
    raise StepFailed("the package has no function")


def release_id(deployment: Deployment) -> str:
    """The code as packaged and the stage's config as `chalice deploy` reads it (the top level
    and this stage: another stage's settings are not this one's release)."""
    config = json.loads(deployment.config_file.read_text())
    stage = {**config, "stages": {deployment.stage: config["stages"][deployment.stage]}}
    digest = hashlib.sha256(fingerprint(deployment.options.inputs_root).encode())
    digest.update(json.dumps(stage, sort_keys=True).encode())
    return digest.hexdigest()[:12]


# --- the steps --------------------------------------------------------------------------------


class ChaliceRun:
    """`chalice deploy --stage S`: the functions and the API, made or updated in place."""

    title = "chalice deploy (the functions and the API)"

    def plan(self, deployment: Deployment) -> list[str]:
        _template(deployment)
        if not built(deployment.options):
            return [f"chalice deploy --stage {deployment.stage}: release of the new package"]
        release = release_id(deployment)
        live = ChaliceReleases(deployment).history().live
        if live == release and deployed_api_id(deployment.config_file, deployment.stage):
            return []
        stage = deployment.stage
        return [f"chalice deploy --stage {stage}: release {release} (live: {live or '-'})"]

    def apply(self, deployment: Deployment) -> None:
        template = _template(deployment)
        release = release_id(deployment)
        deployer: ChaliceDeployer = deployment.chalice or ChaliceCli()
        deployer.deploy(deployment.stage, deployment.config_file)
        functions = deployed_functions(deployment.config_file, deployment.stage)
        expected = {chalice_name(k) for k, r in template["Resources"].items() if _is_function(r)}
        if set(functions) != expected:
            raise StepFailed(
                f"chalice deployed {sorted(functions)}, the package has {sorted(expected)}"
            )
        releases = ChaliceReleases(deployment)
        releases.keep_deployed(deployed_file(deployment.config_file, deployment.stage))
        releases.record({"release": release, "code": _code_key(template), "functions": functions})
        deployment.say(f"    functions release {release}: {len(functions)} function(s)")


def _is_function(resource: dict[str, Any]) -> bool:
    return bool(resource.get("Type") == "AWS::Serverless::Function")


class ApiStack(Stack):
    """The stack told the API's id: it then makes the WAF association and the public URL."""

    title = "hand chalice's API to the stack (WAF association, public URL)"

    def plan(self, deployment: Deployment) -> list[str]:
        if not deployed_api_id(deployment.config_file, deployment.stage):
            raise Blocked("runs once `chalice deploy` has made the API")
        return super().plan(deployment)


class Tune:
    """What Chalice's config cannot say, from the packaged template's definitions: the stream
    mappings' failure handling and the API stage's throttling."""

    title = "set what chalice's config cannot (stream failure handling, API throttling)"

    def _changes(self, deployment: Deployment) -> list[tuple[str, Any]]:
        template = _template(deployment)
        api = deployed_api_id(deployment.config_file, deployment.stage)
        if not api:
            raise Blocked("runs once `chalice deploy` has made the API")
        values = StackValues(deployment, template)
        app = str(json.loads(deployment.config_file.read_text())["app_name"])
        lambda_ = deployment.client("lambda")
        changes: list[tuple[str, Any]] = []
        for logical, properties in sorted(event_sources(template).items()):
            name = function_name(app, deployment.stage, chalice_name(logical))
            source = values.resolve(properties.get("Stream", properties.get("Queue")))
            wanted = _mapping_settings(values, properties)
            if not wanted:
                continue
            # By source, then function: the mapping's FunctionArn ends with the function's name.
            mappings = lambda_.list_event_source_mappings(EventSourceArn=source)
            found = [
                m
                for m in mappings["EventSourceMappings"]
                if str(m["FunctionArn"]).endswith(f":function:{name}")
            ]
            if len(found) != 1:
                raise StepFailed(f"{name} has {len(found)} mapping(s) from {source}, not one")
            mapping = found[0]
            if any(mapping.get(k) != v for k, v in wanted.items()):
                line = f"~ {name}: stream failure handling ({_brief(wanted)})"
                changes.append((line, ("mapping", mapping["UUID"], wanted)))
        throttle = _throttle(values, template)
        stage = deployment.client("apigateway").get_stage(restApiId=api, stageName=API_STAGE)
        current = stage.get("methodSettings", {}).get("*/*", {})
        if (
            current.get("throttlingRateLimit") != throttle["rate"]
            or current.get("throttlingBurstLimit") != throttle["burst"]
        ):
            changes.append(
                (
                    f"~ API {api} stage {API_STAGE}: throttling {throttle['rate']:g}/s, "
                    f"burst {throttle['burst']}",
                    ("throttle", api, throttle),
                )
            )
        return changes

    def plan(self, deployment: Deployment) -> list[str]:
        return [line for line, _ in self._changes(deployment)]

    def apply(self, deployment: Deployment) -> None:
        for _, (kind, target, wanted) in self._changes(deployment):
            if kind == "mapping":
                # https://docs.aws.amazon.com/lambda/latest/api/API_UpdateEventSourceMapping.html
                deployment.client("lambda").update_event_source_mapping(UUID=target, **wanted)
            else:
                # Stage-wide method settings, path `/*/*/throttling/...`:
                # https://docs.aws.amazon.com/apigateway/latest/api/patch-operations.html
                deployment.client("apigateway").update_stage(
                    restApiId=target,
                    stageName=API_STAGE,
                    patchOperations=[
                        {
                            "op": "replace",
                            "path": "/*/*/throttling/rateLimit",
                            "value": str(wanted["rate"]),
                        },
                        {
                            "op": "replace",
                            "path": "/*/*/throttling/burstLimit",
                            "value": str(wanted["burst"]),
                        },
                    ],
                )


def _mapping_settings(values: StackValues, properties: dict[str, Any]) -> dict[str, Any]:
    wanted: dict[str, Any] = {}
    if "BisectBatchOnFunctionError" in properties:
        wanted["BisectBatchOnFunctionError"] = bool(properties["BisectBatchOnFunctionError"])
    if "MaximumRetryAttempts" in properties:
        wanted["MaximumRetryAttempts"] = int(properties["MaximumRetryAttempts"])
    failure = properties.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
    if failure is not None:
        wanted["DestinationConfig"] = {"OnFailure": {"Destination": values.resolve(failure)}}
    return wanted


def _brief(wanted: dict[str, Any]) -> str:
    parts = []
    if wanted.get("BisectBatchOnFunctionError"):
        parts.append("bisect")
    if "MaximumRetryAttempts" in wanted:
        parts.append(f"{wanted['MaximumRetryAttempts']} retries")
    if "DestinationConfig" in wanted:
        parts.append("on-failure queue")
    return ", ".join(parts)


def _throttle(values: StackValues, template: dict[str, Any]) -> dict[str, Any]:
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::Serverless::Api":
            continue
        for setting in resource["Properties"].get("MethodSettings", []):
            if setting.get("ResourcePath") == "/*" and setting.get("HttpMethod") == "*":
                return {
                    "rate": float(values.resolve(setting["ThrottlingRateLimit"])),
                    "burst": int(values.resolve(setting["ThrottlingBurstLimit"])),
                }
    raise StepFailed("the package's API has no stage-wide throttling (infra/resources.json)")


# --- rollback ---------------------------------------------------------------------------------


def rollback_functions(deployment: Deployment, to: str = "") -> int:
    """Every function of the target release gets that release's zip back (UpdateFunctionCode
    from the artifacts bucket: https://docs.aws.amazon.com/lambda/latest/api/API_UpdateFunctionCode.html).
    0: done; 1: Lambda refused; 2: no such (or no earlier) release."""
    say = deployment.say
    releases = ChaliceReleases(deployment)
    history = releases.history()
    try:
        target = history.find(to or history.previous())
    except StepFailed as exc:
        say(f"rollback: {exc}")
        return 2
    say(f"[1/2] functions: release {history.live or '-'} -> {target['release']}")
    lambda_ = deployment.client("lambda")
    bucket = deployment.artifacts_bucket()
    try:
        for name, arn in sorted(target["functions"].items()):
            lambda_.update_function_code(FunctionName=arn, S3Bucket=bucket, S3Key=target["code"])
            say(f"    {name}: code of release {target['release']}")
    except ClientError as exc:
        say(f"    FAILED: {exc}")
        return 1
    releases.record(target, action="rollback")
    return 0
