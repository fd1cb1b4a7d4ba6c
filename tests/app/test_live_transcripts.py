"""Live transcripts through the app: the customer's join starts Twilio's real-time transcription
on their leg; signed callbacks store lines on their speaker; the stream consumer scores them
with Comprehend (ops/standin/comprehend.py at the client boundary); the staff read them."""

from __future__ import annotations

import json
import random
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib import bootstrap
from chalicelib.transcripts.comprehend import SentimentUnavailable
from ops.standin.comprehend import FakeComprehend, play_batch_detect_sentiment
from tests.conftest import TwilioPoster
from tests.data import ACCOUNT_SID, sid
from tests.fakes.twilio_http import RecordingHttpClient
from tests.recording_data import AGENT_CALL, CUSTOMER_CALL, participant_join_form

CALLBACK = "/twilio/transcriptions/realtime"
TRANSCRIPTION_SID = "GT" + "7" * 32
CONFERENCE = "/twilio/conference/status"
# Twilio's transcription callbacks carry ISO 8601 timestamps in its examples.
T0 = "2025-02-04T17:03:10.000Z"


@pytest.fixture
def comprehend(container: bootstrap.Container) -> FakeComprehend:
    """moto's Comprehend, taught BatchDetectSentiment: the app's own boto3 client reaches it."""
    return play_batch_detect_sentiment(FakeComprehend())


@pytest.fixture
def starts(twilio_http: RecordingHttpClient) -> RecordingHttpClient:
    twilio_http.respond(
        "POST",
        r"/Calls/CA[0-9a-f]{32}/Transcriptions\.json$",
        (201, {"sid": TRANSCRIPTION_SID, "status": "in-progress", "call_sid": CUSTOMER_CALL}),
    )
    return twilio_http


def callback_path(agent: str = "sato", conversation: str = CUSTOMER_CALL) -> str:
    return f"{CALLBACK}?agent={agent}&conversation={conversation}&leg=customer"


def content(
    sequence: int, track: str, text: str, second: int = 0, final: bool = True
) -> dict[str, str]:
    """A transcription-content callback as twilio.com/docs/voice/twiml/transcription shows it."""
    return {
        "AccountSid": ACCOUNT_SID,
        "CallSid": CUSTOMER_CALL,
        "TranscriptionSid": TRANSCRIPTION_SID,
        "Timestamp": f"2025-02-04T17:03:{10 + second:02d}.000Z",
        "TranscriptionEvent": "transcription-content",
        "LanguageCode": "ja-JP",
        "Track": track,
        "TranscriptionData": json.dumps({"transcript": text, "confidence": 0.93}),
        "Final": "true" if final else "false",
        "SequenceId": str(sequence),
    }


def session(event: str) -> dict[str, str]:
    return {
        "AccountSid": ACCOUNT_SID,
        "CallSid": CUSTOMER_CALL,
        "TranscriptionSid": TRANSCRIPTION_SID,
        "Timestamp": T0,
        "TranscriptionEvent": event,
    }


def join(twilio: TwilioPoster, call_sid: str, sequence: int = 1) -> Any:
    form = participant_join_form(call_sid, sequence, "Tue, 4 Feb 2025 17:03:01 +0000")
    path = f"{CONFERENCE}?agent=sato&conversation={CUSTOMER_CALL}&task=WT{'5' * 32}"
    return twilio.post(path, form)


def transcription_starts(http: RecordingHttpClient) -> list[Any]:
    return [r for r in http.requests if r.path.endswith("/Transcriptions.json")]


def deliver(container: bootstrap.Container) -> None:
    """The live transcripts table's stream (KEYS_ONLY INSERTs) to the app's consumer, as Lambda
    would deliver it; moto in-process runs no stream consumer."""
    from chalicelib.api.transcripts import transcript_stream

    table = container.records_dynamodb.Table(container.settings.transcripts.live_transcripts_table)
    items = table.scan()["Items"]
    records = [
        {
            "eventID": f"{n:032x}",
            "eventName": "INSERT",
            "eventSource": "aws:dynamodb",
            "dynamodb": {
                "Keys": {"call_sid": {"S": i["call_sid"]}, "sk": {"S": i["sk"]}},
                "StreamViewType": "KEYS_ONLY",
                "SequenceNumber": str(n),
                "ApproximateCreationDateTime": 1_764_000_000,
                "SizeBytes": 100,
            },
            "awsRegion": "ap-northeast-1",
            "eventVersion": "1.1",
            "eventSourceARN": "arn:aws:dynamodb:ap-northeast-1:000000000000:table/t/stream/x",
        }
        for n, i in enumerate(items, start=1)
    ]
    transcript_stream({"Records": records}, None)


def test_the_customers_join_starts_one_transcription_on_their_leg_with_both_tracks(
    twilio: TwilioPoster, starts: RecordingHttpClient
) -> None:
    assert join(twilio, AGENT_CALL).status_code == 204  # the agent's leg: nothing starts
    assert transcription_starts(starts) == []
    assert join(twilio, CUSTOMER_CALL, 2).status_code == 204
    assert join(twilio, CUSTOMER_CALL, 2).status_code == 204  # a duplicated callback
    [start] = transcription_starts(starts)
    assert f"/Calls/{CUSTOMER_CALL}/Transcriptions.json" in start.url
    assert start.data["Track"] == "both_tracks"
    assert start.data["LanguageCode"] == "ja-JP"
    assert start.data["PartialResults"] == "false"
    assert start.data["StatusCallbackMethod"] == "POST"
    url = urlsplit(start.data["StatusCallbackUrl"])
    assert url.path.endswith(CALLBACK)  # the public base URL has the stage prefix
    assert parse_qs(url.query) == {
        "agent": ["sato"],
        "conversation": [CUSTOMER_CALL],
        "leg": ["customer"],
    }


def test_a_team_switched_off_gets_no_live_transcript(
    container: bootstrap.Container, twilio: TwilioPoster, starts: RecordingHttpClient
) -> None:
    agents = container.dynamodb.Table(container.settings.routing.agents_table)
    agents.put_item(Item={"agent_id": "sato", "team": "billing"})
    container.settings = container.settings.with_values(live_transcript_teams_off="billing,sales")
    assert join(twilio, CUSTOMER_CALL).status_code == 204
    assert transcription_starts(starts) == []


def test_twilio_refusing_the_start_never_fails_the_conference_callback(
    twilio: TwilioPoster, twilio_http: RecordingHttpClient
) -> None:
    twilio_http.fail("POST", r"/Transcriptions\.json$", status=500)
    assert join(twilio, CUSTOMER_CALL).status_code == 204


def test_a_signed_callback_is_stored_on_its_speaker_and_scored(
    container: bootstrap.Container,
    twilio: TwilioPoster,
    comprehend: FakeComprehend,
    starts: RecordingHttpClient,
    staff_token: Any,
) -> None:
    join(twilio, CUSTOMER_CALL)
    for form in (
        session("transcription-started"),
        content(1, "inbound_track", "解約したいんですけど、本当にひどい対応ですね", second=2),
        content(2, "outbound_track", "大変申し訳ございません", second=4),
    ):
        response = twilio.post(callback_path(), form)
        assert response.status_code == 200, response.body
    deliver(container)
    assert len(comprehend.batches) == 1  # both lines in one BatchDetectSentiment

    sato = {"Authorization": f"Bearer {staff_token('sato')}"}
    got = twilio.client.http.get(f"/conversations/{CUSTOMER_CALL}/transcript", headers=sato)
    assert got.status_code == 200, got.body
    live = json.loads(got.body)["live"]
    assert live["live"] is True
    assert [(line["speaker"], line["sentiment"]) for line in live["lines"]] == [
        ("customer", "NEGATIVE"),
        ("agent", "NEUTRAL"),
    ]
    assert live["flagged"] and live["keywords"] == ["解約"]

    boss = {"Authorization": f"Bearer {staff_token('boss', supervisor=True)}"}
    flagged = json.loads(twilio.client.http.get("/transcripts/flagged", headers=boss).body)
    assert [c["call_sid"] for c in flagged["calls"]] == [CUSTOMER_CALL]
    other = {"Authorization": f"Bearer {staff_token('suzuki')}"}
    denied = twilio.client.http.get(f"/conversations/{CUSTOMER_CALL}/transcript", headers=other)
    assert denied.status_code == 403
    assert twilio.client.http.get("/transcripts/flagged", headers=other).status_code == 403

    twilio.post(callback_path(), session("transcription-stopped"))
    deliver(container)
    after = json.loads(
        twilio.client.http.get(f"/conversations/{CUSTOMER_CALL}/transcript", headers=sato).body
    )["live"]
    assert after["live"] is False and len(after["lines"]) == 2


def test_an_unsigned_or_malformed_callback_is_refused_and_writes_nothing(
    container: bootstrap.Container, twilio: TwilioPoster
) -> None:
    form = content(1, "inbound_track", "もしもし")
    assert twilio.post(callback_path(), form, signature=None).status_code == 403
    assert twilio.post(callback_path(), form, signature="bm90IGEgc2lnbmF0dXJl").status_code == 403
    bad = {**form, "Track": "both_tracks"}
    assert twilio.post(callback_path(), bad).status_code == 400
    no_leg = f"{CALLBACK}?conversation={CUSTOMER_CALL}"
    assert twilio.post(no_leg, form).status_code == 400
    table = container.records_dynamodb.Table(container.settings.transcripts.live_transcripts_table)
    assert table.scan()["Items"] == []


def test_partial_results_are_not_stored(
    container: bootstrap.Container, twilio: TwilioPoster
) -> None:
    response = twilio.post(callback_path(), content(1, "inbound_track", "もし", final=False))
    assert json.loads(response.body) == {"outcome": "skipped"}


LINES = [
    (1, "inbound_track", "お世話になっております"),
    (2, "outbound_track", "はい、サポート窓口です"),
    (3, "inbound_track", "請求書の件で"),
    (4, "outbound_track", "確認いたします"),
    (5, "inbound_track", "ありがとう"),
]


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(order=st.permutations(range(len(LINES))), duplicates=st.lists(st.integers(0, 4), max_size=4))
def test_lines_land_in_spoken_order_once_whatever_order_and_repeats_the_callbacks_come_in(
    container: bootstrap.Container,
    twilio: TwilioPoster,
    comprehend: FakeComprehend,
    staff_token: Any,
    order: list[int],
    duplicates: list[int],
) -> None:
    table = container.records_dynamodb.Table(container.settings.transcripts.live_transcripts_table)
    for item in table.scan()["Items"]:
        table.delete_item(Key={"call_sid": item["call_sid"], "sk": item["sk"]})
    deliveries = [*order, *duplicates]
    random.Random(len(duplicates)).shuffle(deliveries)
    for i in deliveries:
        sequence, track, text = LINES[i]
        assert (
            twilio.post(callback_path(), content(sequence, track, text, second=i)).status_code
            == 200
        )
        if i == deliveries[len(deliveries) // 2]:
            deliver(container)  # the consumer runs while callbacks are still arriving
    deliver(container)
    boss = {"Authorization": f"Bearer {staff_token('boss', supervisor=True)}"}
    got = twilio.client.http.get(f"/conversations/{CUSTOMER_CALL}/transcript", headers=boss)
    lines = json.loads(got.body)["live"]["lines"]
    assert [(line["speaker"], line["text"]) for line in lines] == [
        ("customer" if track == "inbound_track" else "agent", text) for _, track, text in LINES
    ]
    assert all(line["sentiment"] for line in lines)


def test_text_search_finds_the_calls_that_said_a_word_within_the_dates(
    container: bootstrap.Container,
    twilio: TwilioPoster,
    comprehend: FakeComprehend,
    starts: RecordingHttpClient,
    staff_token: Any,
) -> None:
    join(twilio, CUSTOMER_CALL)
    twilio.post(callback_path(), content(1, "inbound_track", "上の者を出してください"))
    deliver(container)
    boss = {"Authorization": f"Bearer {staff_token('boss', supervisor=True)}"}
    found = json.loads(
        twilio.client.http.get(f"/conversations?text={quote('上の者')}", headers=boss).body
    )["conversations"]
    assert [f["conversation_id"] for f in found] == [CUSTOMER_CALL]
    assert "上の者" in found[0]["snippet"]
    none = json.loads(
        twilio.client.http.get(f"/conversations?text={quote('請求')}", headers=boss).body
    )
    assert none["conversations"] == []
    earlier = f"/conversations?text={quote('上の者')}&from=2020-01-01&to=2020-01-02"
    assert json.loads(twilio.client.http.get(earlier, headers=boss).body)["conversations"] == []
    other = {"Authorization": f"Bearer {staff_token('suzuki')}"}
    mine = json.loads(
        twilio.client.http.get(f"/conversations?text={quote('上の者')}", headers=other).body
    )
    assert mine["conversations"] == []


def test_a_long_call_is_scored_in_batches_of_25_and_a_comprehend_outage_is_retried(
    container: bootstrap.Container, twilio: TwilioPoster, comprehend: FakeComprehend
) -> None:
    for n in range(30):
        form = content(n, "inbound_track" if n % 2 else "outbound_track", f"{n}番目の発言")
        assert twilio.post(callback_path(), form).status_code == 200
    comprehend.throttle_next = 10  # more than boto3's own retries
    with pytest.raises(SentimentUnavailable):  # the batch fails: Lambda delivers it again
        deliver(container)
    comprehend.throttle_next = 0
    deliver(container)
    assert [len(batch) for batch in comprehend.batches] == [25, 5]
    deliver(container)  # delivered again (at least once): nothing left to score
    assert len(comprehend.batches) == 2


def test_a_stopped_transcription_adds_its_cost_to_the_conversation(
    container: bootstrap.Container, twilio: TwilioPoster, comprehend: FakeComprehend
) -> None:
    container.settings = container.settings.with_values(
        live_transcript_usd_per_minute=0.01, comprehend_usd_per_unit=0.0001
    )
    started = {**session("transcription-started"), "Timestamp": "2025-02-04T17:03:00.000Z"}
    stopped = {**session("transcription-stopped"), "Timestamp": "2025-02-04T17:04:30.000Z"}
    for form in (
        started,
        content(1, "inbound_track", "あ" * 250),  # 3 units
        content(2, "outbound_track", "はい"),  # the minimum, 3 units
        stopped,
    ):
        assert twilio.post(callback_path(), form).status_code == 200
    deliver(container)
    deliver(container)  # delivered again: stored once
    events = container.records_dynamodb.Table(
        container.settings.conversations.conversation_events_table
    )
    prices = [i for i in events.scan()["Items"] if str(i["sk"]).startswith("price#")]
    assert len(prices) == 1
    # 2 started minutes x 0.01 + 6 units x 0.0001
    assert prices[0]["form"]["Price"] == "0.020600" and prices[0]["form"]["PriceUnit"] == "USD"


def test_an_outbound_calls_customer_leg_is_transcribed_onto_its_conversation(
    container: bootstrap.Container,
    twilio: TwilioPoster,
    starts: RecordingHttpClient,
    comprehend: FakeComprehend,
) -> None:
    """Outbound (issue 17) reuses the start: the leg placed to the customer is transcribed, and
    its lines land on the conversation, which is known by our own leg."""
    conversation, customer_leg = AGENT_CALL, CUSTOMER_CALL
    outcome = container.live_transcripts.start_on_customer_leg(
        customer_leg, "sato", conversation_id=conversation
    )
    assert outcome == "started"
    [start] = transcription_starts(starts)
    assert f"/Calls/{customer_leg}/Transcriptions.json" in start.url
    assert parse_qs(urlsplit(start.data["StatusCallbackUrl"]).query)["conversation"] == [
        conversation
    ]
    said = content(1, "inbound_track", "折り返しありがとうございます")
    assert twilio.post(callback_path(conversation=conversation), said).status_code == 200
    deliver(container)
    live = container.live_transcripts.transcript(conversation)
    assert live is not None and [(x["speaker"], x["sentiment"]) for x in live["lines"]] == [
        ("customer", "POSITIVE")
    ]
    assert container.live_transcripts.transcript(customer_leg) is None


def test_an_outbound_customer_joining_our_reps_conference_starts_the_transcription(
    twilio: TwilioPoster, starts: RecordingHttpClient
) -> None:
    """Outbound, the conversation is our rep's leg and the customer is the participant labelled
    `customer` (ParticipantLabel, conference status callback): their join starts it, on their
    leg; the rep's own join or a colleague's (internal call) does not."""
    path = f"{CONFERENCE}?agent=sato&conversation={AGENT_CALL}"

    def joined(call_sid: str, label: str, sequence: int) -> int:
        form = participant_join_form(call_sid, sequence, "Tue, 4 Feb 2025 17:03:01 +0000")
        form["ParticipantLabel"] = label
        return twilio.post(path, form).status_code

    assert joined(AGENT_CALL, "agent:sato", 1) == 204
    assert joined(sid("CA", 77), "agent:suzuki", 2) == 204
    assert transcription_starts(starts) == []
    assert joined(CUSTOMER_CALL, "customer", 3) == 204
    [start] = transcription_starts(starts)
    assert f"/Calls/{CUSTOMER_CALL}/Transcriptions.json" in start.url
    assert parse_qs(urlsplit(start.data["StatusCallbackUrl"]).query)["conversation"] == [AGENT_CALL]
