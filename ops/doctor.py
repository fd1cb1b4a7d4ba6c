"""`python -m ops doctor --stage S`: is this stage set up right, and if not, what to do.

Most problems with a Twilio contact center are setup problems: a number still pointing at the
old system, a workflow edited by hand in the console, a secret never filled in, a table deleted.
The doctor checks each link of the chain from AWS to Twilio and back, and says in plain words
what is wrong and the one thing to do about it. It only reads; `python -m ops provision` fixes
the Twilio side.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from botocore.exceptions import BotoCoreError, ClientError
from twilio.base.exceptions import TwilioException

from chalicelib.platform.settings import ConfigurationError
from chalicelib.routing.workflow import (
    EVERYONE_TARGET_WORKERS,
    TeamQueues,
    team_queue_name,
    team_target_workers,
    workflow_definition,
)
from chalicelib.telephony import webhooks
from ops.deployed import StageStore, deployed_settings, parameter_path, stack_name
from ops.infra import SETTING_KEY, template_resources
from ops.provision import ACTIVITIES, number_configuration, table_teams
from ops.settings import OperatorSettings

PROVISION = "run `python -m ops provision --stage {stage}`"
# Settings provision writes to SSM; their defaults are placeholders that cannot work deployed.
PROVISIONED = (
    "twilio_workspace_sid",
    "twilio_workflow_sid",
    "queue_sid_everyone",
    "twilio_twiml_app_sid",
    *(spec.setting for spec in ACTIVITIES),
)
CALLBACKS = (
    webhooks.INCOMING,
    webhooks.FALLBACK,
    webhooks.VOICE_STATUS,
    webhooks.TASKROUTER_ASSIGNMENT,
    webhooks.TASKROUTER_EVENTS,
    webhooks.OUTBOUND,
)

KINDS = {"AWS::DynamoDB::Table": "table", "AWS::S3::Bucket": "bucket", "AWS::SQS::Queue": "queue"}

Probe = Callable[[str], "int | str"]
# The company's own closures (BUSINESS_HOURS `closures`) are a list someone must extend; warn
# this long before the last one passes (issue 18).
CLOSURES_NOTICE = timedelta(days=90)
# How to give the app its REST key (docs/deploy.md, "The REST client's API key").
REST_KEY_FIX = (
    "create a Restricted API key in the Twilio Console (Voice and TaskRouter permissions, "
    "docs/deploy.md) and put it in the secret as rest_api_key_sid / rest_api_key_secret"
)


def floor_today() -> date:
    return datetime.now(ZoneInfo("Asia/Tokyo")).date()


@dataclass(frozen=True)
class Finding:
    check: str
    problem: str = ""
    fix: str = ""
    # A warning is worth reading but breaks nothing yet: it does not fail the doctor.
    warning: bool = False

    @property
    def ok(self) -> bool:
        return not self.problem or self.warning

    def __str__(self) -> str:
        if self.warning and self.problem:
            return f"WARN  {self.check}\n      {self.problem}\n      fix: {self.fix}"
        if self.ok:
            return f"ok    {self.check}"
        return f"FAIL  {self.check}\n      {self.problem}\n      fix: {self.fix}"


class Skip(Exception):
    """A check cannot run because an earlier one failed."""


def probe_unsigned_post(url: str, timeout: float = 10.0) -> int | str:
    """POST an empty, unsigned form; our app must answer 403 (it checks every signature)."""
    request = urllib.request.Request(
        url,
        data=b"",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError) as exc:
        return str(getattr(exc, "reason", exc))


class Doctor:
    def __init__(
        self,
        session: Any,
        stage: str,
        twilio_http_client: Any | None = None,
        probe: Probe = probe_unsigned_post,
        today: Callable[[], date] = floor_today,
    ) -> None:
        self.session = session
        self.stage = stage
        self.store = StageStore(session, stage)
        self.twilio_http_client = twilio_http_client
        self.probe = probe
        self.today = today
        self.provision = PROVISION.format(stage=stage)
        self._settings: OperatorSettings | None = None
        self._client: Any | None = None

    # --- the checks, in the order a problem in one explains the next ----------------------

    def run(self) -> list[Finding]:
        findings: list[Finding] = []
        for name, check in (
            ("AWS credentials", self.aws_credentials),
            (f"stack {stack_name(self.stage)}", self.stack),
            ("tables, buckets and queues", self.storage),
            (f"secret {self.store.secret_name}", self.secret),
            ("Twilio credentials", self.twilio_credentials),
            (f"stage settings in SSM {parameter_path(self.stage)}", self.stage_parameters),
            ("TaskRouter workspace", self.workspace),
            ("TaskRouter activities", self.activities),
            ("TaskRouter queues", self.queues),
            ("TaskRouter workflow", self.workflow),
            ("phone numbers", self.numbers),
            ("team caller IDs", self.team_caller_ids),
            ("TwiML App for outbound calls", self.twiml_app),
            ("API key for access tokens", self.api_key),
            ("callback URLs reachable", self.callbacks),
        ):
            try:
                problem, fix = next(iter(check()), ("", ""))
            except Skip as exc:
                problem, fix = f"not checked: {exc}", "fix the problems above first"
            except (ClientError, BotoCoreError, TwilioException) as exc:
                problem, fix = f"could not check: {exc}", "see the error; run the doctor again"
            findings.append(Finding(name, problem, fix))
        findings.append(self.closures())
        findings.append(self.rest_key())
        return findings

    def rest_key(self) -> Finding:
        """The app's REST client should use a restricted API key, not the account's auth token
        (which can do anything, and cannot be rotated without re-signing every webhook check)."""
        check = "REST client on a restricted API key"
        try:
            secret = self.store.secret()
        except (ClientError, ValueError):
            return Finding(check, "not checked: the Twilio secret cannot be read", "see above")
        key_sid = str(secret.get("rest_api_key_sid") or "")
        if not key_sid or not secret.get("rest_api_key_secret"):
            return Finding(
                check,
                "the app calls Twilio's REST API with the account auth token",
                REST_KEY_FIX,
                warning=True,
            )
        from twilio.base.exceptions import TwilioRestException
        from twilio.rest import Client

        client = Client(
            key_sid,
            str(secret["rest_api_key_secret"]),
            account_sid=str(secret.get("account_sid") or ""),
            http_client=self.twilio_http_client,
        )
        try:
            # Something the app itself reads with the key: its TaskRouter workspace.
            client.taskrouter.v1.workspaces(self.settings().telephony.twilio_workspace_sid).fetch()
        except Skip as exc:
            return Finding(check, f"not checked: {exc}", "fix the problems above first")
        except TwilioRestException as exc:
            return Finding(
                check,
                f"Twilio refused REST key {key_sid} (HTTP {exc.status}): the app's REST calls fail",
                REST_KEY_FIX,
            )
        return Finding(check)

    def aws_credentials(self) -> Iterator[tuple[str, str]]:
        try:
            self.session.client("sts").get_caller_identity()
        except (ClientError, BotoCoreError) as exc:
            yield (
                f"AWS does not accept the credentials in this shell ({exc})",
                "sign in to the stage's AWS account (aws configure / AWS_PROFILE / aws sso login)",
            )

    def stack(self) -> Iterator[tuple[str, str]]:
        try:
            self._settings = deployed_settings(self.session, self.stage)
        except ClientError as exc:
            if "does not exist" in str(exc):
                yield (
                    f"there is no CloudFormation stack {stack_name(self.stage)} in "
                    f"{self.session.region_name}",
                    "deploy the stage (docs/deploy.md), or set AWS_DEFAULT_REGION to its region",
                )
                return
            yield (f"CloudFormation could not be read: {exc}", "check the AWS credentials")
        except ConfigurationError as exc:
            yield (
                f"the stage's settings are incomplete: {exc}",
                "redeploy the stack (docs/deploy.md); it creates every table and bucket",
            )

    def storage(self) -> Iterator[tuple[str, str]]:
        settings = self.settings()
        missing: list[str] = []
        unprotected: list[str] = []
        dynamodb = self.session.client("dynamodb")
        s3 = self.session.client("s3")
        sqs = self.session.client("sqs")
        for resource in template_resources().values():
            setting = resource.get("Metadata", {}).get(SETTING_KEY)
            if not setting:
                continue
            name = str(settings.flat()[setting])
            kind = resource["Type"]
            try:
                if kind == "AWS::DynamoDB::Table":
                    dynamodb.describe_table(TableName=name)
                    backups = dynamodb.describe_continuous_backups(TableName=name)
                    recovery = backups["ContinuousBackupsDescription"].get(
                        "PointInTimeRecoveryDescription", {}
                    )
                    if recovery.get("PointInTimeRecoveryStatus") != "ENABLED":
                        unprotected.append(f"table {name} ({setting.upper()})")
                elif kind == "AWS::S3::Bucket":
                    s3.head_bucket(Bucket=name)
                elif kind == "AWS::SQS::Queue":
                    sqs.get_queue_url(QueueName=name)
            except ClientError:
                missing.append(f"{KINDS.get(kind, kind)} {name} ({setting.upper()})")
        if missing:
            yield (
                "missing: " + ", ".join(missing),
                "redeploy the stack (docs/deploy.md); a deleted table is restored from its "
                "point-in-time backup (docs/runbook.md, 'Restoring a table')",
            )
        elif unprotected:
            yield (
                "point-in-time recovery is off for " + ", ".join(unprotected),
                "redeploy the stack: the template turns it on",
            )

    def secret(self) -> Iterator[tuple[str, str]]:
        try:
            secret = self.store.secret()
        except ClientError as exc:
            yield (
                f"secret {self.store.secret_name} cannot be read ({_aws_error(exc)})",
                "deploy the stack (it creates the secret) with the same --stage",
            )
            return
        except ValueError:
            yield (
                f"secret {self.store.secret_name} is not JSON",
                "put the credentials as JSON (docs/deploy.md, step 4)",
            )
            return
        if not str(secret.get("account_sid", "")).startswith("AC") or not secret.get("auth_token"):
            yield (
                f"secret {self.store.secret_name} has no Twilio account_sid/auth_token",
                "put them (docs/deploy.md, step 4): Twilio Console > Account > API keys & tokens",
            )
            return
        if not secret.get("api_key_sid") or not secret.get("api_key_secret"):
            yield (
                "the secret has no API key: agents' softphones cannot get access tokens",
                self.provision,
            )

    def twilio_credentials(self) -> Iterator[tuple[str, str]]:
        from twilio.base.exceptions import TwilioRestException

        client = self.client()
        try:
            account = client.api.v2010.accounts(client.account_sid).fetch()
        except TwilioRestException as exc:
            yield (
                f"Twilio refused the account_sid/auth_token in {self.store.secret_name} "
                f"(HTTP {exc.status})",
                "copy them again from the Twilio Console and put them in the secret "
                "(docs/deploy.md, step 4); a rotated auth token must be updated there",
            )
            return
        if account.status != "active":
            yield (
                f"Twilio account {client.account_sid} is {account.status}",
                "reactivate it in the Twilio Console (billing), calls are refused until then",
            )

    def stage_parameters(self) -> Iterator[tuple[str, str]]:
        stored = self.store.parameters()
        missing = [name for name in ("public_base_url", *PROVISIONED) if not stored.get(name)]
        if "public_base_url" in missing:
            yield (
                f"{parameter_path(self.stage)}/public_base_url is missing: the app cannot check "
                "Twilio's signatures",
                "deploy the stack (it writes the parameter)",
            )
        elif missing:
            yield (f"not provisioned yet: {', '.join(missing)}", self.provision)

    def workspace(self) -> Iterator[tuple[str, str]]:
        settings = self.settings()
        workspace = self._fetch(
            lambda c: c.taskrouter.v1.workspaces(settings.telephony.twilio_workspace_sid).fetch(),
            "the TaskRouter workspace",
        )
        if workspace is None:
            yield (
                f"workspace {settings.telephony.twilio_workspace_sid} (twilio_workspace_sid) "
                "does not exist in this Twilio account",
                self.provision,
            )
            return
        wanted = settings.url(webhooks.TASKROUTER_EVENTS)
        if workspace.event_callback_url != wanted:
            yield (
                f"TaskRouter events go to {workspace.event_callback_url or 'nowhere'}, not to "
                f"this stage ({wanted}): presence, escalation and call records stop",
                self.provision,
            )

    def activities(self) -> Iterator[tuple[str, str]]:
        settings = self.settings()
        self.require_workspace()
        wrong = []
        for spec in ACTIVITIES:
            sid = str(settings.flat()[spec.setting])
            activity = self._fetch(
                lambda c, sid=sid: (
                    c.taskrouter.v1.workspaces(settings.telephony.twilio_workspace_sid)
                    .activities(sid)
                    .fetch()
                ),
                f"activity {spec.name}",
            )
            if activity is None:
                wrong.append(f"{spec.name} ({spec.setting} {sid} does not exist)")
            elif bool(activity.available) != spec.available:
                wrong.append(f"{spec.name} (must be {'' if spec.available else 'un'}available)")
        if wrong:
            yield ("activities wrong: " + ", ".join(wrong), self.provision)

    def _queues_by_name(self) -> dict[str, Any]:
        settings = self.settings()
        workspace = self.client().taskrouter.v1.workspaces(settings.telephony.twilio_workspace_sid)
        return {queue.friendly_name: queue for queue in workspace.task_queues.list()}

    def _provisioned_teams(self) -> TeamQueues:
        """The team queues provision made: the workflow was generated for exactly these."""
        prefix = team_queue_name("")
        return TeamQueues.of(
            {
                name.removeprefix(prefix): str(queue.sid)
                for name, queue in self._queues_by_name().items()
                if name.startswith(prefix)
            }
        )

    def queues(self) -> Iterator[tuple[str, str]]:
        """The everyone queue, and a queue of exactly its workers for each team of the agents
        directory: a team stage's skip_if counts its queue's workers (worker-presence)."""
        settings = self.settings()
        self.require_workspace()
        by_sid = {str(q.sid): q for q in self._queues_by_name().values()}
        everyone = by_sid.get(settings.routing.queue_sid_everyone)
        if everyone is None or everyone.target_workers != EVERYONE_TARGET_WORKERS:
            yield (
                f"queue {settings.routing.queue_sid_everyone} (queue_sid_everyone) is missing or "
                f"does not hold every worker ({EVERYONE_TARGET_WORKERS})",
                self.provision,
            )
            return
        by_name = self._queues_by_name()
        teams = table_teams(self.session.resource("dynamodb").Table(settings.routing.agents_table))
        missing = [team for team in teams if team_queue_name(team) not in by_name]
        if missing:
            yield (
                f"team(s) {', '.join(missing)} of the agents directory have no TaskQueue: their "
                "callers skip from the owner straight to everyone (a team added since the last "
                "provision)",
                self.provision,
            )
            return
        wrong = [
            team
            for team in teams
            if by_name[team_queue_name(team)].target_workers != team_target_workers(team)
        ]
        if wrong:
            yield (
                f"the queue of team(s) {', '.join(wrong)} does not select exactly the team's "
                "workers: its skip_if would count other people",
                self.provision,
            )

    def workflow(self) -> Iterator[tuple[str, str]]:
        settings = self.settings()
        self.require_workspace()
        workflow = self._fetch(
            lambda c: (
                c.taskrouter.v1.workspaces(settings.telephony.twilio_workspace_sid)
                .workflows(settings.telephony.twilio_workflow_sid)
                .fetch()
            ),
            "the workflow",
        )
        if workflow is None:
            yield (
                f"workflow {settings.telephony.twilio_workflow_sid} (twilio_workflow_sid) "
                "does not exist",
                self.provision,
            )
            return
        expected = workflow_definition(settings, self._provisioned_teams())
        if json.loads(workflow.configuration or "{}") != expected:
            yield (
                "the workflow's routing differs from the app's (edited in the console, or the "
                "app changed since the last provision): callers may ring the wrong agents",
                self.provision,
            )
            return
        if workflow.assignment_callback_url != settings.url(webhooks.TASKROUTER_ASSIGNMENT):
            yield (
                f"reservations are sent to {workflow.assignment_callback_url}, not to this stage",
                self.provision,
            )

    def numbers(self) -> Iterator[tuple[str, str]]:
        settings = self.settings()
        client = self.client()
        number = settings.telephony.company_number
        phone = account_number(client, number)
        if phone is None:
            yield (
                f"{number} (COMPANY_NUMBER) is not a number of Twilio account {client.account_sid}",
                "buy or port it into this account, or correct COMPANY_NUMBER",
            )
            return
        wanted = number_configuration(settings)
        if (phone.voice_application_sid or "") != "":
            yield (
                f"{number} is attached to TwiML App {phone.voice_application_sid}, so Twilio "
                "ignores its voice URL",
                self.provision,
            )
            return
        wrong = [
            f"{field} is {getattr(phone, field) or 'empty'}"
            for field in ("voice_url", "voice_fallback_url", "status_callback")
            if (getattr(phone, field) or "") != wanted[field]
        ]
        if wrong:
            yield (
                f"{number} does not point at this stage ({settings.public_base_url}): "
                + "; ".join(wrong),
                self.provision,
            )

    def team_caller_ids(self) -> Iterator[tuple[str, str]]:
        """Every team's outbound number (`team_caller_id` in the agents directory) is a number
        of the account, and customers who call it back reach this stage."""
        from chalicelib.platform.errors import StorageUnavailable
        from chalicelib.routing.store import AgentDirectory
        from chalicelib.softphone.caller_id import TEAM_CALLER_ID

        settings = self.settings()
        table = self.session.resource("dynamodb").Table(settings.routing.agents_table)
        teams: dict[str, set[str]] = {}
        try:
            for agent in AgentDirectory(table).all():
                if agent.get(TEAM_CALLER_ID):
                    teams.setdefault(str(agent[TEAM_CALLER_ID]), set()).add(str(agent["team"]))
        except StorageUnavailable as exc:
            raise Skip(f"the agents directory cannot be read ({exc})") from exc
        client = self.client()
        wanted = number_configuration(settings)["voice_url"]
        missing: list[str] = []
        elsewhere: list[str] = []
        for number, names in sorted(teams.items()):
            owner = f"{number} (team {', '.join(sorted(names))})"
            phone = account_number(client, number)
            if phone is None:
                missing.append(owner)
            elif (phone.voice_url or "") != wanted or phone.voice_application_sid:
                elsewhere.append(owner)
        if missing:
            yield (
                f"not numbers of Twilio account {client.account_sid}: {', '.join(missing)}: "
                "Twilio refuses them as caller ID, so those teams' outbound calls fail",
                "buy or port them into this account, or correct team_caller_id in the agents "
                "file and run `python -m ops import-agents` again",
            )
        elif elsewhere:
            yield (
                f"customers who call back {', '.join(elsewhere)} do not reach this stage",
                f"run `python -m ops provision --stage {self.stage} --number "
                f"{settings.telephony.company_number} --number <each team number>`",
            )

    def twiml_app(self) -> Iterator[tuple[str, str]]:
        settings = self.settings()
        app = self._fetch(
            lambda c: c.api.v2010.account.applications(
                settings.telephony.twilio_twiml_app_sid
            ).fetch(),
            "the TwiML App",
        )
        if app is None:
            yield (
                f"TwiML App {settings.telephony.twilio_twiml_app_sid} does not exist: "
                "agents cannot dial out",
                self.provision,
            )
        elif app.voice_url != settings.url(webhooks.OUTBOUND):
            yield (
                f"outbound calls go to {app.voice_url or 'nowhere'}, not to this stage",
                self.provision,
            )

    def api_key(self) -> Iterator[tuple[str, str]]:
        secret = self.store.secret()
        key_sid = str(secret.get("api_key_sid") or "")
        if not key_sid:
            raise Skip("the secret has no API key")
        if self._fetch(lambda c: c.api.v2010.account.keys(key_sid).fetch(), "the API key") is None:
            yield (
                f"API key {key_sid} was deleted in Twilio: softphones cannot get access tokens",
                self.provision,
            )

    def callbacks(self) -> Iterator[tuple[str, str]]:
        settings = self.settings()
        for path in CALLBACKS:
            url = settings.url(path)
            answer = self.probe(url)
            if answer == 403:
                continue
            if isinstance(answer, str):
                yield (
                    f"{url} cannot be reached ({answer})",
                    "check public_base_url in SSM and that the API is deployed (docs/deploy.md)",
                )
            elif answer == 404:
                yield (
                    f"{url} answered 404: the URL does not reach this app",
                    "check public_base_url in SSM (stage prefix /api, custom domain mapping)",
                )
            elif answer < 300:
                yield (
                    f"{url} accepted an unsigned request (HTTP {answer}): anyone can forge calls",
                    "the app must check X-Twilio-Signature: is STAGE set to local or test?",
                )
            else:
                yield (
                    f"{url} answered HTTP {answer} to an unsigned request (expected 403)",
                    "read the API handler's errors (docs/runbook.md, 'webhook-errors')",
                )
            return

    def closures(self) -> Finding:
        """A warning when the company's configured closures end within CLOSURES_NOTICE.

        Public holidays need no list (jpholiday computes any year); the company's own days off
        do, and a list that ran out silently opens the phones on a closed day."""
        from chalicelib.escalation.business_hours import InvalidBusinessHours, load_calendar

        check = "company closures (BUSINESS_HOURS)"
        configured = self._settings.escalation.business_hours if self._settings else ""
        try:
            end = load_calendar(configured).closures_end()
        except InvalidBusinessHours as exc:
            return Finding(check, f"BUSINESS_HOURS cannot be read: {exc}", "fix its JSON")
        today = self.today()
        if end is None or end < today + CLOSURES_NOTICE:
            when = "none are configured" if end is None else f"the last one ends {end}"
            return Finding(
                check,
                f"{when}; within {CLOSURES_NOTICE.days} days the phones open on days the "
                "company may be closed (year-end, summer)",
                "add the coming closures to `closures` in BUSINESS_HOURS "
                "(docs/escalation.md, Business hours) and redeploy",
                warning=True,
            )
        return Finding(check)

    # --- shared -----------------------------------------------------------------------------

    def settings(self) -> OperatorSettings:
        if self._settings is None:
            raise Skip("the stage's settings could not be read")
        return self._settings

    def client(self) -> Any:
        if self._client is None:
            try:
                secret = self.store.secret()
            except (ClientError, ValueError) as exc:
                raise Skip("the Twilio secret cannot be read") from exc
            if not secret.get("account_sid") or not secret.get("auth_token"):
                raise Skip("the secret has no Twilio credentials")
            from twilio.rest import Client

            self._client = Client(
                secret["account_sid"], secret["auth_token"], http_client=self.twilio_http_client
            )
        return self._client

    def require_workspace(self) -> None:
        settings = self.settings()
        if (
            self._fetch(
                lambda c: c.taskrouter.v1.workspaces(
                    settings.telephony.twilio_workspace_sid
                ).fetch(),
                "the TaskRouter workspace",
            )
            is None
        ):
            raise Skip("the workspace does not exist")

    def _fetch(self, fetch: Callable[[Any], Any], what: str) -> Any | None:
        """The resource, or None if Twilio says it does not exist."""
        from twilio.base.exceptions import TwilioRestException

        try:
            return fetch(self.client())
        except TwilioRestException as exc:
            if exc.status == 404:
                return None
            raise Skip(f"Twilio answered HTTP {exc.status} for {what}") from exc


def account_number(client: Any, number: str) -> Any | None:
    """The account's IncomingPhoneNumber for exactly `number`, or None. Twilio's `PhoneNumber`
    filter matches partial numbers ("You can specify partial numbers and use '*' as a wildcard
    for any digit": the IncomingPhoneNumbers list in @twilio/cli-core's twilio_api_v2010.json,
    https://www.twilio.com/docs/phone-numbers/api/incomingphonenumber-resource), so a match
    is only a candidate."""
    found = client.api.v2010.account.incoming_phone_numbers.list(phone_number=number)
    return next((phone for phone in found if phone.phone_number == number), None)


def _aws_error(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", exc))


def report(findings: list[Finding], say: Callable[[str], None] = print) -> int:
    for finding in findings:
        say(str(finding))
    problems = [f for f in findings if not f.ok]
    warnings = [f for f in findings if f.warning and f.problem]
    say(
        ("everything checks out" + (f", {len(warnings)} warning(s)" if warnings else ""))
        if not problems
        else f"{len(problems)} problem(s): fix the first one first, then run the doctor again"
    )
    return 1 if problems else 0


def run_for_stage(stage: str) -> int:
    import boto3

    return report(Doctor(boto3.session.Session(), stage).run())
