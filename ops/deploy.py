"""`python -m ops deploy --stage S [--plan]`: a stage from nothing, or brought up to date, in order.

What used to be nine manual steps of docs/deploy.md is a list of steps here. Each step reads
the stage first and says what it has to do (nothing, on a healthy stage), and only then does
it, so:

- `--plan` prints every step's work and changes nothing;
- a second run on a healthy stage changes nothing (every step says "nothing to do");
- a run that failed half-way is resumed by running the same command again: the steps already
  done find nothing to do, the failed one finds what is left.

Before any step, the prerequisites are checked all together (AWS credentials and region, the
Twilio credentials, the stage's settings, the staff files), and what is missing is said in one
list before anything is touched.

The steps: package (chalice package --merge-template, the zip uploaded to the artifacts bucket),
the stack (CloudFormation, with its events as progress and the failed resources' reasons),
the Twilio credentials into the stage's secret, Twilio (ops/provision.py), the agents
directory (ops/imports.py), the pages (ops/web_deploy.py), the staff accounts (ops/staff.py),
then `ops doctor`'s verdict. Every release of the stack's template is kept in the artifacts
bucket, so `python -m ops rollback` can put the previous one back (ops/rollback.py).
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

from ops.chalice_config import CHALICE_CONFIG, ROOT
from ops.deployed import StageStore, deployed_settings, stack_name

Say = Callable[[str], None]
RESOURCES = ROOT / "infra" / "resources.json"
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


# --- prerequisites ----------------------------------------------------------------------------


def prerequisites(deployment: Deployment) -> list[str]:
    """Everything missing, each with what to do, before anything is touched."""
    missing: list[str] = []
    options = deployment.options
    if not deployment.session.region_name:
        missing.append("AWS region: none set; export AWS_DEFAULT_REGION=ap-northeast-1")
    try:
        deployment.account()
    except (ClientError, BotoCoreError) as exc:
        missing.append(
            f"AWS credentials: AWS does not accept this shell's ({exc}); sign in "
            "(aws configure / AWS_PROFILE / aws sso login) and check `aws sts get-caller-identity`"
        )
    stage = deployment.stage_config()
    variables = stage.get("environment_variables", {})
    if not stage:
        missing.append(
            f"stage {options.stage!r} is not in .chalice/config.json: add it (docs/deploy.md)"
        )
    elif not variables.get("WEB_ORIGIN"):
        missing.append(
            f"WEB_ORIGIN: stage {options.stage!r} has none in .chalice/config.json; set the "
            "pages' origin there (docs/deploy.md, 'The site's origin')"
        )
    if not (
        options.numbers
        or variables.get("COMPANY_NUMBER")
        or deployment.environ.get("COMPANY_NUMBER")
    ):
        missing.append(
            "COMPANY_NUMBER: the number callers dial; set it in the stage's "
            "environment_variables in .chalice/config.json (or pass --number)"
        )
    sid, token = deployment.twilio_credentials()
    if not sid.startswith("AC") or not token:
        missing.append(
            "Twilio credentials: export TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (Twilio "
            "Console > Account > API keys & tokens); they go into the stage's secret"
        )
    missing.extend(_staff_problems(options))
    problem = deployment.packager.available()
    if problem:
        missing.append(f"chalice: {problem}")
    return missing


def _staff_problems(options: Options) -> list[str]:
    from ops.staff import read_staff

    files = [options.agents] + ([options.supervisors] if options.supervisors else [])
    absent = [f"staff file {path} does not exist" for path in files if not path.is_file()]
    if absent:
        return absent
    return read_staff(options.agents, options.supervisors).problems


# --- the steps ----------------------------------------------------------------------------------


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
                from ops.chalice_deploy import without_generated

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
        from ops.chalice_stage import deployed_api_id
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
            from ops.rollback import StackReleases

            # What `ops rollback` goes back to (a rollback records itself there).
            release = StackReleases(deployment).record(self._template(deployment))
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


class Secret:
    """The Twilio account's credentials into the stage's secret (the stack made it empty)."""

    title = "store the Twilio credentials in the stage's secret"

    def plan(self, deployment: Deployment) -> list[str]:
        if deployment.stack_status() not in DONE:
            raise Blocked("runs once the stack has made the secret")
        sid, token = deployment.twilio_credentials()
        stored = deployment.stored_secret()
        if stored.get("account_sid") == sid and stored.get("auth_token") == token:
            return []
        store = StageStore(deployment.session, deployment.stage)
        # The token is never printed: only which account it belongs to.
        return [f"put account {sid} and its auth token into {store.secret_name}"]

    def apply(self, deployment: Deployment) -> None:
        store = StageStore(deployment.session, deployment.stage)
        sid, token = deployment.twilio_credentials()
        store.put_secret({**deployment.stored_secret(), "account_sid": sid, "auth_token": token})


def _provisioner(deployment: Deployment, apply: bool) -> Any:
    from ops.provision import Provisioner, read_agents, table_teams

    settings = deployment.settings()
    dynamodb = deployment.session.resource("dynamodb")
    store: Any = StageStore(deployment.session, deployment.stage)
    return Provisioner(
        deployment.twilio(),
        store,
        settings,
        deployment.options.numbers or [settings.telephony.company_number],
        apply=apply,
        agents=read_agents(deployment.options.agents),
        teams=table_teams(dynamodb.Table(settings.routing.agents_table)),
    )


class Provision:
    """Twilio's side (ops/provision.py): workspace, queues, workflow, numbers, app, API key."""

    title = "provision Twilio"

    def plan(self, deployment: Deployment) -> list[str]:
        from ops.provision import ProvisionError

        try:
            return [str(change) for change in _provisioner(deployment, False).run().changes]
        except ProvisionError as exc:
            raise StepFailed(str(exc)) from exc

    def apply(self, deployment: Deployment) -> None:
        from ops.provision import ProvisionError

        try:
            _provisioner(deployment, True).run()
        except ProvisionError as exc:
            raise StepFailed(str(exc)) from exc
        deployment.forget_settings()  # the sids it stored in SSM are settings


class Directory:
    """The agents directory (agent_id, name, team, TaskRouter worker sid) the app routes on."""

    title = "import the agents directory"

    def _items(self, deployment: Deployment) -> tuple[Any, list[dict[str, str]]]:
        from ops.imports import parse_agents
        from ops.provision import NEW, write_worker_sids

        workers = _provisioner(deployment, False).run().workers
        if not workers or NEW in workers.values():
            raise Blocked("runs once Twilio has a worker for every agent")
        items, rejected = parse_agents(write_worker_sids(deployment.options.agents, workers))
        if rejected:
            raise StepFailed(
                "agents file rows rejected: "
                + "; ".join(f"line {line}: {why}" for line, why in rejected)
            )
        table = deployment.session.resource("dynamodb").Table(
            deployment.settings().routing.agents_table
        )
        return table, items

    def plan(self, deployment: Deployment) -> list[str]:
        from ops.imports import _existing

        table, items = self._items(deployment)
        stored = _existing(table, "agent_id", [i["agent_id"] for i in items])
        changed = [i["agent_id"] for i in items if stored.get(i["agent_id"]) != i]
        return [f"write {len(changed)} agent(s): {', '.join(changed)}"] if changed else []

    def apply(self, deployment: Deployment) -> None:
        from ops.imports import ImportReport, write_items

        table, items = self._items(deployment)
        write_items(table, "agent_id", items, ImportReport())


class Pages:
    """The softphone and boards (ops/web_deploy.py): a new release when web/ or config changed."""

    title = "deploy the pages"

    def _release(self, deployment: Deployment) -> tuple[Any, str, str]:
        from dataclasses import replace

        from ops.web_config import WEB_DIR, client_version
        from ops.web_deploy import SiteBucket, release_id, site_files, stage_web_config

        settings = deployment.settings()
        config = stage_web_config(settings)
        config = replace(config, client_version=config.client_version or client_version())
        release = release_id(config.client_version, site_files(WEB_DIR, config))
        live = SiteBucket(deployment.client("s3"), settings.web_site_bucket).history().live
        return config, release, live

    def plan(self, deployment: Deployment) -> list[str]:
        _, release, live = self._release(deployment)
        return [] if release == live else [f"publish release {release} (live: {live or '-'})"]

    def apply(self, deployment: Deployment) -> None:
        from ops.web_deploy import deploy

        settings = deployment.settings()
        config, _, _ = self._release(deployment)
        distribution = settings.web_distribution_id
        outcome = deploy(
            deployment.client("s3"),
            settings.web_site_bucket,
            config,
            cloudfront=deployment.client("cloudfront") if distribution else None,
            distribution=distribution,
        )
        deployment.say(f"    live: {outcome.release} ({outcome.uploaded} file(s) uploaded)")


class Staff:
    """The staff accounts (ops/staff.py): the pool made to match the agents and supervisors."""

    title = "create or update the staff accounts"

    def _sync(self, deployment: Deployment, apply: bool) -> list[Any]:
        from ops.staff import StaffSync, read_staff

        staff = read_staff(deployment.options.agents, deployment.options.supervisors)
        pool = deployment.settings().auth.cognito_user_pool_id
        return StaffSync(deployment.client("cognito-idp"), pool, staff.members, apply).run()

    def plan(self, deployment: Deployment) -> list[str]:
        return [str(change) for change in self._sync(deployment, False)]

    def apply(self, deployment: Deployment) -> None:
        from ops.staff import report

        # The plan printed above named every account; the same pass makes those changes.
        deployment.say(f"    {report(self._sync(deployment, True))[-1]}")


def steps(pipeline: bool = False) -> list[Step]:
    from ops.chalice_deploy import ChaliceDeploy
    from ops.chalice_stage import ApiStack, ChaliceRun, Tune

    if pipeline:
        # The functions and the API are the stack's; `chalice deploy` gets the roles and
        # settings last, for a development copy (docs/deploy.md, "Two shapes").
        return [
            Package(),
            Stack(),
            Secret(),
            Provision(),
            Directory(),
            Pages(),
            Staff(),
            ChaliceDeploy(),
        ]
    # Chalice's functions and API must exist before Twilio is pointed at the API's URL.
    return [
        Package(),
        Stack(),
        ChaliceDeploy(),
        ChaliceRun(),
        ApiStack(),
        Tune(),
        Secret(),
        Provision(),
        Directory(),
        Pages(),
        Staff(),
    ]


# --- the command ----------------------------------------------------------------------------


def run(deployment: Deployment, plan_only: bool, chosen: list[Step] | None = None) -> int:
    """0: deployed and the doctor is content; 1: a step failed or the doctor found problems
    (the output says which, and running again resumes); 2: prerequisites missing."""
    from twilio.base.exceptions import TwilioException

    say = deployment.say
    missing = prerequisites(deployment)
    if missing:
        say(f"cannot deploy stage {deployment.stage}: {len(missing)} thing(s) missing")
        for line in missing:
            say(f"  - {line}")
        say("nothing was changed")
        return 2
    todo = chosen if chosen is not None else steps(deployment.options.pipeline)
    pending = 0
    for number, step in enumerate(todo, start=1):
        say(f"[{number}/{len(todo)}] {step.title}")
        try:
            work = step.plan(deployment)
        except Blocked as exc:
            if not plan_only:
                say(f"    FAILED: {exc}")
                return 1
            say(f"    after the steps above: {exc}")
            pending += 1
            continue
        except (StepFailed, ClientError, BotoCoreError, TwilioException) as exc:
            say(f"    FAILED: {exc}")
            _stopped(say, number, step, deployment.stage)
            return 1
        if not work:
            say("    nothing to do")
            continue
        pending += 1
        for line in work:
            say(f"    {line}")
        if plan_only:
            continue
        try:
            step.apply(deployment)
        except (StepFailed, ClientError, BotoCoreError, TwilioException, OSError) as exc:
            say(f"    FAILED: {exc}")
            _stopped(say, number, step, deployment.stage)
            return 1
        say("    done")
    if plan_only:
        say(
            f"plan: {pending} step(s) with work to do"
            if pending
            else "plan: nothing to do, the stage is up to date"
        )
        return 0
    return doctor(deployment)


def _stopped(say: Say, number: int, step: Step, stage: str) -> None:
    say(
        f"stopped at step {number} ({step.title}). Steps before it are done; fix the cause and "
        f"run `python -m ops deploy --stage {stage}` again: it resumes here"
    )


def doctor(deployment: Deployment) -> int:
    from ops.doctor import Doctor, probe_unsigned_post, report

    deployment.say(f"[doctor] checking stage {deployment.stage} end to end")
    found = Doctor(
        deployment.session,
        deployment.stage,
        twilio_http_client=deployment.twilio_http_client,
        probe=deployment.probe or probe_unsigned_post,
    ).run()
    return report(found, lambda line: deployment.say(f"    {line}"))


def run_for_stage(args: Any) -> int:
    import boto3

    if os.environ.get("AWS_ENDPOINT_URL") and args.stage != "local":
        print(f"refusing to deploy stage {args.stage!r} with AWS_ENDPOINT_URL set: unset it")
        return 2
    options = Options(
        stage=args.stage,
        agents=Path(args.agents),
        supervisors=Path(args.supervisors) if args.supervisors else None,
        numbers=args.number,
        alarm_email=args.alarm_email,
        public_base_url=args.public_base_url,
        artifacts_bucket=args.artifacts_bucket,
        pipeline=args.pipeline,
    )
    return run(Deployment(boto3.session.Session(), options), plan_only=args.plan)


def add_arguments(sub: Any) -> None:
    sub.add_argument("--stage", required=True, help="the stage to deploy: dev, prod")
    sub.add_argument("--plan", action="store_true", help="print what would be done; change nothing")
    sub.add_argument(
        "--pipeline",
        action="store_true",
        help="the stack owns the functions and the API too (the packaged template as it is); "
        "default: `chalice deploy` owns them, for day-to-day `chalice deploy --stage S`",
    )
    sub.add_argument(
        "--agents",
        default="agents.csv",
        help="agents CSV: agent_id,name,team,email (default: %(default)s)",
    )
    sub.add_argument("--supervisors", help="supervisors CSV: agent_id[,email]; in both groups")
    sub.add_argument(
        "--number", action="append", default=[], help="a number to point at the stage (repeatable)"
    )
    sub.add_argument("--alarm-email", default="", help="address subscribed to the stage's alarms")
    sub.add_argument(
        "--public-base-url", default="", help="custom domain of the API (default: its own URL)"
    )
    sub.add_argument(
        "--artifacts-bucket",
        default="",
        help="bucket for packages and releases "
        "(default: contact-center-artifacts-<account>-<region>)",
    )
