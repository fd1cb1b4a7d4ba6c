"""What callers hear: the bundled prompts load complete in every language, or fail at load."""

from __future__ import annotations

import json

import pytest

from chalicelib.telephony.prompts import PROMPT_NAMES, InvalidPrompts, load_prompts


def test_prompts_are_japanese_by_default_and_complete_in_every_language() -> None:
    ja = load_prompts("ja-JP")
    assert "営業時間外" in ja.text("outside_hours")
    assert ja.voice
    for language in ("ja-JP", "en-US"):
        prompts = load_prompts(language)
        assert all(prompts.text(name) for name in PROMPT_NAMES)


def test_missing_prompt_or_language_fails_at_load() -> None:
    with pytest.raises(InvalidPrompts):
        load_prompts("fr-FR")
    with pytest.raises(InvalidPrompts):
        load_prompts("ja-JP", json.dumps({"ja-JP": {"outside_hours": "x"}}))
