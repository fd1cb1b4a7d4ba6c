"""What every part of the stand-in shares: Twilio's configuration for our app, the virtual
clock, the one lock, the ground truth, the people behind the softphones, the chaos knobs,
counters, and the ids Twilio hands out.

The parts (ops/standin/taskrouter.py, voice.py, conferences.py, recordings.py, delivery.py)
each own their own state and reach the rest of Twilio's through one `Shared` object, so a test
that swaps the account (a new workflow) swaps it for every part at once.

State is guarded by one re-entrant lock, never held while a request to the app is in flight (the
app may call back into the REST API while we wait for its answer).
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from ops.standin.clock import Scheduler
from ops.standin.transport import Reply
from ops.standin.truth import GroundTruth, TransferTruth

if TYPE_CHECKING:
    from collections.abc import Callable


def activity_sid(name: str) -> str:
    return "WA" + hashlib.md5(name.encode()).hexdigest()  # noqa: S324 - an id, not security


@dataclass
class Activity:
    sid: str
    name: str
    available: bool


class Agents(Protocol):
    """How the people behind the softphones behave (ops/standin/population.py)."""

    def answer_delay(self, agent_id: str, now: float) -> float | None:
        """Seconds until the agent picks up an offer; None if they miss it."""

    def wrap_up_seconds(self, agent_id: str) -> float: ...

    def after_wrap_up(self, agent_id: str, now: float) -> str | None:
        """The activity name the agent picks when the wrap-up ends (None: the app decides)."""

    def completes_tasks(self) -> bool:
        """True if the agents' softphone completes its wrapped tasks (a TaskRouter SDK);
        False when the app does it (our web softphone has none: the presence mirror does)."""

    def missed(self, agent_id: str, now: float) -> None: ...

    def answered(self, agent_id: str, call_sid: str, conference_sid: str, now: float) -> None:
        """The agent is talking to the caller (they may decide to transfer the call)."""

    def transfer_joined(
        self, agent_id: str, call_sid: str, conference_sid: str, transfer: TransferTruth
    ) -> None:
        """A colleague's leg joined the customer's conference by transfer."""

    def transfer_unanswered(
        self, call_sid: str, conference_sid: str, transfer: TransferTruth
    ) -> None:
        """Nobody took the transfer (its task was canceled)."""


@dataclass
class Chaos:
    """Twilio's delivery is at-least-once and unordered; these knobs make it so, reproducibly."""

    duplicate: float = 0.0  # share of callbacks delivered twice
    reorder: float = 0.0  # share of callbacks delayed by up to `max_delay` seconds
    fail_once: float = 0.0  # share of requests whose first attempt fails to connect
    # Share of conferences the caller joins before the agent. Twilio does not promise an order,
    # and channel 1 of a dual-channel recording is whoever joined first.
    customer_first: float = 0.0
    max_delay: float = 8.0
    seed: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed ^ 0x5EED)
        # Its own stream, so the knob leaves every other chaos decision of a seed as it was.
        self.join_rng = random.Random(self.seed ^ 0x701E)

    def caller_joins_first(self) -> bool:
        return bool(self.customer_first) and self.join_rng.random() < self.customer_first


@dataclass
class RouteStats:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)


class Stats:
    def __init__(self) -> None:
        self.routes: dict[str, RouteStats] = defaultdict(RouteStats)
        self.counters: Counter[str] = Counter()
        self.lock = threading.Lock()

    def record(self, path: str, reply: Reply) -> None:
        with self.lock:
            route = self.routes[path]
            route.latencies_ms.append(reply.elapsed_ms)
            route.statuses[reply.status] += 1

    def count(self, name: str, value: int = 1) -> None:
        with self.lock:
            self.counters[name] += value

    def errors_by_route(self) -> dict[str, dict[int, int]]:
        return {
            path: {s: n for s, n in r.statuses.items() if not 200 <= s < 300}
            for path, r in sorted(self.routes.items())
            if any(not 200 <= s < 300 for s in r.statuses)
        }

    def latency_percentiles(self) -> tuple[float, float, int]:
        values = sorted(v for r in self.routes.values() for v in r.latencies_ms)
        if not values:
            return 0.0, 0.0, 0

        def pct(p: float) -> float:
            return values[min(len(values) - 1, int(p * len(values)))]

        return pct(0.50), pct(0.99), len(values)


@dataclass(frozen=True)
class TwilioAccount:
    """What Twilio is configured with for our app."""

    account_sid: str
    auth_token: str
    workspace_sid: str
    workflow_sid: str
    workflow: dict[str, Any]
    queues: dict[str, str]  # queue sid -> target workers expression
    company_number: str
    activities: tuple[Activity, ...]
    reservation_timeout: int = 120
    # Workspace TimeoutActivitySid: where a worker goes when a reservation times out (None: stays).
    timeout_activity_sid: str | None = None
    workspace_name: str = "contact-center"
    # API keys of the account (SID -> secret): REST requests may authenticate with one instead
    # of the auth token (https://www.twilio.com/docs/iam/api-keys).
    api_keys: Mapping[str, str] = field(default_factory=dict)


class Shared:
    """The state no one part owns, read by every part through `Part`."""

    def __init__(
        self,
        account: TwilioAccount,
        clock: Scheduler,
        agents: Agents,
        truth: GroundTruth,
        chaos: Chaos,
        seed: int = 0,
    ) -> None:
        self.account = account
        self.clock = clock
        self.agents = agents
        self.truth = truth
        self.chaos = chaos
        self.stats = Stats()
        self.lock = threading.RLock()
        self._rng = random.Random(seed)
        self.listeners: list[Callable[[str, dict[str, Any]], None]] = []

    def sid(self, prefix: str) -> str:
        # One stream for every part's ids: a seed repeats the same sids in the same order.
        with self.lock:
            return prefix + f"{self._rng.getrandbits(128):032x}"

    def emit(self, what: str, **data: Any) -> None:
        for listener in self.listeners:
            listener(what, data)


class Part:
    """A part of the stand-in: its own state, plus the shared state read through here. The
    account is read through `shared` each time (a test may swap it); the rest never changes."""

    def __init__(self, shared: Shared) -> None:
        self.shared = shared
        self.clock = shared.clock
        self.lock = shared.lock
        self.agents = shared.agents
        self.truth = shared.truth
        self.chaos = shared.chaos
        self.stats = shared.stats

    @property
    def account(self) -> TwilioAccount:
        return self.shared.account

    def sid(self, prefix: str) -> str:
        return self.shared.sid(prefix)

    def now(self) -> float:
        return self.clock.now()

    def _emit(self, what: str, **data: Any) -> None:
        self.shared.emit(what, **data)


def callback_events(value: Any, default: str) -> frozenset[str]:
    """A statusCallbackEvent value (space or comma separated, or a list) as a set of names."""
    text = value if isinstance(value, str) else " ".join(value or []) or default
    return frozenset(e for e in text.replace(",", " ").split() if e)


def url_path(url: str) -> str:
    return urlsplit(url).path
