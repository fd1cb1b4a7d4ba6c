"""`python -m ops provision`: the exact Twilio REST calls of a first run, and none on the second."""

from __future__ import annotations

import json
from typing import Any

import pytest
from twilio.rest import Client

from chalicelib.platform.settings import Settings
from chalicelib.routing.workflow import workflow_definition
from ops.deployed import StageStore
from ops.provision import (
    Agent,
    Change,
    provision,
    provision_outcome,
    read_agents,
    write_worker_sids,
)
from tests.conftest import make_settings
from tests.fakes.twilio_config import FakeTwilioConfig
from tests.fakes.twilio_http import RecordingHttpClient

ACCOUNT = "AC" + "a" * 32
NUMBER = "+81312345678"
BASE = "https://cc.example.test/api"


@pytest.fixture
def stage_settings() -> Settings:
    return make_settings(stage="test", public_base_url=BASE, company_number=NUMBER)


@pytest.fixture
def store(aws: Any) -> StageStore:
    aws.client("secretsmanager").create_secret(
        Name="contact-center/test/twilio",
        SecretString=json.dumps({"account_sid": ACCOUNT, "auth_token": "t" * 32}),
    )
    return StageStore(aws, "test")


@pytest.fixture
def http() -> RecordingHttpClient:
    return RecordingHttpClient()


@pytest.fixture
def twilio(http: RecordingHttpClient) -> FakeTwilioConfig:
    fake = FakeTwilioConfig(http, ACCOUNT)
    # As bought and half set up by hand: a TwiML App attached makes Twilio ignore the voice URL.
    fake.add_number(
        NUMBER,
        voice_url="https://old.example.test/voice",
        voice_method="GET",
        voice_application_sid="AP" + "9" * 32,
    )
    return fake


@pytest.fixture
def client(http: RecordingHttpClient) -> Client:
    return Client(ACCOUNT, "t" * 32, http_client=http)


def run(
    client: Client, store: StageStore, settings: Settings, answer: bool = True
) -> tuple[int, list[str]]:
    said: list[str] = []
    code = provision(client, store, settings, [NUMBER], lambda _changes: answer, said.append)
    return code, said


def test_first_run_creates_everything_with_these_rest_calls(
    client: Client, store: StageStore, stage_settings: Settings, twilio: FakeTwilioConfig
) -> None:
    code, said = run(client, store, stage_settings)
    assert code == 0, said
    ws = twilio.collection("/Workspaces")[0]["sid"]
    activities = {a["friendly_name"]: a["sid"] for a in twilio.collection("/Activities")}
    queue = twilio.collection("/TaskQueues")[0]["sid"]
    workflow = twilio.collection("/Workflows")[0]["sid"]
    number = twilio.collection("/IncomingPhoneNumbers")[0]["sid"]
    accounts = f"/2010-04-01/Accounts/{ACCOUNT}"
    assert twilio.writes() == [
        ("POST", "/v1/Workspaces"),
        ("POST", f"/v1/Workspaces/{ws}/Activities"),  # Away
        ("POST", f"/v1/Workspaces/{ws}/Activities"),  # Break
        ("POST", f"/v1/Workspaces/{ws}/Activities"),  # Outbound call
        ("POST", f"/v1/Workspaces/{ws}/Activities"),  # Wrap-up
        ("POST", f"/v1/Workspaces/{ws}"),  # default and timeout activities
        ("POST", f"/v1/Workspaces/{ws}/TaskQueues"),
        ("POST", f"/v1/Workspaces/{ws}/Workflows"),
        ("POST", f"{accounts}/IncomingPhoneNumbers/{number}.json"),
        ("POST", f"{accounts}/Applications.json"),
        ("POST", f"{accounts}/Keys.json"),
    ]
    posted = [r.data for r in twilio.http.requests if r.method == "POST"]
    assert posted[0] == {
        "FriendlyName": "contact-center-test",
        "EventCallbackUrl": f"{BASE}/twilio/taskrouter/events",
    }
    assert [p["FriendlyName"] for p in posted[1:5]] == ["Away", "Break", "Outbound call", "Wrap-up"]
    assert [p["Available"] for p in posted[1:5]] == ["false"] * 4
    posted = posted[:3] + posted[4:]  # the rest as before the outbound activity
    assert posted[4] == {
        "DefaultActivitySid": activities["Offline"],
        "TimeoutActivitySid": activities["Away"],
    }
    assert posted[5] == {"FriendlyName": "everyone", "TargetWorkers": "1==1"}
    assert posted[6]["AssignmentCallbackUrl"] == f"{BASE}/twilio/taskrouter/assignment"
    assert posted[6]["TaskReservationTimeout"] == stage_settings.routing.agent_ring_seconds
    expected = workflow_definition(stage_settings.with_values(**{"queue_sid_everyone": queue}))
    assert json.loads(posted[6]["Configuration"]) == expected
    assert posted[7] == {
        "VoiceUrl": f"{BASE}/twilio/voice/incoming",
        "VoiceMethod": "POST",
        "VoiceFallbackUrl": f"{BASE}/twilio/voice/fallback",
        "VoiceFallbackMethod": "POST",
        "StatusCallback": f"{BASE}/twilio/voice/status",
        "StatusCallbackMethod": "POST",
        "VoiceApplicationSid": "",
    }
    assert posted[8] == {
        "FriendlyName": "contact-center-test-softphone",
        "VoiceUrl": f"{BASE}/twilio/voice/outbound",
        "VoiceMethod": "POST",
        # The softphone's own leg reports its end (the outbound conversation's key).
        "StatusCallback": f"{BASE}/twilio/voice/status",
        "StatusCallbackMethod": "POST",
    }
    assert store.parameters()["activity_sid_outbound"] == activities["Outbound call"]
    # Where the app reads the sids: SSM parameters named after the settings, and the secret.
    parameters = store.parameters()
    assert parameters["twilio_workspace_sid"] == ws
    assert parameters["twilio_workflow_sid"] == workflow
    assert parameters["queue_sid_everyone"] == queue
    assert parameters["activity_sid_available"] == activities["Available"]
    assert parameters["activity_sid_away"] == activities["Away"]
    assert parameters["post_work_activity_sid"] == activities["Wrap-up"]
    assert parameters["twilio_twiml_app_sid"] == twilio.collection("/Applications")[0]["sid"]
    key = twilio.collection("/Keys")[0]
    secret = store.secret()
    assert (secret["api_key_sid"], secret["api_key_secret"]) == (key["sid"], key["secret"])
    assert secret["auth_token"] == "t" * 32, "the account's credentials were kept"


def test_second_run_makes_no_writes(
    client: Client, store: StageStore, stage_settings: Settings, twilio: FakeTwilioConfig
) -> None:
    run(client, store, stage_settings)
    writes_before = len(twilio.writes())
    parameters_before = store.parameters()
    code, said = run(client, store, stage_settings, answer=False)
    assert code == 0
    assert said == ["stage test: Twilio is already set up; nothing to change"]
    assert len(twilio.writes()) == writes_before
    assert store.parameters() == parameters_before


def test_the_plan_is_shown_and_nothing_is_written_without_confirmation(
    client: Client, store: StageStore, stage_settings: Settings, twilio: FakeTwilioConfig
) -> None:
    code, said = run(client, store, stage_settings, answer=False)
    assert code == 1
    assert twilio.writes() == []
    assert store.parameters() == {}
    assert "+ create TaskRouter workspace 'contact-center-test'" in said[1]
    assert any("~ update phone number +81312345678" in line for line in said)
    assert said[-1] == "nothing changed"


def test_drift_is_put_back_and_only_the_drift(
    client: Client, store: StageStore, stage_settings: Settings, twilio: FakeTwilioConfig
) -> None:
    run(client, store, stage_settings)
    # Someone pointed the number elsewhere in the console and edited the workflow by hand.
    twilio.collection("/IncomingPhoneNumbers")[0]["voice_url"] = "https://elsewhere.test/v"
    twilio.collection("/Workflows")[0]["configuration"] = json.dumps({"task_routing": {}})
    start = len(twilio.http.requests)
    plan: list[Change] = []
    code = provision(
        client, store, stage_settings, [NUMBER], lambda c: plan.extend(c) or True, lambda _: None
    )
    assert code == 0
    assert [(c.action, c.target) for c in plan] == [
        ("update", "workflow 'contact-center'"),
        ("update", f"phone number {NUMBER}"),
    ]
    writes = [r for r in twilio.http.requests[start:] if r.method == "POST"]
    assert [sorted(w.data) for w in writes] == [["Configuration"], ["VoiceUrl"]]


def test_a_number_missing_from_the_account_stops_before_any_write(
    client: Client, store: StageStore, stage_settings: Settings, http: RecordingHttpClient
) -> None:
    FakeTwilioConfig(http, ACCOUNT)  # no numbers
    code, said = run(client, store, stage_settings)
    assert code == 2
    assert said == [
        f"cannot provision: phone number {NUMBER} is not in Twilio account {ACCOUNT}: buy or "
        "port it there first (Console > Phone Numbers), or pass the right --number"
    ]
    assert [r for r in http.requests if r.method != "GET"] == []


def test_an_activity_with_the_wrong_availability_is_reported_not_changed(
    client: Client, store: StageStore, stage_settings: Settings, twilio: FakeTwilioConfig
) -> None:
    run(client, store, stage_settings)
    away = next(a for a in twilio.collection("/Activities") if a["friendly_name"] == "Away")
    away["available"] = True
    code, said = run(client, store, stage_settings)
    assert code == 2
    assert "activity 'Away'" in said[0] and "must be unavailable" in said[0]


def test_a_revoked_api_key_is_replaced(
    client: Client, store: StageStore, stage_settings: Settings, twilio: FakeTwilioConfig
) -> None:
    run(client, store, stage_settings)
    revoked = twilio.collection("/Keys")[0]["sid"]
    twilio.records[f"/2010-04-01/Accounts/{ACCOUNT}/Keys"].clear()
    code, _ = run(client, store, stage_settings)
    assert code == 0
    assert store.secret()["api_key_sid"] not in ("", revoked)


def test_workers_are_created_once_per_agent_and_their_sids_written_for_import(
    client: Client,
    store: StageStore,
    stage_settings: Settings,
    twilio: FakeTwilioConfig,
    tmp_path: Any,
) -> None:
    agents_file = tmp_path / "agents.csv"
    agents_file.write_text("agent_id,name,team\nsato,Sato Haruto,tokyo\nito,Ito Mei,osaka\n")
    agents = read_agents(agents_file)
    code, outcome = provision_outcome(
        client, store, stage_settings, [NUMBER], lambda _: True, lambda _: None, agents
    )
    assert code == 0 and outcome is not None
    workers = {w["friendly_name"]: w for w in twilio.collection("/Workers")}
    offline = next(a for a in twilio.collection("/Activities") if a["friendly_name"] == "Offline")
    assert json.loads(workers["sato"]["attributes"]) == {"agent_id": "sato", "team": "tokyo"}
    assert workers["ito"]["activity_sid"] == offline["sid"]
    out = write_worker_sids(agents_file, outcome.workers)
    assert out.read_text().splitlines() == [
        "agent_id,name,team,worker_sid",
        f"sato,Sato Haruto,tokyo,{workers['sato']['sid']}",
        f"ito,Ito Mei,osaka,{workers['ito']['sid']}",
    ]
    # Again: nothing to write. Then a team change is one update that keeps other attributes.
    writes = len(twilio.writes())
    assert (
        provision(client, store, stage_settings, [NUMBER], lambda _: True, lambda _: None, agents)
        == 0
    )
    assert len(twilio.writes()) == writes
    workers["sato"]["attributes"] = json.dumps({"agent_id": "sato", "team": "tokyo", "skill": "ja"})
    moved = [Agent("sato", "nagoya"), Agent("ito", "osaka")]
    provision(client, store, stage_settings, [NUMBER], lambda _: True, lambda _: None, moved)
    workspace = twilio.collection("/Workspaces")[0]["sid"]
    sato = workers["sato"]["sid"]
    workflow = twilio.collection("/Workflows")[0]["sid"]
    # A new team: its queue, the workflow regenerated with its filters, then the worker.
    assert twilio.writes()[writes:] == [
        ("POST", f"/v1/Workspaces/{workspace}/TaskQueues"),
        ("POST", f"/v1/Workspaces/{workspace}/Workflows/{workflow}"),
        ("POST", f"/v1/Workspaces/{workspace}/Workers/{sato}"),
    ]
    assert json.loads(workers["sato"]["attributes"]) == {
        "agent_id": "sato",
        "team": "nagoya",
        "skill": "ja",
    }


def test_each_team_gets_a_queue_of_exactly_its_workers_and_the_workflow_skips_by_it(
    client: Client, store: StageStore, stage_settings: Settings, twilio: FakeTwilioConfig
) -> None:
    """skip_if counts the workers of the target's queue (twilio.com/docs/taskrouter/
    worker-presence): provision makes each team's queue, and the workflow targets it."""
    from chalicelib.routing.workflow import TeamQueues, queue_expressions, skip_problems

    said: list[str] = []
    teams = ["support", "tokyo-sales"]
    code = provision(
        client, store, stage_settings, [NUMBER], lambda _: True, said.append, teams=teams
    )
    assert code == 0, said
    queues = {q["friendly_name"]: q for q in twilio.collection("/TaskQueues")}
    assert {name: q["target_workers"] for name, q in queues.items()} == {
        "everyone": "1==1",
        "team support": 'team == "support"',
        "team tokyo-sales": 'team == "tokyo-sales"',
    }
    team_queues = TeamQueues.of({t: queues[f"team {t}"]["sid"] for t in teams})
    settings = stage_settings.with_values(queue_sid_everyone=queues["everyone"]["sid"])
    configuration = json.loads(twilio.collection("/Workflows")[0]["configuration"])
    assert configuration == workflow_definition(settings, team_queues)
    assert skip_problems(configuration, queue_expressions(settings, team_queues)) == []
    # Nothing to do the second time.
    writes = len(twilio.writes())
    assert (
        provision(client, store, stage_settings, [NUMBER], lambda _: True, said.append, teams=teams)
        == 0
    )
    assert len(twilio.writes()) == writes


def test_a_team_name_an_expression_cannot_hold_is_refused_before_any_write(
    client: Client, store: StageStore, stage_settings: Settings, twilio: FakeTwilioConfig
) -> None:
    said: list[str] = []
    code = provision(
        client, store, stage_settings, [NUMBER], lambda _: True, said.append, teams=["o'brien"]
    )
    assert code == 2 and "o'brien" in said[0]
    assert twilio.writes() == []
