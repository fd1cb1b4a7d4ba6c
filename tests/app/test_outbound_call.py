"""POST /twilio/voice/outbound: the softphone dials a customer through the TwiML App, into a
conference mixed in jp1; the rep is on a call from the webhook on, and free again as the call
ends (wrap-up) or never connects (at once)."""

from __future__ import annotations

import time
import urllib.parse
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from chalicelib.bootstrap import Container
from tests.conftest import PUBLIC_BASE_URL, TwilioPoster, make_settings
from tests.data import ACCOUNT_SID, put_agent, sid
from tests.fakes.twilio_http import RecordedRequest, RecordingHttpClient

PATH = "/twilio/voice/outbound"
REP_CALL = sid("CA", 7)
CUSTOMER_CALL = sid("CA", 8)
CONFERENCE = f"outbound-{REP_CALL}"
OUTBOUND_ACTIVITY = "WA00000000000000000000000000000005"


def outbound_form(to: str = "03-1234-5678", from_: str = "client:sato") -> dict[str, str]:
    return {
        "CallSid": REP_CALL,
        "AccountSid": ACCOUNT_SID,
        "ApplicationSid": "AP" + "d" * 32,
        "ApiVersion": "2010-04-01",
        "Direction": "inbound",
        "CallStatus": "ringing",
        "From": from_,
        "Caller": from_,
        "To": to,
    }


def customer_leg(status: str, query: str, sequence: int = 3) -> tuple[str, dict[str, str]]:
    return (
        f"/twilio/voice/status?{query}",
        {
            "CallSid": CUSTOMER_CALL,
            "AccountSid": ACCOUNT_SID,
            "CallStatus": status,
            "Direction": "outbound-api",
            "From": "+81300000000",
            "To": "+81312345678",
            "SequenceNumber": str(sequence),
            "CallDuration": "42" if status == "completed" else "0",
            "Timestamp": "Sat, 05 Dec 2026 10:00:30 +0000",
        },
    )


@pytest.fixture
def rep(container: Container, resources: Any, twilio_http: RecordingHttpClient) -> str:
    put_agent(resources, container.settings, "sato")
    container.presence.sign_in("sato")
    twilio_http.respond(
        "POST",
        r"/Participants\.json$",
        (
            201,
            {
                "call_sid": CUSTOMER_CALL,
                "conference_sid": sid("CF", 1),
                "label": "customer",
                "status": "queued",
            },
        ),
    )
    return "sato"


def _requests(http: RecordingHttpClient, method: str, pattern: str) -> list[RecordedRequest]:
    return [r for r in http.requests if r.method == method and pattern in r.url]


def _dialled(twilio: TwilioPoster) -> ET.Element:
    response = twilio.post(PATH, outbound_form("03-1234-5678"))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/xml"
    return ET.fromstring(response.body)


def test_the_rep_joins_a_jp1_conference_and_the_customer_is_rung_into_it(
    twilio: TwilioPoster, twilio_http: RecordingHttpClient, rep: str
) -> None:
    root = _dialled(twilio)
    dial = root.find("Dial")
    assert dial is not None
    assert dial.find("Number") is None, "no bare <Dial><Number> any more"
    conference = dial.find("Conference")
    assert conference is not None
    assert conference.text == CONFERENCE
    assert conference.attrib["region"] == "jp1"
    assert conference.attrib["participantLabel"] == "agent:sato"
    assert conference.attrib["record"] == "record-from-start"
    # The customer answering starts it (and its recording), not the rep.
    assert conference.attrib["startConferenceOnEnter"] == "false"
    assert conference.attrib["endConferenceOnExit"] == "true"
    assert conference.attrib["statusCallback"] == (
        f"{PUBLIC_BASE_URL}/twilio/conference/status?agent=sato&conversation={REP_CALL}"
    )
    assert dial.attrib["action"] == (
        f"{PUBLIC_BASE_URL}/twilio/voice/outbound/left"
        f"?agent=sato&conversation={REP_CALL}&customer={CUSTOMER_CALL}"
    )
    (participant,) = _requests(twilio_http, "POST", "/Participants.json")
    # The conference by its friendly name; the customer with the company number, labelled.
    assert f"/Conferences/{CONFERENCE}/Participants.json" in participant.url
    data = participant.data
    assert (data["From"], data["To"], data["Label"]) == ("+81300000000", "+81312345678", "customer")
    assert (data["Region"], data["ConferenceRecord"], data["RecordingChannels"]) == (
        "jp1",
        "record-from-start",
        "dual",
    )
    assert data["EndConferenceOnExit"] == "true"
    assert data["StatusCallback"] == (
        f"{PUBLIC_BASE_URL}/twilio/voice/status?agent=sato&conversation={REP_CALL}&dialled_by=sato"
    )


def test_the_board_shows_the_rep_on_an_outbound_call_within_three_seconds(
    client: Any,
    twilio: TwilioPoster,
    twilio_http: RecordingHttpClient,
    rep: str,
    container: Container,
    staff_token: Any,
) -> None:
    started = time.monotonic()
    _dialled(twilio)
    headers = {"Authorization": f"Bearer {staff_token('sato')}"}
    feed = client.http.get("/presence", headers=headers).json_body
    elapsed = time.monotonic() - started
    rows = [dict(zip(feed["fields"], row, strict=True)) for row in feed["agents"]]
    (row,) = [r for r in rows if r["id"] == "sato"]
    assert (row["state"], row["reason"]) == ("on_call", "outbound")
    assert elapsed < 3.0
    # TaskRouter offers the rep nothing: an unavailable activity, a ringing call turned down,
    # set before the customer is rung.
    (update,) = _requests(twilio_http, "POST", "/Workers/")
    assert update.data == {"ActivitySid": OUTBOUND_ACTIVITY, "RejectPendingReservations": "true"}
    assert twilio_http.requests.index(update) < twilio_http.requests.index(
        _requests(twilio_http, "POST", "/Participants.json")[0]
    )


def test_an_answered_call_ends_in_wrap_up(
    twilio: TwilioPoster, twilio_http: RecordingHttpClient, rep: str, container: Container
) -> None:
    _dialled(twilio)
    query = f"agent=sato&conversation={REP_CALL}&dialled_by=sato"
    for status, sequence in (("ringing", 1), ("in-progress", 2), ("completed", 3)):
        path, form = customer_leg(status, query, sequence)
        assert twilio.post(path, form).status_code == 204
    presence = container.presence_store.get("sato")
    assert presence is not None
    assert (presence.state.value, presence.reason) == ("wrap_up", "call_ended")
    assert _requests(twilio_http, "POST", f"/Calls/{REP_CALL}.json") == []


@pytest.mark.parametrize("status", ["busy", "no-answer", "failed", "canceled"])
def test_a_call_that_never_connects_frees_the_rep_at_once_and_says_why(
    twilio: TwilioPoster,
    twilio_http: RecordingHttpClient,
    rep: str,
    container: Container,
    status: str,
) -> None:
    _dialled(twilio)
    path, form = customer_leg(status, f"agent=sato&conversation={REP_CALL}&dialled_by=sato")
    assert twilio.post(path, form).status_code == 204
    assert twilio.post(path, form).status_code == 204  # a duplicate changes nothing
    presence = container.presence_store.get("sato")
    assert presence is not None
    assert (presence.state.value, presence.reason) == ("available", "not_connected")
    redirects = _requests(twilio_http, "POST", f"/Calls/{REP_CALL}.json")
    assert redirects
    url = redirects[0].data["Url"]
    assert url == f"{PUBLIC_BASE_URL}/twilio/voice/outbound/not-connected?status={status}"
    spoken = ET.fromstring(_post_query(twilio, url, outbound_form()).body)
    say = spoken.find("Say")
    assert say is not None and say.attrib["language"] == "ja-JP"
    assert spoken.find("Hangup") is not None


def _post_query(twilio: TwilioPoster, url: str, form: dict[str, str]) -> Any:
    """POST to a URL with a query, signed over the whole URL as Twilio signs it."""
    from tests.conftest import sign

    parts = urllib.parse.urlsplit(url)
    path = parts.path.removeprefix(urllib.parse.urlsplit(PUBLIC_BASE_URL).path)
    target = f"{path}?{parts.query}"
    return twilio.post(target, form, signature=sign(target, form))


def test_a_late_report_of_an_earlier_call_leaves_the_current_one_alone(
    twilio: TwilioPoster, rep: str, container: Container
) -> None:
    _dialled(twilio)
    earlier = sid("CA", 3)
    path, form = customer_leg("busy", f"agent=sato&conversation={earlier}&dialled_by=sato")
    twilio.post(path, form)
    presence = container.presence_store.get("sato")
    assert presence is not None
    assert (presence.state.value, presence.reason, presence.call_sid) == (
        "on_call",
        "outbound",
        REP_CALL,
    )


def test_twilio_refusing_to_ring_the_customer_frees_the_rep_and_says_so(
    twilio: TwilioPoster, twilio_http: RecordingHttpClient, rep: str, container: Container
) -> None:
    twilio_http.fail("POST", r"/Participants\.json$", status=500)
    root = _dialled(twilio)
    assert root.find("Dial") is None
    assert root.find("Say") is not None and root.find("Hangup") is not None
    presence = container.presence_store.get("sato")
    assert presence is not None
    assert (presence.state.value, presence.reason) == ("available", "not_connected")


LEFT = (
    f"{PUBLIC_BASE_URL}/twilio/voice/outbound/left"
    f"?agent=sato&conversation={REP_CALL}&customer={CUSTOMER_CALL}"
)


def _rep_leaves(twilio: TwilioPoster) -> Any:
    form = {**outbound_form(), "CallStatus": "completed", "DialCallStatus": "completed"}
    return _post_query(twilio, LEFT, form)


def test_the_rep_leaving_stops_a_customer_phone_still_ringing(
    twilio: TwilioPoster, twilio_http: RecordingHttpClient, rep: str, container: Container
) -> None:
    _dialled(twilio)
    twilio_http.respond(
        "GET", rf"/Calls/{CUSTOMER_CALL}\.json$", (200, {"sid": CUSTOMER_CALL, "status": "ringing"})
    )
    assert _rep_leaves(twilio).status_code == 200
    (cancel,) = _requests(twilio_http, "POST", f"/Calls/{CUSTOMER_CALL}.json")
    assert cancel.data == {"Status": "canceled"}
    # The customer's callback (canceled) frees the rep, not the rep's leaving.
    presence = container.presence_store.get("sato")
    assert presence is not None and presence.state.value == "on_call"


def test_the_rep_leaving_a_call_the_customer_answered_wraps_them_up(
    twilio: TwilioPoster, twilio_http: RecordingHttpClient, rep: str, container: Container
) -> None:
    """A cold transfer: the customer talks on with a colleague, the rep wraps up now."""
    _dialled(twilio)
    twilio_http.respond(
        "GET",
        rf"/Calls/{CUSTOMER_CALL}\.json$",
        (200, {"sid": CUSTOMER_CALL, "status": "in-progress"}),
    )
    assert _rep_leaves(twilio).status_code == 200
    assert _requests(twilio_http, "POST", f"/Calls/{CUSTOMER_CALL}.json") == []
    presence = container.presence_store.get("sato")
    assert presence is not None and presence.state.value == "wrap_up"


def test_a_rep_who_is_not_signed_in_still_places_the_call(
    twilio: TwilioPoster, twilio_http: RecordingHttpClient, container: Container, resources: Any
) -> None:
    put_agent(resources, container.settings, "sato")
    twilio_http.respond("POST", r"/Participants\.json$", (201, {"call_sid": CUSTOMER_CALL}))
    root = _dialled(twilio)
    assert root.find("Dial/Conference") is not None
    assert container.presence_store.get("sato") is None
    assert _requests(twilio_http, "POST", "/Workers/") == []


def test_caller_id_and_ring_time_come_from_configuration(
    client: Any, container: Any, twilio_http: RecordingHttpClient, rep: str
) -> None:
    container.settings = make_settings(company_number="+81355550000", outbound_ring_seconds=45)
    TwilioPoster(client).post(PATH, outbound_form("+81312345678"))
    (participant,) = _requests(twilio_http, "POST", "/Participants.json")
    assert (participant.data["From"], str(participant.data["Timeout"])) == ("+81355550000", "45")


@pytest.mark.parametrize("to", ["", "12", "not a number", "+1 555", "client:tanaka"])
def test_invalid_numbers_are_refused_with_a_spoken_message(twilio: TwilioPoster, to: str) -> None:
    root = ET.fromstring(twilio.post(PATH, outbound_form(to)).body)
    assert root.find("Dial") is None
    assert [say.attrib["language"] for say in root.findall("Say")] == ["ja-JP", "en-US"]
    assert root.find("Hangup") is not None


def test_only_a_softphone_client_may_dial_out(twilio: TwilioPoster) -> None:
    root = ET.fromstring(twilio.post(PATH, outbound_form(from_="+81312345678")).body)
    assert root.find("Dial") is None
    assert root.find("Hangup") is not None


def test_unsigned_requests_are_rejected(twilio: TwilioPoster) -> None:
    assert twilio.post(PATH, outbound_form(), signature=None).status_code == 403
    assert twilio.post(PATH, outbound_form(), signature="forged").status_code == 403


# --- guard rails (chalicelib/softphone/dial_rules.py) ----------------------------------------


def refused_reason(body: str) -> str:
    """The TwiML refuses: one Japanese <Say>, a <Hangup/>, and no <Dial> at all."""
    root = ET.fromstring(body)
    assert root.find("Dial") is None
    assert root.find(".//Number") is None
    [say] = root.findall("Say")
    assert say.attrib["language"] == "ja-JP"
    assert root.find("Hangup") is not None
    return str(say.text)


@pytest.mark.parametrize(
    ("to", "reason"),
    [
        ("+1 212 555 0100", "この国の番号には発信できません。"),
        ("0990-123-456", "有料情報サービスの番号には発信できません。"),
    ],
)
def test_foreign_premium_and_shared_cost_numbers_are_refused_aloud(
    twilio: TwilioPoster, to: str, reason: str
) -> None:
    assert refused_reason(twilio.post(PATH, outbound_form(to)).body) == reason


def test_a_number_on_the_do_not_call_list_is_refused_aloud(
    twilio: TwilioPoster, resources: Any, container: Any
) -> None:
    table = resources.Table(container.settings.softphone.do_not_call_table)
    table.put_item(Item={"phone": "+81312345678"})
    reason = refused_reason(twilio.post(PATH, outbound_form("03-1234-5678")).body)
    assert "発信禁止リスト" in reason
    # Another number still goes through.
    assert ET.fromstring(twilio.post(PATH, outbound_form("03-1234-5679")).body).find("Dial")


def test_allowed_countries_come_from_configuration(
    client: Any, container: Any, twilio_http: RecordingHttpClient, rep: str
) -> None:
    container.settings = make_settings(outbound_allowed_countries="JP,US")
    body = TwilioPoster(client).post(PATH, outbound_form("+1 212 555 0100")).body
    assert ET.fromstring(body).find("Dial/Conference") is not None
    (participant,) = _requests(twilio_http, "POST", "/Participants.json")
    assert participant.data["To"] == "+12125550100"


def test_shared_cost_numbers_are_refused_in_an_allowed_country(client: Any, container: Any) -> None:
    container.settings = make_settings(outbound_allowed_countries="JP,BE")
    body = TwilioPoster(client).post(PATH, outbound_form("+32 78 79 12 34")).body
    assert refused_reason(body) == "通話料を分担する番号には発信できません。"


def test_an_unreadable_do_not_call_list_refuses_the_call(
    twilio: TwilioPoster, container: Any
) -> None:
    container.settings = container.settings.with_values(do_not_call_table="no-such-table")
    reason = refused_reason(twilio.post(PATH, outbound_form("03-1234-5678")).body)
    assert "確認できませんでした" in reason


def check_as(client: Any, token: str, number: str) -> Any:
    import urllib.parse

    return client.http.get(
        "/calls/dial-check?" + urllib.parse.urlencode({"number": number}),
        headers={"Authorization": f"Bearer {token}", "X-Client-Version": "1.0.0"},
    )


def test_the_page_can_ask_before_dialling_and_gets_the_same_verdict(
    client: Any, staff_token: Any, resources: Any, container: Any
) -> None:
    import json

    resources.Table(container.settings.softphone.do_not_call_table).put_item(
        Item={"phone": "+81312345678"}
    )
    token = staff_token("sato")
    listed = check_as(client, token, "03-1234-5678")
    assert listed.status_code == 200
    assert json.loads(listed.body) == {
        "number": "+81312345678",
        "allowed": False,
        "reason": "do_not_call",
        "message": "この番号は発信禁止リストに登録されているため、発信できません。",
    }
    fine = json.loads(check_as(client, token, "090-1234-5678").body)
    assert (fine["allowed"], fine["reason"], fine["number"]) == (True, None, "+819012345678")
    assert json.loads(check_as(client, token, "0990-123-456").body)["reason"] == "premium_rate"
    assert check_as(client, token, " ").status_code == 400


def test_the_dial_check_needs_a_signed_in_rep(client: Any) -> None:
    response = client.http.get("/calls/dial-check?number=0312345678")
    assert response.status_code == 401


# --- caller ID per team (chalicelib/softphone/caller_id.py) -----------------------------------


def caller_id_of(twilio: TwilioPoster, http: RecordingHttpClient, agent_id: str) -> str:
    """The number the customer sees: the From of the participant added for them."""
    body = twilio.post(PATH, outbound_form("03-1234-5678", from_=f"client:{agent_id}")).body
    assert ET.fromstring(body).find("Dial/Conference") is not None
    return str(_requests(http, "POST", "/Participants.json")[-1].data["From"])


def test_a_rep_calls_from_their_teams_number_else_the_company_number(
    twilio: TwilioPoster, twilio_http: RecordingHttpClient, resources: Any, container: Any
) -> None:
    agents = resources.Table(container.settings.routing.agents_table)
    agents.put_item(Item={"agent_id": "ito", "team": "osaka", "team_caller_id": "+81661230000"})
    agents.put_item(Item={"agent_id": "sato", "team": "tokyo"})
    assert caller_id_of(twilio, twilio_http, "ito") == "+81661230000"
    assert caller_id_of(twilio, twilio_http, "sato") == "+81300000000"
    assert caller_id_of(twilio, twilio_http, "someone-new") == "+81300000000"


def test_an_unreadable_directory_still_dials_from_the_company_number(
    twilio: TwilioPoster, twilio_http: RecordingHttpClient, container: Any
) -> None:
    container.settings = container.settings.with_values(agents_table="no-such-table")
    assert caller_id_of(twilio, twilio_http, "ito") == "+81300000000"


def test_an_internal_call_rings_the_colleagues_softphone_and_busies_both(
    twilio: TwilioPoster,
    twilio_http: RecordingHttpClient,
    rep: str,
    container: Container,
    resources: Any,
) -> None:
    put_agent(resources, container.settings, "suzuki", team="osaka")
    container.presence.sign_in("suzuki")
    root = ET.fromstring(twilio.post(PATH, outbound_form("agent:suzuki")).body)
    assert root.find("Dial/Conference") is not None
    (participant,) = _requests(twilio_http, "POST", "/Participants.json")
    assert (participant.data["From"], participant.data["To"], participant.data["Label"]) == (
        "client:sato",
        "client:suzuki",
        "agent:suzuki",
    )
    for agent_id in ("sato", "suzuki"):
        presence = container.presence_store.get(agent_id)
        assert presence is not None
        assert (presence.state.value, presence.reason) == ("on_call", "internal")
    # The colleague's leg ending ends the call for both.
    path, form = customer_leg(
        "completed", f"agent=sato&colleague=suzuki&conversation={REP_CALL}&dialled_by=sato"
    )
    form["To"] = "client:suzuki"
    assert twilio.post(path, form).status_code == 204
    for agent_id in ("sato", "suzuki"):
        presence = container.presence_store.get(agent_id)
        assert presence is not None and presence.state.value == "wrap_up"


@pytest.mark.parametrize("to", ["agent:sato", "agent:"])
def test_a_rep_cannot_call_themselves_or_nobody(twilio: TwilioPoster, rep: str, to: str) -> None:
    root = ET.fromstring(twilio.post(PATH, outbound_form(to)).body)
    assert root.find("Dial") is None and root.find("Hangup") is not None


def test_an_internal_call_to_a_busy_or_unknown_colleague_is_refused_with_a_reason(
    twilio: TwilioPoster,
    twilio_http: RecordingHttpClient,
    rep: str,
    container: Container,
    resources: Any,
) -> None:
    put_agent(resources, container.settings, "suzuki", team="osaka")
    container.presence.sign_in("suzuki")
    container.presence.choose("suzuki", "break")
    for to in ("agent:suzuki", "agent:nobody"):
        root = ET.fromstring(twilio.post(PATH, outbound_form(to)).body)
        assert root.find("Dial") is None
        say = root.find("Say")
        assert say is not None and say.attrib["language"] == "ja-JP"
    assert _requests(twilio_http, "POST", "/Participants.json") == []
    presence = container.presence_store.get("sato")
    assert presence is not None and presence.state.value == "available"
