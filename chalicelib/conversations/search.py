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


# The instants the API accepts, the local days 2000-01-01 to 2099-12-31 in any time zone
# (1999-12-31 to 2100-01-02 UTC): no call of ours is older, and a bound keeps a 400-digit
# `from` or the year 2 from ever reaching date arithmetic.
EARLIEST_MS = 946_598_400_000
LATEST_MS = 4_102_531_200_000
_DAY_MS = 86_400_000


def parse_instant(text: str, timezone: str, end_of_day: bool = False, name: str = "from") -> int:
    """Epoch ms from `1764000000000`, `2025-11-25` (local day) or ISO 8601 with an offset.

    InvalidInput naming the parameter for anything else, or outside 2000 to 2100."""
    text = text.strip()
    problem = f"`{name}` must be a date, an ISO 8601 time or epoch ms between 2000 and 2100"
    if len(text) > 40:
        raise InvalidInput(problem)
    try:
        if text.isascii() and text.isdigit():
            ms = int(text)
        elif _DAY.match(text):
            day = date.fromisoformat(text)
            if not 2000 <= day.year < 2100:
                raise InvalidInput(problem)
            if end_of_day:
                ms = day_start_ms(day + timedelta(days=1), timezone) - 1
            else:
                ms = day_start_ms(day, timezone)
        else:
            moment = datetime.fromisoformat(text)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=ZoneInfo(timezone))
            ms = int(moment.timestamp() * 1000)
    except (ValueError, OverflowError) as exc:
        raise InvalidInput(problem) from exc
    if not EARLIEST_MS <= ms <= LATEST_MS:
        raise InvalidInput(problem)
    return ms


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
    from_ms = (
        parse_instant(p["from"], timezone, name="from")
        if p.get("from")
        else day_start_ms(today, timezone)
    )
    to_ms = parse_instant(p["to"], timezone, end_of_day=True, name="to") if p.get("to") else now_ms
    if to_ms < from_ms:
        raise InvalidInput("`to` is before `from`")
    outcome = p.get("outcome", "")
    if outcome and outcome not in OUTCOMES:
        raise InvalidInput(f"outcome must be one of {', '.join(OUTCOMES)}")
    limit_text = str(p.get("limit") or "50").strip()
    if not (limit_text.isascii() and limit_text.isdigit()) or len(limit_text) > 4:
        raise InvalidInput(f"limit must be a number between 1 and {MAX_LIMIT}")
    limit = int(limit_text)
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}")
    filtered = any(p.get(k) for k in ("customer", "agent", "team"))
    # Arithmetic first, so no list of days is built for a range that cannot fit: MAX_DAYS local
    # days never span MAX_DAYS full days of milliseconds (a DST day is 25 h, not 48). The exact
    # count of local days is checked below, on a list that is then at most MAX_DAYS + 2 long.
    if not filtered and (to_ms - from_ms) // _DAY_MS > MAX_DAYS:
        raise InvalidInput(
            f"without a customer, agent or team filter, ask for {MAX_DAYS} days at most"
        )
    # A filtered search reads its filter's index over the range, not the days.
    days = () if filtered else days_between(from_ms, to_ms, timezone)
    if len(days) > MAX_DAYS:
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
