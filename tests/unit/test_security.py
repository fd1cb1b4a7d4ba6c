from __future__ import annotations

import random
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from chalicelib.platform.signatures import (
    Form,
    InvalidSignature,
    callback_url,
    public_url,
    verify_twilio_request,
)

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


def test_callback_urls_carry_their_query_sorted_and_percent_encoded() -> None:
    assert callback_url("https://x/api/p", {"b": "1", "a": "2 3+", "c": ""}) == (
        "https://x/api/p?a=2%203%2B&b=1"
    )
    assert callback_url("https://x/api/p", {"a": ""}) == "https://x/api/p"


def test_public_url_writes_the_query_back_in_callback_order() -> None:
    assert public_url("https://x/api/", "/p", {"b": "1", "a": "2"}) == "https://x/api/p?a=2&b=1"


class MultiDict(dict[str, list[str]]):
    """Chalice's request.query_params, as built from API Gateway's multiValueQueryStringParameters:
    iterating gives names, `getlist` every value of one."""

    def getlist(self, key: str) -> list[str]:
        return list(self[key])


def test_public_url_counts_every_value_of_a_repeated_parameter() -> None:
    query = MultiDict({"b": ["2", "1"], "a": ["x"]})
    assert public_url("https://x/api", "/p", query) == "https://x/api/p?a=x&b=1&b=2"  # type: ignore[arg-type]


# Twilio signs the exact URL it was given, query included
# (https://www.twilio.com/docs/usage/webhooks/webhooks-security). API Gateway (REST, Lambda
# proxy) hands the function the parsed query parameters, and "the order of the request
# parameters is not preserved"
# (https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html).
_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1)
_queries = st.dictionaries(_text, _text, min_size=1, max_size=6)
BASE = "https://cc.example.test/api/"
PATH = "/twilio/voice/status"
FORM = Form([("CallSid", "CA1"), ("CallStatus", "completed")])


def as_api_gateway_presents(url: str, order: random.Random) -> dict[str, str]:
    """The query Twilio requested, parsed and in any order."""
    pairs = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    order.shuffle(pairs)
    return dict(pairs)


@given(query=_queries, order=st.randoms(use_true_random=False))
def test_a_callback_url_verifies_in_any_order_api_gateway_presents_its_query(
    query: dict[str, str], order: random.Random
) -> None:
    signed = callback_url(BASE.rstrip("/") + PATH, query)
    signature = RequestValidator(TOKEN).compute_signature(signed, dict(FORM))
    presented = as_api_gateway_presents(signed, order)
    assert presented == query
    verify_twilio_request(TOKEN, public_url(BASE, PATH, presented), FORM, signature)


@given(query=_queries, order=st.randoms(use_true_random=False), other=_text)
def test_a_reordered_query_still_refuses_a_wrong_signature_or_a_changed_value(
    query: dict[str, str], order: random.Random, other: str
) -> None:
    signed = callback_url(BASE.rstrip("/") + PATH, query)
    signature = RequestValidator(TOKEN).compute_signature(signed, dict(FORM))
    presented = as_api_gateway_presents(signed, order)
    with pytest.raises(InvalidSignature):
        verify_twilio_request("another-token", public_url(BASE, PATH, presented), FORM, signature)
    name = order.choice(sorted(presented))
    assume(presented[name] != other)
    changed = {**presented, name: other}
    with pytest.raises(InvalidSignature):
        verify_twilio_request(TOKEN, public_url(BASE, PATH, changed), FORM, signature)


def test_non_utf8_body_is_refused_not_crashed() -> None:
    with pytest.raises(InvalidSignature):
        Form.parse(b"\xff\xfe=\xff")
