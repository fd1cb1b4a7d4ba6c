"""The contact center's HTTP API: wiring only. Routes live in blueprints under chalicelib/api."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalice import Chalice

from chalicelib.api.agents import agents
from chalicelib.api.conversations import conversations
from chalicelib.api.escalation import escalation
from chalicelib.api.followups import followups
from chalicelib.api.handshake import client_version_handshake
from chalicelib.api.limits import request_limits
from chalicelib.api.recordings import recordings
from chalicelib.api.softphone import softphone
from chalicelib.api.supervision import supervision
from chalicelib.api.taskrouter import taskrouter
from chalicelib.api.transcripts import transcripts
from chalicelib.api.voice import voice
from chalicelib.platform.observability import invocation, logger, record_response

app = Chalice(app_name="contact-center")
app.register_blueprint(voice)
app.register_blueprint(taskrouter)
app.register_blueprint(conversations)
app.register_blueprint(softphone)
app.register_blueprint(recordings)
app.register_blueprint(escalation)
app.register_blueprint(agents)
app.register_blueprint(followups)
app.register_blueprint(supervision)
app.register_blueprint(transcripts)


@app.middleware("all")
def trace_and_flush(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Every invocation (HTTP, queue, state-machine step): traced, its metrics flushed after."""
    with invocation(type(event).__name__):
        return get_response(event)


@app.middleware("http")
def observe(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Tag every log line with the route and count 5xx answers by route."""
    logger.append_keys(route=event.path)
    try:
        response = get_response(event)
        record_response(event.path, response.status_code)
        return response
    finally:
        logger.remove_keys(["route"])


# After `observe`, so refused requests are still logged and counted.
app.register_middleware(client_version_handshake, "http")

# Registered last, so it wraps the view most closely: refused requests are still logged and
# counted by `observe` and carry the handshake's version headers, and no view parses them.
app.register_middleware(request_limits, "http")
