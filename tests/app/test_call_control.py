"""Hold, mute, hang up and transfer from the softphone: the exact REST calls Twilio receives,
and only for the agent who holds the call."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import make_settings
from tests.data import put_agent, put_presence, sid

CF = sid("CF", 1)
TASK = sid("WT", 1)
CUSTOMER = sid("CA", 1)
AGENT_LEG = sid("CA", 2)
NEW_TASK = sid("WT", 9)
WORKSPACE = "WS" + "b" * 32
HOLD_MUSIC = "https://music.example.test/hold.mp3"


def worker_sid(agent_id: str) -> str:
    return "WK" + agent_id.encode().hex()[:32].ljust(32, "0")


def inbound_task_attributes() -> dict[str, Any]:
    """What TaskRouter's task looks like once the conference instruction connected the call."""
    return {
        "type": "inbound_call",
        "call_sid": CUSTOMER,
        "caller": "+81312345678",
        "customer_id": "C1",
        "customer_name": "Sakura Foods",
        "owner_agent_id": "sato",
        "team": "tokyo",
        "stage": "owner",
        "initial_stage": "owner",
        "worker_call_sid": AGENT_LEG,
        "conference": {
            "sid": CF,
            "participants": {"customer": CUSTOMER, "worker": AGENT_LEG},
        },
    }


class FakeTaskRouter:
    """Which tasks each worker holds, answered at the HTTP boundary like Twilio would."""

    def __init__(self, twilio_http: Any) -> None:
        self.held: dict[str, dict[str, dict[str, Any]]] = {}
        # worker sid -> (reservation sid, task sid) ringing them; task sid -> (status, attributes)
        self.ringing: dict[str, tuple[str, str]] = {}
        self.tasks: dict[str, tuple[str, dict[str, Any]]] = {}
        # task sid -> the friendly names (agent ids) of the workers who accepted it
        self.accepted_by: dict[str, list[str]] = {}
        twilio_http.respond("GET", r"/Workers/WK[0-9a-f]+/Reservations", self._reservations)
        twilio_http.respond("GET", r"/Tasks/WT[0-9a-f]+$", self._task)
        twilio_http.respond("GET", r"/Tasks/WT[0-9a-f]+/Reservations$", self._task_reservations)
        twilio_http.respond(
            "GET", r"/Conferences/CF[0-9a-f]+\.json$", (200, {"sid": CF, "friendly_name": TASK})
        )
        twilio_http.respond("POST", r"/Workspaces/WS[0-9a-f]+/Tasks$", (201, {"sid": NEW_TASK}))

    def give(self, agent_id: str, task_sid: str, attributes: dict[str, Any]) -> None:
        self.held.setdefault(worker_sid(agent_id), {})[task_sid] = attributes

    def offer(self, agent_id: str, reservation_sid: str, task_sid: str, attributes: Any) -> None:
        """TaskRouter reserved the task for the agent: their phone rings."""
        self.ringing[worker_sid(agent_id)] = (reservation_sid, task_sid)
        self.tasks[task_sid] = ("reserved", attributes)

    def task(self, task_sid: str, status: str, attributes: dict[str, Any]) -> None:
        self.tasks[task_sid] = (status, attributes)

    def _reservations(self, request: Any) -> tuple[int, Any]:
        worker = request.url.split("/Workers/")[1].split("/")[0]
        meta = {"key": "reservations", "page": 0, "page_size": 20, "next_page_url": None}
        if request.params.get("ReservationStatus") == "pending":
            ringing = [self.ringing[worker]] if worker in self.ringing else []
            rows = [
                {"sid": r, "task_sid": t, "worker_sid": worker, "reservation_status": "pending"}
                for r, t in ringing
            ]
            return 200, {"reservations": rows, "meta": meta}
        assert request.params.get("ReservationStatus") == "accepted"
        items = [
            {
                "sid": sid("WR", n),
                "task_sid": task,
                "worker_sid": worker,
                "reservation_status": "accepted",
            }
            for n, task in enumerate(self.held.get(worker, {}))
        ]
        meta = {"key": "reservations", "page": 0, "page_size": 20, "next_page_url": None}
        return 200, {"reservations": items, "meta": meta}

    def _task_reservations(self, request: Any) -> tuple[int, Any]:
        task = request.url.split("/Tasks/")[1].split("/")[0]
        assert request.params.get("ReservationStatus") == "accepted"
        rows = [
            {"sid": sid("WR", 90 + n), "task_sid": task, "worker_name": agent_id}
            for n, agent_id in enumerate(self.accepted_by.get(task, []))
        ]
        meta = {"key": "reservations", "page": 0, "page_size": 5, "next_page_url": None}
        return 200, {"reservations": rows, "meta": meta}

    def _task(self, request: Any) -> tuple[int, Any]:
        task = request.url.rsplit("/", 1)[1]
        if task in self.tasks:
            status, attributes = self.tasks[task]
            return 200, {
                "sid": task,
                "assignment_status": status,
                "attributes": json.dumps(attributes),
            }
        for tasks in self.held.values():
            if task in tasks:
                return 200, {
                    "sid": task,
                    "assignment_status": "assigned",
                    "attributes": json.dumps(tasks[task]),
                }
        return 404, {"code": 20404, "message": "not found", "status": 404}


@pytest.fixture
def taskrouter(twilio_http: Any) -> FakeTaskRouter:
    return FakeTaskRouter(twilio_http)


@pytest.fixture
def agents(resources: Any, container: Any) -> None:
    container.settings = make_settings(hold_music_url=HOLD_MUSIC).with_values(
        **{
            "cognito_user_pool_id": container.settings.auth.cognito_user_pool_id,
            "cognito_client_id": container.settings.auth.cognito_client_id,
        }
    )
    for agent_id, team in (("sato", "tokyo"), ("tanaka", "tokyo"), ("suzuki", "osaka")):
        put_agent(resources, container.settings, agent_id, team=team)
        put_presence(resources, container.settings, agent_id, "available", team=team)


@pytest.fixture
def as_agent(client: Any, staff_token: Any, agents: None) -> Any:
    def post(agent_id: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return client.http.post(
            path,
            headers={
                "Authorization": f"Bearer {staff_token(agent_id)}",
                "Content-Type": "application/json",
                "X-Client-Version": "1.0.0",
            },
            body=json.dumps(body or {}),
        )

    return post


def control_calls(twilio_http: Any) -> list[tuple[str, str, dict[str, Any]]]:
    """The REST calls that change something (reads that check ownership left out)."""
    return [(r.method, r.path, r.data) for r in twilio_http.requests if r.method != "GET"]


def participant(call: str) -> str:
    return f"/2010-04-01/Accounts/{'AC' + 'a' * 32}/Conferences/{CF}/Participants/{call}.json"


def test_hold_puts_the_customer_on_hold_with_music(
    as_agent: Any, taskrouter: FakeTaskRouter, twilio_http: Any
) -> None:
    taskrouter.give("sato", TASK, inbound_task_attributes())
    response = as_agent("sato", f"/calls/{CF}/hold")
    assert response.status_code == 200
    assert json.loads(response.body)["customer_on_hold"] is True
    assert control_calls(twilio_http) == [
        (
            "POST",
            participant(CUSTOMER),
            {"Hold": "true", "HoldUrl": HOLD_MUSIC, "HoldMethod": "GET"},
        )
    ]


def test_resume_takes_the_customer_off_hold(
    as_agent: Any, taskrouter: FakeTaskRouter, twilio_http: Any
) -> None:
    taskrouter.give("sato", TASK, inbound_task_attributes())
    assert as_agent("sato", f"/calls/{CF}/resume").status_code == 200
    assert control_calls(twilio_http) == [("POST", participant(CUSTOMER), {"Hold": "false"})]


def test_mute_mutes_the_agents_own_leg(
    as_agent: Any, taskrouter: FakeTaskRouter, twilio_http: Any
) -> None:
    taskrouter.give("sato", TASK, inbound_task_attributes())
    assert as_agent("sato", f"/calls/{CF}/mute", {"muted": True}).status_code == 200
    assert as_agent("sato", f"/calls/{CF}/mute", {"muted": False}).status_code == 200
    assert control_calls(twilio_http) == [
        ("POST", participant(AGENT_LEG), {"Muted": "true"}),
        ("POST", participant(AGENT_LEG), {"Muted": "false"}),
    ]


def test_hangup_ends_the_conference(
    as_agent: Any, taskrouter: FakeTaskRouter, twilio_http: Any
) -> None:
    taskrouter.give("sato", TASK, inbound_task_attributes())
    assert as_agent("sato", f"/calls/{CF}/hangup").status_code == 200
    conference = f"/2010-04-01/Accounts/{'AC' + 'a' * 32}/Conferences/{CF}.json"
    assert control_calls(twilio_http) == [("POST", conference, {"Status": "completed"})]


def test_an_agent_cannot_control_a_call_they_are_not_on(
    as_agent: Any, taskrouter: FakeTaskRouter, twilio_http: Any
) -> None:
    taskrouter.give("sato", TASK, inbound_task_attributes())
    elsewhere = {"sid": sid("CF", 5), "participants": {"customer": sid("CA", 5)}}
    taskrouter.give("tanaka", sid("WT", 5), {**inbound_task_attributes(), "conference": elsewhere})
    for action in ("hold", "resume", "mute", "hangup", "transfer/complete"):
        response = as_agent("tanaka", f"/calls/{CF}/{action}", {"muted": True})
        assert response.status_code == 403, action
    assert control_calls(twilio_http) == []


def test_transfer_is_refused_for_a_call_the_agent_does_not_hold(
    as_agent: Any, taskrouter: FakeTaskRouter, twilio_http: Any
) -> None:
    taskrouter.give("sato", TASK, inbound_task_attributes())
    response = as_agent("tanaka", f"/calls/{CF}/transfer", {"to_agent": "suzuki", "mode": "cold"})
    assert response.status_code == 403
    assert control_calls(twilio_http) == []


def test_current_call_shows_the_customer_and_the_conference(
    client: Any, staff_token: Any, agents: None, taskrouter: FakeTaskRouter
) -> None:
    taskrouter.give("sato", TASK, inbound_task_attributes())
    headers = {"Authorization": f"Bearer {staff_token('sato')}", "X-Client-Version": "1.0.0"}
    call = json.loads(client.http.get("/agents/me/call", headers=headers).body)["call"]
    assert call["conference_sid"] == CF
    assert call["customer_call_sid"] == CUSTOMER
    assert (call["customer_name"], call["owner_agent_id"], call["stage"]) == (
        "Sakura Foods",
        "sato",
        "owner",
    )
    headers = {"Authorization": f"Bearer {staff_token('tanaka')}", "X-Client-Version": "1.0.0"}
    assert json.loads(client.http.get("/agents/me/call", headers=headers).body) == {
        "call": None,
        "offer": None,
    }


def created_task(twilio_http: Any) -> dict[str, Any]:
    (create,) = [
        r for r in twilio_http.requests if r.method == "POST" and r.path.endswith("/Tasks")
    ]
    return {**create.data, "Attributes": json.loads(create.data["Attributes"])}


def test_cold_transfer_to_an_agent_creates_their_task_then_the_first_agent_leaves(
    as_agent: Any, taskrouter: FakeTaskRouter, twilio_http: Any
) -> None:
    taskrouter.give("sato", TASK, inbound_task_attributes())
    response = as_agent("sato", f"/calls/{CF}/transfer", {"to_agent": "suzuki", "mode": "cold"})
    assert response.status_code == 202
    assert json.loads(response.body) == {
        "conference_sid": CF,
        "transfer_task_sid": NEW_TASK,
        "mode": "cold",
        "customer_on_hold": True,
        "agent_left": True,
    }
    calls = control_calls(twilio_http)
    assert calls[0] == (
        "POST",
        participant(CUSTOMER),
        {"Hold": "true", "HoldUrl": HOLD_MUSIC, "HoldMethod": "GET"},
    )
    assert calls[1][1] == f"/v1/Workspaces/{WORKSPACE}/Tasks"
    assert calls[2] == ("DELETE", participant(AGENT_LEG), {})
    assert calls[3] == (
        "POST",
        f"/v1/Workspaces/{WORKSPACE}/Tasks/{TASK}",
        {"AssignmentStatus": "completed", "Reason": "transferred"},
    )
    assert len(calls) == 4
    task = created_task(twilio_http)
    assert task["WorkflowSid"] == "WW" + "c" * 32
    assert task["Priority"] == 20
    assert task["TaskChannel"] == "voice"
    assert task["Timeout"] == 45
    attributes = task["Attributes"]
    assert attributes["type"] == "transfer"
    assert (attributes["stage"], attributes["owner_agent_id"], attributes["team"]) == (
        "owner",
        "suzuki",
        "osaka",
    )
    assert attributes["conference"] == {
        "sid": CF,
        "name": TASK,
        "participants": {"customer": CUSTOMER},
    }
    assert attributes["transfer"] == {
        "mode": "cold",
        "from_agent_id": "sato",
        "from_task_sid": TASK,
        "to_agent_id": "suzuki",
        "to_team": "",
    }
    assert attributes["customer_name"] == "Sakura Foods"
    assert attributes["customer_owner_agent_id"] == "sato"
    assert "worker_call_sid" not in attributes


def test_warm_transfer_to_a_team_keeps_the_agent_on_until_complete(
    as_agent: Any, taskrouter: FakeTaskRouter, twilio_http: Any
) -> None:
    taskrouter.give("sato", TASK, inbound_task_attributes())
    response = as_agent("sato", f"/calls/{CF}/transfer", {"to_team": "osaka", "mode": "warm"})
    assert response.status_code == 202
    assert json.loads(response.body)["agent_left"] is False
    assert [c[0] for c in control_calls(twilio_http)] == ["POST", "POST"]  # hold, task create
    attributes = created_task(twilio_http)["Attributes"]
    assert (attributes["stage"], attributes["owner_agent_id"], attributes["team"]) == (
        "team",
        "",
        "osaka",
    )

    twilio_http.requests.clear()
    assert as_agent("sato", f"/calls/{CF}/transfer/complete").status_code == 200
    assert control_calls(twilio_http) == [
        ("POST", participant(CUSTOMER), {"Hold": "false"}),
        ("DELETE", participant(AGENT_LEG), {}),
        (
            "POST",
            f"/v1/Workspaces/{WORKSPACE}/Tasks/{TASK}",
            {"AssignmentStatus": "completed", "Reason": "transferred"},
        ),
    ]


def test_a_colleague_who_took_a_transfer_controls_the_call_by_their_label(
    as_agent: Any, taskrouter: FakeTaskRouter, twilio_http: Any
) -> None:
    from chalicelib.softphone.calls import HeldCall, TransferTarget, transfer_task_attributes

    original = HeldCall(
        "sato", TASK, CF, CUSTOMER, AGENT_LEG, "inbound_call", inbound_task_attributes()
    )
    attributes = transfer_task_attributes(original, TransferTarget("cold", to_agent="suzuki"), TASK)
    taskrouter.give("suzuki", NEW_TASK, attributes)
    assert as_agent("suzuki", f"/calls/{CF}/mute", {"muted": True}).status_code == 200
    assert control_calls(twilio_http) == [("POST", participant("agent:suzuki"), {"Muted": "true"})]


BAD_TRANSFERS = [
    ({"to_agent": "nobody", "mode": "cold"}, 404),
    ({"to_team": "nowhere", "mode": "cold"}, 404),
    ({"to_agent": "suzuki", "mode": "lukewarm"}, 400),
    ({"to_agent": "suzuki", "to_team": "osaka", "mode": "cold"}, 400),
    ({"mode": "cold"}, 400),
    ({"to_agent": "sato", "mode": "warm"}, 400),
]


def test_bad_transfer_requests_change_nothing(
    as_agent: Any, taskrouter: FakeTaskRouter, twilio_http: Any
) -> None:
    taskrouter.give("sato", TASK, inbound_task_attributes())
    for body, status in BAD_TRANSFERS:
        assert as_agent("sato", f"/calls/{CF}/transfer", body).status_code == status, body
    assert control_calls(twilio_http) == []


def test_twilio_failing_is_a_503_the_page_can_retry(
    as_agent: Any, taskrouter: FakeTaskRouter, twilio_http: Any
) -> None:
    taskrouter.give("sato", TASK, inbound_task_attributes())
    twilio_http.fail("POST", r"/Participants/")
    response = as_agent("sato", f"/calls/{CF}/hold")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"


# --- the call ringing the agent, before they answer -------------------------------------------
RINGING_TASK = sid("WT", 3)
RESERVATION = sid("WR", 3)


def my_call(client: Any, staff_token: Any, agent_id: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {staff_token(agent_id)}", "X-Client-Version": "1.0.0"}
    response = client.http.get("/agents/me/call", headers=headers)
    assert response.status_code == 200, response.body
    return dict(json.loads(response.body))


def test_a_ringing_call_shows_the_customer_and_why_before_it_is_answered(
    client: Any, staff_token: Any, agents: None, taskrouter: FakeTaskRouter, twilio_http: Any
) -> None:
    # The owner was busy: the escalation widened the call to the team before it rang tanaka.
    escalated = {**inbound_task_attributes(), "stage": "team", "initial_stage": "owner"}
    del escalated["conference"], escalated["worker_call_sid"]
    taskrouter.offer("tanaka", RESERVATION, RINGING_TASK, escalated)

    answer = my_call(client, staff_token, "tanaka")

    assert answer == {
        "call": None,
        "offer": {
            "task_sid": RINGING_TASK,
            "reservation_sid": RESERVATION,
            "customer_call_sid": CUSTOMER,
            "type": "inbound_call",
            "caller": "+81312345678",
            "customer_id": "C1",
            "customer_name": "Sakura Foods",
            "owner_agent_id": "sato",
            "team": "tokyo",
            "stage": "team",
            "transfer": None,
        },
    }
    # The cost: the held-calls List (none), the pending List, and one Fetch Task.
    reads = [(r.method, r.path.rsplit("/", 2)[-2:], r.params) for r in twilio_http.requests]
    assert reads == [
        (
            "GET",
            [worker_sid("tanaka"), "Reservations"],
            {"ReservationStatus": "accepted", "PageSize": 20},
        ),
        (
            "GET",
            [worker_sid("tanaka"), "Reservations"],
            {"ReservationStatus": "pending", "PageSize": 1},
        ),
        ("GET", ["Tasks", RINGING_TASK], {}),
    ]


def test_a_transfer_rings_with_the_customers_owner_team_and_who_sent_it(
    client: Any, staff_token: Any, agents: None, taskrouter: FakeTaskRouter
) -> None:
    from chalicelib.softphone.calls import HeldCall, TransferTarget, transfer_task_attributes

    original = HeldCall(
        "sato", TASK, CF, CUSTOMER, AGENT_LEG, "inbound_call", inbound_task_attributes()
    )
    attributes = transfer_task_attributes(original, TransferTarget("warm", to_agent="suzuki"), TASK)
    taskrouter.offer("suzuki", RESERVATION, NEW_TASK, attributes)

    offer = my_call(client, staff_token, "suzuki")["offer"]

    assert (offer["type"], offer["owner_agent_id"], offer["team"], offer["stage"]) == (
        "transfer",
        "sato",
        "tokyo",
        "owner",
    )
    assert offer["transfer"]["from_agent_id"] == "sato"
    assert offer["transfer"]["mode"] == "warm"


def test_an_offer_that_ended_meanwhile_is_not_shown(
    client: Any, staff_token: Any, agents: None, taskrouter: FakeTaskRouter
) -> None:
    taskrouter.offer("tanaka", RESERVATION, RINGING_TASK, inbound_task_attributes())
    taskrouter.task(RINGING_TASK, "canceled", inbound_task_attributes())
    assert my_call(client, staff_token, "tanaka") == {"call": None, "offer": None}


def test_an_agent_on_a_call_is_not_asked_about_offers(
    client: Any, staff_token: Any, agents: None, taskrouter: FakeTaskRouter, twilio_http: Any
) -> None:
    taskrouter.give("sato", TASK, inbound_task_attributes())
    assert my_call(client, staff_token, "sato")["call"]["conference_sid"] == CF
    statuses = [r.params.get("ReservationStatus") for r in twilio_http.requests]
    assert "pending" not in statuses


# --- calling off a warm transfer ---------------------------------------------------------------
def warm_transfer_task() -> dict[str, Any]:
    from chalicelib.softphone.calls import HeldCall, TransferTarget, transfer_task_attributes

    original = HeldCall(
        "sato", TASK, CF, CUSTOMER, AGENT_LEG, "inbound_call", inbound_task_attributes()
    )
    return transfer_task_attributes(original, TransferTarget("warm", to_team="osaka"), TASK)


def task_path(task_sid: str) -> str:
    return f"/v1/Workspaces/{WORKSPACE}/Tasks/{task_sid}"


@pytest.mark.parametrize("status", ["pending", "reserved"])
def test_canceling_a_transfer_nobody_took_withdraws_it_and_resumes_the_customer(
    as_agent: Any, taskrouter: FakeTaskRouter, twilio_http: Any, status: str
) -> None:
    taskrouter.give("sato", TASK, inbound_task_attributes())
    taskrouter.task(NEW_TASK, status, warm_transfer_task())

    response = as_agent("sato", f"/calls/{CF}/transfer/cancel", {"transfer_task_sid": NEW_TASK})

    assert response.status_code == 200, response.body
    assert json.loads(response.body)["outcome"] == "withdrawn"
    assert control_calls(twilio_http) == [
        (
            "POST",
            task_path(NEW_TASK),
            {"AssignmentStatus": "canceled", "Reason": "transfer canceled"},
        ),
        ("POST", participant(CUSTOMER), {"Hold": "false"}),
    ]


def test_canceling_a_transfer_the_colleague_answered_takes_them_off_the_call(
    as_agent: Any, taskrouter: FakeTaskRouter, twilio_http: Any
) -> None:
    taskrouter.give("sato", TASK, inbound_task_attributes())
    taskrouter.task(NEW_TASK, "assigned", warm_transfer_task())
    taskrouter.accepted_by[NEW_TASK] = ["suzuki"]

    response = as_agent("sato", f"/calls/{CF}/transfer/cancel", {"transfer_task_sid": NEW_TASK})

    assert json.loads(response.body)["outcome"] == "colleague_removed"
    assert control_calls(twilio_http) == [
        ("DELETE", participant("agent:suzuki"), {}),
        (
            "POST",
            task_path(NEW_TASK),
            {"AssignmentStatus": "completed", "Reason": "transfer canceled"},
        ),
        ("POST", participant(CUSTOMER), {"Hold": "false"}),
    ]
    # The agent still holds the call: their own task is untouched.
    assert not [c for c in control_calls(twilio_http) if c[1] == task_path(TASK)]


def test_canceling_a_transfer_that_already_ended_only_resumes_the_customer(
    as_agent: Any, taskrouter: FakeTaskRouter, twilio_http: Any
) -> None:
    taskrouter.give("sato", TASK, inbound_task_attributes())
    taskrouter.task(NEW_TASK, "canceled", warm_transfer_task())
    response = as_agent("sato", f"/calls/{CF}/transfer/cancel", {"transfer_task_sid": NEW_TASK})
    assert json.loads(response.body)["outcome"] == "already_over"
    assert control_calls(twilio_http) == [("POST", participant(CUSTOMER), {"Hold": "false"})]


def test_only_a_transfer_of_your_own_call_can_be_canceled(
    as_agent: Any, taskrouter: FakeTaskRouter, twilio_http: Any
) -> None:
    taskrouter.give("sato", TASK, inbound_task_attributes())
    someone_elses = {**warm_transfer_task(), "transfer": {"from_task_sid": sid("WT", 7)}}
    taskrouter.task(NEW_TASK, "pending", someone_elses)
    taskrouter.task(RINGING_TASK, "pending", inbound_task_attributes())  # not a transfer at all
    for task_sid in (NEW_TASK, RINGING_TASK):
        response = as_agent("sato", f"/calls/{CF}/transfer/cancel", {"transfer_task_sid": task_sid})
        assert response.status_code == 403, task_sid
    # Nor by an agent who is not on the call, nor with something that is not a task sid.
    taskrouter.task(NEW_TASK, "pending", warm_transfer_task())
    body = {"transfer_task_sid": NEW_TASK}
    assert as_agent("tanaka", f"/calls/{CF}/transfer/cancel", body).status_code == 403
    bad = {"transfer_task_sid": "../Workers"}
    assert as_agent("sato", f"/calls/{CF}/transfer/cancel", bad).status_code == 400
    assert control_calls(twilio_http) == []
