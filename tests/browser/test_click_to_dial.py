"""Click-to-dial from a CRM page (postMessage from an allowed origin only), and one softphone
per rep: a second tab takes over from an idle one and is refused by one on a call."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import LATEST_CLIENT_VERSION, ApiCall, Softphone, Stack
from tests.browser.test_calls import sign_in_available

CRM = "http://crm.example.test"
ELSEWHERE = "http://elsewhere.example.test"
# A CRM page as a CRM would write it (docs/softphone-web.md, "Click-to-dial from the CRM"): it
# opens the softphone, and keeps every message the softphone sends it.
CRM_PAGE = """<!doctype html><html><body><h1>CRM</h1><script>
window.got = [];
window.addEventListener("message", (e) => window.got.push({origin: e.origin, ...e.data}));
</script></body></html>"""


@pytest.fixture
def crm_allowed(softphone: Softphone, stack: Stack) -> None:
    """This test's /config.js lets pages of CRM (and nothing else) message the softphone."""
    from ops.web_config import local_web_config

    config = local_web_config(
        stack.api_url, stack.moto_url, stack.region, stack.pool_id, stack.client_id, (CRM,)
    )
    data = {**config.as_dict(), "clientVersion": LATEST_CLIENT_VERSION}
    script = f"window.CC_CONFIG = Object.freeze({json.dumps(data)});\n"
    context = softphone.page.context
    # Routes registered later are tried first: this one wins over the fixture's.
    context.route(
        re.compile(r"/config\.js(\?.*)?$"),
        lambda route: route.fulfill(status=200, content_type="application/javascript", body=script),
    )
    for origin in (CRM, ELSEWHERE):
        context.route(
            f"{origin}/**",
            lambda route: route.fulfill(status=200, content_type="text/html", body=CRM_PAGE),
        )


def watched(page: Any, stack: Stack) -> Softphone:
    """A softphone tab other than the fixture's, its API requests and page errors recorded."""
    phone = Softphone(page=page, stack=stack)

    def record(request: Any) -> None:
        if request.url.startswith(stack.api_url) and request.method != "OPTIONS":
            data = request.post_data
            phone.calls.append(
                ApiCall(
                    request.method,
                    request.url[len(stack.api_url) :],
                    dict(request.headers),
                    json.loads(data) if data else None,
                )
            )

    page.on("request", record)
    page.on("pageerror", lambda error: phone.page_errors.append(str(error)))
    return phone


def open_from_crm(
    softphone: Softphone, stack: Stack, origin: str, agent_id: str
) -> tuple[Any, Softphone]:
    """The CRM page at `origin` opens the softphone in a window of its own; the rep signs in
    there. Returns the CRM page (its `window.sp` is the softphone window) and that window."""
    crm = softphone.page.context.new_page()
    crm.goto(f"{origin}/customers/C00001")
    with crm.expect_popup() as popup:
        crm.evaluate("(url) => { window.sp = window.open(url, 'softphone'); }", stack.web_url + "/")
    phone = watched(popup.value, stack)
    phone.sign_in(agent_id)
    expect(phone.page.locator("#phone-status")).to_have_attribute("data-status", "ready")
    return crm, phone


@pytest.mark.usefixtures("crm_allowed")
def test_a_crm_page_on_an_allowed_origin_puts_the_number_in_the_dialler(
    softphone: Softphone, stack: Stack, demo_agents: list[dict[str, str]]
) -> None:
    crm, phone = open_from_crm(softphone, stack, CRM, demo_agents[23]["agent_id"])
    crm.wait_for_function("() => window.got.some((m) => m.type === 'softphone-ready')")

    crm.evaluate(
        "(origin) => window.sp.postMessage({type: 'dial', number: '03-5550-2468'}, origin)",
        stack.web_url,
    )

    expect(phone.page.locator("#dial-number")).to_have_value("0355502468")
    # The banner shows the number as the floor reads it (formatPhone).
    expect(phone.page.locator("[data-banner=dial]")).to_contain_text("Ready to call 03-5550-2468")
    crm.wait_for_function("() => window.got.some((m) => m.type === 'dial-ready')")
    assert crm.evaluate("window.got.filter((m) => m.type === 'dial-ready')") == [
        {"origin": stack.web_url, "type": "dial-ready", "number": "0355502468"}
    ]
    assert not phone.twilio_log("device.connect"), "a CRM message never dials by itself"
    phone.page.click("#dial-button")
    expect(phone.page.locator("#call-view")).to_be_visible()
    assert phone.twilio_log("device.connect")[-1]["params"] == {"To": "0355502468"}
    assert not phone.page_errors, phone.page_errors


@pytest.mark.usefixtures("crm_allowed")
def test_a_page_on_another_origin_is_ignored_and_told_nothing(
    softphone: Softphone, stack: Stack, demo_agents: list[dict[str, str]]
) -> None:
    crm, phone = open_from_crm(softphone, stack, ELSEWHERE, demo_agents[24]["agent_id"])
    crm.evaluate(
        "(origin) => window.sp.postMessage({type: 'dial', number: '03-5550-1357'}, origin)",
        stack.web_url,
    )
    phone.page.wait_for_timeout(1000)
    expect(phone.page.locator("#dial-number")).to_have_value("")
    assert crm.evaluate("window.got") == [], "no softphone-ready, no dial-ready for this origin"
    assert not phone.page_errors, phone.page_errors


def second_tab(softphone: Softphone, stack: Stack, agent_id: str) -> Softphone:
    other = watched(softphone.page.context.new_page(), stack)
    other.open()
    other.sign_in(agent_id)
    return other


def test_a_second_tab_takes_over_from_an_idle_first_one(
    softphone: Softphone, stack: Stack, demo_agents: list[dict[str, str]]
) -> None:
    agent = demo_agents[25]["agent_id"]
    sign_in_available(softphone, agent)
    assert len(softphone.twilio_log("device.register")) == 1

    other = second_tab(softphone, stack, agent)

    expect(other.page.locator("#phone-status")).to_have_attribute("data-status", "ready")
    expect(softphone.page.locator("#blocked-title")).to_have_text(
        "The softphone moved to another tab"
    )
    # The first tab destroyed its Device before the second registered its own, and stopped
    # its heartbeat: one line and one presence session for the rep.
    assert softphone.twilio_log("device.destroy")
    assert len(other.twilio_log("device.register")) == 1
    beats = len(softphone.api("POST", r"^/agents/me/heartbeat$"))
    softphone.page.wait_for_timeout(1500)
    assert len(softphone.api("POST", r"^/agents/me/heartbeat$")) == beats
    assert not other.page_errors, other.page_errors


def test_a_second_tab_is_refused_while_the_first_is_on_a_call(
    softphone: Softphone, stack: Stack, demo_agents: list[dict[str, str]]
) -> None:
    agent = demo_agents[26]["agent_id"]
    sign_in_available(softphone, agent)
    softphone.page.fill("#dial-number", "03-5550-8642")
    softphone.page.click("#dial-button")
    expect(softphone.page.locator("#call-view")).to_be_visible()

    other = second_tab(softphone, stack, agent)

    expect(other.page.locator("#blocked-title")).to_have_text(
        "The softphone is already open in another tab, on a call"
    )
    assert not other.twilio_log("device.new"), "the refused tab never makes a Device"
    assert not other.api("POST", r"^/agents/me/session$"), "nor opens a presence session"
    expect(softphone.page.locator("#call-view")).to_be_visible()
    assert not softphone.twilio_log("device.destroy")
    assert not other.page_errors, other.page_errors
