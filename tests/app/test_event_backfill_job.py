"""The scheduled job `backfill_taskrouter_events`: TaskRouter's Events resource read through the
REST adapter, each event stored once in the conversation's events (docs/conversations.md)."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Key

from chalicelib import bootstrap
from tests.data import sid
from tests.fakes.twilio_http import RecordingHttpClient
from tests.unit.test_event_backfill import OVERLAP_MS, reservation_accepted

NOW = 1_780_000_000_000


def _events_page(events: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    return 200, {"events": events, "meta": {"key": "events", "next_page_url": None}}


def _scheduled(client: Any) -> Any:
    return client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
    )


def test_the_job_stores_a_lost_event_once_and_reads_again_from_its_watermark(
    client: Any, container: bootstrap.Container, twilio_http: RecordingHttpClient, resources: Any
) -> None:
    now = [NOW]
    container.clock = lambda: now[0]
    twilio_http.respond("GET", r"/Events$", _events_page([reservation_accepted(NOW - 60_000)]))
    table = resources.Table(container.settings.conversations.conversation_events_table)

    client.lambda_.invoke("backfill_taskrouter_events", _scheduled(client))
    [request] = [r for r in twilio_http.requests if r.url.endswith("/Events")]
    assert request.method == "GET" and request.params["PageSize"] == 1000
    assert request.params["EndDate"] == "2026-05-28T20:26:40Z"  # NOW, in whole seconds
    items = table.query(KeyConditionExpression=Key("pk").eq(sid("CA", 1)))["Items"]
    assert [i["sk"] for i in items] == [f"taskrouter#{sid('EV', 1)}"]
    assert items[0]["form"]["EventType"] == "reservation.accepted"

    now[0] = NOW + 300_000
    client.lambda_.invoke("backfill_taskrouter_events", _scheduled(client))
    second = [r for r in twilio_http.requests if r.url.endswith("/Events")][-1]
    # From the first run's end less the overlap (NOW - 10 min).
    assert OVERLAP_MS == 600_000 and second.params["StartDate"] == "2026-05-28T20:16:40Z"
    # Read again in the overlap, stored once.
    assert len(table.query(KeyConditionExpression=Key("pk").eq(sid("CA", 1)))["Items"]) == 1
