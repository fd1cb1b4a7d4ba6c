"""The packaged CloudFormation template: valid for cfn-lint, and wired the way the app needs.

`chalice package --merge-template infra/resources.json` is what ops deploy (docs/deploy.md), so
the tests lint exactly that output, once per run, and then check the properties a reviewer would
otherwise have to remember: every function has its own role, every table and bucket reaches the
functions' environment, every table is recoverable and watched.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
RESOURCES = ROOT / "infra" / "resources.json"
RUNBOOK = ROOT / "docs" / "runbook.md"
REGION = "ap-northeast-1"
FUNCTION = "AWS::Serverless::Function"


# The softphone site's origin, as an operator writes it into a deployed stage's config.
SITE = "https://softphone.example.test"


def chalice_package(
    out: Path, stage: str, web_origin: str | None
) -> subprocess.CompletedProcess[str]:
    """`chalice package --stage <stage> --merge-template infra/resources.json` of this repository,
    with `.chalice/config.json` as the operator completes it (docs/deploy.md): the stage's
    `WEB_ORIGIN` in its `environment_variables`, or left unset (`None`). A temporary project
    directory holds that config; the code and the deployment cache are the repository's own."""
    project = out / "project"
    (project / ".chalice").mkdir(parents=True)
    for name in ("app.py", "chalicelib", "requirements.txt"):
        (project / name).symlink_to(ROOT / name)
    (ROOT / ".chalice" / "deployments").mkdir(exist_ok=True)
    (project / ".chalice" / "deployments").symlink_to(ROOT / ".chalice" / "deployments")
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    if web_origin is not None:
        config["stages"][stage]["environment_variables"]["WEB_ORIGIN"] = web_origin
    (project / ".chalice" / "config.json").write_text(json.dumps(config))
    env = {name: value for name, value in os.environ.items() if name != "WEB_ORIGIN"}
    return subprocess.run(
        [
            str(Path(sys.executable).parent / "chalice"),
            "--project-dir",
            str(project),
            "package",
            "--stage",
            stage,
            "--merge-template",
            str(RESOURCES),
            str(out / "template"),
        ],
        cwd=ROOT,
        env={**env, "AWS_DEFAULT_REGION": REGION},
        capture_output=True,
        text=True,
        timeout=300,
    )


def template_of(out: Path, done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert done.returncode == 0, f"chalice package failed:\n{done.stderr[-3000:]}"
    template: dict[str, Any] = json.loads((out / "template" / "sam.json").read_text())
    return template


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("package")
    return template_of(out, chalice_package(out, "dev", SITE))


def lint(template: dict[str, Any]) -> list[str]:
    from cfnlint.api import lint as cfn_lint

    return [str(match) for match in cfn_lint(json.dumps(template), regions=[REGION])]


def resources_of(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v.get("Type") == kind}


def test_packaged_template_passes_cfn_lint(packaged: dict[str, Any]) -> None:
    assert lint(packaged) == []


def test_cfn_lint_catches_a_broken_reference(packaged: dict[str, Any]) -> None:
    # The lint above is only worth something if it can fail on this template.
    broken = copy.deepcopy(packaged)
    statement = broken["Resources"]["ApiHandlerRole"]["Properties"]["Policies"][0]
    statement["PolicyDocument"]["Statement"][0]["Resource"] = {"Fn::GetAtt": ["NoSuchTable", "Arn"]}
    assert any("NoSuchTable" in problem for problem in lint(broken))


def test_globals_reference_only_what_exists(packaged: dict[str, Any]) -> None:
    # cfn-lint does not resolve references inside SAM's Globals section: check them here.
    known = set(packaged["Resources"]) | set(packaged["Parameters"])
    text = json.dumps(packaged["Globals"])
    refs = re.findall(r'"Ref": "([^"]+)"', text) + re.findall(r"\$\{([A-Za-z0-9]+)[.}]", text)
    assert refs
    assert {r for r in refs if not r.startswith("AWS::")} <= known


def test_every_function_runs_with_its_own_role_not_the_default(packaged: dict[str, Any]) -> None:
    functions = resources_of(packaged, FUNCTION)
    assert functions, "chalice package produced no functions"
    roles = {name: fn["Properties"]["Role"] for name, fn in functions.items()}
    for name, role in roles.items():
        assert role != {"Fn::GetAtt": ["DefaultRole", "Arn"]}, f"{name} has no role of its own"
        target = role["Fn::GetAtt"][0]
        assert packaged["Resources"][target]["Type"] == "AWS::IAM::Role"
    api_role = roles.pop("APIHandler")
    assert api_role not in roles.values(), "a worker runs with the API handler's permissions"


def test_no_role_grants_wildcard_actions_on_data(packaged: dict[str, Any]) -> None:
    used = {
        fn["Properties"]["Role"]["Fn::GetAtt"][0]
        for fn in resources_of(packaged, FUNCTION).values()
    }
    for name, role in resources_of(packaged, "AWS::IAM::Role").items():
        if name not in used:
            continue  # Chalice's DefaultRole, left unused (see infra/README.md)
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                actions = statement["Action"]
                actions = [actions] if isinstance(actions, str) else actions
                assert not any(a.endswith(":*") or a == "*" for a in actions), (name, actions)
                if actions == ["dynamodb:ListStreams"]:
                    continue  # has no resource type: IAM only accepts "*"
                if any(a.startswith(("dynamodb:", "s3:", "sqs:", "states:")) for a in actions):
                    assert statement["Resource"] != "*", (name, statement)


def test_every_table_bucket_and_queue_reaches_the_functions_environment() -> None:
    from chalicelib.platform.settings import Settings

    template = json.loads(RESOURCES.read_text())
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    app_settings = Settings.field_names()
    for logical, resource in template["Resources"].items():
        setting = resource.get("Metadata", {}).get("contact-center:setting")
        if setting in app_settings:
            value = json.dumps(variables.get(setting.upper()))
            assert f'"{logical}"' in value, (
                f"{logical} is the app's {setting} but {setting.upper()} does not refer to it "
                "in Globals.Function.Environment.Variables"
            )
        elif setting:
            # An operator setting (ops/settings.py): the tools find it from the stack by this
            # metadata (ops/deployed.py), and no function is given what it never reads.
            assert setting.upper() not in variables, (logical, setting)


def test_every_setting_in_the_environment_is_a_field_of_settings() -> None:
    from chalicelib.platform.settings import Settings

    template = json.loads(RESOURCES.read_text())
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    unknown = {v for v in variables if v.lower() not in Settings.field_names()}
    assert not unknown, unknown


def test_tables_are_on_demand_recoverable_encrypted_and_watched(packaged: dict[str, Any]) -> None:
    tables = resources_of(packaged, "AWS::DynamoDB::Table")
    alarms = resources_of(packaged, "AWS::CloudWatch::Alarm")
    watched = {
        dim["Value"]["Ref"]
        for alarm in alarms.values()
        for metric in alarm["Properties"].get("Metrics", [])
        if "MetricStat" in metric
        for dim in metric["MetricStat"]["Metric"].get("Dimensions", [])
        if dim["Name"] == "TableName"
    }
    for name, table in tables.items():
        props = table["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST", name
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"], name
        assert props["SSESpecification"]["SSEEnabled"], name
        assert name in watched, f"{name} has no throttle alarm"


def test_large_answers_are_gzipped_by_api_gateway(packaged: dict[str, Any]) -> None:
    # The board's `since` answer is ~35 KB at 33 changes/s; gzip takes it to a few KB for
    # every supervisor's browser (clients ask with Accept-Encoding; TwiML stays under 1 KB).
    [api] = resources_of(packaged, "AWS::Serverless::Api").values()
    assert api["Properties"]["MinimumCompressionSize"] == 1024


def test_buckets_are_private_and_encrypted(packaged: dict[str, Any]) -> None:
    for name, bucket in resources_of(packaged, "AWS::S3::Bucket").items():
        props = bucket["Properties"]
        assert all(props["PublicAccessBlockConfiguration"].values()), name
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"], name


def test_recordings_survive_an_accidental_delete(packaged: dict[str, Any]) -> None:
    props = packaged["Resources"]["RecordingsBucket"]["Properties"]
    assert props["VersioningConfiguration"]["Status"] == "Enabled"


def test_every_function_has_error_and_throttle_alarms(packaged: dict[str, Any]) -> None:
    alarms = resources_of(packaged, "AWS::CloudWatch::Alarm").values()
    watched = {
        (a["Properties"]["MetricName"], a["Properties"]["Dimensions"][0]["Value"]["Ref"])
        for a in alarms
        if a["Properties"].get("Namespace") == "AWS/Lambda"
    }
    for name in resources_of(packaged, FUNCTION):
        assert ("Errors", name) in watched, name
        assert ("Throttles", name) in watched, name


def test_every_alarm_notifies_and_points_at_an_existing_runbook_section(
    packaged: dict[str, Any],
) -> None:
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", line[3:].strip().lower()).replace(" ", "-")
        for line in RUNBOOK.read_text().splitlines()
        if line.startswith("### ")
    }
    for name, alarm in resources_of(packaged, "AWS::CloudWatch::Alarm").items():
        props = alarm["Properties"]
        assert props["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
        found = re.search(r"docs/runbook\.md#([a-z0-9-]+)", props["AlarmDescription"])
        assert found, f"{name} does not link the runbook"
        assert found.group(1) in anchors, f"{name} links #{found.group(1)}, not in the runbook"


def test_dashboard_body_is_json_once_substituted(packaged: dict[str, Any]) -> None:
    (dashboard,) = resources_of(packaged, "AWS::CloudWatch::Dashboard").values()
    body, variables = dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
    text = re.sub(r"\$\{[^}]+\}", "x", body)
    widgets = json.loads(text)["widgets"]
    titles = [w["properties"].get("title", "") for w in widgets]
    assert any("abandoned" in t for t in titles)
    for reference in re.findall(r"\$\{([^}.]+)[^}]*\}", body):
        assert (
            reference in variables
            or reference in packaged["Resources"]
            or reference in packaged["Parameters"]
            or reference.startswith("AWS::")
        ), reference


def test_the_state_machine_deployed_is_the_one_tested() -> None:
    template = json.loads(RESOURCES.read_text())
    definition = template["Resources"]["EscalationStateMachine"]["Properties"]["Definition"]
    assert definition == json.loads((ROOT / "infra" / "escalation.asl.json").read_text()), (
        "copy infra/escalation.asl.json into EscalationStateMachine.Properties.Definition"
    )


def test_the_state_machine_arn_reaches_only_the_api_handler(packaged: dict[str, Any]) -> None:
    # In Globals it would reach the steps the machine invokes: a circular dependency.
    assert (
        "ESCALATION_STATE_MACHINE_ARN"
        not in packaged["Globals"]["Function"]["Environment"]["Variables"]
    )
    variables = packaged["Resources"]["APIHandler"]["Properties"]["Environment"]["Variables"]
    assert variables["ESCALATION_STATE_MACHINE_ARN"] == {"Ref": "EscalationStateMachine"}


def test_packaging_a_deployed_stage_without_web_origin_fails(tmp_path: Path) -> None:
    done = chalice_package(tmp_path, "prod", web_origin=None)
    assert done.returncode != 0
    assert "MissingWebOrigin" in done.stderr
    assert "stage 'prod' has no WEB_ORIGIN" in done.stderr
    assert not (tmp_path / "template" / "sam.json").exists()


def test_a_packaged_stage_allows_its_site_and_never_the_local_pages(tmp_path: Path) -> None:
    """The origin reaches both places CORS is answered: API Gateway's preflight (baked into the
    OPTIONS mock integrations) and every function's environment (Chalice adds the header to
    each response)."""
    template = template_of(tmp_path, chalice_package(tmp_path, "prod", SITE))
    assert "127.0.0.1" not in json.dumps(template)
    paths = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
    preflights = [
        methods["options"]["x-amazon-apigateway-integration"]["responses"]["default"][
            "responseParameters"
        ]["method.response.header.Access-Control-Allow-Origin"]
        for methods in paths.values()
        if "options" in methods
    ]
    assert preflights, "no route answers a CORS preflight"
    assert set(preflights) == {f"'{SITE}'"}
    for name, function in resources_of(template, FUNCTION).items():
        assert function["Properties"]["Environment"]["Variables"]["WEB_ORIGIN"] == SITE, name


# --- issue 20: protection and capacity ---------------------------------------------------------
DATA_BUCKETS = ("RecordingsBucket", "AnalyticsBucket")
# Tables holding a customer's number, name, notes or call content, and the attribute TTL reads.
PERSONAL_DATA_TABLES = (
    "ConversationEventsTable",
    "ConversationsTable",
    "RecordingsTable",
    "PresenceHistoryTable",
    "LiveTranscriptsTable",
    "AuditTable",
)


def test_every_table_is_retained_and_protected_from_deletion(packaged: dict[str, Any]) -> None:
    tables = resources_of(packaged, "AWS::DynamoDB::Table")
    assert len(tables) >= 7
    for name, table in tables.items():
        assert table.get("DeletionPolicy") == "Retain", name
        assert table.get("UpdateReplacePolicy") == "Retain", name
        assert table["Properties"].get("DeletionProtectionEnabled") is True, name


def test_data_buckets_are_retained_and_tls_only(packaged: dict[str, Any]) -> None:
    policies = resources_of(packaged, "AWS::S3::BucketPolicy")
    for name in DATA_BUCKETS:
        bucket = packaged["Resources"][name]
        assert bucket.get("DeletionPolicy") == "Retain", name
        assert bucket.get("UpdateReplacePolicy") == "Retain", name
        [policy] = [p for p in policies.values() if p["Properties"]["Bucket"] == {"Ref": name}]
        denies = [
            s
            for s in policy["Properties"]["PolicyDocument"]["Statement"]
            if s["Effect"] == "Deny"
            and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            and s["Principal"] == "*"
        ]
        assert denies, f"{name} allows requests without TLS"
        resources = json.dumps(denies[0]["Resource"])
        assert f"${{{name}.Arn}}/*" in resources and f'"{name}", "Arn"' in resources


def test_recordings_are_under_our_own_rotated_retained_key(packaged: dict[str, Any]) -> None:
    rules = packaged["Resources"]["RecordingsBucket"]["Properties"]["BucketEncryption"]
    default = rules["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert default == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": {"Fn::GetAtt": ["RecordingsKey", "Arn"]},
    }
    key = packaged["Resources"]["RecordingsKey"]
    assert key["Type"] == "AWS::KMS::Key"
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key.get("DeletionPolicy") == "Retain"


def test_tables_with_personal_data_expire_items(packaged: dict[str, Any]) -> None:
    for name in PERSONAL_DATA_TABLES:
        ttl = packaged["Resources"][name]["Properties"].get("TimeToLiveSpecification")
        assert ttl == {"AttributeName": "expires_at", "Enabled": True}, name


def test_old_recording_versions_are_kept_thirty_days_then_gone(packaged: dict[str, Any]) -> None:
    rules = packaged["Resources"]["RecordingsBucket"]["Properties"]["LifecycleConfiguration"]
    for rule in rules["Rules"]:
        if rule["Prefix"] in ("recordings/", "transcripts/", "transcribe-output/"):
            assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 30}, rule["Id"]


def test_the_api_has_reserved_concurrency_and_the_copy_worker_a_cap(
    packaged: dict[str, Any],
) -> None:
    functions = resources_of(packaged, FUNCTION)
    api = functions["APIHandler"]["Properties"]["ReservedConcurrentExecutions"]
    worker = functions["CopyWorker"]["Properties"]["ReservedConcurrentExecutions"]
    params = packaged["Parameters"]
    assert params[api["Ref"]]["Default"] >= 50
    assert 1 <= params[worker["Ref"]]["Default"] <= 10


def test_api_gateway_throttles_and_a_waf_rate_rule_guards_the_stage(
    packaged: dict[str, Any],
) -> None:
    [api] = resources_of(packaged, "AWS::Serverless::Api").values()
    [setting] = api["Properties"]["MethodSettings"]
    assert setting["ResourcePath"] == "/*" and setting["HttpMethod"] == "*"
    assert "ThrottlingRateLimit" in setting and "ThrottlingBurstLimit" in setting
    [acl] = resources_of(packaged, "AWS::WAFv2::WebACL").values()
    limits = [
        r["Statement"]["RateBasedStatement"]["Limit"]
        for r in acl["Properties"]["Rules"]
        if "RateBasedStatement" in r["Statement"] and "Block" in r["Action"]
    ]
    assert limits and min(limits) <= 2000
    [association] = resources_of(packaged, "AWS::WAFv2::WebACLAssociation").values()
    assert "${RestAPI}/stages/api" in json.dumps(association["Properties"]["ResourceArn"])


@pytest.mark.parametrize("function", ["PresenceStream", "ConversationStream", "TranscriptStream"])
def test_both_streams_bisect_limit_retries_and_keep_failures(
    packaged: dict[str, Any], function: str
) -> None:
    [source] = packaged["Resources"][function]["Properties"]["Events"].values()
    props = source["Properties"]
    assert props["BisectBatchOnFunctionError"] is True
    assert 0 < props["MaximumRetryAttempts"] <= 10
    destination = props["DestinationConfig"]["OnFailure"]["Destination"]
    assert destination == {"Fn::GetAtt": ["StreamFailureQueue", "Arn"]}


# Sized by `python -m ops bench memory` (docs/hardening.md, "Memory, measured"): a fresh process
# answering its first incoming call peaked at 81 MB and spent 0.68 s of CPU; Lambda gives CPU in
# proportion to memory (one vCPU at 1,769 MB), so at the default 128 MB that cold start alone
# would take ~9 s of Twilio's 15 s webhook budget. Workers peaked at 81-84 MB.
MEMORY_FLOORS = {
    "APIHandler": 1024,
    "EscalationEnterStage": 512,
    "EscalationFallback": 512,
    "CopyWorker": 1024,
}
EVERY_FUNCTION_FLOOR = 256


def test_functions_have_the_memory_the_measurements_call_for(packaged: dict[str, Any]) -> None:
    functions = resources_of(packaged, "AWS::Serverless::Function")
    for name, floor in MEMORY_FLOORS.items():
        assert functions[name]["Properties"]["MemorySize"] >= floor, name
    for name, function in functions.items():
        assert function["Properties"].get("MemorySize", 128) >= EVERY_FUNCTION_FLOOR, name
