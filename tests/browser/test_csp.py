"""The pages under their Content-Security-Policy (ops/web_csp.py), enforced as the local stack
serves it: each page loads, signs in and talks to the API and Cognito with no violation
reported; an inline script, an inline handler, a foreign script and eval are refused."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from playwright.sync_api import expect

from ops.web_config import local_web_config
from ops.web_csp import content_security_policy
from tests.browser.conftest import (
    CHOOSE_ENGLISH,
    VIEWPORT,
    Softphone,
    Stack,
    sign_in_on_page,
)

# Every violation the page sees, whether or not it is also logged (init scripts run before the
# page's own, and are not themselves subject to the page's CSP).
RECORD_VIOLATIONS = """
(() => {
  window.cspViolations = [];
  document.addEventListener("securitypolicyviolation", (e) => {
    window.cspViolations.push({
      directive: e.effectiveDirective, blocked: e.blockedURI, source: e.sourceFile,
      sample: e.sample, disposition: e.disposition,
    });
  });
})();
"""
CSP_CONSOLE = re.compile(r"Content Security Policy|Content-Security-Policy", re.IGNORECASE)


@contextmanager
def watched_page(browser: Any, stack: Stack, path: str) -> Iterator[tuple[Any, list[str]]]:
    """A staff page with its violations and CSP console messages recorded."""
    context = browser.new_context(viewport=VIEWPORT, base_url=stack.web_url)
    context.add_init_script(script=CHOOSE_ENGLISH)
    context.add_init_script(script=RECORD_VIOLATIONS)
    context.route(
        re.compile(r"/config\.js(\?.*)?$"),
        lambda route: route.fulfill(
            status=200, content_type="application/javascript", body=stack.config_js()
        ),
    )
    page = context.new_page()
    console: list[str] = []
    errors: list[str] = []
    page.on("console", lambda m: console.append(m.text) if CSP_CONSOLE.search(m.text) else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_default_timeout(20000)
    try:
        yield page, console
    finally:
        context.close()
    assert not errors, errors


def _violations(page: Any) -> list[dict[str, Any]]:
    return list(page.evaluate("() => window.cspViolations"))


def _stack_policy(stack: Stack) -> str:
    config = local_web_config(
        stack.api_url, stack.moto_url, stack.region, stack.pool_id, stack.client_id
    )
    return content_security_policy(config)


@pytest.mark.parametrize(
    ("path", "api_path"),
    [
        ("/board/", "/presence"),
        ("/dashboard/", "/kpis/today"),
        ("/floor/", "/supervisor/floor"),
        ("/reports/", "/reports"),
    ],
)
def test_staff_pages_load_and_sign_in_under_the_policy_with_no_violation(
    browser: Any, stack: Stack, path: str, api_path: str
) -> None:
    with watched_page(browser, stack, path) as (page, console):
        response = page.goto(f"{stack.web_url}{path}")
        # The page is served with the stage's policy (header, as ops serve-web sends it).
        assert response.headers["content-security-policy"] == _stack_policy(stack)
        expect(page.locator("#sign-in-form")).to_be_visible()
        with page.expect_response(
            lambda r: r.url.startswith(stack.api_url + api_path) and r.status == 200
        ):
            sign_in_on_page(page, "supervisor")  # Cognito (moto), then the API
        page.wait_for_timeout(500)  # what the answer draws (charts, tiles) included
        assert _violations(page) == []
        assert console == []


def test_softphone_signs_in_and_takes_a_call_under_the_policy_with_no_violation(
    softphone: Softphone, stack: Stack, demo_agents: list[dict[str, str]]
) -> None:
    page = softphone.page
    page.context.add_init_script(script=RECORD_VIOLATIONS)
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if CSP_CONSOLE.search(m.text) else None)
    response = page.goto(f"{stack.web_url}/")
    assert response.headers["content-security-policy"] == _stack_policy(stack)
    softphone.sign_in(demo_agents[29]["agent_id"])
    expect(page.locator("#phone-status")).to_have_attribute("data-status", "ready")
    page.wait_for_timeout(500)
    assert _violations(page) == []
    assert console == []


def test_an_injected_inline_script_and_handler_are_refused(browser: Any, stack: Stack) -> None:
    with watched_page(browser, stack, "/board/") as (page, _console):
        page.goto(f"{stack.web_url}/board/")
        expect(page.locator("#sign-in-form")).to_be_visible()
        # What an injection would add to the page: an inline script, an inline handler, a
        # script from another origin, eval.
        page.evaluate(
            """() => {
              const s = document.createElement("script");
              s.textContent = "window.injected = true";
              document.body.append(s);
              const img = document.createElement("img");
              img.setAttribute("onerror", "window.handled = true");
              img.src = "data:,not-an-image";
              document.body.append(img);
              const far = document.createElement("script");
              far.src = "https://cdn.example.test/x.js";
              document.body.append(far);
            }"""
        )
        expect(page.locator("img[onerror]")).to_be_attached()
        page.wait_for_timeout(300)
        assert page.evaluate("() => [window.injected, window.handled]") == [None, None]
        refused = {(v["directive"], v["blocked"]) for v in _violations(page)}
        assert ("script-src-elem", "inline") in refused
        assert ("script-src-attr", "inline") in refused
        assert ("script-src-elem", "https://cdn.example.test/x.js") in refused
        # A string compiled as code by the page (DevTools' own evaluate is exempt from CSP).
        page.evaluate("() => { setTimeout('window.timed = true', 0); }")
        page.wait_for_timeout(200)
        assert page.evaluate("() => window.timed") is None
        assert ("script-src", "eval") in {(v["directive"], v["blocked"]) for v in _violations(page)}


def test_the_real_voice_sdk_reaches_only_hosts_the_policy_allows(
    browser: Any, stack: Stack
) -> None:
    """The other tests' Device is a fake: here the vendored SDK itself starts registering on the
    Tokyo edge (signalling over wss, Insights, its sounds). The network is not there (no
    internet), but the policy is checked before any connection, so a host it does not allow
    would be reported."""
    import base64
    import json
    import time

    def b64(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    now = int(time.time())
    token = ".".join(
        [
            b64({"alg": "HS256", "typ": "JWT", "cty": "twilio-fpa;v=1"}),
            b64(
                {
                    "iss": "SK" + "0" * 32,
                    "sub": "AC" + "0" * 32,
                    "exp": now + 600,
                    "iat": now,
                    "grants": {"identity": "csp", "voice": {"incoming": {"allow": True}}},
                }
            ),
            "c2lnbmF0dXJl",
        ]
    )
    with watched_page(browser, stack, "/") as (page, console):
        page.goto(f"{stack.web_url}/")
        expect(page.locator("#signin")).to_be_visible()
        sockets: list[str] = []
        page.on("websocket", lambda ws: sockets.append(ws.url))
        outcome = page.evaluate(
            """async (token) => {
              const device = new Twilio.Device(token, { edge: "tokyo", logLevel: "silent" });
              const errors = [];
              device.on("error", (e) => errors.push(String(e && e.message)));
              device.register().catch((e) => errors.push(String(e && e.message)));
              await new Promise((r) => setTimeout(r, 2000));
              device.destroy();
              return errors;
            }""",
            token,
        )
        assert sockets, outcome
        assert all(u.startswith("wss://voice-js.tokyo.twilio.com/") for u in sockets), sockets
        page.wait_for_timeout(300)
        assert _violations(page) == []
        assert console == []
