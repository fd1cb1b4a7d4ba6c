"""Browser tests: Debian's Chromium, driven by Playwright, against the real local stack.

One local stack per session (`python -m ops local` on free ports: moto server with the demo
data and Cognito pool, `chalice local`, the static pages), with Twilio's REST API answered by
`twilio_rest.py`. Each test gets a fresh browser context whose `Twilio.Device` is the fake in
`fake_twilio.js`, and whose `config.js` points at this stack. Everything binds 127.0.0.1 and
stops with the session.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from chalicelib.platform.settings import LOCAL_AUTH_TOKEN
from chalicelib.platform.signatures import callback_url
from chalicelib.telephony import webhooks
from ops.local_process import free_ports, local_stack_process
from ops.totp import current_code
from ops.web_config import local_web_config
from ops.webhooks import post_signed
from tests.browser.twilio_rest import TwilioRestServer
from tests.conversation_script import CallScript

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
# The README's pictures are rewritten only when asked (`UPDATE_SCREENSHOTS=1 make test`);
# otherwise a run keeps its screenshots in a temp folder and leaves the work tree clean.
DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots"
SCREENSHOTS = (
    DOCS_SCREENSHOTS
    if os.environ.get("UPDATE_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "contact-center-screenshots"
)
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # The ringtone must not wait for a click in headless runs.
    "--autoplay-policy=no-user-gesture-required",
]
VIEWPORT = {"width": 1366, "height": 768}
# The stack serves clients from MIN to LATEST; tests run as LATEST unless they test versions.
MIN_CLIENT_VERSION = "1.0.0"
LATEST_CLIENT_VERSION = "1.2.0"
DEMO_PASSWORD = "Demo-Passw0rd!"  # ops/cognito_local.py
# The session stack's demo users with TOTP MFA (the supervisors): user name -> secret.
TOTP_SECRETS: dict[str, str] = {}
# The browser's Notification API, replaced at its boundary so tests can see what was shown
# (headless Chromium has no notification centre to look at).
RECORD_NOTIFICATIONS = """
(() => {
  const shown = [];
  function Notification(title, options = {}) {
    const note = { title, body: options.body || "", closed: false, onclick: null };
    note.close = () => { note.closed = true; };
    shown.push(note);
    return note;
  }
  Notification.permission = "granted";
  Notification.requestPermission = () => Promise.resolve("granted");
  window.Notification = Notification;
  window.shownNotifications = shown;
})();
"""


# The pages are Japanese by default (issue 18). Tests written against the English texts run in
# English, the language a user picks with the switch: the device's choice, set before the page
# loads unless one was made already (web/shared/i18n.js reads it from localStorage).
CHOOSE_ENGLISH = """
try { if (!localStorage.getItem("cc.lang")) localStorage.setItem("cc.lang", "en"); } catch (e) {}
"""


def _chromium_or_skip() -> str:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing: .ci/run installs it with apt-get")
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium)")


@dataclass
class Stack:
    api_url: str
    moto_url: str
    web_url: str
    region: str
    pool_id: str
    client_id: str
    twilio: TwilioRestServer
    output: str = ""
    # Demo users with TOTP MFA (supervisors): user name -> the secret `ops local` printed.
    totp_secrets: dict[str, str] = field(default_factory=dict)

    def config_js(self, client_version: str = LATEST_CLIENT_VERSION) -> str:
        config = local_web_config(
            self.api_url, self.moto_url, self.region, self.pool_id, self.client_id
        )
        data = {**config.as_dict(), "clientVersion": client_version}
        return f"window.CC_CONFIG = Object.freeze({json.dumps(data)});\n"

    def dynamodb(self) -> Any:
        import boto3

        return boto3.session.Session(
            region_name=self.region, aws_access_key_id="testing", aws_secret_access_key="testing"
        ).resource("dynamodb", endpoint_url=self.moto_url)


def _rows(name: str) -> list[dict[str, str]]:
    import csv

    with (ROOT / "ops" / "demo_data" / name).open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _agents() -> list[dict[str, str]]:
    return _rows("agents.csv")


def customer_owned_by(agent_id: str) -> dict[str, str]:
    return next(row for row in _rows("customers.csv") if row["owner_agent_id"] == agent_id)


@pytest.fixture(scope="session")
def demo_agents() -> list[dict[str, str]]:
    return _agents()


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    _chromium_or_skip()
    twilio = TwilioRestServer()
    ports = free_ports()
    env = {
        "WEB_ORIGIN": f"http://127.0.0.1:{ports.web}",
        "TWILIO_API_BASE_URL": twilio.url,
        "MIN_CLIENT_VERSION": MIN_CLIENT_VERSION,
        "LATEST_CLIENT_VERSION": LATEST_CLIENT_VERSION,
    }
    try:
        with local_stack_process(ports, env, timeout=120) as running:
            TOTP_SECRETS.update(running.totp_secrets)
            yield Stack(
                api_url=running.api_url,
                moto_url=running.moto_url,
                web_url=running.web_url,
                region=running.region,
                pool_id=running.pool_id,
                client_id=running.client_id,
                twilio=twilio,
                output=running.text(),
                totp_secrets=running.totp_secrets,
            )
    finally:
        twilio.close()


@pytest.fixture(scope="session")
def browser(stack: Stack) -> Iterator[Any]:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=10_000)

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=_chromium_or_skip(), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


@dataclass
class ApiCall:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Softphone:
    """One agent's softphone tab, and what it sent to the API."""

    page: Any
    stack: Stack
    calls: list[ApiCall] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    client_version: str = LATEST_CLIENT_VERSION

    def open(self, query: str = "") -> None:
        self.page.goto(f"{self.stack.web_url}/{query}")

    def sign_in(self, agent_id: str, password: str = DEMO_PASSWORD) -> None:
        self.page.fill("#signin-user", agent_id)
        self.page.fill("#signin-password", password)
        self.page.click("#signin-submit")

    def api(self, method: str, path_pattern: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method and re.search(path_pattern, c.path)]

    def wait_for_api(self, method: str, path_pattern: str, count: int, timeout: float = 5) -> None:
        """Until the page has sent `count` such requests (they are recorded as they leave)."""
        deadline = time.monotonic() + timeout
        while len(self.api(method, path_pattern)) < count:
            assert time.monotonic() < deadline, (method, path_pattern, self.calls)
            self.page.wait_for_timeout(50)

    def fake(self, script: str, *args: Any) -> Any:
        return self.page.evaluate(script, *args) if args else self.page.evaluate(script)

    def twilio_log(self, what: str) -> list[dict[str, Any]]:
        return list(self.page.evaluate("(what) => window.fakeTwilio.entries(what)", what))

    def screenshot(self, name: str) -> Path:
        return save_screenshot(self.page, name)


@contextmanager
def staff_page(
    browser: Any, stack: Stack, path: str, viewport: dict[str, int] = VIEWPORT, language: str = "en"
) -> Iterator[Any]:
    """A staff page (`/board/`, `/dashboard/`) of this stack, opened signed out; an error on the
    page fails the test once the block is done with it. `language="ja"`: the page's default."""
    context = browser.new_context(viewport=viewport, base_url=stack.web_url)
    if language == "en":
        context.add_init_script(script=CHOOSE_ENGLISH)
    context.route(
        re.compile(r"/config\.js(\?.*)?$"),
        lambda route: route.fulfill(
            status=200, content_type="application/javascript", body=stack.config_js()
        ),
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_default_timeout(20000)
    page.goto(f"{stack.web_url}{path}")
    try:
        yield page
    finally:
        context.close()
    assert not errors, errors


def sign_in_on_page(page: Any, username: str, secret: str | None = None) -> None:
    """Fill the staff page's sign-in form and submit it; for a user with TOTP MFA (the demo
    supervisors, or `secret`), answer the code step with the app's current code."""
    page.fill("#sign-in-form input[name=username]", username)
    page.fill("#sign-in-form input[name=password]", DEMO_PASSWORD)
    page.click("#sign-in-form button[type=submit]")
    secret = secret or TOTP_SECRETS.get(username)
    if secret:
        enter_code(page, "#mfa-code-form", current_code(secret))


def enter_code(page: Any, form: str, code: str) -> None:
    """Type a TOTP code into one of web/shared/staff_sign_in.js's code forms and submit it."""
    page.fill(f"{form} input[name=code]", code)
    page.click(f"{form} button[type=submit]")


def save_screenshot(page: Any, name: str) -> Path:
    """`name`.png of the page, in docs/screenshots with UPDATE_SCREENSHOTS=1, else a temp dir."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


@pytest.fixture
def page_language() -> str:
    """The softphone's language for a test: "en" (chosen), or "ja" (the default) when a test
    parametrizes it."""
    return "en"


@pytest.fixture
def softphone(browser: Any, stack: Stack, page_language: str) -> Iterator[Softphone]:
    context = browser.new_context(viewport=VIEWPORT, base_url=stack.web_url)
    if page_language == "en":
        context.add_init_script(script=CHOOSE_ENGLISH)
    context.grant_permissions(["notifications"], origin=stack.web_url)
    context.add_init_script(path=str(HERE / "fake_twilio.js"))
    context.add_init_script(script=RECORD_NOTIFICATIONS)
    phone = Softphone(page=context.new_page(), stack=stack)

    def serve_config(route: Any) -> None:
        route.fulfill(
            status=200,
            content_type="application/javascript",
            body=stack.config_js(phone.client_version),
            headers={"Cache-Control": "no-store"},
        )

    context.route(re.compile(r"/config\.js(\?.*)?$"), serve_config)

    def record(request: Any) -> None:
        if not request.url.startswith(stack.api_url) or request.method == "OPTIONS":
            return
        data = request.post_data
        phone.calls.append(
            ApiCall(
                request.method,
                request.url[len(stack.api_url) :],
                dict(request.headers),
                json.loads(data) if data else None,
            )
        )

    phone.page.on("request", record)
    phone.page.on("pageerror", lambda error: phone.page_errors.append(str(error)))
    # Generous: CI and developers' machines run other suites beside this one.
    phone.page.set_default_timeout(20000)
    yield phone
    context.close()
    assert not phone.page_errors, phone.page_errors


CALLBACK_PATHS = {"voice": webhooks.VOICE_STATUS, "taskrouter": webhooks.TASKROUTER_EVENTS}


def play_callbacks(stack: Stack, script: CallScript) -> None:
    """Post a scripted call's callbacks to the stack as Twilio would: to the URL the app gave
    Twilio (its query in the app's canonical order, chalicelib/platform/signatures.py), signed."""
    for kind, form, query in script.callbacks:
        url = callback_url(stack.api_url + CALLBACK_PATHS[kind], query)
        status, body = post_signed(url, form, LOCAL_AUTH_TOKEN)
        assert status in (200, 204), body
