"""The stand-in's REST list filters, as twilio's client sends them (a list is repeated)."""

from __future__ import annotations

from twilio.rest import Client

from ops.standin.engine import CallerPlan
from ops.standin.rest import Rest
from ops.standin.server import InProcessTwilioHttp
from tests.standin.test_engine import AC, TOKEN, WS, available, build


def test_tasks_listed_by_assignment_status_as_the_library_asks() -> None:
    standin, _, _ = build({"+81311112222": "sato"})
    available(standin, "sato")
    standin.place_call(CallerPlan(caller="+81311112222", patience=600.0, talk_seconds=30.0))
    standin.clock.run(until=standin.now() + 60)  # answered, talked, now wrapping up
    client = Client(AC, TOKEN, http_client=InProcessTwilioHttp(Rest(standin)))
    tasks = client.taskrouter.v1.workspaces(WS).tasks
    [wrapping] = tasks.list(assignment_status=["wrapping"], page_size=1000)
    assert wrapping.assignment_status == "wrapping" and wrapping.date_updated is not None
    assert [t.sid for t in tasks.list(assignment_status=["assigned", "wrapping"])] == [wrapping.sid]
    assert tasks.list(assignment_status=["pending"]) == []
