"""What a caller hears before the queue: who they reached, and that the call is recorded.

Japanese callers expect to be told a call is recorded before the recording starts, and the
conference records from the start (routing/twiml.py), so the notice comes before `<Enqueue>`.
Configuration, not code: the bundled `greetings.json` is the default and the `GREETINGS` setting
(the same JSON) replaces it per stage. The most specific entry wins, field by field: the number
the caller dialled, then the known caller's team, then the company.

    {"company": {"reached": "株式会社サンプル カスタマーサポート"},
     "teams": {"osaka": {"reached": "大阪営業所"}},
     "numbers": {"+81612345678": {"reached": "大阪営業所", "audio_url": "https://.../osaka.mp3"}}}

`audio_url` replaces the spoken greeting with the operator's recording, which must then carry the
recording notice itself: nothing is said on top of it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

DEFAULT_FILE = Path(__file__).resolve().parent / "greetings.json"
FIELDS = ("reached", "audio_url")


class InvalidGreetings(ValueError):
    """The greeting configuration cannot be used."""


@dataclass(frozen=True)
class Greeting:
    reached: str
    audio_url: str = ""


@dataclass(frozen=True)
class Greetings:
    company: Mapping[str, str]
    teams: Mapping[str, Mapping[str, str]]
    numbers: Mapping[str, Mapping[str, str]]

    def for_call(self, dialled: str, team: str | None) -> Greeting:
        """The greeting for a call to `dialled` (E.164) from a caller of `team` (None: unknown)."""
        layers = (self.numbers.get(dialled, {}), self.teams.get(team or "", {}), self.company)
        chosen = {
            name: next((layer[name] for layer in layers if layer.get(name)), "") for name in FIELDS
        }
        return Greeting(reached=chosen["reached"], audio_url=chosen["audio_url"])


def _entry(where: str, raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise InvalidGreetings(f"{where} must be an object with {list(FIELDS)}")
    unknown = set(raw) - set(FIELDS)
    if unknown:
        raise InvalidGreetings(f"{where}: unknown fields {sorted(unknown)}; use {list(FIELDS)}")
    entry = {name: str(raw.get(name) or "") for name in FIELDS}
    url = entry["audio_url"]
    if url and not url.startswith("https://"):
        # Twilio fetches <Play> audio itself, from the public internet.
        raise InvalidGreetings(f"{where}: audio_url must be an https:// URL")
    return entry


def parse_greetings(raw: Mapping[str, Any]) -> Greetings:
    company = _entry("company", raw.get("company", {}))
    if not company["reached"] and not company["audio_url"]:
        raise InvalidGreetings("company needs `reached` (who the caller reached) or `audio_url`")
    return Greetings(
        company=company,
        teams={str(k): _entry(f"teams.{k}", v) for k, v in (raw.get("teams") or {}).items()},
        numbers={str(k): _entry(f"numbers.{k}", v) for k, v in (raw.get("numbers") or {}).items()},
    )


@lru_cache(maxsize=4)
def load_greetings(override_json: str = "") -> Greetings:
    """The greetings from the `GREETINGS` setting, or the bundled default; parsed once."""
    text = override_json or DEFAULT_FILE.read_text(encoding="utf-8")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidGreetings(f"greetings are not valid JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise InvalidGreetings("greetings must be a JSON object")
    return parse_greetings(raw)
