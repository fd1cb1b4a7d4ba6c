"""The price of a conversation: Twilio's callbacks carry none, so a job asks for each leg's.

Twilio rates a call some time after it ends (`price` stays null until then). Every run takes a
batch of ended conversations still missing a leg's price (the sparse cost-pending index), asks
Twilio for each missing leg at a bounded rate, retries a failed request with backoff, and
stores each price as an event of the conversation, so the record's cost stays a fold of its
events. A leg Twilio still has not priced long after the call is stored as unknown (empty
price) and no longer asked for.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from chalicelib.conversations.events import price_event
from chalicelib.platform.errors import TelephonyUnavailable
from chalicelib.platform.observability import count, logger

if TYPE_CHECKING:
    from chalicelib.conversations.facts import ConversationLedger
    from chalicelib.conversations.store import ConversationTable, EventStore
    from chalicelib.platform.settings import ConversationSettings


class PriceSource(Protocol):
    def fetch_call_price(self, call_sid: str) -> tuple[str | None, str]: ...


class RateLimiter:
    """At most `per_second` calls per second (spaced evenly), with an injectable clock."""

    def __init__(
        self,
        per_second: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._interval = 1.0 / per_second
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0

    def wait(self) -> None:
        now = self._clock()
        if now < self._next:
            self._sleep(self._next - now)
            now = self._next
        self._next = now + self._interval


@dataclass
class ReconcileReport:
    conversations: int = 0
    priced: int = 0
    not_yet: int = 0
    given_up: int = 0
    failed: list[str] = field(default_factory=list)


def fetch_with_retries(
    source: PriceSource,
    call_sid: str,
    limiter: RateLimiter,
    attempts: int,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[str | None, str]:
    """The leg's price; TelephonyUnavailable after `attempts` failures (backoff 1, 2, 4 s)."""
    for attempt in range(attempts):
        limiter.wait()
        try:
            return source.fetch_call_price(call_sid)
        except TelephonyUnavailable:
            if attempt == attempts - 1:
                raise
            sleep(2**attempt)
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class PriceLimits:
    """How much of Twilio's API one run may use, and how long a leg is waited for."""

    batch_size: int
    requests_per_second: float
    max_attempts: int
    give_up_hours: int


def limits_from(settings: ConversationSettings) -> PriceLimits:
    return PriceLimits(
        batch_size=settings.price_batch_size,
        requests_per_second=settings.price_requests_per_second,
        max_attempts=settings.price_max_attempts,
        give_up_hours=settings.price_give_up_hours,
    )


class PriceReconciler:
    """The scheduled job: prices the legs of ended conversations, as events of each."""

    def __init__(
        self,
        source: PriceSource,
        events: EventStore,
        conversations: ConversationTable,
        ledger: ConversationLedger,
        limits: PriceLimits,
    ) -> None:
        self._source = source
        self._events = events
        self._conversations = conversations
        self._ledger = ledger
        self._limits = limits

    def reconcile_prices(
        self,
        now_ms: int,
        limiter: RateLimiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> ReconcileReport:
        limits = self._limits
        limiter = limiter or RateLimiter(limits.requests_per_second)
        report = ReconcileReport()
        give_up_ms = limits.give_up_hours * 3600 * 1000
        for conversation in self._conversations.cost_pending(limits.batch_size):
            conversation_id = str(conversation["conversation_id"])
            ended_ms = int(conversation.get("ended_ms") or 0)
            report.conversations += 1
            changed = False
            for leg in conversation.get("legs_unpriced") or ():
                try:
                    price, unit = fetch_with_retries(
                        self._source, leg, limiter, limits.max_attempts, sleep
                    )
                except TelephonyUnavailable as exc:
                    report.failed.append(leg)
                    logger.warning("leg price not fetched", call_sid=leg, reason=str(exc))
                    continue
                if price is None and now_ms - ended_ms < give_up_ms:
                    report.not_yet += 1
                    continue
                if price is None:
                    report.given_up += 1
                    price, unit = "", unit
                else:
                    report.priced += 1
                stored = self._events.put(
                    price_event(conversation_id, leg, price, unit), conversation_id, now_ms // 1000
                )
                changed = stored or changed
            if changed:
                self._ledger.rebuild(conversation_id)
        count("LegsPriced", report.priced)
        if report.failed:
            count("LegPriceFetchFailed", len(report.failed))
        logger.info(
            "prices reconciled",
            conversations=report.conversations,
            priced=report.priced,
            not_yet=report.not_yet,
            given_up=report.given_up,
            failed=len(report.failed),
        )
        return report
