"""Operator commands: `python -m ops <command> --help`."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def _tables(stage: str) -> tuple[object, object, str]:
    import boto3

    from ops.stage import settings_for

    settings = settings_for(stage)
    dynamodb = boto3.session.Session(region_name=settings.aws_region).resource("dynamodb")
    return dynamodb, settings, settings.telephony.default_country  # type: ignore[return-value]


def cmd_import_agents(args: argparse.Namespace) -> int:
    from ops.imports import BadFile, import_agents

    dynamodb, settings, country = _tables(args.stage)
    try:
        report = import_agents(
            Path(args.file),
            dynamodb.Table(settings.routing.agents_table),  # type: ignore[attr-defined]
            country,
        )
    except BadFile as exc:
        print(exc, file=sys.stderr)
        return 2
    print(report.summary("agents"))
    return 1 if report.rejected else 0


def cmd_import_customers(args: argparse.Namespace) -> int:
    from ops.imports import BadFile, import_customers

    dynamodb, settings, country = _tables(args.stage)
    try:
        report = import_customers(
            Path(args.file),
            dynamodb.Table(settings.routing.customers_table),  # type: ignore[attr-defined]
            dynamodb.Table(settings.routing.agents_table),  # type: ignore[attr-defined]
            country,
        )
    except BadFile as exc:
        print(exc, file=sys.stderr)
        return 2
    print(report.summary("customers"))
    return 1 if report.rejected else 0


def cmd_import_dnc(args: argparse.Namespace) -> int:
    from ops.do_not_call import import_do_not_call

    dynamodb, settings, country = _tables(args.stage)
    table = dynamodb.Table(settings.softphone.do_not_call_table)  # type: ignore[attr-defined]
    report = import_do_not_call(Path(args.file), table, country)
    print(report.summary("do-not-call numbers"))
    return 1 if report.rejected else 0


def cmd_local(args: argparse.Namespace) -> int:
    from ops.local import Ports, run_local_stack

    ports = Ports(
        api=args.api_port, moto=args.moto_port, web=args.web_port, standin=args.standin_port
    )
    return run_local_stack(ports, simulate=not args.no_sim)


def cmd_seed_local(args: argparse.Namespace) -> int:
    from ops.local import seed_local_stack

    print(seed_local_stack())
    return 0


def cmd_workflow(args: argparse.Namespace) -> int:
    from chalicelib.platform.settings import Settings
    from chalicelib.routing.workflow import workflow_json
    from ops.provision import DEMO_AGENTS, directory_teams, read_agents
    from ops.stage import ROOT, local_defaults

    # The committed file is generated from the committed local settings, never this shell's,
    # with the demo directory's teams on placeholder queue sids (provision puts the real ones).
    teams = directory_teams(read_agents(DEMO_AGENTS))
    settings = local_defaults() if args.stage == "local" else Settings.from_environment()
    text = workflow_json(settings, teams)
    if args.write:
        (ROOT / "infra" / "taskrouter-workflow.json").write_text(text)
    else:
        print(text, end="")
    return 0


def cmd_call(args: argparse.Namespace) -> int:
    from chalicelib.platform.settings import load_twilio_credentials
    from chalicelib.telephony import webhooks
    from ops.stage import settings_for
    from ops.webhooks import new_sid, post_signed

    settings = settings_for("local")
    token = load_twilio_credentials(settings).auth_token
    status, body = post_signed(
        settings.url(webhooks.INCOMING),
        {
            "CallSid": new_sid("CA"),
            "AccountSid": settings.telephony.twilio_account_sid,
            "From": args.number,
            "To": settings.telephony.company_number,
            "CallStatus": "ringing",
            "Direction": "inbound",
            "ApiVersion": "2010-04-01",
        },
        token,
    )
    print(status)
    print(body)
    return 0 if status == 200 else 1


def cmd_dev_token(args: argparse.Namespace) -> int:
    """Print an ID token for a demo user of the local stack (never for a deployed stage)."""
    import boto3

    from ops.cognito_local import TOTP_SECRETS, ensure_pool, ensure_user, id_token
    from ops.local import read_local_totp
    from ops.stage import settings_for

    if args.stage != "local":
        print("dev-token only works against the local stack", file=sys.stderr)
        return 2
    settings = settings_for("local")
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    if not endpoint.startswith(("http://127.0.0.1", "http://localhost")):
        print(f"refusing: AWS_ENDPOINT_URL={endpoint!r} is not the local stack", file=sys.stderr)
        return 2
    cognito = boto3.session.Session(region_name=settings.aws_region).client("cognito-idp")
    pool = ensure_pool(cognito)
    # The stack's demo secrets, so a supervisor's sign-in answers its TOTP challenge (and is not
    # enrolled again with a new secret).
    TOTP_SECRETS.update({(pool.pool_id, u): s for u, s in read_local_totp().items()})
    ensure_user(cognito, pool, args.agent_id, supervisor=args.supervisor)
    print(id_token(cognito, pool, args.agent_id))
    return 0


def cmd_totp(args: argparse.Namespace) -> int:
    """Print the current TOTP code of a demo user of the local stack (what an authenticator app
    holding the secret `ops local` printed would show)."""
    from ops.local import LOCAL_TOTP_FILE, read_local_totp
    from ops.totp import STEP_SECONDS, current_code

    secrets = read_local_totp()
    if args.user not in secrets:
        known = ", ".join(sorted(secrets)) or "none"
        print(
            f"no local TOTP secret for {args.user!r} in {LOCAL_TOTP_FILE} (known: {known}); "
            "start the stack with `make run` first",
            file=sys.stderr,
        )
        return 2
    import time

    left = STEP_SECONDS - int(time.time()) % STEP_SECONDS
    print(current_code(secrets[args.user]))
    print(f"valid for {left} more seconds", file=sys.stderr)
    return 0


def cmd_serve_web(args: argparse.Namespace) -> int:
    from ops.web_config import serve_web

    return serve_web(args.port, Path(args.config) if args.config else None, csp=args.csp)


def cmd_web_deploy(args: argparse.Namespace) -> int:
    from ops.web_deploy import run_deploy

    return run_deploy(args.stage)


def cmd_web_rollback(args: argparse.Namespace) -> int:
    from ops.web_deploy import run_rollback

    return run_rollback(args.stage, args.to)


def cmd_report(args: argparse.Namespace) -> int:
    from datetime import date

    from ops.report import Period, build, records_from_parquet, records_from_table, write_report
    from ops.stage import settings_for

    period = Period(date.fromisoformat(args.from_), date.fromisoformat(args.to))
    settings = settings_for(args.stage)
    if args.parquet:
        records = records_from_parquet(args.parquet, period)
    else:
        import boto3

        session = boto3.session.Session(region_name=settings.aws_region)
        table = session.resource("dynamodb").Table(settings.conversations.conversations_table)
        records = list(records_from_table(table, period))
    text, html_text, _ = build(records, period, settings.conversations.service_level_seconds * 1000)
    print(text)
    print(f"\nHTML report: {write_report(html_text, Path(args.out))}")
    return 0


def cmd_export_conversations(args: argparse.Namespace) -> int:
    from chalicelib.bootstrap import Container
    from ops.stage import settings_for

    container = Container(settings=settings_for(args.stage))
    key, rows = container.conversation_export.export_one_day(args.day)
    print(
        f"{rows} conversations -> s3://{settings_for(args.stage).conversations.analytics_bucket}/{key}"
    )
    return 0


def cmd_erase_customer(args: argparse.Namespace) -> int:
    import boto3

    from ops.erase import erase_customer
    from ops.stage import settings_for

    settings = settings_for(args.stage)
    session = boto3.session.Session(region_name=settings.aws_region)
    report = erase_customer(args.customer_id, session, settings)
    print("\n".join(report.lines()))
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from ops.simulate import run

    return run(args)


def cmd_bench(args: argparse.Namespace) -> int:
    import importlib

    module = importlib.import_module(f"ops.benchmarks.{args.name.replace('-', '_')}")
    return int(module.main(args.rest) or 0)


def cmd_provision(args: argparse.Namespace) -> int:
    from ops.provision import run_for_stage

    return run_for_stage(args.stage, args.number, args.yes, args.agents)


def cmd_sign_out(args: argparse.Namespace) -> int:
    from ops.rotation import run_for_stage

    return run_for_stage(args.stage, args.agent_id, args.lock, args.unlock)


def cmd_doctor(args: argparse.Namespace) -> int:
    from ops.doctor import run_for_stage

    return run_for_stage(args.stage)


def cmd_deploy(args: argparse.Namespace) -> int:
    from ops.deploy import run_for_stage

    return run_for_stage(args)


def cmd_rollback(args: argparse.Namespace) -> int:
    from ops.rollback import run_for_stage

    return run_for_stage(args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, func: object, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(func=func)
        return sub

    for name, func, what in (
        (
            "import-agents",
            cmd_import_agents,
            "agents CSV: agent_id,name,team,worker_sid[,team_caller_id]",
        ),
        (
            "import-customers",
            cmd_import_customers,
            "customers CSV: phone,customer_id,customer_name,owner_agent_id,team",
        ),
        ("import-dnc", cmd_import_dnc, "do-not-call list: a CSV of numbers (`phone` column)"),
    ):
        sub = command(name, func, f"Import the {what}.")
        sub.add_argument("file")
        sub.add_argument(
            "--stage",
            default="local",
            help="local (default: the moto server of `make run`) or a deployed stage",
        )
    sub = command("local", cmd_local, "Run the local stack (what `make run` does).")
    sub.add_argument("--api-port", type=int, default=8000)
    sub.add_argument("--moto-port", type=int, default=5000)
    sub.add_argument("--web-port", type=int, default=8080)
    sub.add_argument("--standin-port", type=int, default=8010)
    sub.add_argument(
        "--no-sim", action="store_true", help="no gentle day of simulated calls and agents"
    )
    command("seed-local", cmd_seed_local, "Create tables and demo data on a running moto server.")
    sub = command("workflow", cmd_workflow, "Print the TaskRouter workflow the app expects.")
    sub.add_argument("--write", action="store_true", help="write infra/taskrouter-workflow.json")
    sub.add_argument("--stage", default="local")
    sub = command("call", cmd_call, "Place a signed test call into the local stack.")
    sub.add_argument("number", help="the caller's number, e.g. +81336176468 or 03-3617-6468")
    sub = command("dev-token", cmd_dev_token, "Print a bearer token for a local demo user.")
    sub.add_argument("agent_id")
    sub.add_argument("--supervisor", action="store_true")
    sub.add_argument("--stage", default="local")
    sub = command("totp", cmd_totp, "Print the current MFA code of a local demo user.")
    sub.add_argument("--user", default="supervisor")
    sub = command("serve-web", cmd_serve_web, "Serve the static web pages on 127.0.0.1.")
    sub.add_argument("--port", type=int, default=8080)
    sub.add_argument("--config", help="file served as /config.js (ops local writes it)")
    sub.add_argument("--csp", default="", help="Content-Security-Policy header (ops/web_csp.py)")
    sub = command("web-deploy", cmd_web_deploy, "Upload web/ as a new release and make it live.")
    sub.add_argument("--stage", required=True)
    sub = command("web-rollback", cmd_web_rollback, "Make the previous web release live again.")
    sub.add_argument("--stage", required=True)
    sub.add_argument("--to", default="", help="a release id from releases/history.json")
    sub = command("report", cmd_report, "Conversation KPIs for a date range: terminal + HTML.")
    sub.add_argument("--from", dest="from_", required=True, help="first local day, YYYY-MM-DD")
    sub.add_argument("--to", required=True, help="last local day, YYYY-MM-DD (inclusive)")
    sub.add_argument("--out", default="var/report.html", help="where to write the HTML report")
    sub.add_argument("--parquet", help="read exported Parquet (a directory or glob) instead")
    sub.add_argument("--stage", default="local")
    sub = command("export-conversations", cmd_export_conversations, "Export one day to S3.")
    sub.add_argument("day", help="local day, YYYY-MM-DD")
    sub.add_argument("--stage", default="local")
    sub = command(
        "erase-customer", cmd_erase_customer, "Remove every trace of one customer; report it."
    )
    sub.add_argument("customer_id", help="the customer's id (customers table `customer_id`)")
    sub.add_argument("--stage", default="local")
    sub = command(
        "simulate",
        cmd_simulate,
        "Rehearse a day of calls with the Twilio stand-in and check it (see docs/rehearsal.md).",
    )
    from ops.simulate import add_arguments as simulate_arguments

    simulate_arguments(sub)
    sub = command("bench", cmd_bench, "Run a benchmark script and print its figures.")
    sub.add_argument("name")
    sub.add_argument("rest", nargs=argparse.REMAINDER)

    sub = command("provision", cmd_provision, "Create or correct a stage's Twilio setup.")
    sub.add_argument("--stage", required=True, help="a deployed stage: dev, prod")
    sub.add_argument(
        "--number",
        action="append",
        default=[],
        help="an E.164 number to point at the stage (repeatable; default: COMPANY_NUMBER)",
    )
    sub.add_argument(
        "--agents",
        help="agents CSV (agent_id,name,team): a TaskRouter worker per agent; writes "
        "<file>.workers.csv with their sids for import-agents",
    )
    sub.add_argument("--yes", action="store_true", help="apply without asking")
    sub = command("sign-out", cmd_sign_out, "Take an agent out of rotation on a deployed stage.")
    sub.add_argument("agent_id")
    sub.add_argument("--stage", required=True)
    sub.add_argument("--lock", action="store_true", help="also disable their sign-in")
    sub.add_argument("--unlock", action="store_true", help="give their sign-in back")
    sub = command("doctor", cmd_doctor, "Check a deployed stage end to end, in plain words.")
    sub.add_argument("--stage", required=True, help="a deployed stage: dev, prod")
    sub = command(
        "deploy",
        cmd_deploy,
        "Deploy a stage in one command, in order, resuming where a failed run stopped "
        "(docs/deploy.md).",
    )
    from ops.deploy import add_arguments as deploy_arguments

    deploy_arguments(sub)
    sub = command(
        "rollback",
        cmd_rollback,
        "Take a stage's functions and pages back to the previous release (docs/deploy.md).",
    )
    from ops.rollback import add_arguments as rollback_arguments

    rollback_arguments(sub)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
