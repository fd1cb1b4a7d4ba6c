"""The pages' catalogues (issue 18): one file per language, the same keys in both, every key the
pages use present, and the same {{placeholders}} in each translation of a message."""

from __future__ import annotations

import json
import re
from pathlib import Path

WEB = Path(__file__).resolve().parents[2] / "web"
CATALOGUES = {lang: WEB / "shared" / "i18n" / f"{lang}.json" for lang in ("ja", "en")}
PAGES = [p for p in WEB.rglob("*") if "node_modules" not in p.parts and "vendor" not in p.parts]
# A key named in full in a script (tables of keys handed to t() later).
NAMED_KEY = re.compile(r'"((?:dashboard|board|floor|reports|softphone|common)\.[\w.]+)"')
# A key built in a script: t(`floor.mode.${mode}`); its fixed part must start some keys.
BUILT_KEY = re.compile(r"\bt\(\s*`([a-zA-Z][\w.]*\.)\$\{")


def catalogue(lang: str) -> dict[str, str]:
    return dict(json.loads(CATALOGUES[lang].read_text(encoding="utf-8")))


def used_keys() -> set[str]:
    keys: set[str] = set()
    for path in PAGES:
        if path.suffix == ".html":
            text = path.read_text(encoding="utf-8")
            keys |= set(re.findall(r'data-i18n="([^"]+)"', text))
            for attrs in re.findall(r'data-i18n-attr="([^"]+)"', text):
                keys |= {pair.split(":")[1].strip() for pair in attrs.split(";")}
        elif path.suffix == ".js":
            text = path.read_text(encoding="utf-8")
            keys |= set(re.findall(r'\bt\(\s*"([a-zA-Z][\w.]+)"', text))
            # Keys tiles() hands the dashboard to translate.
            keys |= set(NAMED_KEY.findall(text))
    return keys


def test_both_languages_have_the_same_keys_and_no_empty_text() -> None:
    ja, en = catalogue("ja"), catalogue("en")
    assert set(ja) == set(en), set(ja) ^ set(en)
    assert all(v.strip() for v in (*ja.values(), *en.values()))


def test_every_key_the_pages_use_is_in_the_catalogues() -> None:
    missing = used_keys() - set(catalogue("en"))
    assert not missing, sorted(missing)


def test_every_key_prefix_the_scripts_build_on_is_in_the_catalogues() -> None:
    en = catalogue("en")
    prefixes = {
        prefix
        for path in PAGES
        if path.suffix == ".js"
        for prefix in BUILT_KEY.findall(path.read_text(encoding="utf-8"))
    }
    assert "floor.mode." in prefixes  # the pattern still finds them
    unknown = {prefix for prefix in prefixes if not any(key.startswith(prefix) for key in en)}
    assert not unknown, sorted(unknown)


def test_catalogues_are_sorted_so_new_lines_merge() -> None:
    for lang in CATALOGUES:
        keys = list(catalogue(lang))
        assert keys == sorted(keys), lang


def test_translations_keep_their_placeholders() -> None:
    ja, en = catalogue("ja"), catalogue("en")
    names = re.compile(r"\{\{(\w+)\}\}")
    differ = {
        k: (en[k], ja[k]) for k in en if set(names.findall(en[k])) != set(names.findall(ja[k]))
    }
    assert not differ, differ


def test_japanese_is_japanese() -> None:
    ja = catalogue("ja")
    kana_or_kanji = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
    untranslated = [k for k, v in ja.items() if not kana_or_kanji.search(v) and k not in NOT_WORDS]
    assert not untranslated, untranslated


# Entries with no words to translate (a language's own name, a number's example).
NOT_WORDS = {"common.language.en", "softphone.dial.placeholder"}
