"""The machinery every deployment command shares: a stage's Deployment, the package and the
stack (CloudFormation) steps, and the record of the stack's releases.

`python -m ops deploy` (ops/deploy.py) runs these among its steps; `python -m ops rollback`
(ops/rollback.py) puts a recorded release back; the chalice-owned stage's steps
(ops/chalice_deploy.py, ops/chalice_stage.py) build on the same Deployment. They all import this
module and none of them imports another's orchestration, so the commands form no circle.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from ops.chalice_config import CHALICE_CONFIG, RESOURCES, ROOT, without_generated
from ops.deployed import StageStore, deployed_settings, stack_name

Say = Callable[[str], None]
# What `chalice package` reads: a change to any of these is a new package.
PACKAGE_INPUTS = ("app.py", "chalicelib", "requirements.txt", "infra", ".chalice/config.json")
# CreateStack/UpdateStack: IAM roles (CAPABILITY_IAM) and the SAM transform, a macro
# (CAPABILITY_AUTO_EXPAND: "If your stack template contains one or more macros, and you choose
# to create a stack directly from the processed template, without first reviewing the resulting
# changes in a change set, you must acknowledge this capability").
# https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"]
# Stack statuses: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/view-stack-events.html
DONE = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE"}
FAILED_CREATE = "ROLLBACK_COMPLETE"  # a first create that failed: it can only be deleted
STUCK = {"ROLLBACK_FAILED", "DELETE_FAILED", "UPDATE_ROLLBACK_FAILED", "CREATE_FAILED"}
UNCHANGED = "No updates are to be performed"  # UpdateStack's ValidationError for no change


class StepFailed(RuntimeError):
    """A step could not do its work; the message says why and what to do."""


class Blocked(RuntimeError):
    """A step cannot say what it would do until an earlier step has run (in --plan)."""


class Packager(Protocol):
    def available(self) -> str | None: ...
    def package(self, stage: str, out_dir: Path) -> None: ...


class ChalicePackager:
    """`chalice package --stage S --merge-template infra/resources.json <out>` (docs/deploy.md)."""

    def __init__(self, chalice: Path | None = None) -> None:
        self.chalice = chalice or Path(sys.executable).parent / "chalice"

    def available(self) -> str | None:
        return None if self.chalice.exists() else f"{self.chalice} is missing: run `make setup`"

    def package(self, stage: str, out_dir: Path) -> None:
        command = [str(self.chalice), "package", "--stage", stage, "--merge-template"]
        done = subprocess.run(
            [*command, str(RESOURCES), str(out_dir)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise StepFailed(f"chalice package failed:\n{done.stderr.strip()[-2000:]}")


@dataclass
class Options:
    stage: str
    agents: Path
    supervisors: Path | None = None
    numbers: list[str] = field(default_factory=list)
    alarm_email: str = ""
    public_base_url: str = ""
    artifacts_bucket: str = ""
    build_dir: Path | None = None
    inputs_root: Path = ROOT  # the project `chalice package` packages
    # The stack owns the functions and the API too (the packaged template as it is): for
    # pipelines. Else (the default) `chalice deploy` owns them (ops/chalice_stage.py).
    pipeline: bool = False

    @property
    def build(self) -> Path:
        return self.build_dir or ROOT / "build" / self.stage


@dataclass
class Deployment:
    """Everything the steps share: the AWS session, the options, the Twilio client boundary."""

    session: Any
    options: Options
    say: Say = print
    packager: Packager = field(default_factory=ChalicePackager)
    chalice: Any = None  # ops.chalice_stage.ChaliceDeployer; the real CLI when None
    twilio_http_client: Any = None
    probe: Callable[[str], int | str] | None = None
    environ: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    poll_seconds: float = 5.0
    config_file: Path = CHALICE_CONFIG
    _settings: Any = None

    @property
    def stage(self) -> str:
        return self.options.stage

    def client(self, service: str) -> Any:
        return self.session.client(service)

    def account(self) -> str:
        return str(self.client("sts").get_caller_identity()["Account"])

    def artifacts_bucket(self) -> str:
        return self.options.artifacts_bucket or (
            f"contact-center-artifacts-{self.account()}-{self.session.region_name}"
        )

    def stack_status(self) -> str | None:
        try:
            stacks = self.client("cloudformation").describe_stacks(
                StackName=stack_name(self.stage)
            )["Stacks"]
        except ClientError as exc:
            if "does not exist" in str(exc):
                return None
            raise
        return str(stacks[0]["StackStatus"]) if stacks else None

    def settings(self) -> Any:
        """The stage's settings as its functions see them (read once the stack is there)."""
        if self._settings is None:
            if self.stack_status() not in DONE:
                raise Blocked("runs once the stack is deployed")
            self._settings = deployed_settings(self.session, self.stage)
        return self._settings

    def forget_settings(self) -> None:
        self._settings = None

    def stage_config(self) -> dict[str, Any]:
        config = json.loads(self.config_file.read_text())
        stage: dict[str, Any] = config.get("stages", {}).get(self.stage, {})
        return stage

    def twilio_credentials(self) -> tuple[str, str]:
        """From the environment (a first deploy, a rotation), else from the stage's secret."""
        sid = self.environ.get("TWILIO_ACCOUNT_SID", "")
        token = self.environ.get("TWILIO_AUTH_TOKEN", "")
        if sid and token:
            return sid, token
        secret = self.stored_secret()
        return str(secret.get("account_sid") or ""), str(secret.get("auth_token") or "")

    def stored_secret(self) -> dict[str, Any]:
        try:
            return StageStore(self.session, self.stage).secret()
        except (ClientError, BotoCoreError, ValueError):
            return {}

    def twilio(self) -> Any:
        from twilio.rest import Client

        sid, token = self.twilio_credentials()
        return Client(sid, token, http_client=self.twilio_http_client)


class Step(Protocol):
    title: str

    def plan(self, deployment: Deployment) -> list[str]: ...
    def apply(self, deployment: Deployment) -> None: ...


def fingerprint(root: Path = ROOT, inputs: Iterable[str] = PACKAGE_INPUTS) -> str:
    """A hash of every file `chalice package` reads (caches and bytecode aside)."""
    digest = hashlib.sha256()
    for name in inputs:
        path = root / name
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if "__pycache__" in file.parts or file.suffix == ".pyc" or not file.exists():
                continue
            body = file.read_bytes()
            if file.name == "config.json" and file.parent.name == ".chalice":
                # The role ARNs ops deploy writes for `chalice deploy` are not package inputs.
                body = json.dumps(without_generated(json.loads(body)), sort_keys=True).encode()
            digest.update(file.relative_to(root).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(body).digest())
    return digest.hexdigest()


def _has_bucket(s3: Any, bucket: str) -> bool:
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError:
        return False
    return True


def built(options: Options) -> bool:
    """The build directory holds the package of the code as it is now."""
    stamp = options.build / "inputs.sha256"
    return (
        (options.build / "packaged.json").is_file()
        and stamp.is_file()
        and stamp.read_text() == fingerprint(options.inputs_root)
    )


class Package:
    """The functions' zip and the merged template, built when the code changed, the zip put in
    the artifacts bucket under its own hash, the template pointed at it. SAM's CodeUri takes an
    S3 URI: https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-function.html#sam-function-codeuri
    (what `aws cloudformation package` does, without the AWS CLI)."""

    title = "package the functions and the template"

    def _built(self, deployment: Deployment) -> bool:
        return built(deployment.options)

    def plan(self, deployment: Deployment) -> list[str]:
        todo = []
        bucket = deployment.artifacts_bucket()
        if not _has_bucket(deployment.client("s3"), bucket):
            todo.append(f"create the artifacts bucket s3://{bucket}")
        if not self._built(deployment):
            todo.append(
                f"chalice package --stage {deployment.stage} --merge-template "
                f"infra/resources.json, upload the zip to s3://{bucket}"
            )
        return todo

    def apply(self, deployment: Deployment) -> None:
        s3 = deployment.client("s3")
        bucket = deployment.artifacts_bucket()
        if not _has_bucket(s3, bucket):
            s3.create_bucket(
                Bucket=bucket,
                CreateBucketConfiguration={"LocationConstraint": deployment.session.region_name},
            )
            s3.put_public_access_block(
                Bucket=bucket,
                PublicAccessBlockConfiguration={
                    "BlockPublicAcls": True,
                    "IgnorePublicAcls": True,
                    "BlockPublicPolicy": True,
                    "RestrictPublicBuckets": True,
                },
            )
        if self._built(deployment):
            return
        build = deployment.options.build
        raw = build / "chalice"
        build.mkdir(parents=True, exist_ok=True)
        deployment.packager.package(deployment.stage, raw)
        archive = (raw / "deployment.zip").read_bytes()
        key = f"{deployment.stage}/functions/{hashlib.sha256(archive).hexdigest()}.zip"
        s3.put_object(Bucket=bucket, Key=key, Body=archive)
        template = json.loads((raw / "sam.json").read_text())
        for resource in template.get("Resources", {}).values():
            if resource.get("Type") == "AWS::Serverless::Function":
                resource["Properties"]["CodeUri"] = f"s3://{bucket}/{key}"
        (build / "packaged.json").write_text(json.dumps(template, indent=1, sort_keys=True))
        # Written last: a package interrupted before this line is built again.
        (build / "inputs.sha256").write_text(fingerprint(deployment.options.inputs_root))
        deployment.say(f"    packaged: s3://{bucket}/{key}")


def stack_parameters(options: Options, config_file: Path = CHALICE_CONFIG) -> dict[str, str]:
    parameters = {
        "Stage": options.stage,
        "AlarmEmail": options.alarm_email,
        "PublicBaseUrl": options.public_base_url,
    }
    if not options.pipeline:
        from ops.chalice_config import deployed_api_id
        from ops.stage_template import API_ID_PARAMETER

        parameters[API_ID_PARAMETER] = deployed_api_id(config_file, options.stage)
    return parameters


def _as_dict(body: Any) -> Any:
    return json.loads(body) if isinstance(body, str) else json.loads(json.dumps(body))


class Stack:
    """The stage's CloudFormation stack: created, updated or left alone, then waited for."""

    title = "deploy the stack"

    def __init__(
        self, template: dict[str, Any] | None = None, parameters: dict[str, str] | None = None
    ) -> None:
        # A given template and parameters (a rollback's); else the build directory's package
        # and the command's options.
        self.template = template
        self.parameters = parameters

    def _parameters(self, deployment: Deployment) -> dict[str, str]:
        if self.parameters is not None:
            return self.parameters
        return stack_parameters(deployment.options, deployment.config_file)

    def _template(self, deployment: Deployment) -> dict[str, Any]:
        if self.template is not None:
            return self.template
        path = deployment.options.build / "packaged.json"
        if not path.is_file():
            raise Blocked("runs once the package is built")
        template: dict[str, Any] = json.loads(path.read_text())
        if deployment.options.pipeline:
            return template
        from ops.stage_template import UnknownReference, chalice_owned

        try:
            return chalice_owned(template, _app_name(deployment.config_file))
        except UnknownReference as exc:
            raise StepFailed(f"the stage's template: {exc}") from exc

    def _deployed(self, deployment: Deployment) -> tuple[Any, dict[str, str]]:
        cloudformation = deployment.client("cloudformation")
        name = stack_name(deployment.stage)
        body = cloudformation.get_template(StackName=name, TemplateStage="Original")
        stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
        parameters = {p["ParameterKey"]: p["ParameterValue"] for p in stack.get("Parameters", [])}
        return _as_dict(body["TemplateBody"]), parameters

    def plan(self, deployment: Deployment) -> list[str]:
        status = deployment.stack_status()
        name = stack_name(deployment.stage)
        if status is None:
            return [f"create stack {name}"]
        if status == FAILED_CREATE:
            return [f"delete {name}, left by a first create that failed, and create it again"]
        if status in STUCK:
            raise StepFailed(
                f"stack {name} is {status}: CloudFormation needs a hand first (for "
                "UPDATE_ROLLBACK_FAILED: `aws cloudformation continue-update-rollback`); see its "
                "events in the console, then run the deploy again"
            )
        if status.endswith("_IN_PROGRESS"):
            return [f"wait for the stack's current operation ({status}) to end, then check again"]
        if self.template is None and not built(deployment.options):
            return [f"update stack {name} with the new package"]
        template, parameters = self._deployed(deployment)
        _same_shape(deployment, template)
        wanted = self._parameters(deployment)
        changed = [k for k, v in wanted.items() if parameters.get(k, "") != v]
        if template != self._template(deployment):
            return [f"update stack {name}: the template changed"]
        if changed:
            return [f"update stack {name}: parameters {', '.join(changed)} changed"]
        return []

    def apply(self, deployment: Deployment) -> None:
        cloudformation = deployment.client("cloudformation")
        name = stack_name(deployment.stage)
        status = deployment.stack_status()
        since = _last_event_id(cloudformation, name) if status else None
        if status is not None and status.endswith("_IN_PROGRESS"):
            self.wait(deployment, since)
            status = deployment.stack_status()
            since = _last_event_id(cloudformation, name)
            if not self.plan(deployment):
                return
        if status == FAILED_CREATE:
            deployment.say(f"    deleting {name} (its first create failed)")
            cloudformation.delete_stack(StackName=name)
            self.wait(deployment, since, deleting=True)
            status, since = None, None
        request = {
            "StackName": name,
            "TemplateBody": json.dumps(self._template(deployment)),
            "Parameters": [
                {"ParameterKey": k, "ParameterValue": v}
                for k, v in self._parameters(deployment).items()
            ],
            "Capabilities": CAPABILITIES,
        }
        if status is None:
            cloudformation.create_stack(**request)
        else:
            try:
                cloudformation.update_stack(**request)
            except ClientError as exc:
                if UNCHANGED in str(exc):
                    return
                raise
        self.wait(deployment, since)
        deployment.forget_settings()
        if self.template is None:
            # What `ops rollback` goes back to (a rollback records itself there).
            release = StackReleases(deployment).record_template(self._template(deployment))
            what = "functions" if deployment.options.pipeline else "stack template"
            deployment.say(f"    {what} release {release}")

    def wait(self, deployment: Deployment, since: str | None, deleting: bool = False) -> None:
        """Until the stack settles: every new event printed as it comes, and on failure the
        reason of each resource that failed (DescribeStackEvents' ResourceStatusReason:
        https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackEvent.html)."""
        cloudformation = deployment.client("cloudformation")
        name = stack_name(deployment.stage)
        seen: set[str] = set()
        failures: list[str] = []
        while True:
            for event in _events_since(cloudformation, name, since):
                if event["EventId"] in seen:
                    continue
                seen.add(event["EventId"])
                status = event["ResourceStatus"]
                line = (
                    f"    {event['Timestamp']:%H:%M:%S} {status:<20} "
                    f"{event['LogicalResourceId']} ({event.get('ResourceType', '')})"
                )
                reason = event.get("ResourceStatusReason", "")
                if status.endswith("_FAILED"):
                    failures.append(f"{event['LogicalResourceId']}: {reason}")
                    line += f": {reason}"
                deployment.say(line)
            status = deployment.stack_status()
            if status is None and deleting:
                return
            if status is None:
                raise StepFailed(f"stack {name} disappeared while deploying")
            if not status.endswith("_IN_PROGRESS"):
                break
            time.sleep(deployment.poll_seconds)
        if status in DONE and not status.startswith("UPDATE_ROLLBACK"):
            return
        raise StepFailed(
            f"stack {name} ended {status}"
            + ("; failed: " + "; ".join(failures) if failures else "")
            + ". Fix the cause, then run the deploy again: it picks up from here"
        )


def chalice_owned_stack(template: dict[str, Any]) -> bool:
    """The deployed template is a chalice-owned stage's (ops/stage_template.py)."""
    from ops.stage_template import API_ID_PARAMETER

    return API_ID_PARAMETER in template.get("Parameters", {})


def _same_shape(deployment: Deployment, deployed: dict[str, Any]) -> None:
    """Switching a live stage between the two shapes would delete its functions and the API
    Twilio calls (or make a second set): refused, never done on the side."""
    if chalice_owned_stack(deployed) == (not deployment.options.pipeline):
        return
    now = "chalice-owned" if chalice_owned_stack(deployed) else "--pipeline"
    raise StepFailed(
        f"stack {stack_name(deployment.stage)} is a {now} stage; run the deploy "
        + ("without --pipeline" if now == "chalice-owned" else "with --pipeline")
        + " (changing a live stage's shape is not automated: docs/deploy.md, 'Two shapes')"
    )


def _events_since(cloudformation: Any, name: str, since: str | None) -> list[dict[str, Any]]:
    """The stack's events after `since`, oldest first (DescribeStackEvents is newest first)."""
    newer: list[dict[str, Any]] = []
    for page in cloudformation.get_paginator("describe_stack_events").paginate(StackName=name):
        for event in page["StackEvents"]:
            if event["EventId"] == since:
                return list(reversed(newer))
            newer.append(event)
    return list(reversed(newer))


def _last_event_id(cloudformation: Any, name: str) -> str | None:
    events = cloudformation.describe_stack_events(StackName=name)["StackEvents"]
    return str(events[0]["EventId"]) if events else None


def _app_name(config_file: Path) -> str:
    return str(json.loads(config_file.read_text())["app_name"])


# --- releases: what `ops rollback` goes back to ----------------------------------------------


def release_of(template: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:12]


@dataclass
class ReleaseHistory:
    releases: list[dict[str, Any]] = field(default_factory=list)
    live: str = ""
    log: list[dict[str, Any]] = field(default_factory=list)

    def previous(self) -> str:
        ids = [r["release"] for r in self.releases]
        if self.live not in ids or ids.index(self.live) == 0:
            raise StepFailed("there is no earlier release of the functions to roll back to")
        return str(ids[ids.index(self.live) - 1])

    def find(self, release: str) -> dict[str, Any]:
        for entry in self.releases:
            if entry["release"] == release:
                return entry
        known = ", ".join(r["release"] for r in self.releases) or "none"
        raise StepFailed(f"no release {release} of the functions (known: {known})")


class Releases:
    """A history of releases in the artifacts bucket (one JSON file): each release once, in the
    order first deployed, which one is live, and a log of deploys and rollbacks."""

    def __init__(self, deployment: Deployment, key: str) -> None:
        self.s3 = deployment.client("s3")
        self.bucket = deployment.artifacts_bucket()
        self.key = key

    def history(self) -> ReleaseHistory:
        body = self._read(self.key)
        if body is None:
            return ReleaseHistory()
        data = json.loads(body)
        return ReleaseHistory(data.get("releases", []), data.get("live", ""), data.get("log", []))

    def save(self, history: ReleaseHistory) -> None:
        body = {"live": history.live, "releases": history.releases, "log": history.log[-200:]}
        self.s3.put_object(
            Bucket=self.bucket, Key=self.key, Body=json.dumps(body, indent=1).encode()
        )

    def record(self, entry: dict[str, Any], action: str = "deploy") -> None:
        """`entry` (its `release` and what it needs to come back) is live now: kept once, at the
        end of the history, on a deploy; a rollback only moves `live` and is logged."""
        history = self.history()
        at = int(time.time())
        if action == "deploy":
            history.releases = [r for r in history.releases if r["release"] != entry["release"]]
            history.releases.append({**entry, "deployed_at": at})
        history.log.append(
            {"action": action, "release": entry["release"], "from": history.live, "at": at}
        )
        history.live = entry["release"]
        self.save(history)

    def _read(self, key: str) -> bytes | None:
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NoSuchBucket"):
                return None
            raise
        return bytes(body["Body"].read())


class StackReleases(Releases):
    """The stack's deployed templates, in the artifacts bucket under `<stage>/releases/`."""

    def __init__(self, deployment: Deployment) -> None:
        self.prefix = f"{deployment.stage}/releases/"
        super().__init__(deployment, self.prefix + "history.json")

    def template(self, release: str) -> dict[str, Any]:
        entry = self.history().find(release)
        body = self.s3.get_object(Bucket=self.bucket, Key=entry["template"])["Body"].read()
        template: dict[str, Any] = json.loads(body)
        return template

    def record_template(self, template: dict[str, Any], action: str = "deploy") -> str:
        """The template now live: kept (once) and moved to the end of the history."""
        release = release_of(template)
        key = f"{self.prefix}{release}.json"
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=json.dumps(template).encode())
        self.record({"release": release, "template": key}, action)
        return release


class ChaliceReleases(Releases):
    """What each `chalice deploy` of `ops deploy` shipped, in the artifacts bucket."""

    def __init__(self, deployment: Deployment) -> None:
        super().__init__(deployment, f"{deployment.stage}/chalice/history.json")
        self.deployed_key = f"{deployment.stage}/chalice/deployed.json"

    def keep_deployed(self, path: Path) -> None:
        """Chalice's record of what it made (not in git: .gitignore), for another checkout."""
        self.s3.put_object(Bucket=self.bucket, Key=self.deployed_key, Body=path.read_bytes())

    def kept_deployed(self) -> bytes | None:
        return self._read(self.deployed_key)
