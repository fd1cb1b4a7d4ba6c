"""Writes web/audio/hold-loop.wav: the calm loop callers hear in the queue by default.

Synthesized here, so it is ours (no licence to track): a slow arpeggio of soft sine tones with
gentle attack and release, 8 kHz 16-bit mono (what a phone line carries; Twilio's <Play> takes
WAV, https://www.twilio.com/docs/voice/twiml/play "Supported audio file types"). The loop is
HOLD_SECONDS long and starts and ends in silence, so `<Play loop>` joins it without a click.

    python -m ops.hold_audio            # rewrites the file (deterministic: same bytes each time)
"""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

RATE = 8000
HOLD_SECONDS = 10
TARGET = Path(__file__).resolve().parent.parent / "web" / "audio" / "hold-loop.wav"
# A major-pentatonic figure around A3/C#4/E4 (Hz): no semitone clashes, nothing to annoy.
NOTES = (220.0, 277.18, 329.63, 440.0, 329.63, 277.18, 246.94, 293.66, 369.99, 293.66)
PEAK = 0.18  # of full scale: quiet, under the announcements


def samples() -> list[int]:
    note_len = HOLD_SECONDS / len(NOTES)
    out: list[int] = []
    for freq in NOTES:
        n = int(RATE * note_len)
        for i in range(n):
            t = i / RATE
            # Half a sine of envelope per note: fades in and out, no hard edges.
            envelope = math.sin(math.pi * i / n) ** 2
            tone = math.sin(2 * math.pi * freq * t) + 0.3 * math.sin(2 * math.pi * freq * 2 * t)
            out.append(int(32767 * PEAK * envelope * tone / 1.3))
    return out


def write(path: Path = TARGET) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(b"".join(struct.pack("<h", s) for s in samples()))
    return path


if __name__ == "__main__":
    print(write())
