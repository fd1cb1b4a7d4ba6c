"""POST /twilio/voice/outbound: the softphone dials a customer through the TwiML App."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest

from tests.conftest import PUBLIC_BASE_URL, TwilioPoster, make_settings
from tests.data import ACCOUNT_SID, sid

PATH = "/twilio/voice/outbound"


def outbound_form(to: str = "03-1234-5678", from_: str = "client:sato") -> dict[str, str]:
    return {
        "CallSid": sid("CA", 7),
        "AccountSid": ACCOUNT_SID,
        "ApplicationSid": "AP" + "d" * 32,
        "ApiVersion": "2010-04-01",
        "Direction": "inbound",
        "CallStatus": "ringing",
        "From": from_,
        "Caller": from_,
        "To": to,
    }


def test_dials_the_normalised_number_with_the_company_caller_id_recorded_dual(
    twilio: TwilioPoster, twilio_http: Any
) -> None:
    response = twilio.post(PATH, outbound_form("03-1234-5678"))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/xml"
    dial = ET.fromstring(response.body).find("Dial")
    assert dial is not None
    assert dial.attrib["callerId"] == "+81300000000"
    assert dial.attrib["record"] == "record-from-answer-dual"
    assert dial.attrib["recordingStatusCallback"] == PUBLIC_BASE_URL + "/twilio/recordings/status"
    assert dial.attrib["answerOnBridge"] == "true"
    number = dial.find("Number")
    assert number is not None
    assert number.text == "+81312345678"
    assert number.attrib["statusCallback"] == PUBLIC_BASE_URL + "/twilio/voice/status"
    assert number.attrib["statusCallbackEvent"] == "initiated ringing answered completed"
    assert twilio_http.requests == [], "dialling out needs no REST call"


def test_caller_id_and_ring_time_come_from_configuration(client: Any, container: Any) -> None:
    container.settings = make_settings(company_number="+81355550000", outbound_ring_seconds=45)
    body = TwilioPoster(client).post(PATH, outbound_form("+81312345678")).body
    dial = ET.fromstring(body).find("Dial")
    assert dial is not None
    assert (dial.attrib["callerId"], dial.attrib["timeout"]) == ("+81355550000", "45")


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


def test_allowed_countries_come_from_configuration(client: Any, container: Any) -> None:
    container.settings = make_settings(outbound_allowed_countries="JP,US")
    body = TwilioPoster(client).post(PATH, outbound_form("+1 212 555 0100")).body
    number = ET.fromstring(body).find("Dial/Number")
    assert number is not None and number.text == "+12125550100"


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


def caller_id_of(twilio: TwilioPoster, agent_id: str) -> str:
    body = twilio.post(PATH, outbound_form("03-1234-5678", from_=f"client:{agent_id}")).body
    dial = ET.fromstring(body).find("Dial")
    assert dial is not None
    return dial.attrib["callerId"]


def test_a_rep_calls_from_their_teams_number_else_the_company_number(
    twilio: TwilioPoster, resources: Any, container: Any
) -> None:
    agents = resources.Table(container.settings.routing.agents_table)
    agents.put_item(Item={"agent_id": "ito", "team": "osaka", "team_caller_id": "+81661230000"})
    agents.put_item(Item={"agent_id": "sato", "team": "tokyo"})
    assert caller_id_of(twilio, "ito") == "+81661230000"
    assert caller_id_of(twilio, "sato") == "+81300000000"
    assert caller_id_of(twilio, "someone-new") == "+81300000000"


def test_an_unreadable_directory_still_dials_from_the_company_number(
    twilio: TwilioPoster, container: Any
) -> None:
    container.settings = container.settings.with_values(agents_table="no-such-table")
    assert caller_id_of(twilio, "ito") == "+81300000000"
