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
