"""`python -m ops doctor`: a healthy stage checks out; each broken setup is named with its fix.

The stage is built the way an operator builds it: the stack's tables and buckets (moto's
CloudFormation, from infra/resources.json), the secret, the public URL in SSM, then
`ops provision` against the stateful fake Twilio.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from twilio.rest import Client

from ops.deployed import StageStore, deployed_settings
from ops.doctor import Doctor, Finding, report
from ops.infra import SETTING_KEY, TEMPLATE
from ops.provision import provision
from tests.fakes.twilio_config import FakeTwilioConfig
from tests.fakes.twilio_http import RecordingHttpClient

STAGE = "dev"
ACCOUNT = "AC" + "a" * 32
NUMBER = "+81312345678"
BASE = "https://cc.example.test/api"
SECRET = "contact-center/dev/twilio"


def create_stack(aws: Any) -> None:
    template = json.loads(TEMPLATE.read_text())
    data = {
        name: resource
        for name, resource in template["Resources"].items()
        # The data resources, and the key the recordings bucket is encrypted with.
        if resource.get("Metadata", {}).get(SETTING_KEY) or resource.get("Type") == "AWS::KMS::Key"
    }
    aws.client("cloudformation").create_stack(
        StackName=f"contact-center-{STAGE}",
        TemplateBody=json.dumps(
            {
                "Parameters": template["Parameters"],
                "Conditions": template.get("Conditions", {}),
                "Resources": data,
            }
        ),
        Parameters=[{"ParameterKey": "Stage", "ParameterValue": STAGE}],
    )
    # moto's CloudFormation ignores PointInTimeRecoverySpecification; AWS applies it.
    dynamodb = aws.client("dynamodb")
    for table in dynamodb.list_tables()["TableNames"]:
        dynamodb.update_continuous_backups(
            TableName=table,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )


REST_KEY = "SK" + "r" * 32
REST_SECRET = "s" * 32


@pytest.fixture
def http() -> RecordingHttpClient:
    # Twilio's own check: the account's token, or the REST key's secret, else 401.
    return RecordingHttpClient(accepted_auth={ACCOUNT: "t" * 32, REST_KEY: REST_SECRET})


@pytest.fixture
def twilio(http: RecordingHttpClient) -> FakeTwilioConfig:
    fake = FakeTwilioConfig(http, ACCOUNT)
    fake.add_number(NUMBER)
    return fake


@pytest.fixture
def answers() -> dict[str, int | str]:
    """What each callback URL answers an unsigned POST with (default: 403, as our app does)."""
    return {}


@pytest.fixture
def healthy(aws: Any, twilio: FakeTwilioConfig, http: RecordingHttpClient, monkeypatch: Any) -> Any:
    monkeypatch.setenv("COMPANY_NUMBER", NUMBER)
    create_stack(aws)
    aws.client("secretsmanager").create_secret(
        Name=SECRET,
        SecretString=json.dumps(
            {
                "account_sid": ACCOUNT,
                "auth_token": "t" * 32,
                "rest_api_key_sid": REST_KEY,
                "rest_api_key_secret": REST_SECRET,
            }
        ),
    )
    aws.client("ssm").put_parameter(
        Name=f"/contact-center/{STAGE}/public_base_url", Value=BASE, Type="String"
    )
    store = StageStore(aws, STAGE)
    client = Client(ACCOUNT, "t" * 32, http_client=http)
    code = provision(
        client, store, deployed_settings(aws, STAGE), [NUMBER], lambda _: True, lambda _: None
    )
    assert code == 0
    return aws


@pytest.fixture
def examine(
    http: RecordingHttpClient, answers: dict[str, int | str]
) -> Callable[[Any], dict[str, Finding]]:
    def run(session: Any) -> dict[str, Finding]:
        doctor = Doctor(
            session,
            STAGE,
            twilio_http_client=http,
            probe=lambda url: answers.get(url.removeprefix(BASE), 403),
            today=lambda: date(2026, 12, 1),
        )
        return {finding.check: finding for finding in doctor.run()}

    return run


def problems(findings: dict[str, Finding]) -> dict[str, str]:
    return {name: f.problem for name, f in findings.items() if not f.ok}


def test_a_provisioned_stage_checks_out(
    healthy: Any, examine: Callable[[Any], dict[str, Finding]]
) -> None:
    findings = examine(healthy)
    assert problems(findings) == {}
    said: list[str] = []
    assert report(list(findings.values()), said.append) == 0
    assert said[-1] == "everything checks out"


def test_no_stack_says_deploy_and_skips_what_depends_on_it(
    aws: Any, examine: Callable[[Any], dict[str, Finding]]
) -> None:
    findings = examine(aws)
    stack = findings["stack contact-center-dev"]
    assert stack.problem == "there is no CloudFormation stack contact-center-dev in ap-northeast-1"
    assert stack.fix.startswith("deploy the stage (docs/deploy.md)")
    assert findings["tables, buckets and queues"].problem == (
        "not checked: the stage's settings could not be read"
    )
    assert findings[f"secret {SECRET}"].problem.startswith(f"secret {SECRET} cannot be read")


def test_a_deleted_table_is_named(
    healthy: Any, examine: Callable[[Any], dict[str, Finding]]
) -> None:
    table = deployed_settings(healthy, STAGE).routing.customers_table
    dynamodb = healthy.client("dynamodb")
    # Deletion protection (infra/resources.json) refuses DeleteTable until it is turned off,
    # on AWS and on moto alike: the accident takes two deliberate steps now.
    dynamodb.update_table(TableName=table, DeletionProtectionEnabled=False)
    dynamodb.delete_table(TableName=table)
    finding = examine(healthy)["tables, buckets and queues"]
    assert finding.problem == f"missing: table {table} (CUSTOMERS_TABLE)"
    assert "point-in-time backup" in finding.fix


def test_a_deployed_table_refuses_deletion_while_protected(healthy: Any) -> None:
    from botocore.exceptions import ClientError

    table = deployed_settings(healthy, STAGE).routing.customers_table
    with pytest.raises(ClientError, match="DeletionProtectionEnabled"):
        healthy.client("dynamodb").delete_table(TableName=table)


def test_a_table_without_point_in_time_recovery(
    healthy: Any, examine: Callable[[Any], dict[str, Finding]]
) -> None:
    table = deployed_settings(healthy, STAGE).routing.agents_table
    healthy.client("dynamodb").update_continuous_backups(
        TableName=table, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False}
    )
    assert examine(healthy)["tables, buckets and queues"].problem == (
        f"point-in-time recovery is off for table {table} (AGENTS_TABLE)"
    )


def test_an_unfilled_secret_says_where_to_put_the_credentials(
    healthy: Any, examine: Callable[[Any], dict[str, Finding]]
) -> None:
    healthy.client("secretsmanager").put_secret_value(
        SecretId=SECRET, SecretString=json.dumps({"account_sid": "", "auth_token": ""})
    )
    findings = examine(healthy)
    assert findings[f"secret {SECRET}"].problem == (
        f"secret {SECRET} has no Twilio account_sid/auth_token"
    )
    assert findings["Twilio credentials"].problem == (
        "not checked: the secret has no Twilio credentials"
    )


def test_rejected_twilio_credentials(
    healthy: Any, http: RecordingHttpClient, examine: Callable[[Any], dict[str, Finding]]
) -> None:
    http.respond("GET", r"/Accounts/AC\w+\.json$", (401, {"code": 20003, "status": 401}))
    finding = examine(healthy)["Twilio credentials"]
    assert finding.problem == (f"Twilio refused the account_sid/auth_token in {SECRET} (HTTP 401)")
    assert "put them in the secret" in finding.fix


def test_a_suspended_account(
    healthy: Any, twilio: FakeTwilioConfig, examine: Callable[[Any], dict[str, Finding]]
) -> None:
    twilio.account_status = "suspended"
    assert examine(healthy)["Twilio credentials"].problem == (
        f"Twilio account {ACCOUNT} is suspended"
    )


def test_a_stage_never_provisioned(
    healthy: Any, examine: Callable[[Any], dict[str, Finding]]
) -> None:
    healthy.client("ssm").delete_parameter(Name=f"/contact-center/{STAGE}/twilio_workflow_sid")
    finding = examine(healthy)[f"stage settings in SSM /contact-center/{STAGE}"]
    assert finding.problem == "not provisioned yet: twilio_workflow_sid"
    assert finding.fix == "run `python -m ops provision --stage dev`"


def test_events_going_to_another_stage(
    healthy: Any, twilio: FakeTwilioConfig, examine: Callable[[Any], dict[str, Finding]]
) -> None:
    twilio.collection("/Workspaces")[0]["event_callback_url"] = "https://old.example.test/events"
    assert examine(healthy)["TaskRouter workspace"].problem == (
        "TaskRouter events go to https://old.example.test/events, not to this stage "
        f"({BASE}/twilio/taskrouter/events): presence, escalation and call records stop"
    )


def test_a_workflow_edited_in_the_console(
    healthy: Any, twilio: FakeTwilioConfig, examine: Callable[[Any], dict[str, Finding]]
) -> None:
    workflow = twilio.collection("/Workflows")[0]
    configuration = json.loads(workflow["configuration"])
    configuration["task_routing"]["filters"][0]["targets"][0]["timeout"] = 5
    workflow["configuration"] = json.dumps(configuration)
    finding = examine(healthy)["TaskRouter workflow"]
    assert finding.problem.startswith("the workflow's routing differs from the app's")
    assert finding.fix == "run `python -m ops provision --stage dev`"


def test_a_team_added_to_the_directory_since_provision_is_named_until_provisioned_again(
    healthy: Any,
    twilio: FakeTwilioConfig,
    http: RecordingHttpClient,
    examine: Callable[[Any], dict[str, Finding]],
) -> None:
    """A team stage skips by its own TaskQueue (twilio.com/docs/taskrouter/worker-presence):
    a team without one goes from the owner straight to everyone, and the doctor says so."""
    settings = deployed_settings(healthy, STAGE)
    agents = healthy.resource("dynamodb").Table(settings.routing.agents_table)
    agents.put_item(Item={"agent_id": "sato", "name": "Sato", "team": "support"})
    finding = examine(healthy)["TaskRouter queues"]
    assert finding.problem.startswith("team(s) support of the agents directory have no TaskQueue")
    assert finding.fix == "run `python -m ops provision --stage dev`"
    # Provision again (it reads the teams from the agents table): queue, filters, all well.
    client = Client(ACCOUNT, "t" * 32, http_client=http)
    store = StageStore(healthy, STAGE)
    code = provision(
        client, store, settings, [NUMBER], lambda _: True, lambda _: None, teams=["support"]
    )
    assert code == 0
    assert problems(examine(healthy)) == {}
    # A team queue edited to hold other workers would make its skip_if count them.
    queue = next(
        q for q in twilio.collection("/TaskQueues") if q["friendly_name"] == "team support"
    )
    queue["target_workers"] = "1==1"
    assert "does not select exactly the team's workers" in (
        examine(healthy)["TaskRouter queues"].problem
    )


def test_an_activity_deleted(
    healthy: Any, twilio: FakeTwilioConfig, examine: Callable[[Any], dict[str, Finding]]
) -> None:
    activities = next(v for k, v in twilio.records.items() if k.endswith("/Activities"))
    away = next(sid for sid, a in activities.items() if a["friendly_name"] == "Away")
    del activities[away]
    assert examine(healthy)["TaskRouter activities"].problem == (
        f"activities wrong: Away (activity_sid_away {away} does not exist)"
    )


def test_a_number_pointing_at_another_stage(
    healthy: Any, twilio: FakeTwilioConfig, examine: Callable[[Any], dict[str, Finding]]
) -> None:
    twilio.collection("/IncomingPhoneNumbers")[0]["voice_url"] = "https://prod.example.test/v"
    assert examine(healthy)["phone numbers"].problem == (
        f"{NUMBER} does not point at this stage ({BASE}): voice_url is https://prod.example.test/v"
    )


def test_a_number_not_in_the_account(
    healthy: Any, twilio: FakeTwilioConfig, examine: Callable[[Any], dict[str, Finding]]
) -> None:
    next(v for k, v in twilio.records.items() if k.endswith("/IncomingPhoneNumbers")).clear()
    finding = examine(healthy)["phone numbers"]
    assert finding.problem == (
        f"{NUMBER} (COMPANY_NUMBER) is not a number of Twilio account {ACCOUNT}"
    )


def test_a_deleted_api_key(
    healthy: Any, twilio: FakeTwilioConfig, examine: Callable[[Any], dict[str, Finding]]
) -> None:
    key = twilio.collection("/Keys")[0]["sid"]
    next(v for k, v in twilio.records.items() if k.endswith("/Keys")).clear()
    assert examine(healthy)["API key for access tokens"].problem == (
        f"API key {key} was deleted in Twilio: softphones cannot get access tokens"
    )


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ("Name or service not known", "cannot be reached (Name or service not known)"),
        (404, "answered 404: the URL does not reach this app"),
        (200, "accepted an unsigned request (HTTP 200): anyone can forge calls"),
        (502, "answered HTTP 502 to an unsigned request (expected 403)"),
    ],
)
def test_unreachable_or_misbehaving_callbacks(
    healthy: Any,
    answers: dict[str, int | str],
    examine: Callable[[Any], dict[str, Finding]],
    answer: int | str,
    problem: str,
) -> None:
    answers["/twilio/voice/incoming"] = answer
    assert examine(healthy)["callback URLs reachable"].problem == (
        f"{BASE}/twilio/voice/incoming {problem}"
    )


def test_operator_tools_see_a_deployed_stage_as_its_functions_do(healthy: Any) -> None:
    from ops.stage import settings_for

    settings = settings_for(STAGE)
    tables = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in healthy.client("cloudformation").list_stack_resources(
            StackName=f"contact-center-{STAGE}"
        )["StackResourceSummaries"]
    }
    assert settings.routing.customers_table == tables["CustomersTable"]
    assert settings.recordings.recordings_bucket == tables["RecordingsBucket"]
    assert settings.public_base_url == BASE
    stored = StageStore(healthy, STAGE).parameters()
    assert settings.telephony.twilio_workflow_sid == stored["twilio_workflow_sid"]
    assert settings.telephony.twilio_secret_name == SECRET


# --- team caller IDs (chalicelib/softphone/caller_id.py) ---------------------------------------


def give_team_number(aws: Any, team: str, number: str) -> None:
    table = aws.resource("dynamodb").Table(deployed_settings(aws, STAGE).routing.agents_table)
    table.put_item(Item={"agent_id": f"{team}-rep", "team": team, "team_caller_id": number})


def test_team_numbers_of_the_account_pointed_at_the_stage_check_out(
    healthy: Any, twilio: FakeTwilioConfig, examine: Callable[[Any], dict[str, Finding]]
) -> None:
    settings = deployed_settings(healthy, STAGE)
    twilio.add_number("+81661230000", voice_url=settings.url("/twilio/voice/incoming"))
    give_team_number(healthy, "osaka", "+81661230000")
    assert examine(healthy)["team caller IDs"].ok


def test_a_team_number_not_in_the_account_is_named_even_when_a_longer_one_contains_it(
    healthy: Any, twilio: FakeTwilioConfig, examine: Callable[[Any], dict[str, Finding]]
) -> None:
    # Twilio's PhoneNumber filter matches partial numbers: +8166123000 finds +81661230001.
    twilio.add_number("+81661230001")
    give_team_number(healthy, "osaka", "+8166123000")
    give_team_number(healthy, "kobe", "+81781230000")
    finding = examine(healthy)["team caller IDs"]
    assert finding.problem == (
        f"not numbers of Twilio account {ACCOUNT}: +8166123000 (team osaka), "
        "+81781230000 (team kobe): Twilio refuses them as caller ID, so those teams' outbound "
        "calls fail"
    )
    assert "import-agents" in finding.fix


def test_a_team_number_customers_call_back_on_another_stage_is_named(
    healthy: Any, twilio: FakeTwilioConfig, examine: Callable[[Any], dict[str, Finding]]
) -> None:
    twilio.add_number(
        "+81661230000", voice_url="https://prod.example.test/api/twilio/voice/incoming"
    )
    give_team_number(healthy, "osaka", "+81661230000")
    finding = examine(healthy)["team caller IDs"]
    assert finding.problem == (
        "customers who call back +81661230000 (team osaka) do not reach this stage"
    )
    assert f"--number {NUMBER} --number <each team number>" in finding.fix


def test_closures_ending_within_90_days_warn_without_failing(
    healthy: Any, http: RecordingHttpClient
) -> None:
    """Issue 18: the bundled closures end 2028-01-03; from 90 days before, the doctor warns."""
    check = "company closures (BUSINESS_HOURS)"
    doctor = Doctor(
        healthy,
        STAGE,
        twilio_http_client=http,
        probe=lambda _url: 403,
        today=lambda: date(2027, 10, 6),
    )
    findings = {f.check: f for f in doctor.run()}
    assert findings[check].warning and "2028-01-03" in findings[check].problem
    said: list[str] = []
    assert report(list(findings.values()), said.append) == 0, "a warning fails nothing"
    assert said[-1] == "everything checks out, 1 warning(s)"
    assert any(line.startswith("WARN  company closures") for line in said)
    early = Doctor(
        healthy,
        STAGE,
        twilio_http_client=http,
        probe=lambda _url: 403,
        today=lambda: date(2027, 10, 4),
    )
    assert {f.check: f for f in early.run()}[check].problem == ""


def _secret_with(aws: Any, **changes: Any) -> None:
    secrets = aws.client("secretsmanager")
    secret = json.loads(secrets.get_secret_value(SecretId=SECRET)["SecretString"])
    secret.update(changes)
    secrets.put_secret_value(
        SecretId=SECRET, SecretString=json.dumps({k: v for k, v in secret.items() if v})
    )


def test_the_rest_key_is_checked_with_twilio(
    healthy: Any, examine: Callable[[Any], dict[str, Finding]], http: RecordingHttpClient
) -> None:
    finding = examine(healthy)["REST client on a restricted API key"]
    assert (finding.problem, finding.warning) == ("", False)
    assert any(r.auth_user == REST_KEY and "/Workspaces/WS" in r.url for r in http.requests)


def test_a_stage_on_the_auth_token_for_rest_warns_without_failing(
    healthy: Any, examine: Callable[[Any], dict[str, Finding]]
) -> None:
    _secret_with(healthy, rest_api_key_sid="", rest_api_key_secret="")
    findings = examine(healthy)
    finding = findings["REST client on a restricted API key"]
    assert finding.warning
    assert finding.problem == "the app calls Twilio's REST API with the account auth token"
    assert "rest_api_key_sid" in finding.fix
    said: list[str] = []
    assert report(list(findings.values()), said.append) == 0
    assert said[-1] == "everything checks out, 1 warning(s)"


def test_a_rest_key_twilio_refuses_is_a_problem(
    healthy: Any, examine: Callable[[Any], dict[str, Finding]]
) -> None:
    _secret_with(healthy, rest_api_key_secret="not-the-secret")
    finding = examine(healthy)["REST client on a restricted API key"]
    assert not finding.ok
    assert finding.problem == (
        f"Twilio refused REST key {REST_KEY} (HTTP 401): the app's REST calls fail"
    )
