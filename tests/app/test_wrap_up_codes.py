"""Wrap-up codes: the configured list, one code per call stored on its conversation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.bootstrap import Container
from tests import conversation_script as script
from tests.conftest import make_settings
from tests.conversation_stream import deliver_stream
from tests.data import sid

INBOUND = script.answered_by_owner(n=51)  # answered by "owner"
OUTBOUND = script.answered_outbound(n=52)  # placed by "sato"
CALL = INBOUND.call_sid

HEADERS = {"Content-Type": "application/json", "X-Client-Version": "1.0.0"}


def as_agent(token: str) -> dict[str, str]:
    return {**HEADERS, "Authorization": f"Bearer {token}"}


def post_code(client: Any, token: str, code: Any, call_sid: str = CALL) -> Any:
    return client.http.post(
        f"/conversations/{call_sid}/wrap-up-code",
        headers=as_agent(token),
        body=json.dumps({"code": code}),
    )


def test_the_page_gets_the_configured_codes_in_order(
    client: Any, staff_token: Any, container: Any
) -> None:
    token = staff_token("sato")
    response = client.http.get("/wrap-up-codes", headers=as_agent(token))
    assert response.status_code == 200
    assert json.loads(response.body) == {"codes": ["商談化", "不在", "折り返し依頼", "対象外"]}
    container.settings = container.settings.with_values(wrap_up_codes="受注、 失注 ,受注,,再訪")
    codes = json.loads(client.http.get("/wrap-up-codes", headers=as_agent(token)).body)
    assert codes == {"codes": ["受注", "失注", "再訪"]}


@pytest.fixture
def conversation(container: Container) -> None:
    for call in (INBOUND, OUTBOUND):
        for event in call.events():
            container.ledger.store_event(event)
    deliver_stream(container)


@pytest.mark.usefixtures("conversation")
def test_the_code_is_stored_on_the_conversation_and_the_latest_wins(
    client: Any, staff_token: Any, container: Any
) -> None:
    token = staff_token("owner")
    now = [script.T0 + 200_000]
    container.clock = lambda: now[0]
    assert post_code(client, token, "不在").status_code == 201
    now[0] += 1_000
    answer = post_code(client, token, " 折り返し依頼 ")
    assert answer.status_code == 201
    assert json.loads(answer.body)["code"] == "折り返し依頼"
    facts = [e for e in container.conversation_events.events(CALL) if e.form.get("Fact")]
    assert sorted(json.loads(f.form["Data"])["code"] for f in facts) == ["不在", "折り返し依頼"]
    record = container.ledger.current_record(CALL)
    assert record["wrap_up_code"] == "折り返し依頼"
    shown = client.http.get(f"/conversations/{CALL}", headers=as_agent(token))
    assert json.loads(shown.body)["wrap_up_code"] == "折り返し依頼"


@pytest.mark.usefixtures("conversation")
def test_a_code_not_in_the_list_is_refused_and_nothing_is_stored(
    client: Any, staff_token: Any, container: Any
) -> None:
    token = staff_token("owner")
    for code in ("受注", "", None, 3, ["不在"]):
        assert post_code(client, token, code).status_code == 400, code
    assert not [e for e in container.conversation_events.events(CALL) if e.form.get("Fact")]


@pytest.mark.usefixtures("conversation")
def test_only_who_took_the_call_or_a_supervisor_sets_its_code(
    client: Any, staff_token: Any
) -> None:
    assert post_code(client, staff_token("tanaka"), "不在").status_code == 403
    assert post_code(client, staff_token("boss", supervisor=True), "対象外").status_code == 201
    assert post_code(client, staff_token("owner"), "不在", sid("CA", 99)).status_code == 404


@pytest.mark.usefixtures("conversation")
def test_the_rep_who_placed_an_outbound_call_sets_its_code(
    client: Any, staff_token: Any, container: Any
) -> None:
    assert post_code(client, staff_token("sato"), "商談化", OUTBOUND.call_sid).status_code == 201
    assert container.ledger.current_record(OUTBOUND.call_sid)["wrap_up_code"] == "商談化"


def test_an_empty_code_list_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="wrap_up_codes"):
        make_settings(wrap_up_codes="")
