"""The fake Device is only as good as its likeness to the real SDK: check the vendored SDK
has every method and event the fake (and so the page) relies on, and is the pinned version."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tests.browser.conftest import CHROMIUM_ARGS, ROOT

WEB = ROOT / "web"
FAKE = Path(__file__).resolve().parent / "fake_twilio.js"


def test_vendored_sdk_is_the_version_pinned_in_package_lock() -> None:
    lock = json.loads((WEB / "package-lock.json").read_text())
    pinned = lock["packages"]["node_modules/@twilio/voice-sdk"]["version"]
    declared = json.loads((WEB / "package.json").read_text())["dependencies"]["@twilio/voice-sdk"]
    manifest = json.loads((WEB / "vendor" / "manifest.json").read_text())
    assert declared == pinned == manifest["@twilio/voice-sdk"]["version"]
    bundle = (WEB / "vendor" / "twilio.min.js").read_text()
    # The bundle keeps a Device already on window.Twilio: what lets the tests inject theirs.
    assert "Twilio.Device=Twilio.Device||Voice.Device" in bundle
    assert f'"{pinned}"' in bundle or f"'{pinned}'" in bundle


def test_vendored_cognito_library_is_the_version_pinned_in_package_lock() -> None:
    """web/shared/cognito.js signs in with AWS's own SRP client, loaded from web/vendor."""
    name = "amazon-cognito-identity-js"
    lock = json.loads((WEB / "package-lock.json").read_text())
    pinned = lock["packages"][f"node_modules/{name}"]["version"]
    declared = json.loads((WEB / "package.json").read_text())["dependencies"][name]
    manifest = json.loads((WEB / "vendor" / "manifest.json").read_text())
    assert declared == pinned == manifest[name]["version"]
    bundle = (WEB / "vendor" / manifest[name]["file"]).read_text()
    assert "AmazonCognitoIdentity" in bundle
    assert "amazon-cognito-identity.min.js" in (WEB / "shared" / "cognito.js").read_text()


def _members(pattern: str, source: str) -> set[str]:
    return set(re.findall(pattern, source))


def test_every_method_the_fake_offers_exists_on_the_real_sdk(browser: Any) -> None:
    fake = FAKE.read_text()
    device_block = fake[
        fake.index("class Device extends Emitter") : fake.index("Device.isSupported")
    ]
    call_block = fake[fake.index("class Call extends Emitter") : fake.index("class Device")]
    method = r"\n    (?:get )?([a-z][A-Za-z]+)\("
    device_methods = _members(method, device_block) - {"constructor"}
    call_methods = _members(method, call_block) - {"constructor"}
    emitter_methods = {"on", "once", "removeListener", "emit"}

    context = browser.new_context()
    page = context.new_page()
    try:
        page.set_content("<html><body></body></html>")
        page.add_script_tag(path=str(WEB / "vendor" / "twilio.min.js"))
        real = page.evaluate(
            """() => {
              const names = (proto) => {
                const seen = new Set();
                for (let p = proto; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
                  for (const n of Object.getOwnPropertyNames(p)) seen.add(n);
                }
                return [...seen];
              };
              return {
                device: names(Twilio.Device.prototype),
                call: names(Twilio.Call.prototype),
                events: Object.values(Twilio.Device.EventName),
              };
            }"""
        )
    finally:
        context.close()
    assert {m for m in device_methods if not m.startswith("_")} <= set(real["device"])
    assert {m for m in call_methods if not m.startswith("_")} <= set(real["call"])
    assert emitter_methods <= set(real["device"]) and emitter_methods <= set(real["call"])
    used_events = {
        "registering",
        "registered",
        "unregistered",
        "incoming",
        "tokenWillExpire",
        "error",
    }
    assert used_events <= set(real["events"])
    # Call events have no enum in the SDK: look for where the bundle emits each one the page
    # listens to (a renamed event would leave the page deaf and the fake none the wiser).
    bundle = (WEB / "vendor" / "twilio.min.js").read_text()
    page_source = (WEB / "app" / "main.js").read_text()
    listened = set(re.findall(r'sdkCall\.on\("(\w+)"', page_source))
    assert {"accept", "cancel", "disconnect", "reject", "mute"} <= listened
    for event in listened:
        assert f'emit("{event}"' in bundle, event
    assert CHROMIUM_ARGS  # the browser fixture launched Debian's chromium
