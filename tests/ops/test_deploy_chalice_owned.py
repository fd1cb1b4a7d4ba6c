"""`ops deploy` on a chalice-owned stage (the default shape) and `ops rollback` of one.

The stack is the packaged template minus what `chalice deploy` makes (ops/stage_template.py);
`chalice deploy` is tests/fakes/chalice.py at its process boundary (the real command runs
against a moto server in tests/ops/test_chalice_deploy.py); AWS is moto behind
tests/fakes/cloudformation.py, Twilio the stateful fake, as in tests/ops/test_deploy.py.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ops.chalice_config import chalice_name, deployed_api_id
from ops.chalice_deploy import function_roles
from ops.chalice_stage import rollback_functions
from ops.deployment import ChaliceReleases, Deployment
from ops.stage_template import API_ID_PARAMETER, UnknownReference, chalice_owned
from tests.ops.conftest import STAGE, deploy

PSEUDO = {
    "AWS::Region",
    "AWS::AccountId",
    "AWS::Partition",
    "AWS::URLSuffix",
    "AWS::NoValue",
    "AWS::StackName",
    "AWS::StackId",
}
STEPS = 11


def references(value: Any, local: frozenset[str] = frozenset()) -> set[str]:
    """Every logical id or parameter a template value names (Ref, GetAtt, Sub)."""
    found: set[str] = set()
    if isinstance(value, list):
        for inner in value:
            found |= references(inner, local)
    elif isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref":
                found.add(inner)
            elif key == "Fn::GetAtt":
                found.add(inner[0])
            elif key == "Fn::Sub":
                text, variables = (inner, {}) if isinstance(inner, str) else inner
                names = {m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", text)}
                found |= names - set(variables)
                found |= references(variables, local)
            elif key == "Condition" and isinstance(inner, str):
                continue
            else:
                found |= references(inner, local)
    return found


# --- the stage's template ---------------------------------------------------------------------


def test_the_stack_has_no_function_or_api_and_every_reference_resolves(
    sam_template: dict[str, Any],
) -> None:
    stage = chalice_owned(sam_template)
    kinds = {r["Type"] for r in stage["Resources"].values()}
    assert not {k for k in kinds if k.startswith("AWS::Serverless::")}
    assert "AWS::Lambda::Permission" not in kinds
    assert "Transform" not in stage and "Globals" not in stage
    known = set(stage["Resources"]) | set(stage["Parameters"]) | PSEUDO
    for logical, resource in {**stage["Resources"], **stage["Outputs"]}.items():
        assert references(resource) <= known, (logical, references(resource) - known)
        for dependency in resource.get("DependsOn", []):
            assert dependency in stage["Resources"], (logical, dependency)
    # What names the API waits for its id; the rest (tables, roles, alarms...) is all there.
    assert stage["Resources"]["ApiWebAclAssociation"]["Condition"] == "HasChaliceRestApi"
    assert stage["Resources"]["PublicBaseUrlParameter"]["Condition"] == "HasChaliceRestApi"
    kept = {
        k for k, r in sam_template["Resources"].items() if not r["Type"].startswith("AWS::Serv")
    }
    assert set(stage["Resources"]) == kept - {"APIHandlerInvokePermission"}


def test_the_roles_are_the_packaged_templates_with_chalices_function_names(
    sam_template: dict[str, Any],
) -> None:
    stage = chalice_owned(sam_template)
    roles = {k for k, r in sam_template["Resources"].items() if r["Type"] == "AWS::IAM::Role"}
    changed = {k for k in roles if stage["Resources"][k] != sam_template["Resources"][k]}
    # Only the state machine's role names functions; its ARNs become Chalice's.
    assert changed == {"EscalationStateMachineRole"}
    policy = json.dumps(stage["Resources"]["EscalationStateMachineRole"])
    assert '":function:contact-center-", {"Ref": "Stage"}, "-escalation_enter_stage"' in policy
    assert "EscalationEnterStage" not in policy
    # And every function's role is one of the stack's: what ops deploy hands to chalice deploy.
    assert set(function_roles(sam_template).values()) <= set(stage["Resources"])


def test_a_reference_the_transform_does_not_know_fails_loudly(
    sam_template: dict[str, Any],
) -> None:
    broken = copy.deepcopy(sam_template)
    broken["Outputs"]["RootResource"] = {"Value": {"Fn::GetAtt": ["RestAPI", "RootResourceId"]}}
    with pytest.raises(UnknownReference, match=r"RestAPI\.RootResourceId"):
        chalice_owned(broken)
    broken = copy.deepcopy(sam_template)
    alarm = broken["Resources"]["ApiHandlerErrorsAlarm"]["Properties"]
    alarm["Dimensions"][0]["Value"] = {"Fn::GetAtt": ["APIHandler", "Version"]}
    with pytest.raises(UnknownReference, match="ApiHandlerErrorsAlarm"):
        chalice_owned(broken)


def test_the_stage_template_passes_cfn_lint(sam_template: dict[str, Any]) -> None:
    from cfnlint.api import lint

    problems = [str(m) for m in lint(json.dumps(chalice_owned(sam_template)), regions=[REGION])]
    # These four feed what ops deploy sets outside CloudFormation (chalice's config, the stage).
    unused = {
        "ApiReservedConcurrency",
        "CopyWorkerConcurrency",
        "ApiThrottleRate",
        "ApiThrottleBurst",
    }
    assert [p for p in problems if not any(f"Parameter {u} not used" in p for u in unused)] == []


REGION = "ap-northeast-1"


# --- ops deploy -------------------------------------------------------------------------------


def functions(deployment: Deployment) -> dict[str, dict[str, Any]]:
    lambda_ = deployment.client("lambda")
    return {f["FunctionName"]: f for f in lambda_.list_functions()["Functions"]}


def mappings(deployment: Deployment) -> list[dict[str, Any]]:
    return list(deployment.client("lambda").list_event_source_mappings()["EventSourceMappings"])


def test_a_new_stage_gets_chalices_functions_once_with_the_stacks_roles(
    owned: Deployment, files: dict[str, Path], sam_template: dict[str, Any]
) -> None:
    out = deploy(owned, files)
    text = "\n".join(out)
    assert out[0] == "exit 0", text
    assert f"[4/{STEPS}] chalice deploy" in text and "everything checks out" in text
    made = functions(owned)
    wanted = {
        chalice_name(k)
        for k, r in sam_template["Resources"].items()
        if "Serverless::Fun" in r["Type"]
    }
    assert set(made) == {
        f"contact-center-{STAGE}" if n == "api_handler" else f"contact-center-{STAGE}-{n}"
        for n in wanted
    }
    # Each with the role the stack made for it from infra/resources.json.
    iam = owned.client("iam")
    physical = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in owned.client("cloudformation").list_stack_resources(
            StackName=f"contact-center-{STAGE}"
        )["StackResourceSummaries"]
    }
    for logical, role in function_roles(sam_template).items():
        name = f"contact-center-{STAGE}" + ("" if logical == "api_handler" else f"-{logical}")
        assert made[name]["Role"] == iam.get_role(RoleName=physical[role])["Role"]["Arn"], name
    # The sizes infra/resources.json gives, through chalice's config.
    copy_worker = made[f"contact-center-{STAGE}-copy_worker"]
    assert (copy_worker["MemorySize"], copy_worker["Timeout"]) == (1024, 300)
    concurrency = owned.client("lambda").get_function_concurrency(
        FunctionName=f"contact-center-{STAGE}"
    )
    assert concurrency["ReservedConcurrentExecutions"] == 100
    # The consumers read the stack's streams and queue, failures split, retried, parked.
    dynamodb = owned.client("dynamodb")
    presence = dynamodb.describe_table(TableName=physical["PresenceTable"])["Table"]
    (stream,) = [m for m in mappings(owned) if m["EventSourceArn"] == presence["LatestStreamArn"]]
    assert stream["BisectBatchOnFunctionError"] is True
    assert stream["MaximumRetryAttempts"] == 10
    assert "StreamFailureQueue" in stream["DestinationConfig"]["OnFailure"]["Destination"]
    assert len(mappings(owned)) == 4
    # The API: throttled as the template says, and its URL is what Twilio calls.
    api = deployed_api_id(files["config"], STAGE)
    settings = owned.client("apigateway").get_stage(restApiId=api, stageName="api")
    assert settings["methodSettings"]["*/*"]["throttlingRateLimit"] == 200.0
    assert settings["methodSettings"]["*/*"]["throttlingBurstLimit"] == 400
    assert owned.settings().public_base_url == (
        f"https://{api}.execute-api.{REGION}.amazonaws.com/api"
    )
    parameters = owned.client("cloudformation").describe_stacks(
        StackName=f"contact-center-{STAGE}"
    )["Stacks"][0]["Parameters"]
    assert {"ParameterKey": API_ID_PARAMETER, "ParameterValue": api} in parameters


def test_a_second_run_changes_nothing(owned: Deployment, files: dict[str, Path]) -> None:
    assert deploy(owned, files)[0] == "exit 0"
    calls = list(owned.session.cloudformation.calls)
    out = deploy(owned, files)
    assert out[0] == "exit 0", out
    assert sum(line == "    nothing to do" for line in out) == STEPS, out
    assert owned.session.cloudformation.calls == calls
    assert owned.chalice.runs == 1  # type: ignore[attr-defined]


def test_a_code_change_updates_the_functions_in_place_and_leaves_the_stack(
    owned: Deployment, files: dict[str, Path]
) -> None:
    assert deploy(owned, files)[0] == "exit 0"
    before = functions(owned)
    api = deployed_api_id(files["config"], STAGE)
    calls = list(owned.session.cloudformation.calls)
    (files["inputs"] / "app.py").write_text("release 2")
    owned.packager.code = owned.chalice.code = "release 2"  # type: ignore[attr-defined]
    plan = "\n".join(deploy(owned, files, plan=True))
    assert "chalice deploy --stage dev: release" in plan
    out = deploy(owned, files)
    assert out[0] == "exit 0", out
    after = functions(owned)
    assert set(after) == set(before)  # no second copy
    assert all(after[n]["CodeSha256"] != before[n]["CodeSha256"] for n in after)
    assert deployed_api_id(files["config"], STAGE) == api
    assert len(mappings(owned)) == 4
    # The stack holds no code: a code change does not touch it.
    assert owned.session.cloudformation.calls == calls


def test_plan_on_a_new_stage_lists_the_new_steps_and_touches_nothing(
    owned: Deployment, files: dict[str, Path]
) -> None:
    out = deploy(owned, files, plan=True)
    text = "\n".join(out)
    assert out[0] == "exit 0", text
    for title in ("chalice deploy (the functions", "hand chalice's API", "set what chalice's"):
        assert title in text
    assert "after the steps above: runs once the stack is deployed" in text
    assert owned.stack_status() is None and owned.chalice.runs == 0  # type: ignore[attr-defined]


FAULTS: dict[str, Callable[[Deployment], None]] = {
    "chalice deploy's config": lambda d: d.session.fail_once("iam", "get_role", after=3),
    "chalice deploy": lambda d: setattr(d.chalice, "fail", True),
    "the API handed to the stack": lambda d: setattr(
        d.session.cloudformation, "fail_next_update", ("ApiWebAclAssociation", "WAF refused")
    ),
    "stream failure handling": lambda d: d.session.fail_once(
        "lambda", "update_event_source_mapping", after=1
    ),
    "API throttling": lambda d: d.session.fail_once("apigateway", "update_stage"),
}
STOPPED_AT = {
    "chalice deploy's config": 3,
    "chalice deploy": 4,
    "the API handed to the stack": 5,
    "stream failure handling": 6,
    "API throttling": 6,
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_failure_at_each_new_step_is_resumed_by_running_again(
    owned: Deployment, files: dict[str, Path], fault: str
) -> None:
    FAULTS[fault](owned)
    out = deploy(owned, files)
    text = "\n".join(out)
    assert out[0] == "exit 1", text
    assert f"stopped at step {STOPPED_AT[fault]} " in text, text
    again = deploy(owned, files)
    assert again[0] == "exit 0", "\n".join(again)
    assert "everything checks out" in "\n".join(again)
    assert len(functions(owned)) == 14 and len(mappings(owned)) == 4
    assert deploy(owned, files).count("    nothing to do") == STEPS


def test_a_pipeline_stage_is_not_switched_to_chalice_owned_on_the_side(
    stage: Deployment, files: dict[str, Path]
) -> None:
    assert deploy(stage, files)[0] == "exit 0"
    stage.options.pipeline = False
    out = "\n".join(deploy(stage, files))
    assert "is a --pipeline stage; run the deploy with --pipeline" in out
    assert "stopped at step 2" in out


# --- rollback ---------------------------------------------------------------------------------


def code_sha(deployment: Deployment, key: str) -> str:
    body = deployment.client("s3").get_object(Bucket=deployment.artifacts_bucket(), Key=key)
    return base64.b64encode(hashlib.sha256(body["Body"].read()).digest()).decode()


def test_rollback_puts_the_previous_releases_code_on_every_function_and_the_pages_back(
    owned: Deployment, files: dict[str, Path]
) -> None:
    from dataclasses import replace

    from ops.rollback import rollback
    from ops.web_deploy import SiteBucket, stage_web_config
    from ops.web_deploy import deploy as web_deploy

    assert deploy(owned, files)[0] == "exit 0"
    first = ChaliceReleases(owned).history().releases[0]
    settings = owned.settings()
    site = SiteBucket(owned.client("s3"), settings.web_site_bucket)
    first_pages = site.history().live
    (files["inputs"] / "app.py").write_text("release 2")
    owned.packager.code = owned.chalice.code = "release 2"  # type: ignore[attr-defined]
    assert deploy(owned, files)[0] == "exit 0"
    web_deploy(
        owned.client("s3"),
        settings.web_site_bucket,
        replace(stage_web_config(settings), client_version="9.9.9"),
    )
    calls = list(owned.session.cloudformation.calls)
    said: list[str] = owned.said  # type: ignore[attr-defined]
    said.clear()
    assert rollback(owned) == 0, said
    assert all(f["CodeSha256"] == code_sha(owned, first["code"]) for f in functions(owned).values())
    assert len(functions(owned)) == 14
    assert site.history().live == first_pages
    history = ChaliceReleases(owned).history()
    assert history.live == first["release"] and history.log[-1]["action"] == "rollback"
    assert owned.session.cloudformation.calls == calls  # the stack stays as it is
    # The next ops deploy rolls forward: the release live is not the code's.
    plan = "\n".join(deploy(owned, files, plan=True))
    assert "chalice deploy --stage dev: release" in plan


def test_rollback_after_a_bare_chalice_deploy_goes_to_the_release_before_the_last_ops_deploy(
    owned: Deployment, files: dict[str, Path]
) -> None:
    assert deploy(owned, files)[0] == "exit 0"
    # A code change shipped with `chalice deploy` alone: in place, and no release recorded.
    owned.chalice.code = "hotfix"  # type: ignore[attr-defined]
    owned.chalice.deploy(STAGE, files["config"])  # type: ignore[attr-defined]
    assert len(functions(owned)) == 14
    said: list[str] = owned.said  # type: ignore[attr-defined]
    said.clear()
    assert rollback_functions(owned) == 2
    assert said == ["rollback: there is no earlier release of the functions to roll back to"]
    # --to the live release: what ops deploy last shipped goes back over the hotfix.
    live = ChaliceReleases(owned).history().find(ChaliceReleases(owned).history().live)
    assert rollback_functions(owned, to=live["release"]) == 0
    assert all(f["CodeSha256"] == code_sha(owned, live["code"]) for f in functions(owned).values())


def test_another_checkout_gets_chalices_record_back_before_any_chalice_deploy(
    owned: Deployment, files: dict[str, Path]
) -> None:
    import shutil

    from ops.chalice_config import deployed_file

    assert deploy(owned, files)[0] == "exit 0"
    api = deployed_api_id(files["config"], STAGE)
    # .chalice/deployed/ is not in git: a fresh checkout has no record of the API or mappings.
    shutil.rmtree(deployed_file(files["config"], STAGE).parent)
    out = deploy(owned, files)
    text = "\n".join(out)
    assert out[0] == "exit 0", text
    assert f"restore .chalice/deployed/{STAGE}.json" in text
    assert deployed_api_id(files["config"], STAGE) == api
    assert owned.chalice.runs == 1  # type: ignore[attr-defined]
    assert len(functions(owned)) == 14 and len(mappings(owned)) == 4


def test_what_ops_deploy_writes_into_the_config_is_not_a_package_input(
    owned: Deployment, files: dict[str, Path], tmp_path: Path
) -> None:
    from ops.deployment import fingerprint

    original = files["config"].read_text()
    assert deploy(owned, files)[0] == "exit 0"
    written = files["config"].read_text()
    stage = json.loads(written)["stages"][STAGE]
    assert stage["lambda_functions"]["copy_worker"]["reserved_concurrency"] == 5
    assert stage["environment_variables"]["RECORDING_COPY_QUEUE_ARN"].startswith("arn:aws:sqs:")
    roots = []
    for name, body in (("before", original), ("after", written)):
        (tmp_path / name / ".chalice").mkdir(parents=True)
        (tmp_path / name / ".chalice" / "config.json").write_text(body)
        roots.append(fingerprint(tmp_path / name, (".chalice/config.json",)))
    assert roots[0] == roots[1]
