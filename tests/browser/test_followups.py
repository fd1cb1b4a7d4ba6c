"""Issue 18 d): the softphone's follow-up inbox. A rep sees the voicemail assigned to them, plays
it from its presigned S3 link, calls the customer back through the normal outbound path and
closes it."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from playwright.sync_api import expect

from chalicelib.platform.settings import LOCAL_AUTH_TOKEN
from chalicelib.telephony import webhooks
from ops.webhooks import post_signed
from tests.browser.conftest import Softphone, Stack, play_callbacks, sign_in_on_page, staff_page
from tests.conversation_script import CallScript, rfc2822
from tests.data import sid
from tests.recording_data import two_channel_wav

CALLER = "+81337363999"


def voicemail_for(stack: Stack, n: int, owner: str, team: str, t0: int) -> str:
    """A caller nobody answered left a voicemail for `owner`; the copy to S3 is done."""
    script = CallScript(n=n, owner=owner, team=team, t0=t0, caller=CALLER)
    script.leg("ringing", 0).task("task.created", 1)
    script.task("task.canceled", 100)
    script.leg("completed", 131, duration=131)
    play_callbacks(stack, script)
    recording_sid = sid("RE", n)
    form = {
        "AccountSid": "AC" + "0" * 32,
        "CallSid": script.call_sid,
        "RecordingSid": recording_sid,
        "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/AC{'0' * 32}/Recordings/"
        + recording_sid,
        "RecordingStatus": "completed",
        "RecordingDuration": "1",
        "RecordingChannels": "1",
        "RecordingSource": "RecordVerb",
        "RecordingStartTime": rfc2822(script.at(101)),
        "ErrorCode": "0",
    }
    status, body = post_signed(stack.api_url + webhooks.RECORDING_STATUS, form, LOCAL_AUTH_TOKEN)
    assert status == 200, body
    # The copy worker (an SQS consumer) does not run under `chalice local`: put what it writes.
    key = f"voicemails/{script.call_sid}/{recording_sid}.wav"
    import boto3

    s3 = boto3.session.Session(
        region_name=stack.region, aws_access_key_id="testing", aws_secret_access_key="testing"
    ).client("s3", endpoint_url=stack.moto_url)
    s3.put_object(Bucket="cc-local-recordings", Key=key, Body=two_channel_wav(1.0, 1))
    stack.dynamodb().Table("cc-local-recordings").put_item(
        Item={
            "pk": f"recording#{recording_sid}",
            "recording_sid": recording_sid,
            "conversation_id": script.call_sid,
            "status": "copied",
            "key": key,
            "started_at": "2026-12-05T01:00:00+00:00",
            "duration_seconds": 1,
            "channels": 1,
            "source": "RecordVerb",
            "transcription_status": "not-started",
        }
    )
    return script.call_sid


@pytest.mark.parametrize("page_language", ["ja"])  # the floor's language; the README's picture
def test_a_rep_plays_the_voicemail_assigned_to_them_calls_back_and_closes_it(
    softphone: Softphone, stack: Stack, demo_agents: list[dict[str, str]]
) -> None:
    agent = demo_agents[20]  # no other browser test uses this agent
    now_ms = int(time.time() * 1000)
    call_sid = voicemail_for(stack, 7401, agent["agent_id"], agent["team"], now_ms - 3_600_000)
    page = softphone.page
    softphone.open()
    softphone.sign_in(agent["agent_id"])
    expect(page.locator("#phone-status")).to_have_attribute("data-status", "ready")

    item = page.locator(f'#followups-list li[data-followup="{call_sid}"]')
    expect(item).to_be_visible()
    expect(item).to_contain_text("03-3736-3999")
    expect(page.locator("#followups-count")).to_have_text("1")
    expect(item).not_to_have_class(re.compile(r"\boverdue\b"))  # an hour old: not yet
    player = item.locator("audio.followup-player")
    expect(player).to_have_count(1)
    played = player.evaluate(
        """async (audio) => {
            await audio.play();
            await new Promise((done) => setTimeout(done, 300));
            return { time: audio.currentTime, error: audio.error && audio.error.code };
        }"""
    )
    assert played["error"] is None and played["time"] > 0, played
    softphone.screenshot("softphone-followups")

    # "Call back": the normal outbound path (the dial form, Device.connect with To).
    item.locator("button.followup-call").click()
    expect(page.locator("#call-view")).to_be_visible()
    assert softphone.twilio_log("device.connect")[-1]["params"] == {"To": CALLER}
    softphone.fake("window.fakeTwilio.answer()")
    softphone.fake("window.fakeTwilio.hangUp()")
    expect(page.locator("#wrapup-view")).to_be_visible()

    item.locator("button.followup-done").click()
    softphone.wait_for_api("POST", rf"^/followups/{call_sid}/done$", 1)
    expect(page.locator(f'#followups-list li[data-followup="{call_sid}"]')).to_have_count(0)


def test_the_board_shows_supervisors_the_overdue_follow_ups(
    browser: Any, stack: Stack, demo_agents: list[dict[str, str]]
) -> None:
    agent = demo_agents[21]  # no other browser test uses this agent
    six_hours_ago = int(time.time() * 1000) - 6 * 3_600_000
    call_sid = voicemail_for(stack, 7402, agent["agent_id"], agent["team"], six_hours_ago)
    with staff_page(browser, stack, "/board/", {"width": 1920, "height": 1080}) as page:
        sign_in_on_page(page, "supervisor")
        row = page.locator(f'#overdue-list li[data-followup="{call_sid}"]')
        expect(row).to_be_visible()
        expect(row).to_contain_text(f"for {agent['agent_id']}")
        expect(row).to_contain_text("waiting 6 h")
