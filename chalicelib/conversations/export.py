"""The daily export: one local day's conversations as Parquet, under a date partition in S3.

`s3://<analytics_bucket>/conversations/day=YYYY-MM-DD/conversations.parquet`, one file per day,
rewritten whole (so re-exporting a day, e.g. after late prices, is idempotent). Athena reads it
through infra/athena/conversations.sql; DuckDB reads the same files locally.

pyarrow is imported lazily: it is not in the API Lambda's bundle (too large for a package that
must cold-start fast); the export function runs with AWS's managed "AWS SDK for pandas" layer,
which ships pyarrow (see .chalice/config.json and docs/conversations.md).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

PREFIX = "conversations"
FILE_NAME = "conversations.parquet"

# (column, pyarrow type name) in the order of the Athena table; the partition column `day`
# lives in the path, not the file.
SCALAR_COLUMNS: tuple[tuple[str, str], ...] = (
    ("conversation_id", "string"),
    ("direction", "string"),
    ("status", "string"),
    ("outcome", "string"),
    ("customer_id", "string"),
    ("customer_name", "string"),
    ("owner_agent_id", "string"),
    ("team", "string"),
    ("caller", "string"),
    ("started_ms", "int64"),
    ("ended_ms", "int64"),
    ("hour", "int32"),
    ("weekday", "int32"),
    ("queued_ms", "int64"),
    ("answered_ms", "int64"),
    ("answered_by", "string"),
    ("answered_relation", "string"),
    ("stage_reached", "string"),
    ("queue_wait_ms", "int64"),
    ("talk_ms", "int64"),
    ("hold_ms", "int64"),
    ("wrap_ms", "int64"),
    ("hung_up_by", "string"),
    ("missed_offers", "int32"),
    ("voicemail_url", "string"),
    ("outside_hours", "bool"),
    ("callback_requested", "bool"),
    ("routing_degraded", "bool"),
    ("wrap_up_note", "string"),
    ("wrap_up_code", "string"),
    ("legs", "int32"),
    ("cost_micros", "int64"),
    ("cost_unit", "string"),
)
OFFER_FIELDS: tuple[tuple[str, str], ...] = (
    ("reservation_sid", "string"),
    ("agent_id", "string"),
    ("stage", "string"),
    ("offered_ms", "int64"),
    ("ring_ms", "int64"),
    ("outcome", "string"),
)


def object_key(day: str) -> str:
    return f"{PREFIX}/day={day}/{FILE_NAME}"


def schema() -> pa.Schema:
    import pyarrow as pa

    def t(name: str) -> pa.DataType:
        return {
            "string": pa.string(),
            "int64": pa.int64(),
            "int32": pa.int32(),
            "bool": pa.bool_(),
        }[name]

    offer = pa.struct([(name, t(kind)) for name, kind in OFFER_FIELDS])
    return pa.schema(
        [
            *((name, t(kind)) for name, kind in SCALAR_COLUMNS),
            ("offers", pa.list_(offer)),
            # Nested detail kept as JSON text: Athena's json_extract and DuckDB's ->> read it.
            ("recordings_json", pa.string()),
            ("timeline_json", pa.string()),
        ]
    )


def to_parquet(records: Iterable[Mapping[str, Any]]) -> bytes:
    """Parquet bytes (zstd) of the records, in started order."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = sorted(records, key=lambda r: (r.get("started_ms") or 0, r["conversation_id"]))
    columns: dict[str, list[Any]] = {
        name: [r.get(name) for r in rows] for name, _ in SCALAR_COLUMNS
    }
    columns["offers"] = [
        [{name: o.get(name) for name, _ in OFFER_FIELDS} for o in r.get("offers") or []]
        for r in rows
    ]
    columns["recordings_json"] = [
        json.dumps(r.get("recordings") or [], ensure_ascii=False) for r in rows
    ]
    columns["timeline_json"] = [
        json.dumps(r.get("timeline") or [], ensure_ascii=False) for r in rows
    ]
    table = pa.Table.from_pydict(columns, schema=schema())
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def export_day(
    records: Iterable[Mapping[str, Any]], day: str, s3: Any, bucket: str
) -> tuple[str, int]:
    """Write the day's file; returns (key, rows)."""
    rows = list(records)
    s3.put_object(
        Bucket=bucket,
        Key=object_key(day),
        Body=to_parquet(rows),
        ContentType="application/vnd.apache.parquet",
    )
    return object_key(day), len(rows)
