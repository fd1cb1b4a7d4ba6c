"""Live transcripts in the browser: the rep sees the current call's lines by speaker (and can
hide them); a supervisor sees the call flagged on the board and opens its live transcript.

Twilio's side is played by posting signed callbacks to the stack, as Twilio would: the
customer's leg joining the conference (which starts the transcription, answered by
tests/browser/twilio_rest.py) and the real-time transcription callbacks. Sentiment comes from
the stack's moto server, which plays Comprehend's BatchDetectSentiment
(ops/standin/comprehend.py); the local stage scores inline (LIVE_TRANSCRIPT_SCORE_INLINE).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from playwright.sync_api import expect

from chalicelib.platform.settings import LOCAL_AUTH_TOKEN
from chalicelib.platform.signatures import callback_url
from chalicelib.telephony import webhooks
from ops.webhooks import post_signed
from tests.browser.conftest import (
    Softphone,
    Stack,
    save_screenshot,
    sign_in_on_page,
    staff_page,
)
from tests.browser.test_calls import Offer, answer, ring, sign_in_available

AGENT_INDEX = 25  # ogawa.yui: no other browser test signs in as them


def post(stack: Stack, path: str, query: dict[str, str], form: dict[str, str]) -> None:
    url = callback_url(stack.api_url + path, query)
    status, body = post_signed(url, form, LOCAL_AUTH_TOKEN)
    assert status in (200, 204), body


def customer_joins(stack: Stack, offer: Offer) -> None:
    post(
        stack,
        webhooks.CONFERENCE_STATUS,
        {
            "conversation": offer.customer_call,
            "task": offer.task_sid,
            "reservation": offer.reservation_sid,
            "agent": offer.agent["agent_id"],
        },
        {
            "AccountSid": "AC" + "0" * 32,
            "ConferenceSid": offer.conference_sid,
            "FriendlyName": offer.task_sid,
            "StatusCallbackEvent": "participant-join",
            "CallSid": offer.customer_call,
            "SequenceNumber": "2",
            "Timestamp": datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000"),
        },
    )


def says(stack: Stack, offer: Offer, sequence: int, track: str, text: str, ago: float = 0) -> None:
    """A final utterance, as Twilio posts it to the StatusCallbackUrl the app gave."""
    post(
        stack,
        webhooks.TRANSCRIPTION_REALTIME,
        {
            "conversation": offer.customer_call,
            "leg": "customer",
            "agent": offer.agent["agent_id"],
        },
        {
            "AccountSid": "AC" + "0" * 32,
            "CallSid": offer.customer_call,
            "TranscriptionSid": "GT" + offer.customer_call[2:],
            "Timestamp": datetime.now(UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "TranscriptionEvent": "transcription-content",
            "LanguageCode": "ja-JP",
            "Track": track,
            "SequenceId": str(sequence),
            "Final": "true",
            "TranscriptionData": json.dumps({"transcript": text, "confidence": 0.9}),
        },
    )


def test_the_rep_reads_the_live_transcript_and_a_supervisor_sees_the_call_flagged(
    softphone: Softphone, stack: Stack, demo_agents: list[dict[str, str]], browser: Any
) -> None:
    agent = demo_agents[AGENT_INDEX]
    page = softphone.page
    sign_in_available(softphone, agent["agent_id"])
    offer = ring(softphone, stack, agent)
    answer(softphone, stack, offer)
    customer_joins(stack, offer)
    [start] = stack.twilio.fake.seen("POST", rf"/Calls/{offer.customer_call}/Transcriptions\.json")
    assert start.form["Track"] == "both_tracks" and start.form["LanguageCode"] == "ja-JP"

    expect(page.locator("#transcript-empty")).to_be_visible()
    says(stack, offer, 2, "outbound_track", "お電話ありがとうございます。")
    # Said first, delivered second (callbacks are separate requests).
    says(stack, offer, 1, "inbound_track", "もう解約したいです。ひどい対応です。", ago=3)

    lines = page.locator("#transcript-lines li")
    expect(lines).to_have_count(2)
    expect(lines.nth(0)).to_have_attribute("data-speaker", "customer")
    expect(lines.nth(0).locator(".speaker")).to_have_text("Customer")  # in English (conftest)
    expect(lines.nth(0).locator(".sentiment")).to_have_attribute("title", "Negative")
    expect(lines.nth(0)).to_have_attribute("data-sentiment", "NEGATIVE")
    expect(lines.nth(1)).to_have_attribute("data-speaker", "agent")
    expect(page.locator("#transcript-empty")).to_be_hidden()
    softphone.screenshot("softphone-live-transcript")

    # Hidden on request, and kept hidden.
    page.click("#transcript-toggle")
    expect(page.locator("#transcript-lines")).to_be_hidden()
    expect(page.locator("#transcript-toggle")).to_have_attribute("aria-expanded", "false")
    expect(page.locator("#transcript-toggle")).to_have_text("Show")
    page.click("#transcript-toggle")
    expect(page.locator("#transcript-lines")).to_be_visible()

    with staff_page(browser, stack, "/board/", {"width": 1600, "height": 900}) as board:
        sign_in_on_page(board, "supervisor")
        flagged = board.locator(f'#flagged-calls li[data-call="{offer.customer_call}"]')
        expect(flagged).to_be_visible()
        expect(flagged.locator(".flagged-agent")).to_have_text(agent["agent_id"])
        expect(flagged).to_have_attribute("data-reasons", "negative keyword")
        expect(flagged.locator(".why")).to_contain_text("解約")
        expect(flagged.locator(".why")).to_contain_text("negative sentiment")
        # "Live transcript" while the call is live, "Transcript" after: in English either way.
        expect(flagged.locator("button.open-transcript")).to_have_text(
            re.compile(r"^(Live transcript|Transcript)$")
        )
        flagged.locator("button.open-transcript").click()
        shown = board.locator("#transcript-lines li")
        expect(shown).to_have_count(2)
        expect(shown.nth(0)).to_have_attribute("data-sentiment", "NEGATIVE")
        says(stack, offer, 3, "inbound_track", "上の者を出してください。")  # still live
        expect(shown).to_have_count(3)
        save_screenshot(board, "board-flagged-call")


def test_an_agent_does_not_see_the_calls_to_watch(
    browser: Any, stack: Stack, demo_agents: list[dict[str, str]]
) -> None:
    with staff_page(browser, stack, "/board/") as board:
        with board.expect_response(lambda r: "/transcripts/flagged" in r.url and r.status == 403):
            sign_in_on_page(board, demo_agents[AGENT_INDEX + 1]["agent_id"])
        expect(board.locator("#flagged")).to_be_hidden()
