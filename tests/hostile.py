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
        from chalicelib.platform.limits import is_webhook

        return is_webhook(self.path)

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
    queue's visible message count: equal before and after means nothing was written."""
    contents: dict[str, Any] = {}
    dynamodb = aws.client("dynamodb")
    for name in dynamodb.list_tables()["TableNames"]:
        items = dynamodb.get_paginator("scan").paginate(TableName=name).build_full_result()
        contents[f"dynamodb:{name}"] = sorted(
            json.dumps(i, sort_keys=True) for i in items.get("Items", [])
        )
    s3 = aws.client("s3")
    for bucket in s3.list_buckets().get("Buckets", []):
        versions = s3.list_object_versions(Bucket=bucket["Name"])
        contents[f"s3:{bucket['Name']}"] = sorted(
            (v["Key"], v.get("VersionId")) for v in versions.get("Versions", [])
        )
    sqs = aws.client("sqs")
    for url in sqs.list_queues().get("QueueUrls", []):
        attributes = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        contents[f"sqs:{url}"] = attributes["ApproximateNumberOfMessages"]
    return contents
