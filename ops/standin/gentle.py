"""A gentle day for `make run`: a few agents and a call every half minute, in real time.

The local stack (`chalice local` + moto server) gets its Twilio side from here: the stand-in's
REST API on 127.0.0.1:<port> (the app must run with TWILIO_API_BASE_URL pointing at it), demo
agents signing in through the agent API, callers from the demo customers, and AWS Lambda's
event sources (presence stream, schedules, queues) played against the moto server, since
`chalice local` only serves HTTP. Everything runs in one daemon thread; `stop()` ends it.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from typing import Any

STANDIN_PORT = 8010
GENTLE_MEDIA_SECONDS = 30.0


@dataclass
class GentleDay:
    thread: threading.Thread
    scheduler: Any
    server: Any

    def stop(self) -> None:
        self.scheduler.stop()
        self.server.stop()


def start_gentle_day(
    api_url: str,
    port: int = STANDIN_PORT,
    agents: int = 12,
    seconds_between_calls: float = 30.0,
    seed: int | None = None,
) -> GentleDay:
    """Start the gentle day against the running app at `api_url` (its PUBLIC_BASE_URL)."""
    import boto3

    from app import app
    from chalicelib.platform.settings import load_twilio_credentials
    from ops.cognito_local import ensure_pool, ensure_user, id_token
    from ops.demo import demo_agents, demo_customers
    from ops.stage import settings_for
    from ops.standin.clock import Scheduler
    from ops.standin.engine import Standin
    from ops.standin.harness import account_for, add_workers, app_routes, quiet_app_logs
    from ops.standin.lambdas import LambdaRuntime, deployed_queues
    from ops.standin.population import AgentApi, Population, agent_profiles, caller_plans
    from ops.standin.rest import Rest
    from ops.standin.server import RestServer
    from ops.standin.transport import HttpTransport
    from ops.standin.truth import GroundTruth

    quiet_app_logs()
    seed = seed if seed is not None else random.SystemRandom().randint(1, 999_999)
    settings = settings_for("local")
    floor = demo_agents()[:agents]
    customers = demo_customers(demo_agents())
    transport = HttpTransport(api_url, load_twilio_credentials(settings).auth_token)
    clock = Scheduler(start=time.time(), speed=1.0)
    population = Population(agent_profiles(floor, seed, 8 * 3600.0), seed)
    routes = app_routes(app)
    standin = Standin(
        account_for(settings, teams=[agent["team"] for agent in demo_agents()]),
        transport,
        clock,
        population,
        GroundTruth(),
        routes,
        seed=seed,
    )
    population.standin = standin
    # Recordings are copied into the moto server's memory for as long as `make run` lasts: at
    # most 30 s of audio each (~1 MB) keeps a day of them at ~1 GB instead of ~6 GB.
    server = RestServer(Rest(standin, media_seconds=GENTLE_MEDIA_SECONDS), port).start()
    add_workers(standin, floor)
    session = boto3.session.Session(region_name=settings.aws_region)
    if "/agents/me/session" in routes and settings.auth.cognito_user_pool_id:
        cognito = session.client("cognito-idp")
        pool = ensure_pool(cognito)
        tokens = {}
        for agent in floor:
            ensure_user(cognito, pool, agent["agent_id"])
            tokens[agent["agent_id"]] = id_token(cognito, pool, agent["agent_id"])
        population.api = AgentApi(
            transport, tokens, renew=lambda agent_id: id_token(cognito, pool, agent_id)
        )
        population.heartbeats(settings.presence.presence_heartbeat_interval_seconds)
    # chalice local rebuilds conversation records inline (CONVERSATION_REBUILD_INLINE): playing
    # the events stream too would only repeat that work, by scanning the table every second.
    skip = (
        frozenset({"conversation_stream"})
        if settings.conversations.conversation_rebuild_inline
        else None
    )
    LambdaRuntime(
        app,
        session,
        clock,
        stream_poll_seconds=1.0,
        skip=skip or frozenset(),
        queues=deployed_queues(settings),
    ).start()
    population.schedule_day(standin, clock.now())
    calls = int(8 * 3600 / seconds_between_calls)
    for when, plan in caller_plans(customers, calls, seed, clock.now()):
        clock.at(when, standin.place_call, plan)
    thread = threading.Thread(
        target=clock.run, kwargs={"idle_exit": False}, name="gentle-day", daemon=True
    )
    thread.start()
    print(f"gentle day: {agents} agents, a call every ~{seconds_between_calls:.0f} s, seed {seed}")
    return GentleDay(thread, clock, server)
