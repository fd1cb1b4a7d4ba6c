"""Recordings' media: a real WAV file, two channels when a dual-channel recording is asked for.

Channel 1 carries the first participant to join (normally the agent), channel 2 everyone else:
two tones at different pitches, so a test can tell the channels apart.
"""

from __future__ import annotations

import io
import math
import wave
from array import array

SAMPLE_RATE = 8000


def _tone(seconds: float, frequency: float, amplitude: int) -> array[int]:
    count = max(1, int(seconds * SAMPLE_RATE))
    step = 2 * math.pi * frequency / SAMPLE_RATE
    period = max(1, int(SAMPLE_RATE / frequency))
    cycle = [int(amplitude * math.sin(step * n)) for n in range(period)]
    samples = array("h", cycle * (count // period + 1))
    del samples[count:]
    return samples


def recording_wav(seconds: float, channels: int = 2) -> bytes:
    """16-bit PCM at 8 kHz; `channels` 1 (mixed, what a plain download gets) or 2."""
    seconds = max(seconds, 0.1)
    first = _tone(seconds, 440.0, 8000)
    if channels == 1:
        frames = first
    else:
        second = _tone(seconds, 660.0, 6000)
        frames = array("h", bytes(len(first) * 4))
        frames[0::2] = first
        frames[1::2] = second
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(frames.tobytes())
    return buffer.getvalue()
