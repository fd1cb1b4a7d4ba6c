"""Who may read a conversation, and the audit trail of every read (issue 19, item 1).

A rep reads the calls they took part in, those of customers they own and the call ringing them;
a supervisor reads everything. Every read, granted or refused, is an entry of the audit trail
that supervisors query with GET /audit.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.bootstrap import Container
from tests import conversation_script as script
from tests.conversation_stream import deliver_stream

DAY = "2025-11-25"  # script.T0 is 01:00 on this day in Tokyo


@pytest.fixture
def answered_by_x(container: Container) -> script.CallScript:
    # Owner agent_a's browser rang out five times, then agent_x answered.
    s = script.offered_five_times_then_answered_by_x(n=51)
    for event in s.events():
        container.ledger.store_event(event)
    deliver_stream(container)
    return s


def get(client: Any, path: str, token: str, user_agent: str = "pytest-browser/1.0") -> Any:
    return client.http.get(
        path, headers={"Authorization": f"Bearer {token}", "User-Agent": user_agent}
    )


def audit(client: Any, token: str, query: str = "") -> Any:
    return get(client, f"/audit?from={DAY}&to={DAY}{query}", token)


def set_clock_to_the_call_day(container: Container, s: script.CallScript) -> None:
    # The audit trail stamps reads with the app's clock; put it on the scripted day.
    container.clock = lambda: s.t0 + 300_000  # type: ignore[method-assign]


def test_a_rep_reading_a_call_another_rep_answered_is_refused_and_audited(
    client: Any, container: Container, answered_by_x: script.CallScript, staff_token: Any
) -> None:
    set_clock_to_the_call_day(container, answered_by_x)
    path = f"/conversations/{answered_by_x.call_sid}"
    assert get(client, path, staff_token("tanaka")).status_code == 403
    assert get(client, path, staff_token("agent_x")).status_code == 200  # answered it
    assert get(client, path, staff_token("agent_a")).status_code == 200  # owns the customer
    boss = staff_token("boss", supervisor=True)
    assert get(client, path, boss).status_code == 200

    trail = json.loads(audit(client, boss).body)["entries"]
    reads = [(e["agent_id"], e["read"], e["subject"], e["outcome"]) for e in trail]
    sid = answered_by_x.call_sid
    assert sorted(reads) == sorted(
        [
            ("tanaka", "conversation", sid, "denied"),
            ("agent_x", "conversation", sid, "granted"),
            ("agent_a", "conversation", sid, "granted"),
            ("boss", "conversation", sid, "granted"),
        ]
    )
    assert all(e["user_agent"] == "pytest-browser/1.0" for e in trail)
    assert all("source_ip" in e and e["at_ms"] == answered_by_x.t0 + 300_000 for e in trail)
    assert [e["supervisor"] for e in trail if e["agent_id"] == "boss"] == [True]


def test_audit_is_for_supervisors_and_filters_by_agent_and_time(
    client: Any, container: Container, answered_by_x: script.CallScript, staff_token: Any
) -> None:
    set_clock_to_the_call_day(container, answered_by_x)
    path = f"/conversations/{answered_by_x.call_sid}"
    get(client, path, staff_token("agent_x"))
    get(client, path, staff_token("tanaka"))
    assert audit(client, staff_token("agent_x")).status_code == 403
    boss = staff_token("boss", supervisor=True)
    only_x = json.loads(audit(client, boss, "&agent=agent_x").body)["entries"]
    assert [e["agent_id"] for e in only_x] == ["agent_x"]
    # The day before holds nothing; a range of more than 31 days or reversed is a 400.
    assert (
        json.loads(get(client, "/audit?from=2025-11-24&to=2025-11-24", boss).body)["entries"] == []
    )
    assert get(client, "/audit?from=2025-01-01&to=2025-06-01", boss).status_code == 400
    assert get(client, "/audit?from=2025-11-25&to=2025-11-24", boss).status_code == 400
    assert get(client, "/audit?from=yesterday", boss).status_code == 400


def test_the_item_expires_by_ttl_after_the_retention_days(
    client: Any,
    container: Container,
    answered_by_x: script.CallScript,
    staff_token: Any,
    resources: Any,
) -> None:
    set_clock_to_the_call_day(container, answered_by_x)
    get(client, f"/conversations/{answered_by_x.call_sid}", staff_token("agent_x"))
    s = container.settings.supervision
    [item] = resources.Table(s.audit_table).scan()["Items"]
    now_s = (answered_by_x.t0 + 300_000) // 1000
    assert int(item["expires_at"]) == now_s + s.audit_retention_days * 86400
    ttl = resources.meta.client.describe_time_to_live(TableName=s.audit_table)
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "expires_at"


def test_a_rep_lists_only_their_own_calls(
    client: Any, container: Container, answered_by_x: script.CallScript, staff_token: Any
) -> None:
    set_clock_to_the_call_day(container, answered_by_x)
    rep = staff_token("tanaka")
    base = f"/conversations?from={DAY}&to={DAY}"
    assert get(client, f"{base}&agent=agent_x", rep).status_code == 403
    assert get(client, f"{base}&team=osaka", rep).status_code == 403
    assert get(client, f"{base}&customer=C1", rep).status_code == 403
    # No filter means their own calls (none here), not the whole floor's.
    assert json.loads(get(client, base, rep).body)["conversations"] == []
    mine = json.loads(get(client, base, staff_token("agent_x")).body)["conversations"]
    assert [c["conversation_id"] for c in mine] == [answered_by_x.call_sid]
    boss = staff_token("boss", supervisor=True)
    trail = json.loads(audit(client, boss).body)["entries"]
    listings = [(e["agent_id"], e["outcome"]) for e in trail if e["read"] == "conversation_list"]
    assert sorted(listings) == sorted(
        [("tanaka", "denied")] * 3 + [("tanaka", "granted"), ("agent_x", "granted")]
    )


def test_a_read_is_refused_when_its_audit_entry_cannot_be_written(
    client: Any, container: Container, answered_by_x: script.CallScript, staff_token: Any
) -> None:
    container.settings.supervision.audit_table  # noqa: B018 - the table the trail writes to
    container.records_dynamodb.Table(container.settings.supervision.audit_table).delete()
    response = get(client, f"/conversations/{answered_by_x.call_sid}", staff_token("agent_x"))
    assert response.status_code == 503
    assert "agent_x" not in response.body.decode()
