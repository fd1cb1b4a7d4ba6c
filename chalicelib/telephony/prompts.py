"""What callers hear, per language: configuration loaded once, never literals in code.

The bundled `prompts.json` holds one object per language (BCP-47 tag, as `<Say language>`
takes it) with the Twilio voice to speak it and one text per prompt. The `PROMPTS` setting (the
same JSON) replaces it for a stage; `PROMPT_LANGUAGE` picks the language (Japanese by default).
Every language must carry every prompt, so a missing translation fails at load, not mid-call.
https://www.twilio.com/docs/voice/twiml/say/text-speech

They live here, below the areas, because routing (the greeting and the wait) and escalation (the
fallback menu) both speak them, and routing sits below escalation: it may not import it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DEFAULT_FILE = Path(__file__).resolve().parent / "prompts.json"

PROMPT_NAMES = (
    "outside_hours",
    "fallback_menu",
    "invalid_choice",
    "voicemail_instructions",
    "voicemail_saved",
    "voicemail_empty",
    "callback_confirmed",
    "callback_unavailable",
    "goodbye",
    # Before the queue (chalicelib/routing/greeting.py) and while waiting in it
    # (chalicelib/routing/waiting.py); `{reached}`, `{position}`, `{minutes}` are filled in.
    "greeting",
    "recording_notice",
    "wait_hold",
    "wait_position",
    "wait_expected",
    "wait_offer",
    "wait_invalid",
    "wait_accepted",
)


class InvalidPrompts(ValueError):
    """The prompt configuration is incomplete or unreadable."""


@dataclass(frozen=True)
class Prompts:
    language: str
    voice: str
    texts: dict[str, str]

    def text(self, name: str) -> str:
        return self.texts[name]

    def fill(self, name: str, **values: object) -> str:
        """A prompt with its `{placeholders}` filled; a placeholder the text lacks is ignored."""
        return self.texts[name].format_map(_Values(values))


class _Values(dict[str, object]):
    """Leaves an unknown `{name}` as written, so an operator's typo is heard, never a 500."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@lru_cache(maxsize=8)
def load_prompts(language: str, override_json: str = "") -> Prompts:
    """The prompts of `language` from the `PROMPTS` setting or the bundled file; parsed once."""
    text = override_json or DEFAULT_FILE.read_text(encoding="utf-8")
    try:
        catalogue = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidPrompts(f"prompts are not valid JSON: {exc}") from exc
    entry = catalogue.get(language)
    if not isinstance(entry, dict):
        raise InvalidPrompts(f"no prompts for language {language!r}; have {sorted(catalogue)}")
    missing = [name for name in PROMPT_NAMES if not entry.get(name)]
    if missing:
        raise InvalidPrompts(f"language {language!r} lacks prompts {missing}")
    return Prompts(
        language=language,
        voice=str(entry.get("voice", "")),
        texts={name: str(entry[name]) for name in PROMPT_NAMES},
    )
