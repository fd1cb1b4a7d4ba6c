"""Turning the staff API's query string into a conversation search, and today's KPI feed.

Pure functions: the adapters run the search, the view only renders.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.conversations.fold import OUTCOMES
from chalicelib.conversations.store import ConversationQuery
from chalicelib.platform.errors import InvalidInput

MAX_DAYS = 31
MAX_LIMIT = 200
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def local_day(ms: int, timezone: str) -> str:
    return datetime.fromtimestamp(ms / 1000, ZoneInfo(timezone)).date().isoformat()


def day_start_ms(day: date, timezone: str) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(timezone)).timestamp() * 1000)


def parse_instant(text: str, timezone: str, end_of_day: bool = False) -> int:
    """Epoch ms from `1764000000000`, `2025-11-25` (local day) or ISO 8601 with an offset."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    try:
        if _DAY.match(text):
            day = date.fromisoformat(text)
            if end_of_day:
                return day_start_ms(day + timedelta(days=1), timezone) - 1
            return day_start_ms(day, timezone)
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput(f"{text!r} is not a date, an ISO 8601 time or epoch ms") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return int(moment.timestamp() * 1000)


def days_between(from_ms: int, to_ms: int, timezone: str) -> tuple[str, ...]:
    """The local days the range covers, newest first."""
    zone = ZoneInfo(timezone)
    first = datetime.fromtimestamp(from_ms / 1000, zone).date()
    last = datetime.fromtimestamp(to_ms / 1000, zone).date()
    count = (last - first).days + 1
    return tuple((last - timedelta(days=i)).isoformat() for i in range(count))


def search_from_params(
    params: Mapping[str, str] | None, timezone: str, now_ms: int
) -> ConversationQuery:
    """GET /conversations?customer=&agent=&team=&outcome=&from=&to=&limit= (defaults: today)."""
    p = dict(params or {})
    today = datetime.fromtimestamp(now_ms / 1000, ZoneInfo(timezone)).date()
    from_ms = parse_instant(p["from"], timezone) if p.get("from") else day_start_ms(today, timezone)
    to_ms = parse_instant(p["to"], timezone, end_of_day=True) if p.get("to") else now_ms
    if to_ms < from_ms:
        raise InvalidInput("`to` is before `from`")
    outcome = p.get("outcome", "")
    if outcome and outcome not in OUTCOMES:
        raise InvalidInput(f"outcome must be one of {', '.join(OUTCOMES)}")
    try:
        limit = int(p.get("limit") or 50)
    except ValueError as exc:
        raise InvalidInput("limit must be a number") from exc
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}")
    days = days_between(from_ms, to_ms, timezone)
    filtered = any(p.get(k) for k in ("customer", "agent", "team"))
    if not filtered and len(days) > MAX_DAYS:
        raise InvalidInput(
            f"without a customer, agent or team filter, ask for {MAX_DAYS} days at most"
        )
    return ConversationQuery(
        from_ms=from_ms,
        to_ms=to_ms,
        days=days,
        customer_id=p.get("customer", ""),
        agent_id=p.get("agent", ""),
        team=p.get("team", ""),
        outcome=outcome,
        limit=limit,
    )


def live_counts(records: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """What is happening now among today's conversations: callers waiting, calls in progress."""
    waiting = sum(
        1
        for r in records
        if r.get("status") == "active"
        and not r.get("answered_ms")
        and r.get("direction") != "outbound"
    )
    talking = sum(1 for r in records if r.get("status") == "active" and r.get("answered_ms"))
    return {"waiting": waiting, "in_progress": talking}
