"""GET /reports (issue 19, item 5): supervisors get a range by day, week or month, per team and
per rep; reps are refused."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.bootstrap import Container
from tests import conversation_script as script
from tests.conversation_stream import deliver_stream

DAY = "2025-11-25"  # script.T0 is 01:00 on this day in Tokyo


def test_supervisors_get_a_report_for_a_range_and_reps_are_refused(
    client: Any, container: Container, staff_token: Any
) -> None:
    for s in (
        script.answered_by_owner(n=81),
        script.offered_five_times_then_answered_by_x(n=82),
        script.abandoned_in_queue(n=83),
    ):
        for event in s.events():
            container.ledger.store_event(event)
    deliver_stream(container)

    def get(query: str, token: str) -> Any:
        return client.http.get(f"/reports?{query}", headers={"Authorization": f"Bearer {token}"})

    assert get(f"from={DAY}&to={DAY}", staff_token("sato")).status_code == 403
    boss = staff_token("boss", supervisor=True)
    response = get(f"from=2025-11-24&to={DAY}&by=day", boss)
    assert response.status_code == 200, response.body
    report = json.loads(response.body)
    assert (report["from"], report["to"], report["granularity"]) == ("2025-11-24", DAY, "day")
    assert report["totals"]["offered"] == 3
    assert report["totals"]["answered"] == 2
    assert report["totals"]["abandoned"] == 1
    assert set(report["totals"]) >= {"service_level", "asa_ms", "aht_ms", "owner_reach_rate"}
    assert [p["period"] for p in report["periods"]] == ["2025-11-24", DAY]
    assert report["periods"][1]["totals"]["offered"] == 3
    # Per rep: who answered, and who let it ring (agent_a's five missed offers).
    assert {a: r["answered"] for a, r in report["by_agent"].items()} == {
        "owner": 1,
        "agent_x": 1,
        "agent_a": 0,
    }
    assert report["by_agent"]["agent_a"]["missed_offers"] == 5
    assert report["cost_per_customer"]["C1"]["conversations"] == 3
    # Wrap-up codes of the calls taken: nobody gave one in these scripts.
    assert report["wrap_up_codes"]["total"] == {"(none)": 2}
    assert report["wrap_up_codes"]["by_agent"] == {"owner": {"(none)": 1}, "agent_x": {"(none)": 1}}
    # Both days are over (the container's clock is today): each was folded into a roll-up and
    # stored in the analytics bucket (the report above was read from them).
    stored = container.report_rollups.get(DAY)
    assert stored is not None and stored["all"]["conversations"] == 3
    assert set(stored["reps"]) == {"owner", "agent_x"}
    empty = container.report_rollups.get("2025-11-24")
    assert empty is not None and empty["all"]["conversations"] == 0

    by_month = json.loads(get(f"from=2025-11-24&to={DAY}&by=month", boss).body)
    assert [p["period"] for p in by_month["periods"]] == ["2025-11"]
    only_x = json.loads(get(f"from={DAY}&to={DAY}&agent=agent_x", boss).body)
    assert only_x["totals"]["answered"] == 1 and only_x["by_agent"]["agent_x"]["answered"] == 1
    assert "owner" not in only_x["by_agent"]
    assert json.loads(get(f"from={DAY}&to={DAY}&team=osaka", boss).body)["conversations"] == 0

    # The page's presets: the last N days up to today in the report's time zone.
    container.clock = lambda: script.T0 + 3_600_000  # type: ignore[method-assign]
    week = json.loads(get("last=7", boss).body)
    assert (week["from"], week["to"]) == ("2025-11-19", DAY)
    assert week["totals"]["offered"] == 3
    assert get("last=40", boss).status_code == 400
    assert get("last=week", boss).status_code == 400
    assert get("from=2025-01-01&to=2025-03-01", boss).status_code == 400
    assert get(f"from={DAY}&to=2025-11-01", boss).status_code == 400
    assert get(f"from={DAY}&by=year", boss).status_code == 400
