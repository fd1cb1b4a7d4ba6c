"""How the stand-in reaches the app, as Twilio does: synchronous webhooks whose answer steers a
call (the incoming-call webhook, every TwiML fetch, TaskRouter's assignment callback) and
asynchronous callbacks (call, conference and recording status, TaskRouter events).

Twilio's delivery is at-least-once and unordered; the chaos knobs (ops/standin/shared.py
`Chaos`) make it so, reproducibly: duplicates, delays that reorder, first attempts that fail.
"""

from __future__ import annotations

from ops.standin.shared import Part, Shared, url_path
from ops.standin.transport import Reply, Transport


class Delivery(Part):
    def __init__(
        self,
        shared: Shared,
        transport: Transport,
        app_routes: frozenset[str],
        callback_latency: float = 0.05,
    ) -> None:
        super().__init__(shared)
        self.transport = transport
        self.app_routes = app_routes
        self._callback_latency = callback_latency

    def app_url(self, path: str) -> str | None:
        """The URL Twilio is configured with for one of the app's routes, if the app has it."""
        if path not in self.app_routes:
            return None
        return self.transport.public_base_url + path

    def route_of(self, url: str) -> str:
        base = self.transport.public_base_url
        return url[len(base) :].split("?")[0] if url.startswith(base) else url_path(url)

    def request(self, url: str, form: dict[str, str]) -> Reply:
        """A synchronous webhook (TwiML or assignment): Twilio waits for the answer.

        Twilio retries once when the connection fails (connection override `rc` defaults to 1,
        retry policy `ct`); chaos makes a share of first attempts fail that way.
        """
        if self.chaos.fail_once and self.chaos.rng.random() < self.chaos.fail_once:
            self.stats.count("ChaosFirstAttemptFailed")
            self.stats.count("TwilioRetries")
        reply = self.transport.post(url, form)
        if reply.status == 0:
            self.stats.count("TwilioRetries")
            reply = self.transport.post(url, form)
        self.stats.record(self.route_of(url), reply)
        return reply

    def callback(self, url: str, form: dict[str, str], retry_5xx: bool = False) -> None:
        """An asynchronous callback: sent a little later, maybe twice, maybe out of order."""
        delay = self._callback_latency
        if self.chaos.reorder and self.chaos.rng.random() < self.chaos.reorder:
            delay += self.chaos.rng.uniform(0.5, self.chaos.max_delay)
            self.stats.count("ChaosDelayed")
        self.stats.count("CallbacksSent")
        self.clock.after(delay, self._deliver, url, form, 1, retry_5xx)
        if self.chaos.duplicate and self.chaos.rng.random() < self.chaos.duplicate:
            self.stats.count("ChaosDuplicated")
            self.clock.after(
                delay + self.chaos.rng.uniform(0.0, 3.0), self._deliver, url, form, 1, retry_5xx
            )

    def _deliver(self, url: str, form: dict[str, str], attempt: int, retry_5xx: bool) -> None:
        if attempt == 1 and self.chaos.fail_once and self.chaos.rng.random() < self.chaos.fail_once:
            # The first attempt never reached the app (connection failure): Twilio retries.
            self.stats.count("ChaosFirstAttemptFailed")
            self.stats.count("TwilioRetries")
            self.clock.after(1.0, self._deliver, url, form, 2, retry_5xx)
            return
        reply = self.transport.post(url, form)
        self.stats.record(self.route_of(url), reply)
        if reply.status == 0 and attempt == 1:
            self.stats.count("TwilioRetries")
            self.clock.after(1.0, self._deliver, url, form, 2, retry_5xx)
        elif reply.status >= 500 and retry_5xx and attempt < 3:
            # assumption: TaskRouter retries an event callback answered with 5xx (the app
            # answers 503 precisely so that it is retried); we give it three attempts.
            self.stats.count("TwilioRetries")
            self.clock.after(2.0 * attempt, self._deliver, url, form, attempt + 1, retry_5xx)
        elif not 200 <= reply.status < 300:
            self.stats.count("CallbacksLost")
            self.stats.count(f"CallbacksLost:{self.route_of(url)}")
