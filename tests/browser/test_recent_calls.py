"""The softphone's "your recent calls": the agent's own calls of the last 7 days, a page at a
time, read through `GET /conversations?agent=me` from the records the stack built."""

from __future__ import annotations

import time

from playwright.sync_api import expect

from tests.browser.conftest import Softphone, Stack, play_callbacks
from tests.conversation_script import CallScript

DAY_MS = 86_400_000


def answered_call(n: int, agent_id: str, started_ms: int) -> CallScript:
    s = CallScript(n=n, t0=started_ms, owner=agent_id, caller=f"+8131234{n:04d}")
    s.leg("ringing", 0).task("task.created", 1)
    s.offer(agent_id, 1, 6, "accepted")
    s.leg("completed", 90, duration=90)
    return s


def test_recent_calls_are_the_agents_own_last_seven_days_with_more_on_request(
    softphone: Softphone, stack: Stack, demo_agents: list[dict[str, str]]
) -> None:
    agent = demo_agents[18]["agent_id"]  # no other browser test takes calls as this agent
    now_ms = int(time.time() * 1000)
    # Eleven calls over the last six days (one more than a page) and one from eight days ago.
    this_week = [
        answered_call(7101 + i, agent, now_ms - (i * 13 + 1) * 3_600_000) for i in range(11)
    ]
    last_week = answered_call(7120, agent, now_ms - 8 * DAY_MS)
    for script in [*this_week, last_week]:
        play_callbacks(stack, script)
    page = softphone.page
    softphone.open()
    softphone.sign_in(agent)

    rows = page.locator("#recent-list li")
    expect(rows).to_have_count(10)
    more = page.locator("#recent-more")
    expect(more).to_be_visible()
    expect(rows.first).to_contain_text(f"with {agent}")
    first_page = softphone.api("GET", r"^/conversations\?agent=me&")
    assert len(first_page) == 1 and "cursor=" not in first_page[0].path

    more.click()

    expect(rows).to_have_count(11)
    expect(more).to_be_hidden()
    asks = softphone.api("GET", r"^/conversations\?agent=me&")
    assert "cursor=" in asks[-1].path
    # The same week on both pages: paging does not slide the window.
    assert (
        asks[0].path.split("&from=")[1].split("&")[0]
        == asks[1].path.split("&from=")[1].split("&")[0]
    )
    shown = [row.get_attribute("data-conversation") for row in rows.all()]
    assert shown == [script.call_sid for script in this_week]  # newest first, none older
