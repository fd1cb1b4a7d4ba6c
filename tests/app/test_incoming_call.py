"""POST /twilio/voice/incoming: the CRM-owner routing table, degraded paths and signatures."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib.platform.errors import StorageUnavailable
from tests.conftest import AUTH_TOKEN, TwilioPoster, sign
from tests.data import incoming_call_form, put_customer, put_presence

PATH = "/twilio/voice/incoming"


def task_attributes(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.body
    assert response.headers["Content-Type"] == "text/xml"
    root = ET.fromstring(response.body)
    task = root.find("./Enqueue/Task")
    assert task is not None and task.text
    return dict(json.loads(task.text))


@pytest.fixture
def customer(resources: Any, settings: Any) -> None:
    put_customer(resources, settings)


def test_owner_available_rings_owner(
    twilio: TwilioPoster, resources: Any, settings: Any, customer: None
) -> None:
    put_presence(resources, settings, "owner", "available")
    put_presence(resources, settings, "mate", "available")
    attributes = task_attributes(twilio.post(PATH, incoming_call_form()))
    assert attributes["stage"] == "owner"
    assert attributes["owner_agent_id"] == "owner"
    assert attributes["customer_id"] == "C1"
    assert attributes["customer_name"] == "Sakura Foods"
    assert attributes["team"] == "tokyo"
    assert attributes["call_sid"] == incoming_call_form()["CallSid"]


def test_owner_away_team_available_rings_team(
    twilio: TwilioPoster, resources: Any, settings: Any, customer: None
) -> None:
    put_presence(resources, settings, "owner", "away")
    put_presence(resources, settings, "mate", "available")
    put_presence(resources, settings, "elsewhere", "available", team="osaka")
    assert task_attributes(twilio.post(PATH, incoming_call_form()))["stage"] == "team"


def test_team_away_goes_to_everyone(
    twilio: TwilioPoster, resources: Any, settings: Any, customer: None
) -> None:
    put_presence(resources, settings, "owner", "offline")
    put_presence(resources, settings, "mate", "break")
    put_presence(resources, settings, "elsewhere", "available", team="osaka")
    attributes = task_attributes(twilio.post(PATH, incoming_call_form()))
    assert attributes["stage"] == "everyone"
    assert attributes["customer_id"] == "C1", "the customer is still named for whoever answers"


def test_unknown_caller_goes_to_everyone(twilio: TwilioPoster, customer: None) -> None:
    attributes = task_attributes(twilio.post(PATH, incoming_call_form(caller="+819011112222")))
    assert attributes["stage"] == "everyone"
    assert attributes["customer_id"] == ""


def test_customer_stored_in_national_format_is_found_by_e164(
    twilio: TwilioPoster, resources: Any, settings: Any
) -> None:
    from chalicelib.telephony.phone_numbers import to_e164

    put_customer(resources, settings, phone=to_e164("090-1234-5678"))
    put_presence(resources, settings, "owner", "available")
    attributes = task_attributes(twilio.post(PATH, incoming_call_form(caller="+819012345678")))
    assert attributes["stage"] == "owner"


def test_browser_caller_goes_to_everyone(twilio: TwilioPoster) -> None:
    attributes = task_attributes(twilio.post(PATH, incoming_call_form(caller="client:sato")))
    assert attributes["stage"] == "everyone"


class FailingTable:
    """A DynamoDB table whose every request fails as a throttled or broken table does."""

    def __init__(self, *_: Any) -> None:
        self.calls = 0

    def get_item(self, **_: Any) -> Any:
        self.calls += 1
        raise ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
            "GetItem",
        )

    query = get_item


def test_dynamodb_failure_still_enqueues_to_everyone_and_counts_it(
    twilio: TwilioPoster,
    container: Any,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    from chalicelib.routing.store import CustomerDirectory

    table = FailingTable()
    container.customers = CustomerDirectory(table)
    attributes = task_attributes(twilio.post(PATH, incoming_call_form()))
    assert attributes["stage"] == "everyone"
    assert attributes["routing_degraded"] is True
    assert table.calls == 1
    out = capsys.readouterr().out
    assert '"RoutingDegraded"' in out, "the degradation must be counted as a metric"
    call_sid = incoming_call_form()["CallSid"]
    assert any(getattr(r, "call_sid", None) == call_sid for r in caplog.records), (
        "and logged with the call sid"
    )


def test_presence_failure_still_enqueues_to_everyone(
    twilio: TwilioPoster, container: Any, customer: None
) -> None:
    from chalicelib.routing.store import PresenceReader

    container.presence_reader = PresenceReader(FailingTable())
    attributes = task_attributes(twilio.post(PATH, incoming_call_form()))
    assert attributes["stage"] == "everyone"
    assert attributes["routing_degraded"] is True


def test_unexpected_bug_in_lookup_still_enqueues(twilio: TwilioPoster, container: Any) -> None:
    class Broken:
        def find_by_phone(self, phone: str) -> Any:
            raise KeyError("phone")

    container.customers = Broken()
    assert task_attributes(twilio.post(PATH, incoming_call_form()))["routing_degraded"] is True


def test_storage_error_type_is_ours() -> None:
    from chalicelib.routing.store import CustomerDirectory

    with pytest.raises(StorageUnavailable):
        CustomerDirectory(FailingTable()).find_by_phone("+81312345678")


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        "bm90IGEgc2lnbmF0dXJl",
        sign(PATH, incoming_call_form(), token="another-token"),
        sign("/twilio/voice/other", incoming_call_form()),
        sign(PATH, incoming_call_form(), base="http://127.0.0.1:8000"),
    ],
    ids=["missing", "empty", "garbage", "wrong-token", "other-path", "internal-url"],
)
def test_bad_signature_is_403_and_reads_nothing(
    twilio: TwilioPoster, container: Any, signature: str | None
) -> None:
    class Untouchable:
        def find_by_phone(self, phone: str) -> Any:
            raise AssertionError("nothing may be read for an unsigned request")

    container.customers = Untouchable()
    response = twilio.post(PATH, incoming_call_form(), signature=signature)
    assert response.status_code == 403


def test_tampered_form_is_403(twilio: TwilioPoster) -> None:
    form = incoming_call_form()
    signature = sign(PATH, form)
    response = twilio.post(PATH, {**form, "From": "+819000000000"}, signature=signature)
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("change", "problem"),
    [({"CallSid": "nope"}, "CallSid"), ({"AccountSid": ""}, "AccountSid")],
)
def test_malformed_fields_are_400_with_the_reason(
    twilio: TwilioPoster, change: dict[str, str], problem: str
) -> None:
    response = twilio.post(PATH, {**incoming_call_form(), **change})
    assert response.status_code == 400
    assert problem in response.body.decode()


def test_missing_call_sid_is_400(twilio: TwilioPoster) -> None:
    form = incoming_call_form()
    del form["CallSid"]
    response = twilio.post(PATH, form)
    assert response.status_code == 400
    assert "CallSid" in response.body.decode()


def test_auth_token_used_is_the_configured_one() -> None:
    assert AUTH_TOKEN != "local-auth-token-not-a-secret"
