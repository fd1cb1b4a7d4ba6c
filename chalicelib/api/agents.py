"""Agent presence over HTTP (the softphone, the board) and its background work.

- `/agents/me/*`: an agent signs in and out, sends heartbeats and picks a state. The agent is
  the token's user: nobody changes someone else's presence here.
- `GET /presence`: the board feed, served from a per-container snapshot (chalicelib.presence.board).
- The presence table's stream: history events and the TaskRouter mirror, off the request path.
- Schedules: the timer sweep (lost heartbeats, ended wrap-ups) and the TaskRouter reconciliation.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from chalice import Blueprint, Rate, Response
from chalice.app import DynamoDBEvent

from chalicelib import bootstrap
from chalicelib.api.auth import require_staff
from chalicelib.api.web import CORS, json_body, json_response, map_errors
from chalicelib.platform.errors import InvalidInput, StorageUnavailable
from chalicelib.platform.observability import count, logger, metrics

if TYPE_CHECKING:
    from chalicelib.presence.domain import Presence
    from chalicelib.presence.store import HistoryEvent

agents = Blueprint(__name__)

V = TypeVar("V", bound=Callable[..., Any])

# Chalice needs the stream ARN when the app is imported; deployed stages set it (see
# docs/presence.md, "Deploying"). The default only names the local table for `chalice local`,
# which does not run stream consumers.
PRESENCE_STREAM_ARN = os.environ.get(
    "PRESENCE_STREAM_ARN",
    "arn:aws:dynamodb:ap-northeast-1:000000000000:table/cc-local-presence/stream/local",
)


def presence_api(view: V) -> V:
    """Our errors as HTTP (400/404/409 via `map_errors`), and 503 when DynamoDB is down."""
    mapped = map_errors(view)

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return mapped(*args, **kwargs)
        except StorageUnavailable as exc:
            count("PresenceStorageFailed")
            logger.error("presence storage failed", problem=str(exc))
            return json_response(
                {"Code": "ServiceUnavailable", "Message": "try again in a moment"},
                status_code=503,
                headers={"Retry-After": "2", **CORS.get_access_control_headers()},
            )

    return wrapper  # type: ignore[return-value]


def background(handler: V) -> V:
    """Flush the metrics of a stream or schedule invocation (the http middleware cannot)."""

    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return handler(*args, **kwargs)
        finally:
            if metrics.metric_set:
                metrics.flush_metrics()

    return wrapper  # type: ignore[return-value]


def _view(presence: Presence | None, agent_id: str) -> dict[str, Any]:
    settings = bootstrap.container().settings
    body: dict[str, Any] = {
        "agent_id": agent_id,
        "state": presence.state.value if presence else "offline",
        "reason": presence.reason if presence else "",
        "since_ms": presence.since_ms if presence else 0,
        "version": presence.version if presence else 0,
        "heartbeat_interval_seconds": settings.presence.presence_heartbeat_interval_seconds,
    }
    if presence and presence.wrap_up_until_ms is not None:
        body["wrap_up_until_ms"] = presence.wrap_up_until_ms
    return body


@agents.route("/agents/me/session", methods=["POST"], cors=CORS)
@presence_api
def sign_in() -> Response:
    staff = require_staff(agents.current_request)
    presence = bootstrap.container().presence.sign_in(staff.agent_id)
    return json_response(_view(presence, staff.agent_id))


@agents.route("/agents/me/session", methods=["DELETE"], cors=CORS)
@presence_api
def sign_out() -> Response:
    staff = require_staff(agents.current_request)
    presence = bootstrap.container().presence.sign_out(staff.agent_id)
    return json_response(_view(presence, staff.agent_id))


@agents.route("/agents/me/heartbeat", methods=["POST"], cors=CORS)
@presence_api
def heartbeat() -> Response:
    staff = require_staff(agents.current_request)
    presence = bootstrap.container().presence.heartbeat(staff.agent_id)
    return json_response(_view(presence, staff.agent_id))


@agents.route("/agents/me/status", methods=["PUT"], cors=CORS)
@presence_api
def choose_status() -> Response:
    staff = require_staff(agents.current_request)
    state = json_body(agents.current_request).get("state")
    if not isinstance(state, str):
        raise InvalidInput('body must be JSON like {"state": "available"}')
    presence = bootstrap.container().presence.choose(staff.agent_id, state)
    return json_response(_view(presence, staff.agent_id))


@agents.route("/presence", methods=["GET"], cors=CORS)
@presence_api
def board() -> Response:
    from chalicelib.presence.board import is_cursor

    require_staff(agents.current_request)
    query = agents.current_request.query_params
    since = query.get("since") if query else None
    if since and not is_cursor(since):
        raise InvalidInput("since must be the version of an earlier board reply")
    reply = bootstrap.container().presence_board.snapshot().reply(since)
    if reply is None:
        headers: dict[str, str | list[str]] = dict(CORS.get_access_control_headers())
        return Response(body="", status_code=304, headers=headers)
    return Response(
        body=reply,
        status_code=200,
        headers={"Content-Type": "application/json", "Cache-Control": "no-store"},
    )


@agents.on_dynamodb_record(
    stream_arn=PRESENCE_STREAM_ARN,
    batch_size=500,
    maximum_batching_window_in_seconds=1,
    name="presence_stream",
)
@background
def presence_stream(event: DynamoDBEvent) -> None:
    """History, ended wrap-ups' tasks and the TaskRouter mirror for a batch of presence changes.

    Raising makes Lambda retry the batch; both steps are idempotent, so a retry only repeats
    work. The mirror never raises (its failures are left to the reconciliation), so a Twilio
    outage cannot hold the stream, and history, back.
    """
    handle_stream_records(
        [(r.event_name, r.old_image, r.new_image) for r in event], bootstrap.container()
    )


def handle_stream_records(
    records: list[tuple[str, dict[str, Any] | None, dict[str, Any] | None]],
    container: bootstrap.Container,
) -> None:
    from chalicelib.presence.store import history_from_stream, presence_from_stream

    history: list[HistoryEvent] = []
    moves: list[tuple[Presence | None, Presence]] = []
    for _name, old_image, new_image in records:
        entry = history_from_stream(old_image, new_image)
        if entry is not None:
            history.append(entry)
        new = presence_from_stream(new_image)
        # Records without history count too: a call ending during wrap-up starts another
        # task's wrap-up without changing state or reason (the mirror skips unchanged states).
        if new is not None:
            moves.append((presence_from_stream(old_image), new))
    if history:
        container.presence_history.record(history)
        count("PresenceHistoryRecorded", len(history))
    if moves:
        # Tasks first, so a worker set available again has its capacity back.
        ended = container.presence_mirror.complete_wrap_ups(moves)
        if ended.completed or ended.already_ended or ended.failed:
            logger.info(
                "wrap-up tasks completed at taskrouter",
                completed=ended.completed,
                already_ended=ended.already_ended,
                failed=ended.failed,
            )
        report = container.presence_mirror.mirror(moves)
        logger.info(
            "presence mirrored to taskrouter",
            updated=report.updated,
            failed=report.failed,
            skipped=report.skipped,
        )


@agents.schedule(Rate(1, unit=Rate.MINUTES), name="presence_sweep")
@background
def presence_sweep(event: Any) -> None:
    """Lost heartbeats and ended wrap-ups on a floor nobody is watching (the board does it too)."""
    changed = bootstrap.container().presence.sweep()
    logger.info("presence sweep done", changed=changed)


@agents.schedule(Rate(5, unit=Rate.MINUTES), name="presence_reconcile")
@background
def presence_reconcile(event: Any) -> None:
    container = bootstrap.container()
    drift = container.presence_mirror.reconcile(container.presence_store.scan, container.clock())
    logger.info("presence reconciled with taskrouter", drift=drift)
