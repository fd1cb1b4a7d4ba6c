"""`make run`: moto's server standing in for AWS, demo data, `chalice local`, the web pages.

moto's server is ours (ops/moto_server.py): it runs the escalation state machine, its Lambda
steps included, so every waiting call has its timeline as on AWS. Every child process binds to
127.0.0.1 and is stopped when this one is (Ctrl-C).
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalicelib.escalation.business_hours import around_the_clock
from chalicelib.telephony import webhooks
from ops.stage import ROOT, local_environment, settings_for
from ops.web_config import (
    local_config_path,
    local_web_config,
    parse_crm_origins,
    write_web_config,
)
from ops.web_csp import content_security_policy

API_PORT = 8000
MOTO_PORT = 5000
WEB_PORT = 8080
STANDIN_PORT = 8010
WEB_DIR = ROOT / "web"
LOG_DIR = ROOT / "var"
# Open around the clock unless BUSINESS_HOURS says otherwise: `make run` on a Saturday night
# should route a demo call to an agent, not play the closed message.
ALWAYS_OPEN = around_the_clock()
# What seeding the stack finds out and chalice local needs.
SEEDED = ("COGNITO_USER_POOL_ID", "COGNITO_CLIENT_ID", "ESCALATION_STATE_MACHINE_ARN")


def wait_for_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except urllib.error.HTTPError:
            return  # it answered: up
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if time.monotonic() > deadline:
                raise SystemExit(f"{url} did not come up within {timeout:.0f} s") from None
            time.sleep(0.2)


def _owned_customer_phone() -> str:
    from ops.demo import CUSTOMERS_CSV

    with CUSTOMERS_CSV.open(encoding="utf-8") as handle:
        return next(row["phone"] for row in csv.DictReader(handle) if row["owner_agent_id"])


def seed_local_stack() -> str:
    """Create the tables and bucket on the moto server and load the demo data."""
    import boto3

    from ops.cognito_local import DEMO_PASSWORD, DEMO_SUPERVISOR, TOTP_SECRETS, seed_staff
    from ops.demo import AGENTS_CSV, CUSTOMERS_CSV, demo_agents
    from ops.escalation import create_local_state_machine
    from ops.imports import import_agents, import_customers
    from ops.presence_seed import seed_demo_presence

    settings = settings_for("local")
    session = boto3.session.Session(region_name=settings.aws_region)
    from ops.infra import create_local_resources

    # DYNAMODB_ENGINE=dynalite (with AWS_ENDPOINT_URL_DYNAMODB): the tables live on dynalite,
    # every other service on moto (the presence benchmark, ops/benchmarks/presence_http.py).
    create_local_resources(session, settings, os.environ.get("DYNAMODB_ENGINE", "moto"))
    dynamodb = session.resource("dynamodb")
    agents_table = dynamodb.Table(settings.routing.agents_table)
    agents = import_agents(AGENTS_CSV, agents_table)
    customers = import_customers(
        CUSTOMERS_CSV,
        dynamodb.Table(settings.routing.customers_table),
        agents_table,
        settings.telephony.default_country,
    )
    available = seed_demo_presence(dynamodb.Table(settings.presence.presence_table), agents_table)
    pool = seed_staff(session.client("cognito-idp"), [a["agent_id"] for a in demo_agents()])
    totp = {
        user: secret for (pool_id, user), secret in TOTP_SECRETS.items() if pool_id == pool.pool_id
    }
    write_local_totp(totp)
    # chalice local and `ops dev-token` find the pool through these.
    os.environ["COGNITO_USER_POOL_ID"] = pool.pool_id
    os.environ["COGNITO_CLIENT_ID"] = pool.client_id
    # chalice local starts one execution per waiting call on it (EscalationSteps).
    machine = create_local_state_machine(session, settings)
    os.environ["ESCALATION_STATE_MACHINE_ARN"] = machine
    return "\n".join(
        [
            agents.summary("agents"),
            customers.summary("customers"),
            f"presence: {available} demo agents signed in and available",
            f"staff: user pool {pool.pool_id}; demo agents and '{DEMO_SUPERVISOR}' sign in "
            f"with password {DEMO_PASSWORD}",
            *(
                f"mfa: '{user}' has TOTP secret {secret} (add it to an authenticator app, or "
                f"`python -m ops totp --user {user}` prints the current code)"
                for user, secret in sorted(totp.items())
            ),
            f"escalation: state machine {machine}, one execution per waiting call",
        ]
    )


LOCAL_TOTP_FILE = LOG_DIR / "local_totp.json"


def write_local_totp(secrets: dict[str, str]) -> None:
    """The demo users' TOTP secrets of the stack just started, for `python -m ops totp`
    (a throwaway pool on moto: these secrets protect nothing outside this machine)."""
    import json

    LOCAL_TOTP_FILE.parent.mkdir(parents=True, exist_ok=True)
    LOCAL_TOTP_FILE.write_text(
        json.dumps(secrets, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )


def read_local_totp() -> dict[str, str]:
    """What `write_local_totp` wrote last (user name -> secret); empty before any `ops local`."""
    import json

    try:
        return dict(json.loads(LOCAL_TOTP_FILE.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return {}


def _stop_on_signals() -> None:
    """Ctrl-C, and SIGTERM from a supervisor, both stop every child. A shell that starts us in the
    background leaves SIGINT ignored, so it is set back explicitly."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)


@dataclass(frozen=True)
class Ports:
    api: int = API_PORT
    moto: int = MOTO_PORT
    web: int = WEB_PORT
    standin: int = STANDIN_PORT


def run_local_stack(ports: Ports = Ports(), simulate: bool = True) -> int:
    """Run the stack until Ctrl-C. With `simulate`, a gentle day of calls plays Twilio's side
    (unless TWILIO_API_BASE_URL says someone else already does, as the browser tests do)."""
    moto_url = f"http://127.0.0.1:{ports.moto}"
    api_url = f"http://127.0.0.1:{ports.api}"
    env = {
        **os.environ,
        **local_environment(),
        "AWS_ENDPOINT_URL": moto_url,
        "PUBLIC_BASE_URL": api_url,
        "WEB_ORIGIN": os.environ.get("WEB_ORIGIN", f"http://127.0.0.1:{ports.web}"),
        "BUSINESS_HOURS": os.environ.get("BUSINESS_HOURS") or ALWAYS_OPEN,
    }
    _stop_on_signals()
    simulate = simulate and not os.environ.get("TWILIO_API_BASE_URL")
    if simulate:
        env["TWILIO_API_BASE_URL"] = f"http://127.0.0.1:{ports.standin}"
    gentle_day = None
    # This process seeds the data and signs `ops call`: it must see the same stack.
    os.environ.update({k: v for k, v in env.items() if k.startswith("AWS_")})
    os.environ["PUBLIC_BASE_URL"] = api_url
    children: list[subprocess.Popen[Any]] = []
    web_config = local_config_path(ports.web, LOG_DIR)
    csp = ""

    def start(args: list[str], log: Path | None = None) -> None:
        output = log.open("ab") if log else None
        children.append(
            subprocess.Popen(
                args, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT if log else None
            )
        )

    try:
        LOG_DIR.mkdir(exist_ok=True)
        # moto's server with the escalation steps: they run with chalice local's environment.
        start(
            [sys.executable, "-m", "ops.moto_server", "--host=127.0.0.1", f"--port={ports.moto}"],
            LOG_DIR / "moto.log",
        )
        wait_for_http(f"{moto_url}/moto-api/")
        print(seed_local_stack(), flush=True)
        env.update({k: os.environ[k] for k in SEEDED})
        if WEB_DIR.is_dir():
            # This stack's own file, served as /config.js: a second stack (the browser tests,
            # on other ports) never rewrites the config of a page a developer has open.
            page_config = local_web_config(
                api_url,
                moto_url,
                env["AWS_DEFAULT_REGION"],
                env["COGNITO_USER_POOL_ID"],
                env["COGNITO_CLIENT_ID"],
                parse_crm_origins(os.environ.get("CRM_ORIGINS", "")),
            )
            write_web_config(web_config, page_config)
            # The pages are served under the policy their config gives (ops/web_csp.py).
            csp = content_security_policy(page_config)
        start(
            [
                sys.executable,
                "-m",
                "ops.chalice_local",  # chalice local with a listen backlog for many boards
                "local",
                "--host",
                "127.0.0.1",
                "--port",
                str(ports.api),
                "--stage",
                "local",
                "--no-autoreload",
            ]
        )
        if WEB_DIR.is_dir():
            start(
                [
                    sys.executable,
                    "-m",
                    "ops",
                    "serve-web",
                    "--port",
                    str(ports.web),
                    "--config",
                    str(web_config),
                    "--csp",
                    csp,
                ]
            )
        wait_for_http(f"{api_url}{webhooks.INCOMING}")
        if simulate:
            from ops.standin.gentle import start_gentle_day

            # The gentle day plays Lambda's event sources (the presence stream that mirrors
            # states to the stand-in's TaskRouter, the schedules) with the app in this process:
            # it needs the settings chalice local runs with, or no worker ever becomes available.
            os.environ.update(env)
            gentle_day = start_gentle_day(api_url, port=ports.standin)
        token_note = (
            "TWILIO_AUTH_TOKEN"
            if os.environ.get("TWILIO_AUTH_TOKEN")
            else "the default local token (README)"
        )
        web_line = (
            f"  web pages             http://127.0.0.1:{ports.web}/\n" if WEB_DIR.is_dir() else ""
        )
        print(
            "\nThe contact center is running locally:\n"
            f"  API (chalice local)   {api_url}\n"
            f"  AWS (moto server)     {moto_url} (runs the escalation timeline, steps too)\n"
            f"{web_line}"
            f"  moto's log            {LOG_DIR / 'moto.log'} (with the escalation steps' logs)\n"
            + (
                f"  Twilio stand-in       http://127.0.0.1:{ports.standin} (a gentle day of "
                "calls; --no-sim to stop it)\n"
                if simulate
                else ""
            )
            + f"Webhooks are signed with {token_note}. Business hours: "
            + ("BUSINESS_HOURS" if os.environ.get("BUSINESS_HOURS") else "open around the clock")
            + ". Try a call from a demo customer:\n"
            f"  .venv/bin/python -m ops call {_owned_customer_phone()}\n"
            "Ctrl-C stops everything.",
            flush=True,
        )
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        print("a local service stopped; shutting the rest down", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        if gentle_day is not None:
            gentle_day.stop()
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGINT)
        for child in children:
            try:
                child.wait(timeout=5)
            except subprocess.TimeoutExpired:
                child.kill()
        web_config.unlink(missing_ok=True)
