"""Live transcript domain: whose voice a track is, Twilio's callback shapes, the mood so far."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.platform.errors import InvalidInput
from chalicelib.transcripts.domain import (
    TranscriptionCallback,
    Utterance,
    call_mood,
    in_order,
    parse_timestamp,
    speaker_of,
)
from chalicelib.transcripts.live import clip_utf8, comprehend_language

CALL = "CA" + "1" * 32


def test_on_the_customers_leg_inbound_is_the_customer_and_outbound_the_agent() -> None:
    # Twilio receives the customer's voice from their leg and sends them the agent's.
    assert speaker_of("inbound_track", "customer") == "customer"
    assert speaker_of("outbound_track", "customer") == "agent"
    # Started on an agent's leg one day, the same tracks mean the other speakers.
    assert speaker_of("inbound_track", "agent") == "agent"
    assert speaker_of("outbound_track", "agent") == "customer"
    with pytest.raises(InvalidInput):
        speaker_of("both_tracks", "customer")


def test_timestamps_in_iso_8601_and_rfc_2822_are_read_and_nonsense_refused() -> None:
    assert parse_timestamp("2025-02-04T17:03:10.000Z") == 1738688590000
    assert parse_timestamp("Tue, 4 Feb 2025 17:03:10 +0000") == 1738688590000
    with pytest.raises(InvalidInput):
        parse_timestamp("yesterday")


def test_a_content_callback_reads_as_documented() -> None:
    callback = TranscriptionCallback.from_form(
        {
            "TranscriptionEvent": "transcription-content",
            "CallSid": CALL,
            "TranscriptionSid": "GT" + "2" * 32,
            "Timestamp": "2025-02-04T17:03:10.000Z",
            "Track": "outbound_track",
            "SequenceId": "7",
            "Final": "true",
            "LanguageCode": "ja-JP",
            "TranscriptionData": json.dumps({"transcript": " 承知しました ", "confidence": 0.9}),
        }
    )
    assert (callback.track, callback.sequence, callback.final) == ("outbound_track", 7, True)
    assert (callback.text, callback.confidence) == ("承知しました", 0.9)


@pytest.mark.parametrize(
    "change",
    [
        {"TranscriptionEvent": "transcription-paused"},
        {"TranscriptionData": "not json"},
        {"TranscriptionData": json.dumps({"confidence": 1})},
        {"SequenceId": "seven"},
        {"CallSid": ""},
    ],
)
def test_a_malformed_callback_is_a_bad_request(change: dict[str, str]) -> None:
    form = {
        "TranscriptionEvent": "transcription-content",
        "CallSid": CALL,
        "TranscriptionSid": "GT" + "2" * 32,
        "Timestamp": "2025-02-04T17:03:10.000Z",
        "Track": "inbound_track",
        "SequenceId": "1",
        "Final": "true",
        "TranscriptionData": json.dumps({"transcript": "はい"}),
    }
    with pytest.raises(InvalidInput):
        TranscriptionCallback.from_form({**form, **change})


def line(
    seq: int, at: int, speaker: str = "customer", scores: dict[str, float] | None = None
) -> Utterance:
    return Utterance(CALL, "GT1", seq, at, speaker, f"line {seq}", scores=scores or {})  # type: ignore[arg-type]


@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 10_000)), max_size=30), st.randoms())
def test_in_order_is_one_line_per_identity_in_spoken_order_whatever_the_arrival(
    pairs: list[tuple[int, int]], rnd: object
) -> None:
    lines = [line(seq, at) for seq, at in pairs]
    shuffled = lines + lines[: len(lines) // 2]
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    result = in_order(shuffled)
    assert len({(u.transcription_sid, u.sequence) for u in result}) == len(result)
    assert {u.sequence for u in result} == {seq for seq, _ in pairs}
    assert [u.sequence for u in result] == sorted(u.sequence for u in result)


def test_a_restarted_transcription_follows_the_first_whatever_the_sequence_numbers() -> None:
    first = [Utterance(CALL, "GT9", n, 1000 + n, "customer", f"a{n}") for n in (1, 2, 3)]
    second = [Utterance(CALL, "GT1", n, 5000 + n, "agent", f"b{n}") for n in (1, 2)]
    assert [u.text for u in in_order([*second, *first])] == ["a1", "a2", "a3", "b1", "b2"]


NEG = {"Positive": 0.02, "Negative": 0.9, "Neutral": 0.07, "Mixed": 0.01}
POS = {"Positive": 0.9, "Negative": 0.02, "Neutral": 0.07, "Mixed": 0.01}


def test_a_call_that_turns_sour_is_flagged_and_the_agents_words_do_not_count() -> None:
    friendly = [line(i, i, scores=POS) for i in range(10)]
    assert not call_mood(friendly, (), 0.5).flagged
    soured = [*friendly, line(10, 10, scores=NEG), line(11, 11, scores=NEG)]
    mood = call_mood(soured, (), 0.5)
    assert mood.flagged and mood.reasons == ("negative",) and mood.sentiment == "NEGATIVE"
    agent_angry = [*friendly, line(10, 10, "agent", scores=NEG)]
    assert not call_mood(agent_angry, (), 0.5).flagged


def test_keywords_said_by_the_customer_raise_an_alert() -> None:
    said = Utterance(CALL, "GT1", 1, 1, "customer", "もう解約します", scores=POS)
    echoed = Utterance(CALL, "GT1", 2, 2, "agent", "クレームとして承ります")
    mood = call_mood([said, echoed], ("解約", "クレーム", "上の者"), 0.5)
    assert mood.keywords == ("解約",) and mood.reasons == ("keyword",)


def test_comprehend_gets_its_language_and_documents_under_its_size_limit() -> None:
    assert comprehend_language("ja-JP") == "ja"
    clipped = clip_utf8("あ" * 3000)
    assert len(clipped.encode("utf-8")) <= 4900 and clipped == "あ" * 1633
