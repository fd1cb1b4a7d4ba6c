"""`chalice deploy --stage S` on a stage `ops deploy` made: the stack's own roles, its settings.

The first test checks what `ops deploy` writes (ops/chalice_deploy.py) against the packaged
template on moto: every function of the app runs, under `chalice deploy`, with the role the
template gives it, and the settings a function would read (config environment + SSM) are the
deployed ones. The second runs the real `chalice deploy` against a moto server on a
chalice-owned stage, twice: `ops deploy`'s steps make the functions once with the stack's roles,
then a bare `chalice deploy` after a code change updates the same functions in place.
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
from ops.chalice_config import chalice_name, deployed_api_id
from ops.chalice_deploy import ChaliceDeploy, function_roles
from ops.chalice_stage import ApiStack, ChaliceRun, Tune
from ops.deployed import StageStore, deployed_settings
from ops.deployment import Deployment, Options, Package, Stack
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


@pytest.fixture
def api_gateway_imports_swagger(monkeypatch: pytest.MonkeyPatch) -> None:
    """API Gateway imports OpenAPI 2.0 (Swagger) definitions as well as 3.0, the way Chalice
    sends them (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-import-api.html),
    and `info.description` is optional (https://swagger.io/specification/v2/#info-object).
    moto 5 takes only 3.x and requires the description. What moto reads of a definition (paths,
    methods, responses, x-amazon-apigateway-integration) has the same shape in both versions,
    so the definition is handed to moto as 3.0 with those points put right, and a MOCK
    integration is taken without a URI as API Gateway does; nothing else."""
    from moto.apigateway.models import APIGatewayBackend

    put = APIGatewayBackend.put_rest_api

    def as_openapi3(api_doc: dict[str, Any]) -> dict[str, Any]:
        if api_doc.get("swagger") != "2.0":
            return api_doc
        return {**{k: v for k, v in api_doc.items() if k != "swagger"}, "openapi": "3.0.1"}

    def import_rest_api(self: Any, api_doc: dict[str, Any], fail_on_warnings: bool) -> Any:
        info = api_doc["info"]
        api = self.create_rest_api(name=info["title"], description=info.get("description"))
        put(self, api.id, as_openapi3(api_doc), fail_on_warnings=fail_on_warnings)
        return api

    def put_rest_api(
        self: Any, function_id: str, api_doc: dict[str, Any], *args: Any, **kw: Any
    ) -> Any:
        return put(self, function_id, as_openapi3(api_doc), *args, **kw)

    integrate = APIGatewayBackend.put_integration

    def put_integration(
        self: Any,
        function_id: str,
        resource_id: str,
        method_type: str,
        integration_type: str,
        uri: str | None = None,
        integration_method: str | None = None,
        **kw: Any,
    ) -> Any:
        # A MOCK integration (Chalice's CORS preflight) has no URI and no HTTP method: both are
        # required only for the HTTP and AWS types
        # (https://docs.aws.amazon.com/apigateway/latest/api/API_PutIntegration.html).
        return integrate(
            self,
            function_id,
            resource_id,
            method_type,
            integration_type,
            uri,
            integration_method,
            **kw,  # type: ignore[arg-type]
        )

    monkeypatch.setattr(APIGatewayBackend, "put_integration", put_integration)
    monkeypatch.setattr(APIGatewayBackend, "import_rest_api", import_rest_api)
    monkeypatch.setattr(APIGatewayBackend, "put_rest_api", put_rest_api)


def chalice_deploy(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "chalice"), "deploy", "--stage", STAGE],
        cwd=project,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_chalice_deploy_makes_the_functions_once_with_the_stacks_roles_then_updates_them(
    moto_server: str,
    api_gateway_imports_swagger: None,
    sam_template: dict[str, Any],
    tmp_path: Path,
) -> None:
    session = boto3.session.Session(region_name="ap-northeast-1")
    project = tmp_path / "project"
    (project / ".chalice").mkdir(parents=True)
    for name in ("chalicelib", "requirements.txt"):
        (project / name).symlink_to(ROOT / name)
    (project / "app.py").write_text((ROOT / "app.py").read_text())
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
    # The steps of a chalice-owned stage up to chalice deploy, the real command included
    # (Twilio and the rest are the other tests').
    for step in (Package(), Stack(), ChaliceDeploy(), ChaliceRun(), ApiStack(), Tune()):
        if step.plan(deployment):
            step.apply(deployment)
    for step in (Stack(), ChaliceDeploy(), ChaliceRun(), ApiStack(), Tune()):
        assert not step.plan(deployment), step.title
    roles = roles_of(json.loads(deployment.config_file.read_text()))
    assert set(roles) == app_functions()
    lambda_ = session.client("lambda")

    def made() -> dict[str, dict[str, Any]]:
        return {
            f["FunctionName"].removeprefix(f"contact-center-{STAGE}").removeprefix("-")
            or "api_handler": f
            for f in lambda_.list_functions()["Functions"]
        }

    first = made()
    # Every function once, with the role the stack made for it, the size the template gives.
    assert {name: f["Role"] for name, f in first.items()} == roles
    assert (first["copy_worker"]["MemorySize"], first["copy_worker"]["Timeout"]) == (1024, 300)
    # Chalice made no role or policy of its own: every role in the account is one of the stack's.
    stack_roles = {
        r["PhysicalResourceId"]
        for r in deployment.client("cloudformation").list_stack_resources(
            StackName=f"contact-center-{STAGE}"
        )["StackResourceSummaries"]
        if r["ResourceType"] == "AWS::IAM::Role"
    }
    assert {r["RoleName"] for r in session.client("iam").list_roles()["Roles"]} == stack_roles
    # The consumers read the stack's own streams and queue (none of the local placeholders).
    sources = {
        m["EventSourceArn"] for m in lambda_.list_event_source_mappings()["EventSourceMappings"]
    }
    settings = deployment.settings()
    dynamodb = session.client("dynamodb")
    for table in (
        settings.presence.presence_table,
        settings.conversations.conversation_events_table,
        settings.transcripts.live_transcripts_table,
    ):
        assert dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"] in sources
    queue = session.client("sqs").get_queue_url(QueueName=settings.recordings.recordings_queue)
    arn = session.client("sqs").get_queue_attributes(
        QueueUrl=queue["QueueUrl"], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    assert arn in sources and len(sources) == 4
    api = deployed_api_id(deployment.config_file, STAGE)
    assert settings.public_base_url == f"https://{api}.execute-api.ap-northeast-1.amazonaws.com/api"

    # Day to day: a code change, then `chalice deploy` alone updates the same functions.
    (project / "app.py").write_text((ROOT / "app.py").read_text() + "\n# release 2\n")
    done = chalice_deploy(project)
    assert done.returncode == 0, done.stderr[-2000:]
    second = made()
    assert set(second) == set(first)  # no second copy
    assert all(second[n]["CodeSha256"] != first[n]["CodeSha256"] for n in second)
    assert {name: f["Role"] for name, f in second.items()} == roles
    after = lambda_.list_event_source_mappings()["EventSourceMappings"]
    assert {m["EventSourceArn"] for m in after} == sources and len(after) == 4
    # What ops deploy set beside chalice's config survives the bare deploy: the stream
    # mappings' failure handling (Chalice updates an existing mapping's batch size and window
    # only). The stage's throttling is moto's exception: its CreateDeployment replaces the
    # stage, where API Gateway redeploys to the same stage and keeps the stage's settings
    # (https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-deployments.html:
    # "You can reuse the same stage as many times as desired"; settings are the stage's). The
    # next `ops deploy` would put it back either way.
    assert deployed_api_id(deployment.config_file, STAGE) == api
    assert [line.split(":")[0] for line in Tune().plan(deployment)] == [f"~ API {api} stage api"]
