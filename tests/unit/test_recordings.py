"""The recording domain: channel mapping, keys, WAV checks, copy verification, speaker turns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.platform.errors import InvalidInput
from chalicelib.recordings.domain import (
    CallContext,
    CopyJob,
    CopyNotVerified,
    CorruptMedia,
    MappingSource,
    RecordingCallback,
    Speaker,
    StoredObject,
    channel_map,
    conversation_id_for,
    first_joined,
    inspect_wav,
    may_listen,
    object_key,
    recording_sid_of_job,
    speaker_turns,
    transcription_job_name,
    verify_copy,
)
from chalicelib.telephony.forms import parse_form
from tests.data import sid
from tests.recording_data import (
    AGENT_CALL,
    CONFERENCE_SID,
    CUSTOMER_CALL,
    RECORDING_SID,
    conference_recording_form,
    transcribe_output,
    two_channel_wav,
    voicemail_recording_form,
)

NOW = datetime(2025, 2, 4, 17, 3, tzinfo=UTC)


def conference_job(**changes: object) -> CopyJob:
    job = parse_form(RecordingCallback, conference_recording_form()).copy_job(NOW)
    return CopyJob(**{**job.__dict__, **changes})  # type: ignore[arg-type]


# --- the callback -------------------------------------------------------------------------


def test_conference_callback_parses_twilio_fields() -> None:
    callback = parse_form(RecordingCallback, conference_recording_form())
    assert callback.is_complete
    assert callback.channels == 2
    assert callback.call_sid == ""
    # RFC 2822 with a one-digit day.
    assert callback.started_at == datetime(2025, 2, 4, 17, 3, 12, tzinfo=UTC)


def test_absent_recording_is_not_complete() -> None:
    form = conference_recording_form(status="absent", error_code="13617")
    assert not parse_form(RecordingCallback, form).is_complete


def test_callback_naming_neither_conference_nor_call_is_rejected() -> None:
    form = conference_recording_form()
    del form["ConferenceSid"]
    with pytest.raises(InvalidInput, match="neither ConferenceSid nor CallSid"):
        parse_form(RecordingCallback, form)


def test_copy_job_survives_the_queue_unchanged() -> None:
    job = parse_form(RecordingCallback, conference_recording_form()).copy_job(
        NOW, {"conversation": CUSTOMER_CALL, "agent": "sato"}
    )
    assert CopyJob.from_json(job.to_json()) == job
    assert job.conversation_hint == CUSTOMER_CALL


def test_unreadable_queue_message_is_an_error_not_a_skip() -> None:
    with pytest.raises(CorruptMedia):
        CopyJob.from_json('{"recording_sid": "RE1"}')


# --- channels -----------------------------------------------------------------------------


def test_customer_joining_first_is_channel_one() -> None:
    context = CallContext(conversation_id=CUSTOMER_CALL, first_joined_call_sid=CUSTOMER_CALL)
    mapping = channel_map(conference_job(), context)
    assert (mapping.customer_channel, mapping.agent_channel) == (1, 2)
    assert mapping.source is MappingSource.JOIN_ORDER


def test_agent_joining_first_is_channel_one() -> None:
    context = CallContext(conversation_id=CUSTOMER_CALL, first_joined_call_sid=AGENT_CALL)
    mapping = channel_map(conference_job(), context)
    assert (mapping.customer_channel, mapping.agent_channel) == (2, 1)
    assert mapping.speaker(1) is Speaker.AGENT
    assert mapping.source is MappingSource.JOIN_ORDER


def test_without_join_callbacks_taskrouter_order_puts_the_agent_first() -> None:
    mapping = channel_map(conference_job(), CallContext(conversation_id=CUSTOMER_CALL))
    assert (mapping.customer_channel, mapping.agent_channel) == (2, 1)
    assert mapping.source is MappingSource.TASKROUTER_ORDER


def test_voicemail_is_the_customer_alone() -> None:
    job = parse_form(RecordingCallback, voicemail_recording_form()).copy_job(NOW)
    mapping = channel_map(job, CallContext())
    assert (mapping.customer_channel, mapping.agent_channel) == (1, None)
    assert mapping.source is MappingSource.SINGLE_PARTY
    assert conversation_id_for(job, CallContext()) == CUSTOMER_CALL


@given(st.permutations([(3, 5000, "CA-late"), (1, 9000, "CA-first"), (2, 1000, "CA-second")]))
def test_first_joined_follows_sequence_numbers_in_any_arrival_order(
    joins: list[tuple[int, int, str]],
) -> None:
    assert first_joined(joins) == "CA-first"


def test_unlinked_conference_recording_is_filed_under_the_conference() -> None:
    assert conversation_id_for(conference_job(), CallContext()) == CONFERENCE_SID


# --- keys ---------------------------------------------------------------------------------


@given(
    st.lists(
        st.tuples(st.integers(0, 3000), st.integers(1, 2**40)),
        min_size=2,
        max_size=20,
    )
)
def test_keys_sort_by_day_then_conversation(entries: list[tuple[int, int]]) -> None:
    base = datetime(2025, 1, 1, tzinfo=UTC)
    keyed = []
    for hours, conversation in entries:
        started = base + timedelta(hours=hours)
        conversation_id = sid("CA", conversation)
        key = object_key(conference_job(started_at=started), conversation_id)
        keyed.append((key, (started.date(), conversation_id)))
    assert [k for k, _ in sorted(keyed)] == [k for k, _ in sorted(keyed, key=lambda kv: kv[1])]


def test_key_layout() -> None:
    key = object_key(conference_job(), CUSTOMER_CALL)
    assert key == f"recordings/2025/02/04/{CUSTOMER_CALL}/{RECORDING_SID}.wav"


def test_transcription_job_names_round_trip() -> None:
    assert recording_sid_of_job(transcription_job_name(RECORDING_SID)) == RECORDING_SID
    assert recording_sid_of_job("someone-elses-job") is None


# --- the media ----------------------------------------------------------------------------


def test_two_channel_wav_is_accepted_with_its_checksum() -> None:
    data = two_channel_wav()
    audio = inspect_wav(data, expected_channels=2)
    assert (audio.channels, audio.sample_rate, audio.frames, audio.size) == (
        2,
        8000,
        8000,
        len(data),
    )
    assert len(audio.sha256_hex) == 64


def test_truncated_wav_is_refused() -> None:
    with pytest.raises(CorruptMedia, match="truncated"):
        inspect_wav(two_channel_wav()[:-1000], expected_channels=2)


def test_mono_download_of_a_dual_recording_is_refused() -> None:
    with pytest.raises(CorruptMedia, match="1 channel"):
        inspect_wav(two_channel_wav(channels=1), expected_channels=2)


def test_json_error_body_is_not_audio() -> None:
    with pytest.raises(CorruptMedia):
        inspect_wav(b'{"code": 20404, "message": "not found"}', expected_channels=2)


def test_copy_must_match_size_and_checksum() -> None:
    audio = inspect_wav(two_channel_wav(), 2)
    verify_copy(audio, StoredObject("k", audio.size, audio.sha256_b64))
    with pytest.raises(CopyNotVerified, match="bytes"):
        verify_copy(audio, StoredObject("k", audio.size - 1, audio.sha256_b64))
    other = inspect_wav(two_channel_wav(seconds=0.5), 2)
    with pytest.raises(CopyNotVerified, match="SHA-256"):
        verify_copy(audio, StoredObject("k", audio.size, other.sha256_b64))


# --- transcripts --------------------------------------------------------------------------


def test_transcribe_channels_become_customer_and_agent_turns_in_time_order() -> None:
    mapping = channel_map(conference_job(), CallContext(conversation_id=CUSTOMER_CALL))
    turns = speaker_turns(transcribe_output("cc-x"), mapping, "ja-JP")
    assert [(t.speaker, t.channel, t.start, t.end, t.text) for t in turns] == [
        (Speaker.AGENT, 1, 0.5, 1.8, "お電話ありがとうございます。"),
        (Speaker.CUSTOMER, 2, 2.0, 3.1, "注文の確認。"),
        (Speaker.AGENT, 1, 4.0, 4.9, "承知しました。"),
    ]


def test_spaced_languages_keep_spaces_between_words() -> None:
    mapping = channel_map(conference_job(), CallContext(conversation_id=CUSTOMER_CALL))
    turns = speaker_turns(transcribe_output("cc-x"), mapping, "en-US")
    assert turns[0].text == "お電話 ありがとう ございます。"


def test_long_pause_splits_a_turn() -> None:
    mapping = channel_map(conference_job(), CallContext(conversation_id=CUSTOMER_CALL))
    turns = speaker_turns(transcribe_output("cc-x"), mapping, "ja-JP", max_pause=0.1)
    assert len(turns) == 3  # no pause inside a turn exceeds 0.1 s in the fixture
    assert len(speaker_turns(transcribe_output("cc-x"), mapping, "ja-JP", max_pause=-1)) == 8


def test_transcript_without_channel_labels_is_refused() -> None:
    with pytest.raises(CorruptMedia, match="channel_labels"):
        speaker_turns(
            {"results": {"transcripts": []}}, channel_map(conference_job(), CallContext()), "ja-JP"
        )


# --- who may listen -----------------------------------------------------------------------


def test_only_supervisors_and_agents_on_the_call_may_listen() -> None:
    assert may_listen("sato", False, {"sato", "kato"})
    assert not may_listen("ito", False, {"sato"})
    assert may_listen("boss", True, set())
