"""Make in-process moto's DynamoDB cost what DynamoDB's own complexity says, for long runs.

Profiling a rehearsal day (py-spy, see docs/rehearsal.md) showed two costs that belong to
moto 5.2, not to the app and not to DynamoDB:
- `Table.query` collects its candidates from `Table.all_items()`, which sorts the WHOLE table on
  every query: a Query on one partition costs O(N log N) in the table's size, so a day slows
  down as it goes (DynamoDB reads one partition). Patched: a query on the table's own key reads
  the partition's items; a query on an index iterates the items without the full sort (the
  query sorts its candidates itself afterwards). Filters, conditions, limits, paging and
  projections are moto's own code, unchanged.
- moto serializes each data-plane result (already DynamoDB-JSON dicts, `DynamoResult`) through
  its generic shape walker, about 40% of a webhook's time with a call's events in the
  response. Patched: those results are written with `json.dumps`, which gives the same wire
  body for these operations (tests/standin/test_fastmoto.py compares both).

`patched()` applies both for the duration of a run and restores moto after.
"""

from __future__ import annotations

import base64
import inspect
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

DATA_PLANE = frozenset(
    {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "BatchWriteItem",
        "TransactGetItems",
        "TransactWriteItems",
    }
)


def _blob(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()  # blobs travel base64 in DynamoDB JSON
    raise TypeError(f"not JSON: {type(value).__name__}")


def _partition_items(table: Any, hash_key: Any) -> list[Any]:
    bucket = table.items.get(hash_key) if hash_key is not None else None
    if bucket is None:
        return []
    return list(bucket.values()) if table.range_key_attr else [bucket]


def _unsorted_items(table: Any) -> Iterator[Any]:
    for bucket in table.items.values():
        if table.range_key_attr:
            yield from bucket.values()
        else:
            yield bucket


class _Untracked(list[Any]):
    """A class's `instances_tracked` that keeps nothing."""

    def append(self, _instance: Any) -> None:
        return None


UNTRACKED_SERVICES = ("dynamodb", "sqs")


@contextmanager
def untracked_models() -> Iterator[None]:
    from moto.core.base_backend import model_data

    classes = [cls for service in UNTRACKED_SERVICES for cls in model_data[service].values()]
    saved = [(cls, cls.__dict__.get("instances_tracked")) for cls in classes]
    for cls in classes:
        cls.instances_tracked = _Untracked()
    try:
        yield
    finally:
        for cls, tracked in saved:
            cls.instances_tracked = tracked if tracked is not None else []


@contextmanager
def patched() -> Iterator[None]:
    # Importing the models registers them where untracked_models() finds them.
    import moto.dynamodb.models
    import moto.sqs.models  # noqa: F401
    from moto.dynamodb.models.table import StreamShard, Table
    from moto.dynamodb.responses import DynamoResult

    original_query = Table.query
    signature = inspect.signature(original_query)
    original_execute = DynamoResult.execute_result
    original_stream_add = StreamShard.add

    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = signature.bind(self, hash_key, *args, **kwargs).arguments.get("index_name")
        candidates = (
            _partition_items(self, hash_key)
            if not index_name and hash_key is not None
            else list(_unsorted_items(self))
        )
        self.all_items = lambda: candidates  # an instance attribute, removed below
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items

    def execute_result(self: Any, context: Any) -> Any:
        if context.operation_model.name not in DATA_PLANE or isinstance(self.result, Exception):
            return original_execute(self, context)
        return (
            200,
            {"Content-Type": "application/x-amz-json-1.0"},
            json.dumps(self.result, default=_blob),
        )

    def stream_add(self: Any, old: Any, new: Any) -> None:
        return None

    Table.query = query  # type: ignore[method-assign]
    DynamoResult.execute_result = execute_result  # type: ignore[method-assign]
    StreamShard.add = stream_add  # type: ignore[method-assign]
    try:
        with untracked_models():
            yield
    finally:
        Table.query = original_query  # type: ignore[method-assign]
        DynamoResult.execute_result = original_execute  # type: ignore[method-assign]
        StreamShard.add = original_stream_add  # type: ignore[method-assign]
