"""The stand-in's REST list filters, as twilio's client sends them (a list is repeated)."""

from __future__ import annotations

import pytest
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


def test_a_task_update_at_a_stale_version_is_refused_as_twilio_refuses_it() -> None:
    """ETag on fetch, If-Match on update: the escalation steps' conditional write is checked
    against the stand-in as it would be against TaskRouter (412, code 20412)."""
    from chalicelib.platform.errors import TaskChanged
    from chalicelib.platform.settings import TwilioCredentials
    from chalicelib.telephony.rest import TwilioGateway

    standin, _, _ = build({"+81311112222": "sato"})
    standin.place_call(CallerPlan(caller="+81311112222", patience=600.0, talk_seconds=30.0))
    standin.clock.run(until=standin.now() + 1)
    [task_sid] = list(standin.tasks)
    http = InProcessTwilioHttp(Rest(standin))
    gateway = TwilioGateway(TwilioCredentials(account_sid=AC, auth_token=TOKEN), WS, http)
    read = gateway.fetch_task(task_sid)
    assert read.version and read.status == "pending"

    standin.update_task_attributes(task_sid, {**read.attributes, "stage": "team"})  # someone else
    with pytest.raises(TaskChanged):
        gateway.update_task_if_unchanged(task_sid, {"stage": "owner"}, read.version)
    assert standin.tasks[task_sid].attributes["stage"] == "team"

    fresh = gateway.fetch_task(task_sid)
    assert fresh.version != read.version
    gateway.update_task_if_unchanged(task_sid, {"stage": "everyone"}, fresh.version)
    assert standin.tasks[task_sid].attributes["stage"] == "everyone"
