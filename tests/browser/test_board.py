"""The presence board on a wall screen: the floor by team, counts, filters, live changes, outage.

Runs against the session's local stack (tests/browser/conftest.py). Other browser tests move
demo agents 0-15 on the same stack, so the board is compared with the feed it was drawn from;
the agent this test moves is one nobody else uses.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections import Counter
from typing import Any

from playwright.sync_api import expect

from ops.cognito_local import LocalPool, id_token
from tests.browser.conftest import SCREENSHOTS, Stack, sign_in_on_page, staff_page

WALL_SCREEN = {"width": 1920, "height": 1080}
SUPERVISOR = "supervisor"
MOVED_AGENT = "murakami.aoi"  # support team; no other browser test signs in as them


def agent_token(stack: Stack, agent_id: str) -> str:
    import boto3

    cognito = boto3.session.Session(
        region_name=stack.region, aws_access_key_id="testing", aws_secret_access_key="testing"
    ).client("cognito-idp", endpoint_url=stack.moto_url)
    return id_token(cognito, LocalPool(stack.pool_id, stack.client_id), agent_id)


def call_api(stack: Stack, method: str, path: str, token: str, body: Any = None) -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310 - the local stack's http URL
        stack.api_url + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - local stack
        return dict(json.loads(response.read()))


def rows(feed: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(zip(feed["fields"], row, strict=True)) for row in feed["agents"]]


def test_board_shows_the_floor_by_team_filters_and_follows_a_change_live(
    browser: Any, stack: Stack
) -> None:
    token = agent_token(stack, MOVED_AGENT)
    call_api(stack, "POST", "/agents/me/session", token)  # idempotent: signed in, whatever before
    start = call_api(stack, "PUT", "/agents/me/status", token, {"state": "available"})
    assert start["state"] == "available"

    with staff_page(browser, stack, "/board/", WALL_SCREEN) as page:
        # Signed out: the board asks for a sign-in before it shows anyone.
        expect(page.locator("#sign-in")).to_be_visible()
        with page.expect_response(
            lambda r: r.url.startswith(stack.api_url + "/presence") and r.status == 200
        ) as answer:
            sign_in_on_page(page, SUPERVISOR)
        feed = answer.value.json()
        assert feed["full"]
        floor = rows(feed)
        teams = sorted({agent["team"] for agent in floor})
        assert {"tokyo-sales", "osaka-sales", "enterprise", "support"} <= set(teams)

        # Teams as groups, in order; every signed-in agent on a tile with state and time in state.
        expect(page.locator("section.team h2")).to_have_count(len(teams))
        assert page.locator("section.team").evaluate_all("s => s.map(e => e.dataset.team)") == teams
        moved = page.locator(f'.agent[data-agent="{MOVED_AGENT}"]')
        expect(moved.locator(".state")).to_have_text(re.compile(r"^Available"))
        expect(moved.locator(".time")).to_have_text(re.compile(r"^\d+:\d\d$"))
        assert page.locator('section.team[data-team="support"]').locator(moved).count() == 1
        on_board = [a for a in floor if a["state"] != "offline"]  # offline is filtered by default
        expect(page.locator(".agent")).to_have_count(len(on_board))

        # Counts at the top, for the whole floor, as the server counted them.
        for state, number in feed["totals"].items():
            expect(page.locator(f'.total[data-state="{state}"] b')).to_have_text(str(number))

        # Filter by team: only that team's section and its count.
        page.select_option("#team-filter", "support")
        expect(page.locator("section.team")).to_have_count(1)
        support = Counter(a["state"] for a in floor if a["team"] == "support")
        available = page.locator('.total[data-state="available"] b')
        expect(available).to_have_text(str(support["available"]))

        # Filter by state: hiding "Available" hides every available tile, showing it brings
        # them back.
        available_chip = page.locator('#state-filter [data-state="available"]')
        available_chip.click()
        expect(available_chip).to_have_attribute("aria-pressed", "false")
        expect(page.locator(".agent.available")).to_have_count(0)
        available_chip.click()
        expect(page.locator(".agent.available")).to_have_count(support["available"])
        page.select_option("#team-filter", "")
        expect(page.locator("section.team")).to_have_count(len(teams))

        # Live: the agent takes a break through the API; the board shows it without a reload.
        breaks = page.locator('.total[data-state="break"] b')
        breaks_before = int(breaks.inner_text())
        changed_at = time.monotonic()
        reply = call_api(stack, "PUT", "/agents/me/status", token, {"state": "break"})
        assert reply["state"] == "break"
        expect(moved).to_have_class(re.compile(r"\bbreak\b"), timeout=6000)
        seen_after = time.monotonic() - changed_at
        expect(moved.locator(".state")).to_have_text("Break")
        expect(moved.locator(".time")).to_have_text(re.compile(r"^0:0\d$"))
        expect(breaks).to_have_text(str(breaks_before + 1))
        assert seen_after < 4.5, f"the change took {seen_after:.1f} s to reach the board"

        # The wall screen's picture, with the floor as it is now.
        page.wait_for_timeout(300)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "board.png"))

        # The API goes away: the board keeps the last picture and says it is offline...
        page.route(re.compile(re.escape(stack.api_url) + r"/presence.*"), lambda r: r.abort())
        banner = page.locator("#status")
        expect(banner).to_have_text(re.compile(r"^Board offline"), timeout=8000)
        expect(page.locator("body")).to_have_class(re.compile(r"\boffline\b"))
        expect(moved.locator(".state")).to_have_text("Break")
        # ...and recovers by itself when it is back (the first retry is 3 s after the failure).
        page.unroute(re.compile(re.escape(stack.api_url) + r"/presence.*"))
        expect(banner).to_have_text("", timeout=10000)
        expect(page.locator("body")).not_to_have_class(re.compile(r"\boffline\b"))

        call_api(stack, "PUT", "/agents/me/status", token, {"state": "available"})
