"""Builders for recording tests: a real two-channel WAV, Twilio's recording callback, and
Amazon Transcribe's channel-identified output in its documented format
(https://docs.aws.amazon.com/transcribe/latest/dg/channel-id-output-batch.html)."""

from __future__ import annotations

import io
import math
import struct
import wave
from typing import Any

from tests.data import ACCOUNT_SID, sid

RATE = 8000
CONFERENCE_SID = sid("CF", 7)
CUSTOMER_CALL = sid("CA", 1)
AGENT_CALL = sid("CA", 2)
RECORDING_SID = sid("RE", 9)
VOICEMAIL_SID = sid("RE", 10)


def two_channel_wav(seconds: float = 1.0, channels: int = 2) -> bytes:
    """16-bit PCM at 8 kHz: a 440 Hz tone on channel 1, 660 Hz on channel 2 (distinct bytes)."""
    frames = bytearray()
    for n in range(int(RATE * seconds)):
        for channel in range(channels):
            tone = (440, 660)[channel]
            frames += struct.pack("<h", int(8000 * math.sin(2 * math.pi * tone * n / RATE)))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(bytes(frames))
    return buffer.getvalue()


def conference_recording_form(
    recording_sid: str = RECORDING_SID,
    conference_sid: str = CONFERENCE_SID,
    status: str = "completed",
    error_code: str = "0",
) -> dict[str, str]:
    return {
        "AccountSid": ACCOUNT_SID,
        "ConferenceSid": conference_sid,
        "RecordingSid": recording_sid,
        "RecordingUrl": (
            f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{recording_sid}"
        ),
        "RecordingStatus": status,
        "RecordingDuration": "1",
        "RecordingChannels": "2",
        "RecordingSource": "StartConferenceRecordingAPI",
        "RecordingStartTime": "Tue, 4 Feb 2025 17:03:12 +0000",
        "ErrorCode": error_code,
        "Timestamp": "Tue, 4 Feb 2025 17:03:14 +0000",
    }


def voicemail_recording_form(
    recording_sid: str = VOICEMAIL_SID, call_sid: str = CUSTOMER_CALL
) -> dict[str, str]:
    return {
        "AccountSid": ACCOUNT_SID,
        "CallSid": call_sid,
        "RecordingSid": recording_sid,
        "RecordingUrl": (
            f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{recording_sid}"
        ),
        "RecordingStatus": "completed",
        "RecordingDuration": "1",
        "RecordingChannels": "1",
        "RecordingSource": "RecordVerb",
        "RecordingStartTime": "Wed, 5 Feb 2025 01:00:00 +0000",
        "ErrorCode": "0",
    }


def participant_join_form(call_sid: str, sequence: int, when: str) -> dict[str, str]:
    return {
        "AccountSid": ACCOUNT_SID,
        "ConferenceSid": CONFERENCE_SID,
        "FriendlyName": sid("WT", 3),
        "StatusCallbackEvent": "participant-join",
        "CallSid": call_sid,
        "SequenceNumber": str(sequence),
        "Timestamp": when,
        "Muted": "false",
        "Hold": "false",
        "Coaching": "false",
        "EndConferenceOnExit": "false",
        "StartConferenceOnEnter": "true",
    }


def _items(channel: str, words: list[tuple[float, float, str]], punctuation: str) -> list[Any]:
    items: list[dict[str, Any]] = [
        {
            "channel_label": channel,
            "start_time": f"{start:.2f}",
            "end_time": f"{end:.2f}",
            "alternatives": [{"confidence": "0.99", "content": word}],
            "type": "pronunciation",
        }
        for start, end, word in words
    ]
    items.append(
        {
            "channel_label": channel,
            "language_code": "ja-JP",
            "alternatives": [{"confidence": "0.0", "content": punctuation}],
            "type": "punctuation",
        }
    )
    return items


def transcribe_output(job_name: str) -> dict[str, Any]:
    """A channel-identified ja-JP result: ch_0 (Twilio channel 1) speaks at 0.5 s and 4.0 s,
    ch_1 (channel 2) at 2.0 s."""
    ch0_first = _items(
        "ch_0", [(0.5, 0.9, "お電話"), (0.9, 1.4, "ありがとう"), (1.4, 1.8, "ございます")], "。"
    )
    ch1 = _items("ch_1", [(2.0, 2.3, "注文"), (2.3, 2.6, "の"), (2.6, 3.1, "確認")], "。")
    ch0_second = _items("ch_0", [(4.0, 4.4, "承知"), (4.4, 4.9, "しました")], "。")
    return {
        "jobName": job_name,
        "accountId": "123456789012",
        "status": "COMPLETED",
        "results": {
            "transcripts": [
                {"transcript": "お電話ありがとうございます。注文の確認。承知しました。"}
            ],
            "channel_labels": {
                "channels": [
                    {"channel_label": "ch_0", "items": ch0_first + ch0_second},
                    {"channel_label": "ch_1", "items": ch1},
                ],
                "number_of_channels": 2,
            },
            "items": ch0_first + ch1 + ch0_second,
        },
    }
