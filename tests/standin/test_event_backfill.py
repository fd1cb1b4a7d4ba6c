"""TaskRouter's Events resource on the stand-in, read back by the app's gateway.

TaskRouter logs every event for 30 days as the Event resource; ListEvent takes StartDate and
EndDate (ISO 8601) or Minutes (default 15) and pages by `next_page_url`
(https://www.twilio.com/docs/taskrouter/api/event; twilio_taskrouter_v1.json, ListEvent).
"""

from __future__ import annotations

import base64
import json

from twilio.rest import Client

from chalicelib.platform.settings import TwilioCredentials
from chalicelib.telephony.rest import TwilioGateway
from ops.standin.engine import CallerPlan
from ops.standin.rest import Rest
from ops.standin.server import InProcessTwilioHttp
from tests.openapi.test_standin_openapi import exchange_problems
from tests.standin.test_engine import AC, TOKEN, WS, available, build


def _answered_call() -> object:
    standin, _, _ = build({"+81311112222": "sato"})
    available(standin, "sato")
    standin.place_call(CallerPlan(caller="+81311112222", patience=600.0, talk_seconds=30.0))
    standin.clock.run(until=standin.now() + 120)
    return standin


def test_the_gateway_reads_back_every_callback_form_of_a_window() -> None:
    standin = _answered_call()
    log = standin.taskrouter.event_log  # type: ignore[attr-defined]
    assert {"task.created", "reservation.created", "reservation.accepted"} <= {
        e["EventType"] for e in log
    }
    gateway = TwilioGateway(
        TwilioCredentials(account_sid=AC, auth_token=TOKEN), WS, InProcessTwilioHttp(Rest(standin))
    )
    first = int(log[0]["TimestampMs"])
    now = int(standin.now() * 1000)  # type: ignore[attr-defined]
    read = gateway.taskrouter_events(first, now)
    # The Event resource carries the callback's fields (common ones on top, the event's own in
    # event_data): mapped back, each form is the one TaskRouter posted.
    assert sorted(read, key=lambda f: f["Sid"]) == sorted(log, key=lambda f: f["Sid"])
    later = [e for e in log if int(e["TimestampMs"]) >= first + 5000]
    assert 0 < len(later) < len(log)
    assert {f["Sid"] for f in gateway.taskrouter_events(first + 5000, now)} == {
        e["Sid"] for e in later
    }


def test_events_are_paged_by_next_page_url_and_minutes_defaults_to_15() -> None:
    standin = _answered_call()
    log = standin.taskrouter.event_log  # type: ignore[attr-defined]
    rest = Rest(standin)
    rest.exchanges = []
    client = Client(AC, TOKEN, http_client=InProcessTwilioHttp(rest))
    events = client.taskrouter.v1.workspaces(WS).events
    paged = events.list(page_size=2)  # the last 15 minutes, two a page
    assert len(log) > 2 and [e.sid for e in paged] == [e["Sid"] for e in log]
    later = standin.now() + 16 * 60  # type: ignore[attr-defined]
    standin.clock.at(later, lambda: None)  # type: ignore[attr-defined]
    standin.clock.run(until=later)  # type: ignore[attr-defined]
    now_ms = int(standin.now() * 1000)  # type: ignore[attr-defined]
    old = [e["Sid"] for e in log if int(e["TimestampMs"]) < now_ms - 15 * 60_000]
    recent = [e["Sid"] for e in log if int(e["TimestampMs"]) >= now_ms - 15 * 60_000]
    assert old and [e.sid for e in events.list(page_size=2)] == recent
    assert [e.sid for e in events.list(minutes=30)] == old + recent
    accepted = events.list(event_type="reservation.accepted", minutes=30)
    assert [e.event_type for e in accepted] == ["reservation.accepted"]
    assert accepted[0].event_data["worker_name"] and accepted[0].resource_type == "reservation"
    # Every page, next_page_url included, is a ListEvent reply of Twilio's description.
    assert len(rest.exchanges) > 3
    assert [p for e in rest.exchanges for p in exchange_problems(e)] == []


def test_a_bad_start_date_is_refused_as_a_bad_request() -> None:
    standin = _answered_call()
    reply = Rest(standin).handle(
        "GET",
        f"/taskrouter/v1/Workspaces/{WS}/Events",
        {"StartDate": "yesterday"},
        {},
        "Basic " + base64.b64encode(f"{AC}:{TOKEN}".encode()).decode(),
    )
    assert reply.status == 400 and json.loads(reply.body)["code"] == 20001
