"""Issue 18 d): the follow-up inbox. GET /agents/me/followups lists my voicemails and callback
requests and my team's unassigned ones (newest first, with the voicemail's player link and
transcript); POST /followups/{id}/done closes one (idempotent); the recordings API lets the rep a
voicemail is assigned to play it; supervisors see the overdue ones."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlsplit

import pytest

from chalicelib import bootstrap
from tests.conftest import TwilioPoster
from tests.conversation_script import CallScript
from tests.conversation_stream import deliver_stream
from tests.data import put_agent, sid
from tests.fakes.twilio_http import RecordingHttpClient
from tests.recording_data import two_channel_wav

HOUR_MS = 3_600_000
STATUS = "/twilio/recordings/status"


def voicemail_script(n: int, owner: str, t0: int, team: str = "tokyo") -> CallScript:
    s = CallScript(n=n, owner=owner, team=team, t0=t0, caller="+81337363999")
    s.leg("ringing", 0).task("task.created", 1)
    s.fact("fallback_offered", 100)
    s.task("task.canceled", 100)
    s.fact("voicemail_left", 130, recording_sid=sid("RE", n))
    s.leg("completed", 131, duration=131)
    return s


def callback_script(n: int, owner: str, t0: int) -> CallScript:
    s = CallScript(n=n, owner=owner, t0=t0, caller="+819012345678")
    s.leg("ringing", 0).task("task.created", 1)
    s.fact("callback_requested", 60)
    s.task("task.canceled", 60)
    s.leg("completed", 62, duration=62)
    return s


@pytest.fixture
def floor(container: bootstrap.Container, resources: Any, settings: Any) -> dict[str, CallScript]:
    now = int(time.time() * 1000)
    for agent, team in (("sato", "tokyo"), ("ito", "tokyo"), ("kato", "osaka")):
        put_agent(resources, settings, agent, team)
    made = {
        "mine": voicemail_script(401, "sato", now - 2 * HOUR_MS),
        "unassigned": callback_script(402, "", now - 1 * HOUR_MS),
        "itos": voicemail_script(403, "ito", now - 3 * HOUR_MS),
        "old": voicemail_script(404, "sato", now - 20 * 24 * HOUR_MS),
        "osaka": voicemail_script(405, "", now - HOUR_MS, team="osaka"),
        "late": callback_script(406, "sato", now - 6 * HOUR_MS),
    }
    for script in made.values():
        for event in script.events():
            container.ledger.store_event(event)
    deliver_stream(container)
    return made


def copy_voicemail(
    client: Any,
    twilio: TwilioPoster,
    container: bootstrap.Container,
    twilio_http: RecordingHttpClient,
    script: CallScript,
) -> str:
    """The voicemail's recording callback, then the copy worker: the recording is in S3."""
    recording_sid = sid("RE", script.n)
    container.settings = container.settings.with_values(recording_copy_delay_seconds=0)
    twilio_http.respond("GET", rf"/Recordings/{recording_sid}\.wav$", (200, two_channel_wav(1, 1)))
    form = {
        "AccountSid": "AC" + "a" * 32,
        "CallSid": script.call_sid,
        "RecordingSid": recording_sid,
        "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/AC{'a' * 32}/Recordings/"
        + recording_sid,
        "RecordingStatus": "completed",
        "RecordingDuration": "29",
        "RecordingChannels": "1",
        "RecordingSource": "RecordVerb",
        "RecordingStartTime": "Wed, 5 Feb 2025 01:00:00 +0000",
        "ErrorCode": "0",
    }
    assert twilio.post(STATUS, form).status_code == 200
    sqs = container.boto_session.client("sqs")
    url = sqs.get_queue_url(QueueName=container.settings.recordings.recordings_queue)["QueueUrl"]
    bodies = [m["Body"] for m in sqs.receive_message(QueueUrl=url).get("Messages", [])]
    assert bodies
    event = client.events.generate_sqs_event(message_bodies=bodies, queue_name="copy")
    client.lambda_.invoke("copy_worker", event)
    return recording_sid


def get(client: Any, path: str, token: str) -> Any:
    return client.http.get(path, headers={"Authorization": f"Bearer {token}"})


def post(client: Any, path: str, token: str) -> Any:
    return client.http.post(path, headers={"Authorization": f"Bearer {token}"}, body="")


def test_inbox_is_mine_and_my_teams_unassigned_newest_first(
    client: Any, floor: dict[str, CallScript], staff_token: Any
) -> None:
    response = get(client, "/agents/me/followups", staff_token("sato"))
    assert response.status_code == 200, response.body
    assert response.headers["Cache-Control"] == "no-store"
    items = json.loads(response.body)["followups"]
    assert [i["id"] for i in items] == [
        floor["unassigned"].call_sid,
        floor["mine"].call_sid,
        floor["late"].call_sid,
    ]
    unassigned, mine, late = items
    assert (unassigned["kind"], unassigned["assignee"]) == ("callback", "")
    assert unassigned["caller_display"] == "090-1234-5678", "national format"
    assert (mine["kind"], mine["assignee"], mine["customer_name"]) == (
        "voicemail",
        "sato",
        "Sakura Foods",
    )
    assert mine["caller_display"] == "03-3736-3999"
    assert mine["voicemail"] is None, "not copied to S3 yet: no player"
    assert (late["overdue"], mine["overdue"]) == (True, False), "overdue after 240 minutes"


def test_another_team_and_signed_out_see_nothing_of_it(
    client: Any, floor: dict[str, CallScript], staff_token: Any
) -> None:
    kato = json.loads(get(client, "/agents/me/followups", staff_token("kato")).body)
    assert [i["id"] for i in kato["followups"]] == [floor["osaka"].call_sid]
    assert client.http.get("/agents/me/followups").status_code == 401


def test_the_assignee_plays_the_voicemail_and_reads_its_transcript_state(
    client: Any,
    twilio: TwilioPoster,
    container: bootstrap.Container,
    twilio_http: RecordingHttpClient,
    floor: dict[str, CallScript],
    staff_token: Any,
) -> None:
    mine = floor["mine"]
    recording_sid = copy_voicemail(client, twilio, container, twilio_http, mine)
    items = json.loads(get(client, "/agents/me/followups", staff_token("sato")).body)["followups"]
    [item] = [i for i in items if i["id"] == mine.call_sid]
    voicemail = item["voicemail"]
    assert urlsplit(voicemail["url"]).path.endswith(f"/{recording_sid}.wav")
    assert voicemail["transcript_status"] in ("started", "not-started", "in-progress", "queued")
    # The recordings API itself: the assignee may play it (nobody "was on" a voicemail).
    path = f"/conversations/{mine.call_sid}/recording"
    assert get(client, path, staff_token("sato")).status_code == 200
    assert get(client, path, staff_token("ito")).status_code == 403, "assigned to sato"
    assert get(client, path, staff_token("boss", supervisor=True)).status_code == 200


def test_done_closes_once_and_only_for_the_assignee_or_the_team_when_unassigned(
    client: Any, floor: dict[str, CallScript], staff_token: Any, container: bootstrap.Container
) -> None:
    mine, unassigned = floor["mine"].call_sid, floor["unassigned"].call_sid
    assert post(client, f"/followups/{mine}/done", staff_token("ito")).status_code == 403
    assert post(client, f"/followups/{unassigned}/done", staff_token("kato")).status_code == 403
    first = post(client, f"/followups/{mine}/done", staff_token("sato"))
    assert first.status_code == 200, first.body
    deliver_stream(container)
    again = post(client, f"/followups/{mine}/done", staff_token("sato"))
    assert json.loads(again.body)["done_ms"] == json.loads(first.body)["done_ms"], "idempotent"
    assert post(client, f"/followups/{unassigned}/done", staff_token("ito")).status_code == 200
    deliver_stream(container)
    left = json.loads(get(client, "/agents/me/followups", staff_token("sato")).body)
    assert [i["id"] for i in left["followups"]] == [floor["late"].call_sid]
    record = container.ledger.current_record(mine)
    assert record is not None and record["follow_up_done_by"] == "sato"


def test_done_refuses_what_is_not_a_follow_up(client: Any, staff_token: Any) -> None:
    token = staff_token("sato")
    assert post(client, f"/followups/{sid('CA', 999)}/done", token).status_code == 404
    assert post(client, "/followups/not-a-sid/done", token).status_code == 400


def test_overdue_follow_ups_for_supervisors(
    client: Any, floor: dict[str, CallScript], staff_token: Any
) -> None:
    assert get(client, "/followups/overdue", staff_token("sato")).status_code == 403
    response = get(client, "/followups/overdue", staff_token("boss", supervisor=True))
    rows = json.loads(response.body)["followups"]
    assert [r["id"] for r in rows] == [floor["late"].call_sid], "older than 4 h and open"
    assert rows[0]["assignee"] == "sato"
