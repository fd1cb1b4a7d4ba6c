"""Create, on moto, the tables and buckets that infra/resources.json deploys to AWS.

Reading the CloudFormation template itself (rather than a second list of tables) keeps the
local stack and the tests on the same key schemas and indexes as production.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chalicelib.platform.settings import Settings

TEMPLATE = Path(__file__).resolve().parent.parent / "infra" / "resources.json"
SETTING_KEY = "contact-center:setting"
_TABLE_KEYS = (
    "AttributeDefinitions",
    "KeySchema",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "BillingMode",
    "StreamSpecification",
)


def template_resources(template: Path = TEMPLATE) -> dict[str, dict[str, Any]]:
    resources: dict[str, dict[str, Any]] = json.loads(template.read_text())["Resources"]
    return resources


def _physical_name(resource: dict[str, Any], settings: Settings) -> str | None:
    setting = resource.get("Metadata", {}).get(SETTING_KEY)
    # None too for a setting these settings do not carry: the web site's bucket is an
    # operator setting (ops/settings.py), so the app's own Settings create no site bucket.
    value = settings.flat().get(setting) if setting else None
    return None if value is None else str(value)


def create_local_resources(
    session: Any, settings: Settings, dynamodb_engine: str = "moto"
) -> list[str]:
    """Create every table and bucket of the template that is missing; return what was created.

    `dynamodb_engine="dynalite"`: the tables are on dynalite (ops/dynalite.py), which has no
    UpdateTimeToLive; the tables are created without TTL (nothing local expires items anyway).
    """
    dynamodb = session.client("dynamodb", region_name=settings.aws_region)
    s3 = session.client("s3", region_name=settings.aws_region)
    existing_tables = set(dynamodb.list_tables().get("TableNames", []))
    existing_buckets = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    created: list[str] = []
    for resource in template_resources().values():
        name = _physical_name(resource, settings)
        if name is None:
            continue
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::DynamoDB::Table" and name not in existing_tables:
            spec = {k: props[k] for k in _TABLE_KEYS if k in props}
            if "StreamSpecification" in spec:
                spec["StreamSpecification"] = {"StreamEnabled": True, **spec["StreamSpecification"]}
            dynamodb.create_table(TableName=name, **spec)
            ttl = props.get("TimeToLiveSpecification")
            if ttl and dynamodb_engine != "dynalite":
                dynamodb.update_time_to_live(
                    TableName=name,
                    TimeToLiveSpecification={
                        "Enabled": True,
                        "AttributeName": ttl["AttributeName"],
                    },
                )
            created.append(name)
        elif resource["Type"] == "AWS::S3::Bucket" and name not in existing_buckets:
            s3.create_bucket(
                Bucket=name,
                CreateBucketConfiguration={"LocationConstraint": settings.aws_region},
            )
            if props.get("VersioningConfiguration"):
                s3.put_bucket_versioning(
                    Bucket=name, VersioningConfiguration=props["VersioningConfiguration"]
                )
            created.append(name)
    created.extend(_create_local_queues(session, settings))
    return created


_QUEUE_ATTRIBUTES = ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds")


def _create_local_queues(session: Any, settings: Settings) -> list[str]:
    """SQS queues of the template; a RedrivePolicy naming another queue (`Fn::GetAtt` Arn) is
    pointed at that queue's local copy, so dead-letter queues are created first."""
    sqs = session.client("sqs", region_name=settings.aws_region)
    queues = {
        logical: resource
        for logical, resource in template_resources().items()
        if resource.get("Type") == "AWS::SQS::Queue" and _physical_name(resource, settings)
    }
    arns: dict[str, str] = {}
    created: list[str] = []
    ordered = sorted(queues.items(), key=lambda kv: "RedrivePolicy" in kv[1].get("Properties", {}))
    for logical, resource in ordered:
        name = str(_physical_name(resource, settings))
        props = resource.get("Properties", {})
        attributes = {k: str(props[k]) for k in _QUEUE_ATTRIBUTES if k in props}
        redrive = props.get("RedrivePolicy")
        if redrive:
            target = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
            attributes["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": arns[target], "maxReceiveCount": redrive["maxReceiveCount"]}
            )
        try:
            url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        except sqs.exceptions.QueueDoesNotExist:
            url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
            created.append(name)
        arns[logical] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
    return created
