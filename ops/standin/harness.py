"""Wiring a stand-in to an app: the app in this process on moto, or the running local stack.

`in_process_stack()` is what the checks and the end-to-end tests use: moto's in-process AWS
(`mock_aws`), the tables of infra/resources.json, the agents and customers imported through the
operators' own import code, the app's Container given a twilio HttpClient answered by the
stand-in, and webhooks handed to the Chalice app without a socket. `ops/standin/gentle.py`
drives the local stack of `make run` over HTTP and serves the REST API on a port for it.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.platform.settings import Settings, load_twilio_credentials
from ops.standin import fastmoto
from ops.standin.clock import Scheduler
from ops.standin.engine import Activity, Chaos, Standin, TwilioAccount
from ops.standin.lambdas import Writes
from ops.standin.population import Population
from ops.standin.rest import Rest
from ops.standin.stepfunctions import StateMachines, lambda_invoker
from ops.standin.transcribe import Transcription
from ops.standin.truth import GroundTruth

TOKYO = ZoneInfo("Asia/Tokyo")
ESCALATION_DEFINITION = Path(__file__).resolve().parents[2] / "infra" / "escalation.asl.json"
ESCALATION_MACHINE_ARN = (
    "arn:aws:states:ap-northeast-1:000000000000:stateMachine:contact-center-local-escalation"
)
FUNCTION_ARN = "arn:aws:lambda:ap-northeast-1:000000000000:function:"
IN_PROCESS_SKIPPED_JOBS = frozenset({"reconcile_conversation_prices"})


def app_routes(app: Any) -> frozenset[str]:
    """The paths the app serves: Twilio is only configured with callbacks that exist."""
    return frozenset(app.routes.keys())


def activities_for(settings: Settings) -> tuple[Activity, ...]:
    """The workspace's activities, with the sids the app is configured with."""

    def sid(field: str, default: str) -> str:
        return str(settings.flat().get(field) or default)

    return (
        Activity(sid("activity_sid_offline", "WA" + "0" * 31 + "1"), "Offline", False),
        Activity(sid("activity_sid_available", "WA" + "0" * 31 + "2"), "Available", True),
        Activity(sid("activity_sid_away", "WA" + "0" * 31 + "3"), "Away", False),
        Activity(sid("activity_sid_break", "WA" + "0" * 31 + "4"), "Break", False),
        Activity(sid("activity_sid_outbound", "WA" + "0" * 31 + "5"), "Outbound call", False),
        Activity(settings.routing.post_work_activity_sid, "Wrap-up", False),
    )


def account_for(
    settings: Settings, reservation_timeout: int = 120, teams: Iterable[str] = ()
) -> TwilioAccount:
    """Twilio as `python -m ops provision` leaves it for `teams` (the agents directory's): the
    everyone queue, one queue per team, and the workflow generated for them."""
    from chalicelib.routing.workflow import TeamQueues, queue_expressions, workflow_definition

    team_queues = TeamQueues.placeholders(sorted(set(teams)))
    credentials = load_twilio_credentials(settings)
    keys = {
        credentials.api_key_sid: credentials.api_key_secret,
        credentials.rest_api_key_sid: credentials.rest_api_key_secret,
    }
    return TwilioAccount(
        account_sid=settings.telephony.twilio_account_sid,
        auth_token=credentials.auth_token,
        api_keys={sid: secret for sid, secret in keys.items() if sid},
        workspace_sid=settings.telephony.twilio_workspace_sid,
        workflow_sid=settings.telephony.twilio_workflow_sid,
        workflow=workflow_definition(settings, team_queues),
        queues=queue_expressions(settings, team_queues),
        company_number=settings.telephony.company_number,
        activities=activities_for(settings),
        reservation_timeout=reservation_timeout,
    )


def day_start(date: str | None = None) -> float:
    """09:00 in Tokyo on `date` (YYYY-MM-DD); by default on the first working day from today.

    A rehearsal started on a Saturday or a holiday would otherwise rehearse a closed day: every
    call to voicemail and nobody offered anything, which checks nothing.
    """
    if date:
        day = datetime.strptime(date, "%Y-%m-%d").date()
    else:
        day = working_day_from(datetime.now(TOKYO).date())
    return datetime(day.year, day.month, day.day, 9, tzinfo=TOKYO).timestamp()


def working_day_from(first: date, business_hours: str = "") -> date:
    """The first day from `first` on that the company's calendar keeps open 09:00 to 18:00."""
    from chalicelib.escalation.business_hours import load_calendar

    calendar = load_calendar(business_hours)
    for offset in range(366):
        day = first + timedelta(days=offset)
        opens = datetime(day.year, day.month, day.day, 9, tzinfo=TOKYO)
        last_minute = opens + timedelta(hours=8, minutes=59)
        if calendar.is_open(None, opens) and calendar.is_open(None, last_minute):
            return day
    raise ValueError("the business calendar has no day open 09:00-18:00 within a year")


@dataclass
class Stack:
    standin: Standin
    rest: Rest
    settings: Settings
    population: Population
    truth: GroundTruth
    boto_session: Any = None
    container: Any = None
    lambdas: Any = None
    state_machines: StateMachines | None = None
    app_counters: Counter[str] | None = None
    transcription: Transcription | None = None

    def run(self, until: float | None = None) -> None:
        self.standin.clock.run(until=until)


def _write_csv(path: Path, rows: list[dict[str, str]], columns: tuple[str, ...]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns))
        writer.writeheader()
        writer.writerows(rows)
    return path


def load_directory(
    session: Any, settings: Settings, agents: list[dict[str, str]], customers: list[dict[str, str]]
) -> None:
    """Import agents and customers with the operators' import code (same validation)."""
    from ops.imports import AGENT_COLUMNS, CUSTOMER_COLUMNS, import_agents, import_customers

    dynamodb = session.resource("dynamodb")
    with tempfile.TemporaryDirectory() as tmp:
        agents_csv = _write_csv(Path(tmp) / "agents.csv", agents, AGENT_COLUMNS)
        customers_csv = _write_csv(Path(tmp) / "customers.csv", customers, CUSTOMER_COLUMNS)
        import_agents(agents_csv, dynamodb.Table(settings.routing.agents_table))
        import_customers(
            customers_csv,
            dynamodb.Table(settings.routing.customers_table),
            dynamodb.Table(settings.routing.agents_table),
            settings.telephony.default_country,
        )


def add_workers(standin: Standin, agents: list[dict[str, str]], activity: str = "Offline") -> None:
    for agent in agents:
        standin.add_worker(
            agent["worker_sid"],
            agent["agent_id"],
            {
                "agent_id": agent["agent_id"],
                "team": agent["team"],
                "contact_uri": f"client:{agent['agent_id']}",
            },
            activity,
        )


def local_settings(**overrides: Any) -> Settings:
    from ops.stage import stage_environment

    env = {k.lower(): v for k, v in stage_environment("local").items()}
    fields = {k: v for k, v in env.items() if k in Settings.field_names()}
    fields.update(overrides)
    return Settings.from_values(fields)


@contextmanager
def app_logs_quieted() -> Iterator[None]:
    """quiet_app_logs() for a while: tests in the same process get their logs back after."""
    from chalicelib.platform.observability import logger

    saved_env = {
        k: os.environ.get(k) for k in ("POWERTOOLS_METRICS_DISABLED", "POWERTOOLS_LOG_LEVEL")
    }
    saved_level = logger.log_level
    quiet_app_logs()
    try:
        yield
    finally:
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        logger.setLevel(saved_level)


@contextmanager
def app_counters() -> Iterator[Counter[str]]:
    """Tally the app's own metrics (`count`, `timing_ms`) while a run lasts.

    The checks compare what the app counted (e.g. EscalationTimelineFailed) with what the
    stand-in did; the metrics still go to Powertools as in production unless a quiet run
    disabled them.
    """
    from chalicelib.platform.observability import metrics

    tally: Counter[str] = Counter()
    original = metrics.add_metric

    def add_metric(name: str, unit: Any, value: float, *args: Any, **kwargs: Any) -> None:
        tally[name] += int(value) if str(getattr(unit, "value", unit)) == "Count" else 0
        # Disabled Powertools metrics still print a set that reaches 100 values in one
        # invocation (a 300-agent stream batch): a quiet run does not hand them over.
        if os.environ.get("POWERTOOLS_METRICS_DISABLED") != "true":
            original(name, unit, value, *args, **kwargs)

    metrics.add_metric = add_metric  # type: ignore[method-assign]
    try:
        yield tally
    finally:
        del metrics.add_metric


def quiet_app_logs() -> None:
    """Powertools prints a JSON line per log and an EMF blob per request: thousands a minute."""
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    from chalicelib.platform.observability import logger

    logger.setLevel(os.environ.get("POWERTOOLS_LOG_LEVEL", "ERROR"))


@contextmanager
def in_process_stack(
    agents: list[dict[str, str]],
    customers: list[dict[str, str]],
    population: Population,
    *,
    seed: int = 0,
    start: float | None = None,
    chaos: Chaos | None = None,
    truth_path: Path | None = None,
    settings_overrides: dict[str, Any] | None = None,
    boto_hooks: Any = None,
    stepfunctions_down: tuple[float, float] | None = None,
    pace: float = 0.0,
    media_seconds: float | None = None,
) -> Iterator[Stack]:
    """The app, moto and the stand-in in this process, on virtual time: as fast as it can, or
    no faster than `pace` virtual seconds per real second (the same day either way).
    `media_seconds` caps the audio served per recording (see `Rest`)."""
    import boto3
    from moto import mock_aws

    from chalicelib import bootstrap
    from ops.infra import create_local_resources
    from ops.standin.server import InProcessTwilioHttp
    from ops.standin.transport import InProcessTransport

    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        os.environ.pop(name, None)
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",  # noqa: S106 - moto
        AWS_DEFAULT_REGION="ap-northeast-1",
        POWERTOOLS_TRACE_DISABLED="1",
    )
    from app import app

    routes = app_routes(app)
    with app_logs_quieted(), mock_aws(), fastmoto.patched(), app_counters() as counters:
        session = boto3.session.Session(region_name="ap-northeast-1")
        # moto has no BatchDetectSentiment: the live transcripts' scorer gets the stand-in's.
        from ops.standin.comprehend import play_batch_detect_sentiment

        play_batch_detect_sentiment()
        clock = Scheduler(start=start if start is not None else day_start(), pace=pace)
        # Hooks go on the session before any client exists: clients copy its handlers.
        writes = Writes()
        writes.install(session)
        down = (
            (clock.now() + stepfunctions_down[0], clock.now() + stepfunctions_down[1])
            if stepfunctions_down
            else None
        )
        machines = StateMachines(
            clock,
            lambda_invoker(app),
            unavailable=(lambda now: down[0] <= now < down[1]) if down else None,
        )
        machines.install(session)
        # Transcribe's side: the stand-in and the Lambda runtime it reports to come later.
        transcription = Transcription(
            clock,
            session,
            speakers=lambda sid: standin.recording_parties(sid),
            deliver=lambda event: lambdas.put_event(event),
        )
        transcription.install()
        # Recording copies wait for late callbacks on a real-time SQS delay; virtual time cannot.
        # Heartbeats every 30 virtual minutes keep a 300-agent day affordable in one process.
        overrides: dict[str, Any] = {
            "recording_copy_delay_seconds": 0,
            "presence_heartbeat_timeout_seconds": 3600,
            "escalation_state_machine_arn": ESCALATION_MACHINE_ARN,
            # As deployed: records are rebuilt by the events stream, played by LambdaRuntime
            # (the local stage rebuilds inline only because `chalice local` has no streams).
            "conversation_rebuild_inline": False,
            # Likewise live transcripts are scored by their table's stream (transcript_stream).
            "live_transcript_score_inline": False,
            # The strictest recording setting: Twilio's copy is deleted once S3's is verified.
            "recording_twilio_copy": "delete",
        }
        overrides.update(settings_overrides or {})
        tokens: dict[str, str] = {}
        renew: Callable[[str], str] | None = None
        if "/agents/me/session" in routes:
            from ops.cognito_local import ensure_pool, ensure_user, id_token

            cognito = session.client("cognito-idp")
            pool = ensure_pool(cognito)
            for agent in agents:
                ensure_user(cognito, pool, agent["agent_id"])
                tokens[agent["agent_id"]] = id_token(cognito, pool, agent["agent_id"])

            def renew(agent_id: str) -> str:
                return id_token(cognito, pool, agent_id)

            overrides.update(cognito_user_pool_id=pool.pool_id, cognito_client_id=pool.client_id)
        settings = local_settings(public_base_url="https://cc.rehearsal.test/api", **overrides)
        create_local_resources(session, settings)
        load_directory(session, settings, agents, customers)
        # Faults are for the day, not its setup; the app's clients are made after this.
        if boto_hooks is not None:
            boto_hooks(session)
        # Each function's AWS calls, for the IAM check (ops/standin/iam.py), when one records.
        from ops.standin import iam

        iam.watch(app, session, lambda: settings)

        if settings.escalation.escalation_state_machine_arn:
            machines.create_state_machine(
                settings.escalation.escalation_state_machine_arn,
                ESCALATION_DEFINITION.read_text(encoding="utf-8"),
                {
                    "EscalationEnterStageArn": FUNCTION_ARN + "escalation_enter_stage",
                    "EscalationFallbackArn": FUNCTION_ARN + "escalation_fallback",
                },
            )
        truth = GroundTruth(truth_path)
        transport = InProcessTransport(
            app, settings.public_base_url, load_twilio_credentials(settings).auth_token
        )
        standin = Standin(
            account_for(settings, teams=[agent["team"] for agent in agents]),
            transport,
            clock,
            population,
            truth,
            routes,
            chaos=chaos,
            seed=seed,
        )
        population.standin = standin
        rest = Rest(standin, media_seconds)
        container = bootstrap.Container(
            settings=settings, boto_session=session, twilio_http_client=InProcessTwilioHttp(rest)
        )
        # The app runs on the stand-in's virtual clock (its timers, watermarks, KPIs).
        container.clock = lambda: int(clock.now() * 1000)
        bootstrap.use(container)
        add_workers(standin, agents)
        if tokens:
            from ops.standin.population import AgentApi

            population.api = AgentApi(transport, tokens, after=standin.clock.after, renew=renew)
            population.heartbeats(1800.0)
        from ops.standin.lambdas import LambdaRuntime, deployed_queues

        # The price reconciliation paces itself with real sleeps (Twilio's rate limit): on a
        # virtual clock it would stall the day, so in-process runs leave it out.
        lambdas = LambdaRuntime(
            app,
            session,
            clock,
            skip=IN_PROCESS_SKIPPED_JOBS,
            writes=writes,
            queues=deployed_queues(settings),
        )
        lambdas.start()
        try:
            yield Stack(
                standin,
                rest,
                settings,
                population,
                truth,
                session,
                container,
                lambdas,
                machines,
                counters,
                transcription,
            )
        finally:
            truth.close()
            bootstrap.use(None)


def tokyo(epoch: float) -> str:
    return (datetime.fromtimestamp(epoch, TOKYO)).strftime("%H:%M:%S")


def hours(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)
