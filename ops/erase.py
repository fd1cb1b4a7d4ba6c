"""`python -m ops erase-customer ID`: remove every trace of one customer, and say what went.

A customer's personal data lives in: the customers table (their numbers, name, owner: the
CRM-owner mapping), their conversation records (caller number, name, notes, timeline), the raw
events those records are folded from (forms carrying From/To), the links and pending events
filed under the calls' other sids, the recordings table and the recordings bucket (audio,
Transcribe's output, our speaker turns, every version of each: the bucket is versioned), and the
analytics export (one Parquet file per local day). Each is removed; the export days they
appeared in are rewritten from the conversation records that remain, so the files keep every
other customer's rows. Run it again and it finds nothing: each step is idempotent.

Not covered here (docs/hardening.md, "Erasure"): Twilio's own call logs and any recording
Twilio still keeps (`RECORDING_TWILIO_COPY=keep`), and CloudWatch logs, which expire by their
retention.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from boto3.dynamodb.conditions import Attr, Key

from chalicelib.platform.settings import Settings

# Form fields of a stored callback that name another sid of the same call, whose links and
# pending events (`L#<sid>`, `P#<sid>`) belong to the conversation too.
SID_FIELDS = (
    "CallSid",
    "ParentCallSid",
    "ConferenceSid",
    "TaskSid",
    "RecordingSid",
    "WorkerCallSid",
)


@dataclass
class ErasureReport:
    customer_id: str
    customer_rows: int = 0
    conversations: list[str] = field(default_factory=list)
    events: int = 0
    links_and_pending: int = 0
    recording_items: int = 0
    s3_object_versions: int = 0
    export_days_rewritten: list[str] = field(default_factory=list)
    report_rollup_days_rewritten: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [
            f"customer {self.customer_id}:",
            f"  customers table rows (numbers, CRM owner) deleted: {self.customer_rows}",
            f"  conversation records deleted: {len(self.conversations)}",
            f"  raw call events deleted: {self.events}",
            f"  links and pending events deleted: {self.links_and_pending}",
            f"  recordings table items deleted: {self.recording_items}",
            f"  recording/transcript object versions deleted: {self.s3_object_versions}",
            "  analytics export days rewritten without them: "
            + (", ".join(self.export_days_rewritten) or "none"),
            "  report roll-up days folded again without them: "
            + (", ".join(self.report_rollup_days_rewritten) or "none"),
        ]


def _query_all(table: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
    while True:
        page = table.query(**kwargs)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _scan_all(table: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
    while True:
        page = table.scan(**kwargs)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _delete_versions(s3: Any, bucket: str, keys: Iterable[str]) -> int:
    """Every version and delete marker of each key: a plain delete would only hide it."""
    deleted = 0
    for key in keys:
        listing = s3.list_object_versions(Bucket=bucket, Prefix=key)
        for entry in [*listing.get("Versions", []), *listing.get("DeleteMarkers", [])]:
            if entry["Key"] != key:
                continue
            s3.delete_object(Bucket=bucket, Key=key, VersionId=entry["VersionId"])
            deleted += 1
    return deleted


def erase_customer(customer_id: str, session: Any, settings: Settings) -> ErasureReport:
    from chalicelib.conversations.jobs import DailyExport
    from chalicelib.conversations.store import ConversationTable
    from chalicelib.recordings.domain import transcript_keys

    if not customer_id.strip():
        raise ValueError("a customer id is required")
    report = ErasureReport(customer_id)
    dynamodb = session.resource("dynamodb")
    s3 = session.client("s3")
    customers = dynamodb.Table(settings.routing.customers_table)
    conversations = dynamodb.Table(settings.conversations.conversations_table)
    events = dynamodb.Table(settings.conversations.conversation_events_table)
    recordings = dynamodb.Table(settings.recordings.recordings_table)
    bucket = settings.recordings.recordings_bucket

    # Their numbers (the CRM-owner mapping is keyed by phone, so a scan), then their
    # conversations: by the customer index, and by caller number for calls routed before they
    # were known (a degraded route, an unknown number later added to the CRM).
    rows = list(_scan_all(customers, FilterExpression=Attr("customer_id").eq(customer_id)))
    phones = sorted({str(row["phone"]) for row in rows})
    summaries = list(
        _query_all(
            conversations,
            IndexName="customer-index",
            KeyConditionExpression=Key("customer_id").eq(customer_id),
        )
    )
    if phones:
        summaries += _scan_all(
            conversations,
            FilterExpression=Attr("caller").is_in(phones),
            ProjectionExpression="conversation_id",
        )
    summaries = list({str(s["conversation_id"]): s for s in summaries}.values())
    days: set[str] = set()
    for summary in summaries:
        conversation_id = str(summary["conversation_id"])
        record = conversations.get_item(Key={"conversation_id": conversation_id}).get("Item")
        if record and record.get("day"):
            days.add(str(record["day"]))
        sids: set[str] = {conversation_id}
        for item in _query_all(events, KeyConditionExpression=Key("pk").eq(conversation_id)):
            form = item.get("form") or {}
            sids.update(str(form[f]) for f in SID_FIELDS if isinstance(form, dict) and form.get(f))
            events.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
            report.events += 1
        for sid in sorted(sids):
            for prefix in ("L#", "P#"):
                for item in _query_all(events, KeyConditionExpression=Key("pk").eq(prefix + sid)):
                    events.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
                    report.links_and_pending += 1
        for item in _query_all(
            recordings,
            IndexName="conversation-index",
            KeyConditionExpression=Key("conversation_id").eq(conversation_id),
        ):
            key = str(item.get("key") or "")
            if key:
                report.s3_object_versions += _delete_versions(
                    s3, bucket, [key, *transcript_keys(key)]
                )
            recordings.delete_item(Key={"pk": item["pk"]})
            report.recording_items += 1
        reconciled = recordings.get_item(Key={"pk": f"reconciled#{conversation_id}"}).get("Item")
        if reconciled:
            recordings.delete_item(Key={"pk": f"reconciled#{conversation_id}"})
            report.recording_items += 1
        conversations.delete_item(Key={"conversation_id": conversation_id})
        report.conversations.append(conversation_id)

    # The CRM-owner mapping last: a run cut short finds their conversations by number again.
    for row in rows:
        customers.delete_item(Key={"phone": row["phone"]})
        report.customer_rows += 1

    # Each day file rebuilt from the records left: everyone else's rows stay. The reports'
    # roll-up of the day (its cost per customer names them) is folded again with it, or alone
    # for a day the reports folded before any export.
    from chalicelib.conversations.export import object_key
    from chalicelib.supervision.reports import DayRollupWriter
    from chalicelib.supervision.store import RollupBucket

    analytics = settings.conversations.analytics_bucket
    rollups = RollupBucket(s3, analytics)
    writer = DayRollupWriter(
        rollups,
        settings.conversations.report_timezone,
        settings.conversations.service_level_seconds * 1000,
    )
    table = ConversationTable(conversations)
    export = DailyExport(table, s3, analytics, settings.conversations.report_timezone, writer)
    for day in sorted(days):
        listed = s3.list_objects_v2(Bucket=analytics, Prefix=object_key(day))
        if listed.get("KeyCount", 0):  # only files already exported; the job writes the rest
            export.export_one_day(day)
            report.export_days_rewritten.append(day)
            report.report_rollup_days_rewritten.append(day)
        elif rollups.get(day, parts=False) is not None:
            writer.write(day, table.day(day))
            report.report_rollup_days_rewritten.append(day)
    return report
