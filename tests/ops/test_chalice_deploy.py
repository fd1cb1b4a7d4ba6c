"""`chalice deploy --stage S` on a stage `ops deploy` made: the stack's own roles, its settings.

The first test checks what `ops deploy` writes (ops/chalice_deploy.py) against the packaged
template on moto: every function of the app runs, under `chalice deploy`, with the role the
template gives it, and the settings a function would read (config environment + SSM) are the
deployed ones. The second runs the real `chalice deploy` against a moto server, as far as moto
goes: every function is created with the stack's role; moto's API Gateway then fails on
Chalice's swagger (ImportRestApi wants `info.description`, a moto limit).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

from chalicelib.platform.settings import Settings
from ops.chalice_deploy import ChaliceDeploy, chalice_name, function_roles
from ops.deploy import Deployment, Options, Package, Stack
from ops.deployed import StageStore, deployed_settings
from tests.fakes.cloudformation import StageSession
from tests.ops.conftest import AGENTS, NUMBER, SITE, STAGE, ChaliceOutput, deploy

ROOT = Path(__file__).resolve().parents[2]


def app_functions() -> set[str]:
    """Every Lambda function `chalice deploy` makes for the app (its config names)."""
    from app import app

    names = {"api_handler"}
    names |= {f.name for f in app.pure_lambda_functions}
    names |= {source.name for source in app.event_sources}
    return names


def roles_of(config: dict[str, Any]) -> dict[str, str]:
    functions = config["stages"][STAGE]["lambda_functions"]
    return {
        name: entry["iam_role_arn"]
        for name, entry in functions.items()
        if entry.get("manage_iam_role") is False
    }


def test_every_function_gets_the_stacks_role_and_the_stacks_settings(
    stage: Deployment, files: dict[str, Path], sam_template: dict[str, Any]
) -> None:
    assert deploy(stage, files)[0] == "exit 0"
    config = json.loads(files["config"].read_text())
    roles = roles_of(config)
    assert set(roles) == app_functions()
    # The role each function gets is the one the packaged template gives the same function.
    iam = stage.client("iam")
    resources = stage.client("cloudformation").list_stack_resources(
        StackName=f"contact-center-{STAGE}"
    )["StackResourceSummaries"]
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}
    for function, role in function_roles(sam_template).items():
        assert roles[function] == iam.get_role(RoleName=physical[role])["Role"]["Arn"], function
    assert chalice_name("EscalationEnterStage") == "escalation_enter_stage"
    # A function deployed by chalice: the config's environment, completed from SSM at cold
    # start (chalicelib/platform/settings.py, with_stage_parameters), equals the stack's.
    environment = {
        **config["environment_variables"],
        **config["stages"][STAGE]["environment_variables"],
        "AWS_DEFAULT_REGION": "ap-northeast-1",
        "WEB_ORIGIN": SITE,
        "COMPANY_NUMBER": NUMBER,
    }
    stored = StageStore(stage.session, STAGE).parameters()
    chalice_side = Settings.from_environment(
        {**{k.upper(): v for k, v in stored.items()}, **environment}
    )
    stack_side = deployed_settings(stage.session, STAGE)
    for area in ("routing", "presence", "recordings", "conversations", "auth"):
        assert getattr(chalice_side, area) == getattr(stack_side, area), area


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def moto_server(monkeypatch: pytest.MonkeyPatch) -> Any:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    for name, value in {
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "ap-northeast-1",
    }.items():
        monkeypatch.setenv(name, value)
    yield url
    server.stop()


def test_chalice_deploy_runs_each_function_with_the_stacks_role_as_far_as_moto_goes(
    moto_server: str, sam_template: dict[str, Any], tmp_path: Path
) -> None:
    session = boto3.session.Session(region_name="ap-northeast-1")
    project = tmp_path / "project"
    (project / ".chalice").mkdir(parents=True)
    for name in ("app.py", "chalicelib", "requirements.txt"):
        (project / name).symlink_to(ROOT / name)
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    config["stages"][STAGE]["environment_variables"].update(WEB_ORIGIN=SITE, COMPANY_NUMBER=NUMBER)
    config["stages"][STAGE]["lambda_functions"]["export_conversations"].pop("layers")
    (project / ".chalice" / "config.json").write_text(json.dumps(config))
    (tmp_path / "agents.csv").write_text(AGENTS)
    (tmp_path / "inputs").mkdir()
    deployment = Deployment(
        StageSession(session),
        Options(
            stage=STAGE,
            agents=tmp_path / "agents.csv",
            build_dir=tmp_path / "build",
            inputs_root=tmp_path / "inputs",
        ),
        say=lambda _: None,
        packager=ChaliceOutput(sam_template),
        environ={"TWILIO_ACCOUNT_SID": "AC" + "a" * 32, "TWILIO_AUTH_TOKEN": "t"},
        poll_seconds=0,
        config_file=project / ".chalice" / "config.json",
    )
    # The steps that make what `chalice deploy` needs (Twilio and the rest are the other tests').
    for step in (Package(), Stack(), ChaliceDeploy()):
        if step.plan(deployment):
            step.apply(deployment)
    assert not ChaliceDeploy().plan(deployment)
    roles = roles_of(json.loads(deployment.config_file.read_text()))
    assert set(roles) == app_functions()
    # What the app's event sources name at import: the stack's streams (and the queue name the
    # app declares; see docs/deploy.md for what this means on AWS).
    dynamodb = session.client("dynamodb")
    settings = deployment.settings()
    environment = {
        "PRESENCE_STREAM_ARN": dynamodb.describe_table(TableName=settings.presence.presence_table)[
            "Table"
        ]["LatestStreamArn"],
        "CONVERSATION_EVENTS_STREAM_ARN": dynamodb.describe_table(
            TableName=settings.conversations.conversation_events_table
        )["Table"]["LatestStreamArn"],
        "LIVE_TRANSCRIPTS_STREAM_ARN": dynamodb.describe_table(
            TableName=settings.transcripts.live_transcripts_table
        )["Table"]["LatestStreamArn"],
    }
    session.client("sqs").create_queue(QueueName="contact-center-recording-copy")
    done = subprocess.run(
        [str(Path(sys.executable).parent / "chalice"), "deploy", "--stage", STAGE],
        cwd=project,
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # Chalice names the API handler after the app and stage, the others with their own name.
    created = {
        f["FunctionName"].removeprefix(f"contact-center-{STAGE}").removeprefix("-")
        or "api_handler": f["Role"]
        for f in session.client("lambda").list_functions()["Functions"]
    }
    # Every function is deployed, event sources included, with the role the stack made for it;
    # then moto's API Gateway stops on Chalice's swagger (ImportRestApi: no info.description).
    assert created == roles
    assert done.returncode == 0 or "Internal Server Error" in done.stderr + done.stdout, (
        done.stderr[-2000:]
    )
