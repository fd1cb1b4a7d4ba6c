"""The rehearsal's live transcript check fails when it should: a line on the wrong speaker, a
line missing or repeated, a call without sentiment, a 解約 call not flagged."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest

from ops.simulate import Report, live_transcripts_of_the_day
from ops.standin.live_transcription import Spoken
from ops.standin.truth import CallTruth

CALL = "CA" + "1" * 32
SAID = [
    Spoken("GT1", 1, "customer", "お客様の1番目の発言です"),
    Spoken("GT1", 2, "agent", "担当の2番目の発言です"),
    Spoken("GT1", 3, "customer", "解約したいです。お客様の3番目の発言です"),
]


@dataclass
class Transcripts:
    live: dict[str, Any] = field(default_factory=dict)

    def transcript(self, call_sid: str) -> dict[str, Any] | None:
        return self.live.get(call_sid)


def ours(lines: list[tuple[str, str]], **summary: Any) -> dict[str, Any]:
    return {
        "sentiment": "NEGATIVE",
        "flagged": True,
        "keywords": ["解約"],
        "lines": [{"speaker": s, "text": t, "sentiment": "NEUTRAL"} for s, t in lines],
        **summary,
    }


def check(live: dict[str, Any] | None) -> str:
    truth = CallTruth(CALL, "+81311112222", 0.0, answered_by="sato", answered_at=1.0)
    truth.talk_seconds = 60.0
    stack = SimpleNamespace(
        standin=SimpleNamespace(
            lock=threading.RLock(), live_transcription=SimpleNamespace(spoken={CALL: SAID})
        ),
        truth=SimpleNamespace(calls={CALL: truth}),
        container=SimpleNamespace(live_transcripts=Transcripts({CALL: live} if live else {})),
    )
    report = Report()
    live_transcripts_of_the_day(report, stack)
    [result] = report.checks
    return f"{result.status} {result.detail}"


RIGHT = [(s.speaker, s.text) for s in SAID]


def test_a_faithful_transcript_passes() -> None:
    assert check(ours(RIGHT)).startswith("PASS")


@pytest.mark.parametrize(
    ("live", "problem"),
    [
        (ours([("agent", RIGHT[0][1]), RIGHT[1], RIGHT[2]]), "wrong speaker"),
        (ours([RIGHT[0], RIGHT[2]]), "missing, repeated or out of order"),
        (ours([RIGHT[0], RIGHT[0], RIGHT[1], RIGHT[2]]), "missing, repeated or out of order"),
        (ours([RIGHT[1], RIGHT[0], RIGHT[2]]), "missing, repeated or out of order"),
        (ours(RIGHT, sentiment=None), "no sentiment"),
        (ours(RIGHT, flagged=False), "not flagged"),
        (None, "no live transcript stored"),
    ],
)
def test_each_kind_of_wrong_transcript_fails(live: dict[str, Any] | None, problem: str) -> None:
    result = check(live)
    assert result.startswith("FAIL") and problem in result, result
