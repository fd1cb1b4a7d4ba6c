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

The steps' shared machinery (Deployment, the package and stack steps, the release record) is
ops/deployment.py.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ops.deployed import StageStore
from ops.deployment import (
    DONE,
    Blocked,
    Deployment,
    Options,
    Package,
    Say,
    Stack,
    Step,
    StepFailed,
)

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
