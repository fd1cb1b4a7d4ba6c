"""Issue 18: the greeting before <Enqueue>, our waitUrl, and a key pressed while waiting.

The greeting names who the caller reached and says the call is recorded, in Japanese, before
the queue (https://www.twilio.com/docs/voice/twiml/say, `language`/`voice`); an operator's
recording replaces it (https://www.twilio.com/docs/voice/twiml/play). The waitUrl is requested
with `QueuePosition`, `QueueTime`, `AvgQueueTime`, `CurrentQueueSize`, `QueueSid`
(https://www.twilio.com/docs/voice/twiml/enqueue); which of them a TaskRouter-enqueued call gets
is not documented, so each is rehearsed present and absent.
"""

from __future__ import annotations

import json
import urllib.parse
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from chalicelib.bootstrap import Container
from tests.conftest import PUBLIC_BASE_URL, TwilioPoster, make_settings, sign
from tests.data import ACCOUNT_SID, incoming_call_form, put_customer
from tests.fakes.twilio_http import RecordingHttpClient

CALL = incoming_call_form()["CallSid"]
CALLER = "+81312345678"
WAIT = "/twilio/voice/queue-wait"
KEY = "/twilio/voice/queue-wait/choice"
GREETINGS = json.dumps(
    {
        "company": {"reached": "株式会社サンプル"},
        "teams": {"tokyo": {"reached": "東京営業所"}},
        "numbers": {"+81300000099": {"audio_url": "https://example.com/osaka.mp3"}},
    }
)


def xml(response: Any) -> ET.Element:
    assert response.status_code == 200, response.body
    assert response.headers["Content-Type"] == "text/xml"
    return ET.fromstring(response.body)


def wait_form(**figures: str) -> dict[str, str]:
    return {"CallSid": CALL, "AccountSid": ACCOUNT_SID, "From": CALLER, **figures}


@pytest.fixture
def settings() -> Any:
    return make_settings(greetings=GREETINGS, queue_offer_after_seconds=60)


def test_greeting_names_the_team_and_the_recording_before_the_queue(
    twilio: TwilioPoster, resources: Any, settings: Any
) -> None:
    put_customer(resources, settings, phone=CALLER, owner="sato", team="tokyo")
    root = xml(twilio.post("/twilio/voice/incoming", incoming_call_form(caller=CALLER)))
    assert [child.tag for child in root] == ["Say", "Enqueue"]
    say = root[0]
    assert say.get("language") == "ja-JP"
    assert say.get("voice") == "Polly.Mizuki"
    assert "東京営業所" in (say.text or "")
    assert "録音" in (say.text or "")
    enqueue = root[1]
    assert enqueue.get("waitUrl") == PUBLIC_BASE_URL + WAIT
    assert enqueue.get("waitUrlMethod") == "POST"


def test_unknown_caller_hears_the_company(twilio: TwilioPoster) -> None:
    root = xml(twilio.post("/twilio/voice/incoming", incoming_call_form(caller="+819099998888")))
    assert "株式会社サンプル" in (root[0].text or "")


def test_a_number_with_its_own_recording_plays_it_instead(twilio: TwilioPoster) -> None:
    form = {**incoming_call_form(), "To": "+81300000099", "Called": "+81300000099"}
    root = xml(twilio.post("/twilio/voice/incoming", form))
    assert [child.tag for child in root] == ["Play", "Enqueue"]
    assert root[0].text == "https://example.com/osaka.mp3"


def test_bundled_greeting_is_japanese_and_mentions_recording(client: Any) -> None:
    from chalicelib.routing.greeting import load_greetings

    greeting = load_greetings("").for_call("+81300000000", None)
    assert greeting.reached and not greeting.audio_url


def test_invalid_greetings_fail_at_load() -> None:
    from chalicelib.routing.greeting import InvalidGreetings, load_greetings

    for bad in ('{"company": {}}', '{"company": {"reached": "x", "colour": "red"}}', "[", "[]"):
        with pytest.raises(InvalidGreetings):
            load_greetings(bad)
    with pytest.raises(InvalidGreetings):
        load_greetings('{"company": {"reached": "x", "audio_url": "http://plain.example/a.mp3"}}')


def test_wait_announces_position_and_expected_wait_then_holds(twilio: TwilioPoster) -> None:
    root = xml(
        twilio.post(
            WAIT,
            wait_form(
                QueuePosition="3",
                QueueTime="10",
                AvgQueueTime="190",
                CurrentQueueSize="5",
                QueueSid="QU" + "1" * 32,
            ),
        )
    )
    assert [child.tag for child in root] == ["Say", "Play"]
    text = root[0].text or ""
    assert "3番目" in text
    assert "3分" in text, "(190 - 10) s is three minutes"
    play = root[1]
    assert play.text == "http://127.0.0.1:8080/audio/hold-loop.wav"
    assert play.get("loop") == "4", "40 s between announcements over a 10 s loop"


@pytest.mark.parametrize("blank", [{}, {"QueuePosition": "", "AvgQueueTime": ""}])
def test_wait_without_figures_says_please_hold(twilio: TwilioPoster, blank: dict[str, str]) -> None:
    root = xml(twilio.post(WAIT, wait_form(QueueTime="5", **blank)))
    assert "お待ちください" in (root[0].text or "")
    assert "番目" not in (root[0].text or "")


def test_after_the_offer_delay_the_hold_sits_in_a_gather(twilio: TwilioPoster) -> None:
    root = xml(twilio.post(WAIT, wait_form(QueuePosition="1", QueueTime="75")))
    assert [child.tag for child in root] == ["Gather"], "silence falls out and the wait goes on"
    gather = root[0]
    assert gather.get("action") == PUBLIC_BASE_URL + KEY
    assert gather.get("numDigits") == "1"
    assert [child.tag for child in gather] == ["Say", "Play"]
    assert "1を" in (gather[0].text or "") and "2を" in (gather[0].text or "")


def test_never_twilio_default_music(twilio: TwilioPoster) -> None:
    for seconds in ("0", "30", "61", "600"):
        body = twilio.post(WAIT, wait_form(QueueTime=seconds)).body
        body = body.decode() if isinstance(body, bytes) else body
        assert "twilio.com" not in body and "classical" not in body


def test_unsigned_or_malformed_wait_requests_are_refused(twilio: TwilioPoster) -> None:
    assert twilio.post(WAIT, wait_form(), signature=None).status_code == 403
    assert twilio.post(KEY, wait_form(Digits="1"), signature=None).status_code == 403
    assert twilio.post(WAIT, wait_form(QueueTime="soon")).status_code == 400
    assert twilio.post(WAIT, {"CallSid": "nope"}).status_code == 400


@pytest.mark.parametrize(("pressed", "fallback_key"), [("1", "1"), ("2", "2")])
def test_a_key_takes_the_call_to_the_fallback_choice_by_redirect(
    twilio: TwilioPoster, twilio_http: RecordingHttpClient, pressed: str, fallback_key: str
) -> None:
    root = xml(twilio.post(KEY, wait_form(Digits=pressed)))
    assert root.find("Leave") is None
    redirects = twilio_http.calls("POST", f"/Calls/{CALL}.json")
    assert len(redirects) == 1
    url = redirects[0].data["Url"]
    assert url == f"{PUBLIC_BASE_URL}/twilio/voice/fallback/choice?key={fallback_key}"


def test_a_wrong_key_keeps_the_place(
    twilio: TwilioPoster, twilio_http: RecordingHttpClient
) -> None:
    root = xml(twilio.post(KEY, wait_form(Digits="9")))
    assert [child.tag for child in root] == ["Say"]
    assert twilio_http.calls("POST", "/Calls/") == []


def test_twilio_unreachable_leaves_the_queue_by_twiml(
    twilio: TwilioPoster, twilio_http: RecordingHttpClient
) -> None:
    twilio_http.fail("POST", r"/Calls/CA[0-9a-f]+\.json", status=503)
    root = xml(twilio.post(KEY, wait_form(Digits="1")))
    assert root.find("Leave") is not None, "the Enqueue action then offers the menu"


def _post_choice(client: Any, query: dict[str, str], form: dict[str, str]) -> Any:
    path = "/twilio/voice/fallback/choice"
    url_query = urllib.parse.urlencode(sorted(query.items()), quote_via=urllib.parse.quote)
    signature = sign(f"{path}?{url_query}", form)
    return client.http.post(
        f"{path}?{url_query}",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        },
        body=urllib.parse.urlencode(form),
    )


def test_redirected_callback_key_creates_a_callback(
    client: Any, container: Container, twilio_http: RecordingHttpClient
) -> None:
    form = wait_form()
    root = xml(_post_choice(client, {"key": "2"}, form))
    assert root.find("Hangup") is not None, "callback confirmed, goodbye"
    tasks = twilio_http.calls("POST", "/Tasks")
    assert len(tasks) == 1
    assert json.loads(tasks[0].data["Attributes"])["type"] == "callback"


def test_redirected_voicemail_key_records(client: Any) -> None:
    root = xml(_post_choice(client, {"key": "1"}, wait_form()))
    assert root.find("Record") is not None


def test_redirected_bad_key_is_refused(client: Any) -> None:
    assert _post_choice(client, {"key": "5"}, wait_form()).status_code == 400
