"""What hostile-input tests share: every route the app declares, and a snapshot of everything
stored (DynamoDB items, S3 objects, SQS messages) to prove a refused request wrote nothing."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Route:
    path: str  # as declared, `{name}` placeholders included
    method: str

    @property
    def is_webhook(self) -> bool:
        from chalicelib.telephony.webhooks import is_twilio_path

        return is_twilio_path(self.path)

    def concrete(self, value: str = "CF" + "0" * 32) -> str:
        """The path with every placeholder filled (a plausible sid by default)."""
        import re

        return re.sub(r"\{[^}]+\}", value, self.path)


def every_route() -> list[Route]:
    """Every HTTP route of the app, read from Chalice: a route added later is covered too."""
    from app import app

    return sorted(
        (Route(path, method) for path, methods in app.routes.items() for method in methods),
        key=lambda r: (r.path, r.method),
    )


def stored_contents(aws: Any) -> dict[str, Any]:
    """Every item of every table, every object's key and version in every bucket, and every
    queue's messages: equal before and after means nothing was written."""
    contents: dict[str, Any] = {}
    # Read from moto's backends, not through its API: the fuzz compares thousands of snapshots,
    # and a round of Scan/ListObjectVersions/GetQueueAttributes through botocore costs ~170 ms.
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    for name, table in dynamodb_backends[DEFAULT_ACCOUNT_ID][aws.region_name].tables.items():
        contents[f"dynamodb:{name}"] = sorted(
            json.dumps(item.to_json(), sort_keys=True) for item in table.all_items()
        )
    from moto.s3.models import s3_backends
    from moto.sqs.models import sqs_backends

    for name, bucket in s3_backends[DEFAULT_ACCOUNT_ID]["global"].buckets.items():
        contents[f"s3:{name}"] = sorted(
            (key, str(version.version_id))
            for key, versions in bucket.keys.iterlists()
            for version in versions
        )
    for name, queue in sqs_backends[DEFAULT_ACCOUNT_ID][aws.region_name].queues.items():
        contents[f"sqs:{name}"] = sorted(str(m.body) for m in queue._messages)
    return contents


def writes_besides_denied_reads(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What changed from `before` to `after` (`stored_contents`), leaving out the audit trail's
    records of denied reads: a read refused with 403 is recorded on purpose
    (chalicelib/api/supervision.py `audited`: "record the read in the audit trail either way")."""
    changed: dict[str, Any] = {}
    for name in sorted(set(before) | set(after)):
        old, new = set(before.get(name, [])), set(after.get(name, []))
        if old == new:
            continue
        added = new - old
        if name.endswith("-audit") and old <= new:
            added = {i for i in added if '"outcome": {"S": "denied"}' not in i}
            if not added:
                continue
        changed[name] = sorted(added) or "items removed or changed"
    return changed
