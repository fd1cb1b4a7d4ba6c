from __future__ import annotations

import pytest
from twilio.request_validator import RequestValidator

from chalicelib.platform.signatures import Form, InvalidSignature, public_url, verify_twilio_request

TOKEN = "secret-token"
URL = "https://cc.example.test/api/twilio/voice/incoming"


def test_signature_over_url_and_form_is_accepted() -> None:
    form = Form([("CallSid", "CA1"), ("From", "+81312345678")])
    signature = RequestValidator(TOKEN).compute_signature(URL, dict(form))
    verify_twilio_request(TOKEN, URL, form, signature)


def test_missing_signature_is_refused() -> None:
    with pytest.raises(InvalidSignature, match="missing"):
        verify_twilio_request(TOKEN, URL, Form([("CallSid", "CA1")]), None)


def test_signature_for_another_url_is_refused() -> None:
    form = Form([("CallSid", "CA1")])
    signature = RequestValidator(TOKEN).compute_signature(URL + "x", dict(form))
    with pytest.raises(InvalidSignature):
        verify_twilio_request(TOKEN, URL, form, signature)


def test_parameters_not_in_any_model_still_count() -> None:
    signed = Form([("CallSid", "CA1"), ("AddOns", "{}")])
    signature = RequestValidator(TOKEN).compute_signature(URL, dict(signed))
    with pytest.raises(InvalidSignature):
        verify_twilio_request(TOKEN, URL, Form([("CallSid", "CA1")]), signature)


def test_repeated_parameters_are_all_signed() -> None:
    form = Form.parse("StatusCallbackEvent=a&StatusCallbackEvent=b&CallSid=CA1")
    assert form["StatusCallbackEvent"] == "a"
    signature = RequestValidator(TOKEN).compute_signature(URL, {"CallSid": "CA1"})
    with pytest.raises(InvalidSignature):
        verify_twilio_request(TOKEN, URL, form, signature)


def test_sha256_signatures_named_in_settings_header_are_checked() -> None:
    form = Form([("CallSid", "CA1")])
    signature = RequestValidator(TOKEN).compute_signature(URL, dict(form), algorithm="HMAC_SHA256")
    verify_twilio_request(TOKEN, URL, form, signature, "key=k1,algorithm=HMAC_SHA256")
    with pytest.raises(InvalidSignature):
        verify_twilio_request(TOKEN, URL, form, signature)


def test_public_url_keeps_query_in_order() -> None:
    assert public_url("https://x/api/", "/p", {"b": "1", "a": "2"}) == "https://x/api/p?b=1&a=2"


def test_non_utf8_body_is_refused_not_crashed() -> None:
    with pytest.raises(InvalidSignature):
        Form.parse(b"\xff\xfe=\xff")
