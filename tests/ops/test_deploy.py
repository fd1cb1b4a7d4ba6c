"""`python -m ops deploy`: a stage from nothing to doctor's verdict, idempotent and resumable.

AWS is moto (CloudFormation as far as it takes the packaged template: tests/fakes/
cloudformation.py; Cognito made strict by ops/standin/strict_cognito.py; SSM, Secrets Manager,
S3, DynamoDB), Twilio the stateful fake behind twilio's HTTP client (tests/fakes/twilio_config.py).
The template is the real `chalice package --merge-template` output, built once per session.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ops.deployment import Deployment
from tests.fakes.twilio_http import RecordingHttpClient
from tests.ops.conftest import AGENTS, STAGE, TOKEN, deploy


def state(deployment: Deployment) -> dict[str, Any]:
    """What a deploy leaves behind, to compare a resumed deploy with a clean one."""
    session = deployment.session
    settings = deployment.settings()
    cognito = session.client("cognito-idp")
    pool = settings.auth.cognito_user_pool_id
    users = {u["Username"]: u["Enabled"] for u in cognito.list_users(UserPoolId=pool)["Users"]}
    groups = {
        group: sorted(
            u["Username"]
            for u in cognito.list_users_in_group(UserPoolId=pool, GroupName=group)["Users"]
        )
        for group in ("agents", "supervisors")
    }
    agents = session.resource("dynamodb").Table(settings.routing.agents_table).scan()["Items"]
    return {
        "users": users,
        "groups": groups,
        "agents": sorted(a["agent_id"] for a in agents),
        "parameters": sorted(deployment_parameters(deployment)),
        "secret": sorted(
            json.loads(
                session.client("secretsmanager").get_secret_value(
                    SecretId=f"contact-center/{STAGE}/twilio"
                )["SecretString"]
            )
        ),
    }


def deployment_parameters(deployment: Deployment) -> dict[str, str]:
    from ops.deployed import StageStore

    return StageStore(deployment.session, STAGE).parameters()


def test_a_new_stage_is_deployed_in_one_run_and_ends_with_the_doctors_verdict(
    stage: Deployment, files: dict[str, Path]
) -> None:
    out = deploy(stage, files)
    text = "\n".join(out)
    assert out[0] == "exit 0", text
    assert "[2/8] deploy the stack" in text and "create stack contact-center-dev" in text
    assert "everything checks out" in text
    found = state(stage)
    # Supervisors (suzuki from the agents file, kato from the supervisors file) in both groups.
    assert found["groups"] == {
        "agents": ["kato", "sato", "suzuki", "tanaka"],
        "supervisors": ["kato", "suzuki"],
    }
    assert found["agents"] == ["sato", "suzuki", "tanaka"]
    assert "staff accounts: 4 created, 0 updated, 0 disabled" in text
    assert TOKEN not in text


def test_a_second_run_on_a_healthy_stage_changes_nothing(
    stage: Deployment, files: dict[str, Path], twilio_http: RecordingHttpClient
) -> None:
    assert deploy(stage, files)[0] == "exit 0"
    cloudformation = stage.session.cloudformation
    calls = list(cloudformation.calls)
    writes = [r for r in twilio_http.requests if r.method != "GET"]
    out = deploy(stage, files)
    assert out[0] == "exit 0", out
    assert sum(line == "    nothing to do" for line in out) == 8, out
    assert cloudformation.calls == calls
    assert [r for r in twilio_http.requests if r.method != "GET"] == writes
    assert stage.packager.runs == 1  # type: ignore[attr-defined]


def test_plan_on_a_new_stage_lists_the_work_and_touches_nothing(
    stage: Deployment, files: dict[str, Path]
) -> None:
    out = deploy(stage, files, plan=True)
    text = "\n".join(out)
    assert out[0] == "exit 0", text
    assert "create stack contact-center-dev" in text
    assert "after the steps above: runs once the stack is deployed" in text
    assert stage.stack_status() is None
    assert not (files["build"] / "packaged.json").exists()


def test_plan_after_a_code_change_names_the_package_and_the_stack_only(
    stage: Deployment, files: dict[str, Path]
) -> None:
    assert deploy(stage, files)[0] == "exit 0"
    (files["inputs"] / "app.py").write_text("release 2")
    out = deploy(stage, files, plan=True)
    text = "\n".join(out)
    assert "chalice package --stage dev" in text
    assert "update stack contact-center-dev with the new package" in text
    # secret, provision, directory, pages, staff, chalice deploy's roles and settings
    assert text.count("nothing to do") == 6, text


def test_missing_prerequisites_are_all_named_before_anything_is_touched(
    stage: Deployment, files: dict[str, Path]
) -> None:
    config = json.loads(files["config"].read_text())
    del config["stages"][STAGE]["environment_variables"]["WEB_ORIGIN"]
    files["config"].write_text(json.dumps(config))
    stage.environ = {}
    files["agents"].write_text(AGENTS + "ito,Ito Mei,tokyo-sales,\n")
    out = deploy(stage, files)
    text = "\n".join(out)
    assert out[0] == "exit 2"
    assert "3 thing(s) missing" in text, text
    assert (
        "WEB_ORIGIN" in text and "TWILIO_ACCOUNT_SID" in text and "ito has no valid email" in text
    )
    assert "nothing was changed" in text
    assert stage.stack_status() is None


def test_a_failed_stack_names_the_resource_and_its_reason_and_a_rerun_resumes(
    stage: Deployment, files: dict[str, Path]
) -> None:
    cloudformation = stage.session.cloudformation
    cloudformation.fail_next = ("AgentsTable", "Resource handler returned message: quota")
    out = deploy(stage, files)
    text = "\n".join(out)
    assert out[0] == "exit 1"
    assert "AgentsTable: Resource handler returned message: quota" in text
    assert "ROLLBACK_COMPLETE" in text and "resumes here" in text
    again = deploy(stage, files)
    assert again[0] == "exit 0", again
    assert any("delete contact-center-dev, left by a first create" in line for line in again)
    assert cloudformation.calls == ["CreateStack", "DeleteStack", "CreateStack"]


# Each step's fault, at its client boundary: the run stops at that step; the next run resumes
# and leaves the stage exactly as a run that never failed.
FAULTS: dict[str, Callable[[Deployment], None]] = {
    "package": lambda d: setattr(d.packager, "fail", True),
    "package upload": lambda d: d.session.fail_once("s3", "put_object"),
    "secret": lambda d: d.session.fail_once("secretsmanager", "put_secret_value"),
    "provision (after Twilio, storing the sids)": lambda d: d.session.fail_once(
        "ssm", "put_parameter", after=2
    ),
    "pages (half uploaded)": lambda d: d.session.fail_once("s3", "put_object", after=4),
    "staff (a user created, not yet in its group)": lambda d: d.session.fail_once(
        "cognito-idp", "admin_add_user_to_group", after=2
    ),
    "agents directory": lambda d: d.session.fail_once("dynamodb", "batch_write_item"),
    "chalice deploy's roles": lambda d: d.session.fail_once("iam", "get_role", after=3),
}
STOPPED_AT = {
    "package": 1,
    "package upload": 1,
    "secret": 3,
    "provision (after Twilio, storing the sids)": 4,
    "pages (half uploaded)": 6,
    "staff (a user created, not yet in its group)": 7,
    "agents directory": 5,
    "chalice deploy's roles": 8,
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_failure_at_each_step_is_resumed_by_running_again(
    stage: Deployment, files: dict[str, Path], fault: str
) -> None:
    FAULTS[fault](stage)
    out = deploy(stage, files)
    text = "\n".join(out)
    assert out[0] == "exit 1", text
    assert f"stopped at step {STOPPED_AT[fault]} " in text, text
    again = deploy(stage, files)
    assert again[0] == "exit 0", "\n".join(again)
    assert "everything checks out" in "\n".join(again)
    found = state(stage)
    assert found["groups"] == {
        "agents": ["kato", "sato", "suzuki", "tanaka"],
        "supervisors": ["kato", "suzuki"],
    }
    assert found["agents"] == ["sato", "suzuki", "tanaka"]
    assert all(found["users"].values())
    assert deploy(stage, files).count("    nothing to do") == 8


def test_a_rep_who_left_is_disabled_and_a_new_one_created_on_the_next_deploy(
    stage: Deployment, files: dict[str, Path]
) -> None:
    assert deploy(stage, files)[0] == "exit 0"
    files["agents"].write_text(
        AGENTS.replace("tanaka,Tanaka Ren,osaka-support,tanaka@example.test\n", "")
        + "ito,Ito Mei,osaka-support,ito@example.test\n"
    )
    out = deploy(stage, files)
    text = "\n".join(out)
    assert out[0] == "exit 0", text
    assert "- disable tanaka: no longer in the staff files" in text
    assert "+ create ito: agents; invitation e-mailed to ito@example.test" in text
    assert "staff accounts: 1 created, 0 updated, 1 disabled" in text
    assert state(stage)["users"]["tanaka"] is False


def test_the_packaged_zip_is_uploaded_once_under_its_hash(
    stage: Deployment, files: dict[str, Path]
) -> None:
    assert deploy(stage, files)[0] == "exit 0"
    template = json.loads((files["build"] / "packaged.json").read_text())
    uris = {
        r["Properties"]["CodeUri"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Serverless::Function"
    }
    assert len(uris) == 1
    (uri,) = uris
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    body = stage.session.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    assert zipfile.ZipFile(__import__("io").BytesIO(body)).read("app.py") == b"release 1"
    shutil.rmtree(files["build"])


def deployed_code_uri(deployment: Deployment) -> str:
    template = json.loads(
        deployment.client("cloudformation").get_template(
            StackName=f"contact-center-{STAGE}", TemplateStage="Original"
        )["TemplateBody"]
    )
    (uri,) = {
        r["Properties"]["CodeUri"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Serverless::Function"
    }
    return str(uri)


def test_rollback_takes_the_functions_and_the_pages_back_to_the_previous_release(
    stage: Deployment, files: dict[str, Path]
) -> None:
    from dataclasses import replace

    from ops.rollback import StackReleases, rollback
    from ops.web_deploy import SiteBucket, stage_web_config
    from ops.web_deploy import deploy as web_deploy

    said: list[str] = stage.said  # type: ignore[attr-defined]
    assert deploy(stage, files)[0] == "exit 0"
    first_code = deployed_code_uri(stage)
    settings = stage.settings()
    site = SiteBucket(stage.client("s3"), settings.web_site_bucket)
    first_pages = site.history().live
    # A code change, deployed; and a newer release of the pages.
    (files["inputs"] / "app.py").write_text("release 2")
    stage.packager.code = "release 2"  # type: ignore[attr-defined]
    out = deploy(stage, files)
    assert out[0] == "exit 0", out
    assert deployed_code_uri(stage) != first_code
    web_deploy(
        stage.client("s3"),
        settings.web_site_bucket,
        replace(stage_web_config(settings), client_version="9.9.9"),
    )
    assert site.history().live != first_pages

    said.clear()
    assert rollback(stage) == 0, said
    assert deployed_code_uri(stage) == first_code
    assert site.history().live == first_pages
    history = StackReleases(stage).history()
    assert history.live == history.releases[0]["release"]
    assert history.log[-1]["action"] == "rollback"
    # The build directory still holds release 2: the next deploy rolls forward.
    out = deploy(stage, files, plan=True)
    assert any("update stack contact-center-dev: the template changed" in line for line in out)


def test_rollback_without_an_earlier_release_says_so_and_changes_nothing(
    stage: Deployment, files: dict[str, Path]
) -> None:
    from ops.rollback import rollback

    assert deploy(stage, files)[0] == "exit 0"
    calls = list(stage.session.cloudformation.calls)
    said: list[str] = stage.said  # type: ignore[attr-defined]
    said.clear()
    assert rollback(stage) == 2
    assert said == ["rollback: there is no earlier release of the functions to roll back to"]
    assert stage.session.cloudformation.calls == calls


def test_a_failed_update_rolls_back_and_a_rerun_deploys_the_new_code(
    stage: Deployment, files: dict[str, Path]
) -> None:
    assert deploy(stage, files)[0] == "exit 0"
    first_code = deployed_code_uri(stage)
    (files["inputs"] / "app.py").write_text("release 2")
    stage.packager.code = "release 2"  # type: ignore[attr-defined]
    stage.session.cloudformation.fail_next = ("APIHandler", "Runtime python3.11 is not valid")
    out = deploy(stage, files)
    text = "\n".join(out)
    assert out[0] == "exit 1", text
    assert "ended UPDATE_ROLLBACK_COMPLETE; failed: APIHandler: Runtime python3.11" in text
    assert deployed_code_uri(stage) == first_code  # CloudFormation put the live release back
    again = deploy(stage, files)
    assert again[0] == "exit 0", again
    assert "    update stack contact-center-dev: the template changed" in again
    assert deployed_code_uri(stage) != first_code
