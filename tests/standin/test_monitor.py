"""Listen, whisper, barge on a live inbound call of the in-process stack (issue 19, item 3).

The whole app runs on the stand-in: a customer calls, a rep answers, and a supervisor's
softphone joins the call's conference through the Participants API, muted (listen), coaching
the rep (whisper: only the rep hears), then unmuted (barge), switched in place, then leaves.
What each party hears is the stand-in's model of Twilio's Conference Participant resource
(https://www.twilio.com/docs/voice/api/conference-participant-resource; see
ops/standin/conferences.py `hears`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from ops.standin.engine import CallerPlan
from ops.standin.harness import Stack
from ops.standin.resources import Conference, Participant
from tests.standin.floor import available_floor


@pytest.fixture
def live_call() -> Iterator[tuple[Stack, str, Any]]:
    """A call from an owned customer, answered, with five minutes of talk ahead of it."""
    with available_floor(agents=6, seed=19) as (stack, _floor, customers):
        standin = stack.standin
        customer = next(c for c in customers if c["owner_agent_id"])
        sid = standin.place_call(
            CallerPlan(
                caller=customer["phone"],
                patience=900.0,
                talk_seconds=300.0,
                customer_id=customer["customer_id"],
                owner_agent_id=customer["owner_agent_id"],
                team=customer["team"],
            )
        )
        truth = stack.truth.get(sid)
        assert truth is not None
        while truth.answered_at is None and standin.now() < truth.placed_at + 600:
            standin.clock.run(until=standin.now() + 5)
        assert truth.answered_at is not None
        standin.clock.run(until=standin.now() + 5)
        yield stack, sid, truth


@pytest.fixture
def api(live_call: tuple[Stack, str, Any]) -> Any:
    from chalice.test import Client

    from app import app
    from ops.cognito_local import ensure_pool, ensure_user, id_token

    stack = live_call[0]
    cognito = stack.boto_session.client("cognito-idp")
    pool = ensure_pool(cognito)
    ensure_user(cognito, pool, "boss", supervisor=True)
    tokens = {"boss": id_token(cognito, pool, "boss")}

    class Api:
        def token(self, agent_id: str, supervisor: bool = False) -> str:
            if agent_id not in tokens:
                ensure_user(cognito, pool, agent_id, supervisor=supervisor)
                tokens[agent_id] = id_token(cognito, pool, agent_id)
            return tokens[agent_id]

        def call(self, method: str, path: str, agent_id: str, body: Any = None) -> Any:
            with Client(app) as client:
                headers = {
                    "Authorization": f"Bearer {self.token(agent_id)}",
                    "Content-Type": "application/json",
                }
                send = getattr(client.http, method.lower())
                if body is None:
                    return send(path, headers=headers)
                return send(path, headers=headers, body=json.dumps(body))

    return Api()


def conference_of(stack: Stack, customer_sid: str) -> Conference:
    return stack.standin.conferences[stack.standin.calls[customer_sid].conference_sid]


def party(conference: Conference, label: str) -> Participant:
    return next(
        p for p in conference.participants.values() if p.label == label and p.status == "connected"
    )


def rep_of(stack: Stack, conference: Conference) -> Participant:
    return next(
        p
        for p in conference.participants.values()
        if p.status == "connected" and stack.standin.calls[p.call_sid].role == "agent"
    )


def test_listen_then_whisper_then_barge_then_leave(
    live_call: tuple[Stack, str, Any], api: Any
) -> None:
    stack, sid, truth = live_call
    standin = stack.standin
    path = f"/supervisor/calls/{sid}/monitor"
    hears = standin.conferencing.hears

    listen = api.call("POST", path, "boss", {"mode": "listen"})
    assert listen.status_code == 200, listen.body
    assert json.loads(listen.body)["switched"] is False
    standin.clock.run(until=standin.now() + 10)  # the supervisor's softphone answers
    conference = conference_of(stack, sid)
    boss, customer = party(conference, "supervisor:boss"), party(conference, "customer")
    rep = rep_of(stack, conference)
    assert boss.muted and not boss.coaching
    assert hears(boss, customer) and hears(boss, rep)
    assert not hears(customer, boss) and not hears(rep, boss)
    # The rep's page sees a supervisor listening.
    rep_id = rep.label if rep.label.startswith("agent:") else truth.answered_by
    state = json.loads(api.call("GET", f"/conversations/{sid}/monitoring", rep_id).body)
    assert state["supervisors"] == [{"agent_id": "boss", "mode": "listen"}]

    whisper = api.call("POST", path, "boss", {"mode": "whisper"})
    assert json.loads(whisper.body)["switched"] is True
    assert (boss.muted, boss.coaching, boss.call_sid_to_coach) == (False, True, rep.call_sid)
    assert hears(rep, boss) and not hears(customer, boss)

    standin.clock.run(until=standin.now() + 2)
    barge = api.call("POST", path, "boss", {"mode": "barge"})
    assert barge.status_code == 200
    assert (boss.muted, boss.coaching) == (False, False)
    assert hears(rep, boss) and hears(customer, boss)

    standin.clock.run(until=standin.now() + 2)
    assert api.call("DELETE", path, "boss").status_code == 200
    assert boss.status == "left"
    assert party(conference, "customer").status == "connected"  # the call goes on
    state = json.loads(api.call("GET", f"/conversations/{sid}/monitoring", rep_id).body)
    assert state["supervisors"] == []

    # Each step is an event of the conversation.
    record = stack.container.ledger.current_record(sid)
    modes = [e for e in record["timeline"] if e["kind"] == "supervisor_monitor"]
    assert len(modes) == 4
    # Only the Participants API was asked: one create, two updates in place, one delete.
    asked = [
        (x.method, x.path.endswith("/Participants.json"), dict(x.form))
        for x in stack.rest.exchanges
        if "/Participants" in x.path and "supervisor" in (x.path + str(x.form))
    ]
    assert [(method, create) for method, create, _ in asked] == [
        ("POST", True),
        ("POST", False),
        ("POST", False),
        ("DELETE", False),
    ]
    create = asked[0][2]
    assert (create["To"], create["Muted"], create["Beep"]) == ("client:boss", "true", "false")
    assert asked[1][2]["CallSidToCoach"] == rep.call_sid


def test_reps_are_refused_and_calls_not_live_are_4xx(
    live_call: tuple[Stack, str, Any], api: Any
) -> None:
    stack, sid, truth = live_call
    path = f"/supervisor/calls/{sid}/monitor"
    assert api.call("POST", path, "rep_nobody", {"mode": "listen"}).status_code == 403
    assert api.call("DELETE", path, "rep_nobody").status_code == 403
    unknown = "/supervisor/calls/CA" + "0" * 32 + "/monitor"
    assert api.call("POST", unknown, "boss", {"mode": "listen"}).status_code == 404
    assert api.call("POST", path, "boss", {"mode": "shout"}).status_code == 400
    assert api.call("DELETE", path, "boss").status_code == 404  # not monitoring
    # Another rep may not see who monitors a call they are not on.
    assert api.call("GET", f"/conversations/{sid}/monitoring", "rep_nobody").status_code == 403
    standin = stack.standin
    while truth.ended_at is None:
        standin.clock.run(until=standin.now() + 30)
    standin.clock.run(until=standin.now() + 5)
    assert api.call("POST", path, "boss", {"mode": "listen"}).status_code == 409


PARTICIPANTS_PAGE = "https://www.twilio.com/docs/voice/api/conference-participant-resource"


def test_the_standin_plays_the_participant_parameters_as_twilio_documents_them(
    live_call: tuple[Stack, str, Any],
) -> None:
    """Each parameter of the Participant resource we rely on, as PARTICIPANTS_PAGE states it."""
    from twilio.base.exceptions import TwilioRestException

    stack, sid, _truth = live_call
    standin = stack.standin
    conference = conference_of(stack, sid)
    rep = rep_of(stack, conference)
    participants = stack.container.twilio.client.conferences(conference.sid).participants

    def join(label: str, **mode: Any) -> Participant:
        participants.create(from_="+81300000000", to=f"client:{label}", label=label, **mode)
        standin.clock.run(until=standin.now() + 10)
        return party(conference, label)

    # Coaching: "If `true`, `call_sid_to_coach` must be defined." Refused, on create and update.
    with pytest.raises(TwilioRestException) as refused:
        participants.create(from_="+81300000000", to="client:a", label="a", coaching=True)
    assert refused.value.status == 400
    # Muted (create): "Whether the agent is muted in the conference."
    muted = join("m", muted=True)
    assert muted.muted and not standin.conferencing.hears(rep, muted)
    # Label: "it may subsequently be used to fetch, update or delete the participant."
    with pytest.raises(TwilioRestException):
        participants("m").update(coaching=True)
    # CallSidToCoach: "The participant being coached is the only participant who can hear the
    # participant who is coaching." Coaching "defaults to `false` unless `call_sid_to_coach` is
    # defined": naming the coached leg alone turns coaching on.
    coach = join("c", call_sid_to_coach=rep.call_sid)
    customer = party(conference, "customer")
    assert coach.coaching and coach.call_sid_to_coach == rep.call_sid
    assert standin.conferencing.hears(rep, coach) and not standin.conferencing.hears(
        customer, coach
    )
    # Coaching and Muted are parameters of the update too: switched in place, same leg.
    participants("c").update(coaching=False)
    assert not coach.coaching and standin.conferencing.hears(customer, coach)
    participants("m").update(muted=False, coaching=True, call_sid_to_coach=rep.call_sid)
    assert (muted.muted, muted.coaching) == (False, True)
    # Assumption (the page is silent): a leg that is not in the conference cannot be coached.
    with pytest.raises(TwilioRestException) as stranger:
        participants("c").update(coaching=True, call_sid_to_coach="CA" + "9" * 32)
    assert stranger.value.status == 400
    # The reply carries the documented fields `coaching` and `call_sid_to_coach`.
    fetched = participants("m").fetch()
    assert (fetched.coaching, fetched.call_sid_to_coach) == (True, rep.call_sid)
