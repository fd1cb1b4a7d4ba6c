"""The deploy tests' stage: moto behind tests/fakes/cloudformation.py, Twilio's stateful fake,
the real `chalice package` template (built once per session), staff files in a temporary dir."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from ops.chalice_config import CHALICE_CONFIG
from ops.deploy import run
from ops.deployment import Deployment, Options, StepFailed
from ops.standin.iam import packaged_template
from tests.fakes.cloudformation import StageSession
from tests.fakes.twilio_config import FakeTwilioConfig
from tests.fakes.twilio_http import RecordingHttpClient

STAGE = "dev"
ACCOUNT = "AC" + "a" * 32
TOKEN = "t" * 32
NUMBER = "+81312345678"
SITE = "https://softphone.example.test"
AGENTS = """agent_id,name,team,email
sato,Sato Haruto,tokyo-sales,sato@example.test
suzuki,Suzuki Yui,tokyo-sales,suzuki@example.test
tanaka,Tanaka Ren,osaka-support,tanaka@example.test
"""
SUPERVISORS = "agent_id,email\nsuzuki,\nkato,kato@example.test\n"


@pytest.fixture(scope="session")
def sam_template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return packaged_template(tmp_path_factory.mktemp("sam"), STAGE)


class ChaliceOutput:
    """The packager at its process boundary: writes what `chalice package` wrote for this
    repository (the module's real package), with a small zip standing for the code."""

    def __init__(self, template: dict[str, Any]) -> None:
        self.template = template
        self.code = "release 1"
        self.runs = 0
        self.fail = False

    def available(self) -> str | None:
        return None

    def package(self, stage: str, out_dir: Path) -> None:
        if self.fail:
            self.fail = False
            raise StepFailed("chalice package failed: injected")
        self.runs += 1
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "sam.json").write_text(json.dumps(self.template))
        with zipfile.ZipFile(out_dir / "deployment.zip", "w") as archive:
            archive.writestr("app.py", self.code)


@pytest.fixture
def twilio_account(twilio_http: RecordingHttpClient) -> FakeTwilioConfig:
    fake = FakeTwilioConfig(twilio_http, ACCOUNT)
    fake.add_number(NUMBER)
    return fake


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    config = json.loads(CHALICE_CONFIG.read_text())
    config["stages"][STAGE]["environment_variables"].update(WEB_ORIGIN=SITE, COMPANY_NUMBER=NUMBER)
    found = {
        "config": tmp_path / "config.json",
        "agents": tmp_path / "agents.csv",
        "supervisors": tmp_path / "supervisors.csv",
        "inputs": tmp_path / "inputs",
        "build": tmp_path / "build",
    }
    found["config"].write_text(json.dumps(config))
    found["agents"].write_text(AGENTS)
    found["supervisors"].write_text(SUPERVISORS)
    found["inputs"].mkdir()
    (found["inputs"] / "app.py").write_text("release 1")
    return found


@pytest.fixture
def stage(
    aws: Any,
    twilio_account: FakeTwilioConfig,
    twilio_http: RecordingHttpClient,
    sam_template: dict[str, Any],
    files: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> Deployment:
    """A stage deployed with `--pipeline`: the stack owns the functions and the API too."""
    return make_stage(aws, twilio_http, sam_template, files, monkeypatch, pipeline=True)


@pytest.fixture
def owned(
    aws: Any,
    twilio_account: FakeTwilioConfig,
    twilio_http: RecordingHttpClient,
    sam_template: dict[str, Any],
    files: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> Deployment:
    """A chalice-owned stage (the default shape): `chalice deploy` owns the functions and API."""
    return make_stage(aws, twilio_http, sam_template, files, monkeypatch, pipeline=False)


def make_stage(
    aws: Any,
    twilio_http: RecordingHttpClient,
    sam_template: dict[str, Any],
    files: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    pipeline: bool,
) -> Deployment:
    from ops.standin.strict_cognito import install
    from tests.fakes.chalice import FakeChalice

    install()
    # The stage's environment as `chalice package` bakes it (deployed_settings reads the
    # committed config; the environment wins).
    monkeypatch.setenv("WEB_ORIGIN", SITE)
    monkeypatch.setenv("COMPANY_NUMBER", NUMBER)
    said: list[str] = []
    session = StageSession(aws)
    deployment = Deployment(
        session,
        Options(
            stage=STAGE,
            agents=files["agents"],
            supervisors=files["supervisors"],
            build_dir=files["build"],
            inputs_root=files["inputs"],
            pipeline=pipeline,
        ),
        say=said.append,
        packager=ChaliceOutput(sam_template),
        chalice=FakeChalice(session, sam_template),
        twilio_http_client=twilio_http,
        probe=lambda url: 403,
        environ={"TWILIO_ACCOUNT_SID": ACCOUNT, "TWILIO_AUTH_TOKEN": TOKEN},
        poll_seconds=0,
        config_file=files["config"],
    )
    deployment.said = said  # type: ignore[attr-defined]
    return deployment


def deploy(deployment: Deployment, files: dict[str, Path], plan: bool = False) -> list[str]:
    said: list[str] = deployment.said  # type: ignore[attr-defined]
    said.clear()
    deployment.forget_settings()
    code = run(deployment, plan_only=plan)
    return [f"exit {code}", *said]
