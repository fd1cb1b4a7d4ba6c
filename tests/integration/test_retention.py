"""Retention by kind: the items holding personal data carry `expires_at`, the attribute the
template's TimeToLiveSpecification names (tests/infra/test_template.py), set from the settings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalicelib import bootstrap
from tests.data import sid

DAY_S = 86_400


def test_conversation_records_expire_after_their_retention(
    container: bootstrap.Container, resources: Any, settings: Any
) -> None:
    container.settings = container.settings.with_values(conversation_record_retention_days=90)
    table = type(container).conversations.func(container)  # built with the new settings
    started_ms = 1_764_032_523_000
    table.put({"conversation_id": "CA1", "started_ms": started_ms, "day": "2025-11-25"}, 1)
    item = resources.Table(settings.conversations.conversations_table).get_item(
        Key={"conversation_id": "CA1"}
    )["Item"]
    assert int(item["expires_at"]) == started_ms // 1000 + 90 * DAY_S
    assert "expires_at" not in (table.get("CA1") or {}), "storage detail, not the record's"


def test_recording_items_expire_with_the_audio(
    container: bootstrap.Container, resources: Any, settings: Any
) -> None:
    container.settings = container.settings.with_values(recording_retention_days=120)
    store = type(container).recording_store.func(container)
    received = datetime(2025, 11, 25, tzinfo=UTC)
    store.mark_received(sid("RE", 1), received)
    item = store.get(sid("RE", 1)) or {}
    assert int(item["expires_at"]) == int(received.timestamp()) + 120 * DAY_S
