"""The stand-in's Real-Time Transcription: started through the Calls Transcriptions resource,
refused as Twilio refuses it, and calling back with each party on its track
(ops/standin/live_transcription.py cites the pages)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from ops.standin.engine import CallerPlan
from ops.standin.rest import Rest
from ops.standin.server import InProcessTwilioHttp
from tests.standin.test_engine import AC, BASE, TOKEN, available, build

CALLBACK = BASE + "/twilio/transcriptions/realtime?conversation=x&leg=customer"


def answered_call(talk_seconds: float = 60.0) -> tuple[Any, Any, str, Client]:
    standin, app, _ = build({"+81311112222": "sato"})
    available(standin, "sato")
    sid = standin.place_call(
        CallerPlan(caller="+81311112222", patience=600.0, talk_seconds=talk_seconds)
    )
    standin.clock.run(until=standin.now() + 15)  # answered, in the conference
    client = Client(AC, TOKEN, http_client=InProcessTwilioHttp(Rest(standin)))
    return standin, app, sid, client


def test_the_customers_leg_is_transcribed_on_its_tracks_until_the_call_ends() -> None:
    standin, app, sid, client = answered_call()
    transcription = client.calls(sid).transcriptions.create(
        name=f"live-{sid}",
        track="both_tracks",
        status_callback_url=CALLBACK,
        language_code="ja-JP",
        partial_results=False,
    )
    assert transcription.sid.startswith("GT") and transcription.status == "in-progress"
    standin.clock.run(until=standin.now() + 600)  # the call ends meanwhile
    forms = [f for path, f in app.requests if path == "/twilio/transcriptions/realtime"]
    events = [f["TranscriptionEvent"] for f in forms]
    assert events[0] == "transcription-started" and events[-1] == "transcription-stopped"
    contents = [f for f in forms if f["TranscriptionEvent"] == "transcription-content"]
    assert contents and all(f["Final"] == "true" and f["CallSid"] == sid for f in contents)
    assert [int(f["SequenceId"]) for f in contents] == list(range(1, len(contents) + 1))
    for form in contents:
        text = json.loads(form["TranscriptionData"])["transcript"]
        # On the customer's leg: the customer is heard on inbound, the agent on outbound.
        expected = "inbound_track" if text.startswith(("お客様", "解約")) else "outbound_track"
        assert form["Track"] == expected, (form["Track"], text)
    said = standin.live_transcription.spoken[sid]
    assert [line.speaker for line in said][:2] == ["customer", "agent"]


def test_a_second_start_with_the_same_name_and_a_bad_track_are_refused() -> None:
    _, _, sid, client = answered_call()
    client.calls(sid).transcriptions.create(name="live", status_callback_url=CALLBACK)
    with pytest.raises(TwilioRestException) as twice:
        client.calls(sid).transcriptions.create(name="live", status_callback_url=CALLBACK)
    assert twice.value.status == 400
    with pytest.raises(TwilioRestException) as track:
        client.calls(sid).transcriptions.create(track="all_tracks", status_callback_url=CALLBACK)
    assert track.value.status == 400


def test_a_call_that_ended_cannot_be_transcribed() -> None:
    standin, _, sid, client = answered_call(talk_seconds=5.0)
    standin.clock.run(until=standin.now() + 120)
    with pytest.raises(TwilioRestException) as ended:
        client.calls(sid).transcriptions.create(status_callback_url=CALLBACK)
    assert ended.value.status == 400 and ended.value.code == 21220
