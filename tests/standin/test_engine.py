"""The stand-in's Twilio behaviour against a scripted app: TaskRouter routing, calls, callbacks.

No Chalice here: a fake app answers the webhooks, so these tests pin the stand-in's own
behaviour (workflow targets, skip_if, longest idle, missed offers, abandons, callback shapes).
"""

from __future__ import annotations

import io
import json
import wave
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
from twilio.rest import Client
from twilio.twiml.voice_response import VoiceResponse

from ops.standin.clock import Scheduler
from ops.standin.engine import Activity, CallerPlan, Chaos, Standin, TwilioAccount
from ops.standin.population import AgentProfile, Population
from ops.standin.rest import Rest
from ops.standin.server import InProcessTwilioHttp
from ops.standin.transport import Reply
from ops.standin.truth import GroundTruth

BASE = "https://app.example.test/api"
AC, WS, WW, WQ = "AC" + "1" * 32, "WS" + "2" * 32, "WW" + "3" * 32, "WQ" + "4" * 32
TOKEN = "standin-test-token"
WQA = "WQ" + "a" * 32  # team a's own queue (`team == "a"`), as `ops provision` makes it
# The app's workflow shape (chalicelib/routing/workflow.py): the owner by Known Agent Routing,
# skipped unless offered at once; then the team's own queue, skipped when nobody in it is
# available (workers.available counts the target's queue: taskrouter/worker-presence).
WORKFLOW = {
    "task_routing": {
        "filters": [
            {
                "filter_friendly_name": "owner a",
                "expression": "stage == 'owner' AND team == 'a'",
                "targets": [
                    {
                        "queue": WQ,
                        "known_worker_friendly_name": "task.owner_agent_id",
                        "skip_if": "1==1",
                        "timeout": 30,
                    },
                    {"queue": WQA, "skip_if": "workers.available == 0", "timeout": 60},
                    {"queue": WQ},
                ],
            }
        ],
        "default_filter": {"queue": WQ},
    }
}
QUEUES = {WQ: "1==1", WQA: 'team == "a"'}
ROUTES = frozenset(
    {
        "/twilio/voice/incoming",
        "/twilio/voice/status",
        "/twilio/taskrouter/events",
        "/twilio/taskrouter/assignment",
        "/twilio/conference/status",
        "/twilio/recordings/status",
    }
)


class FakeApp:
    """Answers like our app would, and records every request Twilio (the stand-in) made."""

    public_base_url = BASE

    def __init__(self, owner: dict[str, str]) -> None:
        self.owner = owner  # caller -> owner agent id
        self.requests: list[tuple[str, dict[str, str]]] = []

    def post(self, url: str, form: Mapping[str, str]) -> Reply:
        path = urlsplit(url).path.removeprefix("/api")
        self.requests.append((path, dict(form)))
        if path == "/twilio/voice/incoming":
            response = VoiceResponse()
            enqueue = response.enqueue(workflow_sid=WW)
            owner = self.owner.get(form["From"], "")
            attributes = {"stage": "owner", "owner_agent_id": owner, "team": "a"}
            enqueue.task(json.dumps(attributes), priority=10, timeout=600)
            return Reply(200, str(response), 1.0)
        if path == "/twilio/taskrouter/assignment":
            worker = json.loads(form["WorkerAttributes"])
            instruction = {
                "instruction": "conference",
                "to": f"client:{worker['agent_id']}",
                "from": form["TaskSid"],
                "timeout": 20,
                "region": "jp1",
                "post_work_activity_sid": "WA" + "5" * 32,
                "end_conference_on_customer_exit": True,
                "conference_record": "record-from-start",
                "recording_channels": "dual",
                "conference_recording_status_callback": BASE + "/twilio/recordings/status",
                "conference_status_callback": BASE + "/twilio/conference/status",
                "conference_status_callback_event": "start,end,join,leave",
                "status_callback": BASE + "/twilio/voice/status",
                "status_callback_event": "initiated,ringing,answered,completed",
            }
            return Reply(200, json.dumps(instruction), 1.0)
        return Reply(204, "", 1.0)

    def call_json(self, method: str, path: str, token: str, body: Any = None) -> Reply:
        return Reply(404, "", 0.0)

    def of(self, path: str, **match: str) -> list[dict[str, str]]:
        return [
            f
            for p, f in self.requests
            if p == path and all(f.get(k) == v for k, v in match.items())
        ]


AGENTS = [("sato", "a"), ("ito", "a"), ("kato", "a"), ("mori", "b")]


def build(
    owner: dict[str, str] | None = None, chaos: Chaos | None = None
) -> tuple[Standin, FakeApp, Population]:
    app = FakeApp(owner or {})
    activities = (
        Activity("WA" + "0" * 32, "Offline", False),
        Activity("WA" + "1" * 32, "Available", True),
        Activity("WA" + "5" * 32, "Wrap-up", False),
    )
    account = TwilioAccount(
        AC,
        TOKEN,
        WS,
        WW,
        json.loads(json.dumps(WORKFLOW)),
        dict(QUEUES),
        "+81300000000",
        activities,
    )
    profiles = [
        AgentProfile(agent_id, team, f"WK{n:032x}", miss_rate=0.0, away_after_miss=0.0)
        for n, (agent_id, team) in enumerate(AGENTS, start=1)
    ]
    population = Population(profiles, seed=3)
    standin = Standin(
        account,
        app,
        Scheduler(start=1_736_900_000.0),
        population,
        GroundTruth(),
        ROUTES,
        chaos=chaos,
        seed=3,
    )
    population.standin = standin
    for profile in profiles:
        standin.add_worker(
            profile.worker_sid,
            profile.agent_id,
            {"agent_id": profile.agent_id, "team": profile.team},
            "Offline",
        )
    return standin, app, population


def available(standin: Standin, *agent_ids: str) -> None:
    for agent_id in agent_ids:
        standin.set_activity(standin.worker_by_agent(agent_id).sid, "WA" + "1" * 32)
        standin.clock.after(1, lambda: None)
        standin.clock.run()


def call(standin: Standin, caller: str, **plan: Any) -> str:
    values: dict[str, Any] = {"patience": 600.0, "talk_seconds": 90.0}
    values.update(plan)
    sid = standin.place_call(CallerPlan(caller=caller, **values))
    standin.clock.run()
    return sid


def test_owner_available_is_offered_the_call_and_it_is_recorded() -> None:
    standin, app, _ = build({"+81311110000": "ito"})
    available(standin, "sato", "ito", "kato")
    sid = call(standin, "+81311110000")
    truth = standin.truth.get(sid)
    assert truth is not None
    assert [o.agent_id for o in truth.offers] == ["ito"]
    assert truth.answered_by == "ito" and truth.outcome == "answered"
    assert truth.talk_seconds == pytest.approx(90.0)
    events = [
        f["EventType"]
        for f in app.of("/twilio/taskrouter/events", TaskSid=standin.calls[sid].task_sid)
    ]
    for expected in (
        "task.created",
        "reservation.created",
        "reservation.accepted",
        "task.wrapup",
        "task.completed",
    ):
        assert expected in events
    assert events.index("reservation.created") < events.index("reservation.accepted")
    recording = app.of("/twilio/recordings/status")[0]
    assert recording["RecordingChannels"] == "2" and recording["ConferenceSid"].startswith("CF")
    assert int(recording["RecordingDuration"]) >= 89


def test_owner_target_is_skipped_when_the_owner_is_not_available() -> None:
    standin, app, _ = build({"+81311110001": "mori"})
    available(standin, "sato", "ito")
    sid = call(standin, "+81311110001")
    truth = standin.truth.get(sid)
    assert truth is not None and truth.answered_by in {"sato", "ito"}
    skipped = app.of("/twilio/taskrouter/events", EventType="workflow.skipped")
    assert skipped and skipped[0]["TaskSid"] == standin.calls[sid].task_sid


def test_longest_idle_worker_gets_the_offer() -> None:
    standin, _, _ = build()
    available(standin, "kato")
    standin.clock.after(100, lambda: None)
    standin.clock.run()
    available(standin, "sato")
    sid = call(standin, "+81399990000")
    truth = standin.truth.get(sid)
    assert truth is not None and truth.offers[0].agent_id == "kato"


def test_missed_offer_times_out_and_goes_to_the_next_agent() -> None:
    standin, app, population = build({"+81311110002": "sato"})
    available(standin, "sato", "ito")
    population.script["sato"] = [None]
    sid = call(standin, "+81311110002")
    truth = standin.truth.get(sid)
    assert truth is not None
    assert [(o.agent_id, o.outcome) for o in truth.offers] == [
        ("sato", "missed"),
        ("ito", "answered"),
    ]
    assert app.of("/twilio/taskrouter/events", EventType="reservation.timeout")
    no_answer = app.of("/twilio/voice/status", CallStatus="no-answer")
    assert len(no_answer) == 1 and no_answer[0]["Direction"] == "outbound-api"
    assert truth.wait_seconds is not None and truth.wait_seconds >= 20


def test_caller_who_runs_out_of_patience_abandons_and_the_task_is_canceled() -> None:
    standin, app, _ = build()
    sid = call(standin, "+81399990001", patience=45.0)
    truth = standin.truth.get(sid)
    assert truth is not None and truth.abandoned and truth.outcome == "abandoned"
    assert truth.caller_hung_up_at == pytest.approx(truth.placed_at + 45.0)
    canceled = app.of("/twilio/taskrouter/events", EventType="task.canceled")
    assert canceled[0]["TaskCanceledReason"] == "hangup"
    completed = app.of("/twilio/voice/status", CallSid=sid)
    assert completed[-1]["CallStatus"] == "completed"


def test_every_leg_numbers_its_callbacks_from_zero_with_rfc2822_times() -> None:
    standin, app, _ = build()
    available(standin, "sato")
    call(standin, "+81399990002")
    by_leg: dict[str, list[int]] = {}
    for form in app.of("/twilio/voice/status"):
        parsedate_to_datetime(form["Timestamp"])
        by_leg.setdefault(form["CallSid"], []).append(int(form["SequenceNumber"]))
    agent_leg = next(seq for seq in by_leg.values() if len(seq) > 1)
    assert agent_leg == sorted(agent_leg) and agent_leg[0] == 0
    conference = [int(f["SequenceNumber"]) for f in app.of("/twilio/conference/status")]
    assert conference == sorted(conference)


def test_chaos_duplicates_callbacks_reproducibly() -> None:
    first, app1, _ = build(chaos=Chaos(duplicate=1.0, seed=9))
    available(first, "sato")
    call(first, "+81399990003")
    second, app2, _ = build(chaos=Chaos(duplicate=1.0, seed=9))
    available(second, "sato")
    call(second, "+81399990003")
    events = [f["Sid"] for f in app1.of("/twilio/taskrouter/events")]
    assert len(events) > len(set(events)), "every event was delivered twice"
    assert [p for p, _ in app1.requests] == [p for p, _ in app2.requests]


def test_rest_api_through_twilios_own_client() -> None:
    standin, _, _ = build()
    client = Client(AC, TOKEN, http_client=InProcessTwilioHttp(Rest(standin)))
    workspace = client.taskrouter.v1.workspaces(WS)
    task = workspace.tasks.create(
        workflow_sid=WW, attributes=json.dumps({"stage": "team", "team": "a"})
    )
    assert task.assignment_status == "pending"
    workspace.tasks(task.sid).update(
        attributes=json.dumps({"stage": "owner", "owner_agent_id": "sato", "team": "a"})
    )
    assert json.loads(workspace.tasks(task.sid).fetch().attributes)["stage"] == "owner"
    worker = workspace.workers(standin.worker_by_agent("sato").sid).update(
        activity_sid="WA" + "1" * 32
    )
    assert worker.activity_name == "Available"
    standin.clock.run(until=standin.now() + 5)
    assert workspace.tasks(task.sid).fetch().assignment_status == "reserved"
    canceled = workspace.tasks(task.sid).update(assignment_status="canceled", reason="test")
    assert canceled.assignment_status == "canceled"
    with pytest.raises(Exception, match="Authenticate"):
        Client(
            AC, "wrong", http_client=InProcessTwilioHttp(Rest(standin))
        ).taskrouter.v1.workspaces(WS).tasks(task.sid).fetch()


def test_recording_media_is_a_two_channel_wav_only_when_asked() -> None:
    standin, app, _ = build()
    available(standin, "sato")
    call(standin, "+81399990004", talk_seconds=3.0)
    recording_sid = app.of("/twilio/recordings/status")[0]["RecordingSid"]
    http = InProcessTwilioHttp(Rest(standin))
    url = f"https://api.twilio.com/2010-04-01/Accounts/{AC}/Recordings/{recording_sid}.wav"
    for params, channels in (({"RequestedChannels": "2"}, 2), ({}, 1)):
        response = http.request("GET", url, params=params, auth=(AC, TOKEN))
        assert response.status_code == 200
        with wave.open(io.BytesIO(response.content.encode("latin-1"))) as audio:
            assert audio.getnchannels() == channels
            assert audio.getnframes() >= 8000 * 3


def test_a_day_run_serves_at_most_its_media_seconds_of_a_long_recording() -> None:
    standin, app, _ = build()
    available(standin, "sato")
    call(standin, "+81399990004", talk_seconds=30.0)
    recording_sid = app.of("/twilio/recordings/status")[0]["RecordingSid"]
    assert standin.recordings[recording_sid].duration >= 30
    http = InProcessTwilioHttp(Rest(standin, media_seconds=1.0))
    url = f"https://api.twilio.com/2010-04-01/Accounts/{AC}/Recordings/{recording_sid}.wav"
    response = http.request("GET", url, params={"RequestedChannels": "2"}, auth=(AC, TOKEN))
    with wave.open(io.BytesIO(response.content.encode("latin-1"))) as audio:
        assert (audio.getnchannels(), audio.getnframes()) == (2, 8000)


class MenuApp(FakeApp):
    """A fallback menu straight away: press 2 for a call back, then a long confirmation."""

    def post(self, url: str, form: Mapping[str, str]) -> Reply:
        path = urlsplit(url).path.removeprefix("/api")
        if path == "/twilio/voice/incoming":
            self.requests.append((path, dict(form)))
            response = VoiceResponse()
            response.gather(num_digits=1, action=BASE + "/twilio/voice/menu", timeout=5)
            return Reply(200, str(response), 1.0)
        if path == "/twilio/voice/menu":
            self.requests.append((path, dict(form)))
            response = VoiceResponse()
            response.pause(length=60)  # the confirmation outlasts the caller's patience
            response.hangup()
            return Reply(200, str(response), 1.0)
        return super().post(url, form)


def test_a_caller_who_asked_for_a_call_back_and_hung_up_during_the_confirmation_asked() -> None:
    standin, _, _ = build()
    standin.transport = MenuApp({})
    standin.app_routes = ROUTES | {"/twilio/voice/menu"}
    sid = call(standin, "+81399990005", patience=20.0, digits="2")
    truth = standin.truth.get(sid)
    assert truth is not None
    assert standin.transport.of("/twilio/voice/menu")[0]["Digits"] == "2"
    assert (truth.keyed, truth.outcome) == ("2", "callback_requested")
    assert truth.caller_hung_up_at is not None and not truth.abandoned


class RecordingAgentApi:
    def __init__(self) -> None:
        self.changes: list[tuple[str, str]] = []

    def change(self, agent_id: str, activity: str) -> None:
        self.changes.append((agent_id, activity))


def test_an_agent_on_the_next_call_when_their_wrap_up_ends_steps_away_after_that_call() -> None:
    standin, _, population = build()
    api = RecordingAgentApi()
    population.api = api  # type: ignore[assignment]
    worker = standin.worker_by_agent("sato")
    # The app's wrap-up timer ended first and TaskRouter gave sato the next call.
    worker.task_sid = "WT" + "9" * 32
    population._after["sato"] = "Break"
    assert population.after_wrap_up("sato", standin.now()) is None
    assert api.changes == []  # the page shows the call: no Break to click
    worker.task_sid = None
    population.after_wrap_up("sato", standin.now())
    assert api.changes == [("sato", "Break")]


class FailingAgentApi:
    """The softphone's API answering every request with an error (e.g. 401)."""

    def request(self, agent_id: str, method: str, path: str, body: Any = None) -> None:
        return None


def test_a_transfer_whose_call_lookup_failed_says_so_not_no_call_held() -> None:
    from ops.standin.population import TransferIntent

    standin, _, population = build({"+81311112222": "sato"})
    available(standin, "sato")
    standin.place_call(CallerPlan(caller="+81311112222", patience=600.0, talk_seconds=300.0))
    standin.clock.run(until=standin.now() + 30)
    [call_sid] = [c.sid for c in standin.calls.values() if c.plan is not None]
    assert standin.calls[call_sid].status == "in-progress"
    population.api = FailingAgentApi()  # type: ignore[assignment]
    population._transfer("sato", call_sid, TransferIntent("cold", to_agent="suzuki"))
    assert population.transfer_requests == [("sato", "call lookup failed", 0)]


def test_the_caller_joins_first_when_chaos_says_so_and_the_join_callbacks_say_it_in_order() -> None:
    """Channel 1 of a dual-channel recording is whoever joined first: the stand-in varies the
    order (Twilio does not promise one) and numbers the join callbacks in that order."""
    joined: dict[bool, list[str]] = {}
    for caller_first in (False, True):
        standin, app, _ = build(chaos=Chaos(customer_first=1.0 if caller_first else 0.0, seed=9))
        available(standin, "sato")
        sid = call(standin, "+81399990004")
        joins = sorted(
            app.of("/twilio/conference/status", StatusCallbackEvent="participant-join"),
            key=lambda f: int(f["SequenceNumber"]),
        )
        joined[caller_first] = ["customer" if f["CallSid"] == sid else "agent" for f in joins]
        conference = standin.conferences[standin.calls[sid].conference_sid]
        first = next(iter(conference.participants.values()))
        assert (first.call_sid == sid) is caller_first
    assert joined == {False: ["agent", "customer"], True: ["customer", "agent"]}
