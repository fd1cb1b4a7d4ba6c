"""Limits before work: refused on headers and sizes, before any parse, with nothing written."""

from __future__ import annotations

import urllib.parse
from typing import Any

import pytest

from chalicelib.conversations.search import MAX_DAYS, search_from_params
from chalicelib.platform.errors import InvalidInput
from chalicelib.platform.limits import (
    MAX_API_BODY_BYTES,
    MAX_FORM_FIELDS,
    MAX_QUERY_PARAMETERS,
    MAX_WEBHOOK_BODY_BYTES,
    refusal_for,
)
from tests.conftest import FORM, TwilioPoster, sign
from tests.data import incoming_call_form
from tests.hostile import every_route, stored_contents

FIVE_MB = b"CallSid=" + b"A" * (5 * 1024 * 1024)
WEBHOOKS = [r for r in every_route() if r.is_webhook]


def test_every_twilio_path_is_a_webhook_route() -> None:
    assert len(WEBHOOKS) >= 13, "the /twilio/ routes are found in app.routes"


@pytest.mark.parametrize("route", WEBHOOKS, ids=lambda r: r.path)
def test_unsigned_five_megabytes_refused_before_parsing(client: Any, aws: Any, route: Any) -> None:
    before = stored_contents(aws)
    response = client.http.post(
        route.concrete("WT" + "0" * 32), headers={"Content-Type": FORM}, body=FIVE_MB
    )
    assert response.status_code == 403
    # The middleware's refusal, not the view's "invalid X-Twilio-Signature": nothing was parsed.
    assert b"missing X-Twilio-Signature" in response.body
    assert stored_contents(aws) == before


def test_signed_but_oversized_form_is_413(twilio: TwilioPoster, aws: Any) -> None:
    before = stored_contents(aws)
    form = {**incoming_call_form(), "Padding": "x" * MAX_WEBHOOK_BODY_BYTES}
    response = twilio.post("/twilio/voice/incoming", form)
    assert response.status_code == 413
    assert stored_contents(aws) == before


def test_content_length_cannot_understate_the_body() -> None:
    headers = {"x-twilio-signature": "x", "content-length": "10"}
    refusal = refusal_for(True, headers, None, b"a" * (MAX_WEBHOOK_BODY_BYTES + 1))
    assert refusal is not None and refusal.status == 413


def test_a_form_of_too_many_fields_is_400(twilio: TwilioPoster, aws: Any) -> None:
    before = stored_contents(aws)
    form = {**incoming_call_form(), **{f"F{i}": "" for i in range(MAX_FORM_FIELDS)}}
    response = twilio.post("/twilio/voice/incoming", form)
    assert response.status_code == 400
    assert b"more than" in response.body
    assert stored_contents(aws) == before


def test_a_twilio_sized_form_passes(twilio: TwilioPoster) -> None:
    assert twilio.post("/twilio/voice/incoming", incoming_call_form()).status_code == 200


def test_too_many_query_parameters_is_400_before_auth(client: Any) -> None:
    query = urllib.parse.urlencode({f"p{i}": "1" for i in range(MAX_QUERY_PARAMETERS + 1)})
    response = client.http.get(f"/conversations?{query}")
    assert response.status_code == 400
    assert b"query parameters" in response.body


def test_repeated_query_parameter_on_the_api_is_400(client: Any) -> None:
    response = client.http.get("/conversations?from=2026-01-01&from=2026-01-02")
    assert response.status_code == 400
    assert b"'from' is repeated" in response.body


def test_oversized_json_body_is_413_with_cors(client: Any) -> None:
    body = b'{"text": "' + b"x" * MAX_API_BODY_BYTES + b'"}'
    response = client.http.post(
        "/conversations/CA0/note", headers={"Content-Type": "application/json"}, body=body
    )
    assert response.status_code == 413
    assert "Access-Control-Allow-Origin" in response.headers


def test_webhook_refusal_uses_the_signature_a_signed_request_carries(
    client: Any,
) -> None:
    form = incoming_call_form()
    body = urllib.parse.urlencode(form)
    response = client.http.post(
        "/twilio/voice/incoming",
        headers={"Content-Type": FORM, "X-Twilio-Signature": sign("/twilio/voice/other", form)},
        body=body,
    )
    assert response.status_code == 403
    assert b"invalid X-Twilio-Signature" in response.body


# --- date ranges, checked by arithmetic ------------------------------------------------------
NOW = 1_764_000_000_000
TZ = "Asia/Tokyo"


def test_nine_thousand_year_range_is_refused_naming_the_parameter() -> None:
    with pytest.raises(InvalidInput, match="`from`"):
        search_from_params({"from": "0002-01-01", "to": "9998-12-31"}, TZ, NOW)
    with pytest.raises(InvalidInput, match="`to`"):
        search_from_params({"from": "2026-01-01", "to": "9998-12-31"}, TZ, NOW)


def test_a_century_unfiltered_is_refused_by_arithmetic() -> None:
    with pytest.raises(InvalidInput, match=f"{MAX_DAYS} days at most"):
        search_from_params({"from": "2000-01-01", "to": "2099-12-31"}, TZ, NOW)


def test_a_filtered_range_builds_no_day_list() -> None:
    query = search_from_params(
        {"from": "2000-01-01", "to": "2099-12-31", "customer": "C1"}, TZ, NOW
    )
    assert query.days == ()


@pytest.mark.parametrize(
    ("days", "allowed"), [(MAX_DAYS, True), (MAX_DAYS + 1, False), (MAX_DAYS + 2, False)]
)
def test_the_exact_local_day_count_still_decides(days: int, allowed: bool) -> None:
    from datetime import date, timedelta

    first = date(2026, 3, 1)
    last = first + timedelta(days=days - 1)
    params = {"from": first.isoformat(), "to": last.isoformat()}
    if allowed:
        assert len(search_from_params(params, TZ, NOW).days) == days
    else:
        with pytest.raises(InvalidInput):
            search_from_params(params, TZ, NOW)


@pytest.mark.parametrize(
    "value", ["9" * 400, "99999999999999999", "-1", "1e10", "2026-13-01", "2026-01-01T25:00"]
)
def test_bad_instants_are_400_naming_the_parameter(value: str) -> None:
    with pytest.raises(InvalidInput, match="`from`"):
        search_from_params({"from": value}, TZ, NOW)
