"""Transfers as Twilio carries them out, held against Twilio's documented fields.

A scripted app answers like ours (conference instruction for a caller, `call` instruction for a
transfer task, `<Dial><Conference participantLabel>` for the colleague's leg); the app's REST
requests are made with twilio's own client, so paths and parameter names are the library's.
The whole app in-process is in test_rehearsal_e2e.py (the transfer scenario, cold and warm).
"""

from __future__ import annotations

import json
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode

from twilio.rest import Client
from twilio.twiml.voice_response import VoiceResponse

from ops.standin.engine import CallerPlan, Standin
from ops.standin.rest import Rest
from ops.standin.server import InProcessTwilioHttp
from ops.standin.transport import Reply
from ops.standin.truth import TransferTruth
from tests.standin import documented
from tests.standin.test_engine import AC, BASE, TOKEN, WS, WW, FakeApp, available, build

JOIN = "/twilio/voice/transfer/join"
LEFT = "/twilio/voice/task-leg/ended"


class TransferringApp(FakeApp):
    """FakeApp plus the transfer side of our app: `call` instruction, the join TwiML, and the
    join's Dial action wrapping the transfer task up."""

    client: Client | None = None

    def post(self, url: str, form: Any) -> Reply:
        path = url.removeprefix(BASE).split("?")[0]
        if path == "/twilio/taskrouter/assignment":
            task = json.loads(form["TaskAttributes"])
            if task.get("type") == "transfer":
                self.requests.append((path, dict(form)))
                worker = json.loads(form["WorkerAttributes"])
                query = urlencode(
                    {
                        "conference": task["conference"]["name"],
                        "agent_id": "x",
                        "task": form["TaskSid"],
                    }
                )
                instruction = {
                    "instruction": "call",
                    "accept": True,
                    "to": f"client:{worker['agent_id']}",
                    "from": task["caller"],
                    "url": f"{BASE}{JOIN}?{query}",
                    "status_callback_url": BASE + "/twilio/voice/status",
                    "timeout": 20,
                }
                return Reply(200, json.dumps(instruction), 1.0)
            # Our app's conference instruction also subscribes to hold and mute.
            reply = super().post(url, form)
            instruction = json.loads(reply.body)
            instruction["conference_status_callback_event"] = "start,end,join,leave,mute,hold"
            return Reply(200, json.dumps(instruction), 1.0)
        if path == JOIN:
            self.requests.append((path, dict(form)))
            name = url.split("conference=")[1].split("&")[0]
            task_sid = url.split("task=")[1].split("&")[0]
            agent = form["To"].removeprefix("client:")
            response = VoiceResponse()
            response.dial(action=f"{BASE}{LEFT}?task={task_sid}").conference(
                name,
                participant_label=f"agent:{agent}",
                end_conference_on_exit=False,
                status_callback=BASE + "/twilio/conference/status",
                status_callback_event="join leave hold mute",
            )
            return Reply(200, str(response), 1.0)
        if path == LEFT and self.client is not None:
            # Our app wraps the colleague's transfer task when their leg leaves.
            self.requests.append((path, dict(form)))
            task_sid = url.split("task=")[1].split("&")[0]
            self.client.taskrouter.v1.workspaces(WS).tasks(task_sid).update(
                assignment_status="wrapping", reason="transfer leg ended"
            )
            return Reply(200, str(VoiceResponse().hangup()), 1.0)
        return super().post(url, form)


def setup() -> tuple[Standin, TransferringApp, Client, str]:
    standin, _, _ = build({"+81311112222": "sato"})
    app = TransferringApp({"+81311112222": "sato"})
    standin.transport = app
    available(standin, "sato", "ito")
    sid = standin.place_call(CallerPlan(caller="+81311112222", patience=600.0, talk_seconds=120.0))
    standin.clock.run(until=standin.now() + 30)
    client = Client(AC, TOKEN, http_client=InProcessTwilioHttp(Rest(standin)))
    app.client = client
    return standin, app, client, sid


def start_transfer(standin: Standin, client: Client, call_sid: str, mode: str) -> str:
    """What chalicelib.softphone.calls.start_transfer asks of Twilio, through twilio's client."""
    workspace = client.taskrouter.v1.workspaces(WS)
    reservations = workspace.workers(standin.worker_by_agent("sato").sid).reservations.list(
        reservation_status="accepted"
    )
    task = workspace.tasks(reservations[0].task_sid).fetch()
    attributes = json.loads(task.attributes)
    conference_sid = attributes["conference"]["sid"]
    conference = client.conferences(conference_sid)
    conference.participants(attributes["conference"]["participants"]["customer"]).update(
        hold=True, hold_url="https://example.test/hold.mp3"
    )
    name = conference.fetch().friendly_name
    transfer = workspace.tasks.create(
        workflow_sid=WW,
        task_channel="voice",
        priority=20,
        timeout=45,
        attributes=json.dumps(
            {
                "type": "transfer",
                "call_sid": call_sid,
                "caller": "+81311112222",
                "stage": "owner",
                "owner_agent_id": "ito",
                "team": "a",
                "conference": {"sid": conference_sid, "name": name},
            }
        ),
    )
    standin.transfer_requested(
        call_sid,
        TransferTruth(
            from_agent_id="sato",
            mode=mode,
            requested_at=standin.now(),
            to_agent_id="ito",
            task_sid=transfer.sid,
        ),
        consult_seconds=10.0,
        remaining_seconds=30.0,
    )
    if mode == "cold":
        worker_leg = attributes["conference"]["participants"]["worker"]
        assert conference.participants(worker_leg).delete()
        workspace.tasks(task.sid).update(assignment_status="completed", reason="transferred")
    return conference_sid


def test_conference_instruction_writes_the_conference_into_the_task() -> None:
    standin, _, client, sid = setup()
    task_sid = standin.calls[sid].task_sid
    task = client.taskrouter.v1.workspaces(WS).tasks(task_sid).fetch()
    attributes = json.loads(task.attributes)
    conference = attributes["conference"]
    assert conference["sid"].startswith("CF")
    assert conference["participants"]["customer"] == sid
    assert attributes["worker_call_sid"] == conference["participants"]["worker"]


def test_cold_transfer_rings_the_colleague_with_the_call_instruction_and_joins_by_label() -> None:
    standin, app, client, sid = setup()
    conference_sid = start_transfer(standin, client, sid, "cold")
    standin.clock.run(until=standin.now() + 15)
    # The colleague's leg fetched the join URL with Twilio's voice request parameters.
    join = app.of(JOIN)
    assert len(join) == 1
    assert documented.VOICE_REQUEST_REQUIRED <= set(join[0]) <= documented.VOICE_REQUEST
    assert join[0]["Direction"] == "outbound-api" and join[0]["To"] == "client:ito"
    assert "ParentCallSid" not in join[0], "a leg TaskRouter places has no parent"
    # Participants by label, as the colleague's softphone controls the call.
    participant = client.conferences(conference_sid).participants("agent:ito").fetch()
    assert participant.label == "agent:ito" and participant.status == "connected"
    customer = client.conferences(conference_sid).participants(sid).update(hold=False)
    assert customer.hold is False
    standin.clock.run()
    truth = standin.truth.get(sid)
    assert truth is not None and truth.outcome == "answered" and truth.answered_by == "sato"
    transfer = truth.transfers[0]
    assert (transfer.answered_by, transfer.outcome, transfer.offered_to) == (
        "ito",
        "joined",
        ["ito"],
    )
    assert transfer.from_left_at is not None and transfer.from_left_at <= transfer.joined_at
    assert truth.transferred_to == "ito"
    assert truth.hold_seconds > 0
    assert truth.talk_seconds is not None
    assert abs(truth.ended_at - truth.answered_at - truth.hold_seconds - truth.talk_seconds) < 0.01


def test_transfer_callbacks_use_documented_fields_and_the_hold_pair() -> None:
    standin, app, client, sid = setup()
    conference_sid = start_transfer(standin, client, sid, "warm")
    standin.clock.run(until=standin.now() + 15)
    client.conferences(conference_sid).participants(sid).update(hold=False)
    standin.clock.run()
    events = app.of("/twilio/conference/status", ConferenceSid=conference_sid)
    kinds = [e["StatusCallbackEvent"] for e in events]
    assert "participant-hold" in kinds and "participant-unhold" in kinds
    for form in events:
        assert set(form) <= documented.CONFERENCE_CALLBACK
        assert form["StatusCallbackEvent"] in documented.CONFERENCE_EVENTS
        parsedate_to_datetime(form["Timestamp"])
    labels = {
        e.get("ParticipantLabel") for e in events if e["StatusCallbackEvent"] == "participant-join"
    }
    assert "agent:ito" in labels
    numbers = [int(e["SequenceNumber"]) for e in events]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    # The colleague's leg reports only `completed` to the call instruction's status URL.
    legs = app.of("/twilio/voice/status", To="client:ito")
    assert [f["CallStatus"] for f in legs] == ["completed"]
    assert documented.STATUS_CALLBACK_REQUIRED <= set(legs[0]) <= documented.STATUS_CALLBACK
    # Warm: the first agent stayed until the end (nobody asked them to leave here).
    truth = standin.truth.get(sid)
    assert truth is not None and truth.transfers[0].from_left_at is None
    transfer_task = standin.tasks[truth.transfers[0].task_sid]
    # The colleague's leg left: Twilio asked for the Dial action, the app wrapped the task,
    # and the colleague's wrap-up ended it.
    [(_, left)] = [r for r in app.requests if r[0] == LEFT]
    assert left["DialCallStatus"] == "completed" and left["To"] == "client:ito"
    assert transfer_task.status == "completed"
    assert "TransferTaskLeftAssigned" not in standin.stats.counters


def test_unanswered_transfer_is_recorded_and_the_task_times_out() -> None:
    standin, _, client, sid = setup()
    standin.agents.script["ito"] = [None]  # type: ignore[attr-defined]
    start_transfer(standin, client, sid, "warm")
    standin.clock.run()
    truth = standin.truth.get(sid)
    assert truth is not None
    transfer = truth.transfers[0]
    assert transfer.outcome == "unanswered" and transfer.answered_by is None
    assert standin.tasks[transfer.task_sid].status == "canceled"
    assert truth.outcome == "answered" and truth.ended_at is not None
