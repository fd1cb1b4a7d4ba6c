"""Shared fixtures: moto-backed AWS, the app's container with fakes, and signed Twilio requests."""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Iterator, Mapping
from typing import Any

import boto3
import pytest
from moto import mock_aws
from twilio.request_validator import RequestValidator

from chalicelib import bootstrap
from chalicelib.escalation.business_hours import around_the_clock
from chalicelib.platform.settings import Settings
from ops.infra import create_local_resources
from ops.standin import iam
from tests.fakes.twilio_http import RecordingHttpClient

AUTH_TOKEN = "test-auth-token-0123456789abcdef"
PUBLIC_BASE_URL = "https://cc.example.test/api"
FORM = "application/x-www-form-urlencoded"
ALWAYS_OPEN = around_the_clock()
# The AWS calls the app's functions make across the run, judged by tests/infra/test_iam.py.
IAM_CALLS = iam.Recorder()
iam.record_into(IAM_CALLS)

# Never let a developer's shell (e.g. one that ran `make run`) point tests at a real endpoint,
# nor name a deployed stage (docs/deploy.md exports STAGE=dev): the app would refuse to import
# without that stage's WEB_ORIGIN (chalicelib/api/web.py).
for _name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "STAGE"):
    os.environ.pop(_name, None)
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="ap-northeast-1",
    POWERTOOLS_TRACE_DISABLED="1",
    POWERTOOLS_METRICS_NAMESPACE="ContactCenterTest",
)


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "stage": "test",
        "public_base_url": PUBLIC_BASE_URL,
        "customers_table": "test-customers",
        "agents_table": "test-agents",
        "presence_table": "test-presence",
        "presence_history_table": "test-presence-history",
        "recordings_bucket": "test-recordings",
        "conversation_events_table": "test-conversation-events",
        "conversations_table": "test-conversations",
        "do_not_call_table": "test-do-not-call",
        "analytics_bucket": "test-analytics",
        "recordings_table": "test-recordings",
        "recordings_queue": "test-recording-copy",
        "recordings_dead_letter_queue": "test-recording-copy-dlq",
        "twilio_auth_token": AUTH_TOKEN,
        # Always open, so no test depends on the wall clock (escalation tests override it).
        "business_hours": ALWAYS_OPEN,
        "twilio_account_sid": "AC" + "a" * 32,
        "twilio_workspace_sid": "WS" + "b" * 32,
        "twilio_workflow_sid": "WW" + "c" * 32,
    }
    values.update(overrides)
    return Settings.from_values(values)


@pytest.fixture
def settings() -> Settings:
    return make_settings()


@pytest.fixture(scope="session")
def dynalite_url() -> Iterator[str]:
    """One dynalite server for the session (ops/dynalite.py); each test empties it first."""
    from ops.dynalite import dynalite_server

    with dynalite_server() as server:
        yield server.url


@pytest.fixture
def dynamodb_engine(request: pytest.FixtureRequest) -> str:
    """Which engine serves DynamoDB: moto unless a module parametrizes it (`ENGINES` below)."""
    return str(getattr(request, "param", "moto"))


# `pytestmark = ENGINES` runs a module's DynamoDB tests on moto and on dynalite (see
# pytest_generate_tests). Modules whose tests need Streams, TTL or transactions (dynalite has
# none) do not use it and stay on moto.
ENGINES = pytest.mark.both_engines


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "dynamodb_engine" in metafunc.fixturenames and metafunc.definition.get_closest_marker(
        "both_engines"
    ):
        metafunc.parametrize("dynamodb_engine", ["moto", "dynalite"], indirect=True)


@pytest.fixture
def aws(
    dynamodb_engine: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    """A moto-backed boto3 session (in-process); DynamoDB on dynalite when the engine says so
    (boto3's per-service endpoint variable; moto lets requests to 127.0.0.1 through)."""
    if dynamodb_engine == "dynalite":
        url = request.getfixturevalue("dynalite_url")
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", url)
    with mock_aws():
        session = boto3.session.Session(region_name="ap-northeast-1")
        if dynamodb_engine == "dynalite":
            client = session.client("dynamodb")
            assert client.meta.endpoint_url == url  # not moto's in-process DynamoDB
            for name in client.list_tables()["TableNames"]:
                client.delete_table(TableName=name)
        yield session


@pytest.fixture
def resources(aws: Any, settings: Settings, dynamodb_engine: str) -> Any:
    """The tables and bucket of infra/resources.json, created on moto (or dynalite)."""
    create_local_resources(aws, settings, dynamodb_engine)
    return aws.resource("dynamodb")


@pytest.fixture
def twilio_http() -> RecordingHttpClient:
    return RecordingHttpClient()


@pytest.fixture
def container(
    settings: Settings, aws: Any, resources: Any, twilio_http: RecordingHttpClient
) -> Iterator[bootstrap.Container]:
    from app import app

    built = bootstrap.Container(settings=settings, boto_session=aws, twilio_http_client=twilio_http)
    # Every AWS call the app's functions make, for tests/infra/test_iam.py (before any client).
    iam.watch(app, aws, lambda: built.settings)
    bootstrap.use(built)
    yield built
    bootstrap.use(None)


@pytest.fixture
def client(container: bootstrap.Container) -> Iterator[Any]:
    from chalice.test import Client

    from app import app

    with Client(app) as test_client:
        yield test_client


def sign(
    path: str, form: Mapping[str, str], token: str = AUTH_TOKEN, base: str = PUBLIC_BASE_URL
) -> str:
    return RequestValidator(token).compute_signature(base + path, dict(form))


class TwilioPoster:
    """Posts forms to the app as Twilio would: form-encoded, signed for the public URL."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def post(
        self,
        path: str,
        form: Mapping[str, str],
        signature: str | None = "auto",
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        all_headers = {"Content-Type": FORM, **(headers or {})}
        if signature == "auto":
            signature = sign(path, form)
        if signature is not None:
            all_headers["X-Twilio-Signature"] = signature
        return self.client.http.post(path, headers=all_headers, body=urllib.parse.urlencode(form))


@pytest.fixture
def twilio(client: Any) -> TwilioPoster:
    return TwilioPoster(client)


@pytest.fixture
def cognito_pool(aws: Any, container: bootstrap.Container) -> Any:
    """moto's Cognito pool for staff, wired into the container's settings; moto's sign-in made as
    strict as Cognito's (ExplicitAuthFlows enforced, SRP passwords checked)."""
    from ops.cognito_local import ensure_pool
    from ops.standin.strict_cognito import install

    install()

    pool = ensure_pool(aws.client("cognito-idp"))
    container.settings = container.settings.with_values(
        **{"cognito_user_pool_id": pool.pool_id, "cognito_client_id": pool.client_id}
    )
    return pool


@pytest.fixture
def staff_token(aws: Any, cognito_pool: Any) -> Any:
    """`staff_token("sato", supervisor=False)` -> an ID token as the softphone sends it."""
    from ops.cognito_local import ensure_user, id_token

    cognito = aws.client("cognito-idp")

    def issue(agent_id: str, supervisor: bool = False) -> str:
        ensure_user(cognito, cognito_pool, agent_id, supervisor=supervisor)
        return str(id_token(cognito, cognito_pool, agent_id))

    return issue


@pytest.fixture(autouse=True)
def _app_logs_at_info() -> None:
    """Every test starts with the app's Logger at INFO: a test (or the stand-in) that quiets it
    must not hide log lines that later tests assert."""
    from chalicelib.platform.observability import logger

    logger.setLevel("INFO")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `after_suite` (the IAM check of every recorded call) run last."""
    items.sort(key=lambda item: item.get_closest_marker("after_suite") is not None)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "after_suite: runs after every other test of the run")
    config.addinivalue_line("markers", "both_engines: DynamoDB tests run on moto and dynalite")
