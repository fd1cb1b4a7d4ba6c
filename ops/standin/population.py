"""The people of a simulated day: agents with shifts, breaks and habits, callers with patience.

Everything is drawn from one seed up front (per-agent generators for what happens during the
day), so the same seed gives the same day.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from ops.standin.resources import CallerPlan

if TYPE_CHECKING:
    from ops.standin.engine import Standin
    from ops.standin.transport import Reply
    from ops.standin.truth import TransferTruth


@dataclass
class AgentProfile:
    agent_id: str
    team: str
    worker_sid: str
    name: str = ""
    miss_rate: float = 0.05
    answer_median: float = 4.0
    wrap_median: float = 30.0
    away_after_miss: float = 0.3
    shift_start: float = 0.0  # seconds after the day starts
    shift_end: float = 9 * 3600.0
    breaks: list[tuple[float, float]] = field(default_factory=list)  # (start, seconds)


@dataclass(frozen=True)
class TransferIntent:
    """An agent will hand the call over: to a named colleague or to a team, cold or warm."""

    mode: str  # cold, warm
    to_agent: str = ""
    to_team: str = ""
    after_seconds: float = 30.0  # into the call, when the agent starts the transfer
    consult_seconds: float = 20.0  # warm: how long the two agents talk first


class Population:
    """Implements shared.Agents; owns when agents sign in, take breaks and leave."""

    def __init__(
        self, profiles: list[AgentProfile], seed: int, transfer_share: float = 0.0
    ) -> None:
        self.profiles = {p.agent_id: p for p in profiles}
        # Share of answered calls the agent transfers (through the app's API, as the softphone
        # does). A generator of its own, so the rest of a seeded day does not change with it.
        self.transfer_share = transfer_share
        self._transfer_rng = random.Random(f"{seed}:transfers")
        # Scripted transfers for scenarios: agent -> intents, used in order on answered calls.
        self.transfer_script: dict[str, list[TransferIntent]] = {}
        # What the agents asked for and what the app answered (every transfer request).
        self.transfer_requests: list[tuple[str, str, int]] = []
        self._rng = {p.agent_id: random.Random(f"{seed}:{p.agent_id}") for p in profiles}
        self.standin: Standin | None = None
        self.day_start = 0.0
        # What each agent wants to do once the current call is over (a break, going home).
        self._after: dict[str, str] = {}
        self._away_until: dict[str, float] = {}
        # Scripted answers for scenarios: agent -> list of delays (None = miss), used in order.
        self.script: dict[str, list[float | None]] = {}
        # When the app owns presence (issue 3), agents change state through its agent API
        # (`/agents/me/*`, as the softphone does) and the app moves their TaskRouter activity;
        # otherwise they set their activity at TaskRouter directly (TaskRouter JS SDK).
        self.api: AgentApi | None = None

    # ---- shared.Agents ---------------------------------------------------------------------

    def answer_delay(self, agent_id: str, now: float) -> float | None:
        if self.script.get(agent_id):
            return self.script[agent_id].pop(0)
        profile = self.profiles.get(agent_id)
        if profile is None:
            return 5.0
        rng = self._rng[agent_id]
        if rng.random() < profile.miss_rate:
            return None
        return min(15.0, max(1.0, rng.lognormvariate(math.log(profile.answer_median), 0.5)))

    def wrap_up_seconds(self, agent_id: str) -> float:
        profile = self.profiles.get(agent_id)
        if profile is None:
            return 10.0
        rng = self._rng[agent_id]
        return min(300.0, max(5.0, rng.lognormvariate(math.log(profile.wrap_median), 0.6)))

    def after_wrap_up(self, agent_id: str, now: float) -> str | None:
        wanted = self._after.pop(agent_id, "Available")
        if self.api is not None:
            # The app ends the wrap-up itself (presence timer); the agent only asks for a change.
            if wanted != "Available":
                if self._busy(agent_id):
                    # The app's timer ended the wrap-up first and the next call came: the page
                    # shows that call (Away is not offered on a call); the agent goes after it.
                    self._after[agent_id] = wanted
                else:
                    self.api.change(agent_id, wanted)
            return None
        return wanted

    def completes_tasks(self) -> bool:
        # Agents on the app's web softphone (signed in through its API) leave it to the app.
        return self.api is None

    def missed(self, agent_id: str, now: float) -> None:
        profile = self.profiles.get(agent_id)
        if profile is None or self.standin is None:
            return
        rng = self._rng[agent_id]
        if rng.random() < profile.away_after_miss:
            # The agent had stepped away from the desk: the softphone shows them away a while.
            seconds = rng.uniform(120, 600)
            self.standin.clock.after(0.5, self._set_if_idle, agent_id, "Away")
            self.standin.clock.after(seconds, self._back, agent_id, "Away")

    # ---- transfers ---------------------------------------------------------------------------

    def answered(self, agent_id: str, call_sid: str, conference_sid: str, now: float) -> None:
        intent = self._transfer_intent(agent_id, call_sid)
        if intent is not None and self.api is not None:
            self._s.clock.after(intent.after_seconds, self._transfer, agent_id, call_sid, intent)

    def _transfer_intent(self, agent_id: str, call_sid: str) -> TransferIntent | None:
        if self.transfer_script.get(agent_id):
            return self.transfer_script[agent_id].pop(0)
        if not self.transfer_share or self._transfer_rng.random() >= self.transfer_share:
            return None
        rng = self._transfer_rng
        plan = self._s.calls[call_sid].plan
        talk = plan.talk_seconds if plan else 60.0
        mode = rng.choice(["cold", "warm"])
        after = max(5.0, talk * rng.uniform(0.2, 0.5))
        consult = rng.uniform(10.0, 40.0)
        team = self.profiles[agent_id].team if agent_id in self.profiles else ""
        teams = sorted({p.team for p in self.profiles.values()})
        if rng.random() < 0.5:
            colleagues = sorted(
                p.agent_id for p in self.profiles.values() if p.agent_id != agent_id
            )
            if colleagues:
                return TransferIntent(
                    mode,
                    to_agent=rng.choice(colleagues),
                    after_seconds=after,
                    consult_seconds=consult,
                )
        return TransferIntent(
            mode,
            to_team=rng.choice(teams) if teams else team,
            after_seconds=after,
            consult_seconds=consult,
        )

    def _transfer(self, agent_id: str, call_sid: str, intent: TransferIntent) -> None:
        """The softphone's transfer: find the call's conference, then ask the app to transfer."""
        from ops.standin.truth import TransferTruth

        api = self.api
        if api is None:
            return
        with self._s.lock:
            call = self._s.calls.get(call_sid)
            if call is None or call.status != "in-progress":
                return  # the caller hung up first
            plan = call.plan
            now = self._s.now()
        held = api.request(agent_id, "GET", "/agents/me/call")
        if held is None:
            # The lookup itself failed (its status is in the agent API figure), not the call.
            self.transfer_requests.append((agent_id, "call lookup failed", 0))
            return
        conference_sid = str((held.get("call") or {}).get("conference_sid") or "")
        if not conference_sid:
            # What Twilio had at that moment, so the figure says why the app saw no call.
            with self._s.lock:
                task = self._s.tasks.get(call.task_sid or "")
                state = f"task {task.status}" if task else "no task"
            self.transfer_requests.append((agent_id, f"no call held ({state})", 0))
            return
        body: dict[str, str] = {"mode": intent.mode}
        if intent.to_agent:
            body["to_agent"] = intent.to_agent
        else:
            body["to_team"] = intent.to_team
        reply = api.request(agent_id, "POST", f"/calls/{conference_sid}/transfer", body)
        task_sid = str((reply or {}).get("transfer_task_sid") or "")
        target = intent.to_agent or f"team {intent.to_team}"
        self.transfer_requests.append(
            (agent_id, f"{intent.mode} to {target}", 202 if task_sid else 0)
        )
        if not task_sid:
            return
        talk = plan.talk_seconds if plan else 60.0
        self._s.transfer_requested(
            call_sid,
            TransferTruth(
                from_agent_id=agent_id,
                mode=intent.mode,
                requested_at=now,
                to_agent_id=intent.to_agent,
                to_team=intent.to_team,
                task_sid=task_sid,
            ),
            consult_seconds=intent.consult_seconds,
            remaining_seconds=max(15.0, talk - intent.after_seconds),
            customer_hangs_up_first=plan.hangs_up_first if plan else True,
        )

    def transfer_joined(
        self, agent_id: str, call_sid: str, conference_sid: str, transfer: TransferTruth
    ) -> None:
        """Cold: the colleague's softphone takes the customer off hold once connected. Warm:
        the first agent hands over after talking to the colleague."""
        if self.api is None:
            return
        if transfer.mode == "cold":
            self._s.clock.after(
                1.0, self._softphone, agent_id, "POST", f"/calls/{conference_sid}/resume"
            )
        else:
            plan = self._s.conferencing.transfer_plans.get(transfer.task_sid)
            self._s.clock.after(
                plan.consult_seconds if plan else 20.0,
                self._softphone,
                transfer.from_agent_id,
                "POST",
                f"/calls/{conference_sid}/transfer/complete",
            )

    def transfer_unanswered(
        self, call_sid: str, conference_sid: str, transfer: TransferTruth
    ) -> None:
        """Nobody took it: after a warm transfer the agent takes the customer back."""
        if self.api is not None and transfer.mode == "warm" and transfer.from_left_at is None:
            self._softphone(transfer.from_agent_id, "POST", f"/calls/{conference_sid}/resume")

    def _softphone(self, agent_id: str, method: str, path: str) -> None:
        if self.api is not None:
            self.api.request(agent_id, method, path, {})

    # ---- the day ---------------------------------------------------------------------------

    def schedule_day(self, standin: Standin, day_start: float) -> None:
        self.standin = standin
        self.day_start = day_start
        for profile in self.profiles.values():
            standin.clock.at(
                day_start + profile.shift_start, self._set_if_idle, profile.agent_id, "Available"
            )
            for start, seconds in profile.breaks:
                standin.clock.at(day_start + start, self._start_break, profile.agent_id, seconds)
            standin.clock.at(day_start + profile.shift_end, self._go_home, profile.agent_id)

    @property
    def _s(self) -> Standin:
        if self.standin is None:
            raise RuntimeError("the population is not attached to a stand-in yet")
        return self.standin

    def _busy(self, agent_id: str) -> bool:
        worker = self._s.worker_by_agent(agent_id)
        on_outbound = self._s.dialler.is_on_call(agent_id)
        return worker.task_sid is not None or worker.reservation_sid is not None or on_outbound

    def _activity(self, agent_id: str) -> str:
        worker = self._s.worker_by_agent(agent_id)
        return self._s.activities[worker.activity_sid].name

    def _set(self, agent_id: str, activity: str) -> None:
        if self.api is not None:
            self.api.change(agent_id, activity)
            return
        worker = self._s.worker_by_agent(agent_id)
        self._s.set_activity(worker.sid, self._s.activity_by_name(activity).sid)

    def _set_if_idle(self, agent_id: str, activity: str) -> None:
        with self._s.lock:
            if self._busy(agent_id):
                self._after[agent_id] = activity
                return
            self._set(agent_id, activity)

    def _back(self, agent_id: str, from_activity: str) -> None:
        with self._s.lock:
            if self._activity(agent_id) == from_activity and not self._busy(agent_id):
                self._set(agent_id, "Available")
            elif self._after.get(agent_id) == from_activity:
                del self._after[agent_id]

    def heartbeats(self, interval: float) -> None:
        """The softphone's heartbeat, for every signed-in agent, every `interval` seconds."""
        for n, agent_id in enumerate(sorted(self.profiles)):
            self._s.clock.after(
                interval * n / max(1, len(self.profiles)), self._beat, agent_id, interval
            )

    def _beat(self, agent_id: str, interval: float) -> None:
        if self.api is not None and agent_id in self.api.signed_in:
            self.api.heartbeat(agent_id)
        self._s.clock.after(interval, self._beat, agent_id, interval)

    def _start_break(self, agent_id: str, seconds: float) -> None:
        with self._s.lock:
            if self._activity(agent_id) == "Offline":
                return
            self._set_if_idle(agent_id, "Break")
        self._s.clock.after(seconds, self._back, agent_id, "Break")

    def _go_home(self, agent_id: str) -> None:
        self._set_if_idle(agent_id, "Offline")

    def expected_activity(self, agent_id: str) -> str:
        return self._activity(agent_id)


def seconds_left(token: str) -> float:
    """Wall-clock seconds until a JWT's `exp` (unverified: only to know when to renew it)."""
    import jwt

    try:
        claims = jwt.decode(token, options={"verify_signature": False, "verify_exp": False})
        return float(claims["exp"]) - time.time()
    except (jwt.InvalidTokenError, KeyError, TypeError, ValueError):
        return 0.0


class AgentApi:
    """The softphone's calls to the app's agent API, with each agent's Cognito ID token.

    With a clock it retries as the page does (web/app/main.js, presence.js): opening the
    session again every 5 s while the server answers 503, a heartbeat answered 409 (not signed
    in) opens the session again, a failed heartbeat is tried again after 5 s, and a status
    change answered 503 is tried again after its Retry-After (the agent clicking again), three
    times. `failures` are what stayed failed after that.
    """

    STATES: ClassVar[dict[str, str]] = {
        "Available": "available",
        "Break": "break",
        "Away": "away",
    }
    SESSION_RETRY_SECONDS = 5.0
    SESSION_ATTEMPTS = 24  # two minutes of "retrying…" on the page
    CHANGE_ATTEMPTS = 3

    # The page renews its ID token this long before it expires (web/shared/cognito.js).
    RENEW_MARGIN_SECONDS = 300.0

    def __init__(
        self,
        transport: Any,
        tokens: dict[str, str],
        after: Callable[..., Any] | None = None,
        renew: Callable[[str], str] | None = None,
    ) -> None:
        self._transport = transport
        self._tokens = tokens
        self._after = after
        # A fresh ID token for an agent (Cognito's), as the page's refresh gets one. Tokens
        # expire on the wall clock (an hour), whatever the virtual clock says: a rehearsal or
        # a `make run` longer than that signs every request with an expired token without it.
        self._renew = renew
        self.signed_in: set[str] = set()
        self.failures: list[tuple[str, str, int]] = []
        # Why the app refused a status change, by its message with the agent's name folded:
        # the figure that says which state the page and the app disagreed about.
        self.refusals: Counter[str] = Counter()
        self.retried = 0

    def _token(self, agent_id: str) -> str:
        token = self._tokens[agent_id]
        if self._renew is not None and seconds_left(token) < self.RENEW_MARGIN_SECONDS:
            token = self._tokens[agent_id] = self._renew(agent_id)
        return token

    def request(
        self, agent_id: str, method: str, path: str, body: Any = None
    ) -> dict[str, Any] | None:
        """A softphone call to the app's API; its JSON answer, or None (failure recorded)."""
        reply = self._transport.call_json(method, path, self._token(agent_id), body)
        if not 200 <= reply.status < 300:
            self.failures.append((agent_id, f"{method} {path}", reply.status))
            return None
        try:
            answer = json.loads(reply.body) if reply.body else {}
        except json.JSONDecodeError:
            self.failures.append((agent_id, f"{method} {path}", reply.status))
            return None
        return answer if isinstance(answer, dict) else {}

    def heartbeat(self, agent_id: str, attempt: int = 1) -> None:
        reply = self._transport.call_json("POST", "/agents/me/heartbeat", self._token(agent_id))
        if 200 <= reply.status < 300:
            return
        if self._after is not None and reply.status == 409:
            self.retried += 1  # the server lost the session (or it never opened): open it
            self._open(agent_id, "Available", 1)
        elif self._after is not None and reply.status >= 500 and attempt < 3:
            self.retried += 1
            self._after(self.SESSION_RETRY_SECONDS, self.heartbeat, agent_id, attempt + 1)
        else:
            self.failures.append((agent_id, "heartbeat", reply.status))

    def change(self, agent_id: str, activity: str, attempt: int = 1) -> None:
        token = self._token(agent_id)
        if activity == "Offline":
            reply = self._transport.call_json("DELETE", "/agents/me/session", token)
            self.signed_in.discard(agent_id)
        elif agent_id not in self.signed_in:
            self._open(agent_id, activity, 1)
            return
        else:
            reply = self._transport.call_json(
                "PUT", "/agents/me/status", token, {"state": self.STATES[activity]}
            )
        self._settle(agent_id, activity, reply, attempt)

    def _open(self, agent_id: str, activity: str, attempt: int) -> None:
        """Sign in to presence (the page's startPresence), then pick `activity`."""
        token = self._token(agent_id)
        reply = self._transport.call_json("POST", "/agents/me/session", token)
        if 200 <= reply.status < 300:
            self.signed_in.add(agent_id)
            if activity != "Available":
                self.change(agent_id, activity)
            return
        if self._after is not None and reply.status >= 500 and attempt < self.SESSION_ATTEMPTS:
            self.retried += 1
            self._after(self.SESSION_RETRY_SECONDS, self._open, agent_id, activity, attempt + 1)
            return
        self.failures.append((agent_id, f"sign in for {activity}", reply.status))

    def _settle(self, agent_id: str, activity: str, reply: Reply, attempt: int) -> None:
        status = reply.status
        if 200 <= status < 300:
            return
        if self._after is not None and status >= 500 and attempt < self.CHANGE_ATTEMPTS:
            self.retried += 1
            self._after(2.0, self.change, agent_id, activity, attempt + 1)
            return
        self.failures.append((agent_id, activity, status))
        if 400 <= status < 500:
            self.refusals[f"{activity} {status}: {_message(reply.body, agent_id)}"] += 1


def _message(body: str, agent_id: str) -> str:
    try:
        message = str(json.loads(body).get("Message", body))
    except (ValueError, AttributeError):
        message = body
    return message.replace(agent_id, "<agent>")[:160]


HOURLY_PROFILE = (0.08, 0.13, 0.14, 0.10, 0.09, 0.12, 0.13, 0.12, 0.09)  # 09:00 .. 18:00


def agent_profiles(
    agents: list[dict[str, str]], seed: int, day_seconds: float = 9 * 3600.0
) -> list[AgentProfile]:
    rng = random.Random(f"agents:{seed}")
    profiles = []
    for agent in agents:
        start = rng.choice([0.0, 0.0, 0.0, 900.0, 1800.0, 3600.0]) * (day_seconds / 32400)
        end = day_seconds - rng.choice([0.0, 0.0, 0.0, 1800.0, 3600.0]) * (day_seconds / 32400)
        lunch = rng.uniform(0.35, 0.55) * day_seconds
        short = rng.uniform(0.65, 0.85) * day_seconds
        profiles.append(
            AgentProfile(
                agent_id=agent["agent_id"],
                team=agent["team"],
                worker_sid=agent["worker_sid"],
                name=agent.get("name", ""),
                miss_rate=rng.choice([0.02, 0.04, 0.06, 0.12]),
                answer_median=rng.uniform(2.5, 6.0),
                wrap_median=rng.uniform(15.0, 45.0),
                shift_start=start,
                shift_end=end,
                breaks=[
                    (lunch, 2700.0 * day_seconds / 32400),
                    (short, 600.0 * day_seconds / 32400),
                ],
            )
        )
    return profiles


def arrival_offsets(calls: int, seed: int, day_seconds: float = 9 * 3600.0) -> list[float]:
    """Seconds after the day starts at which calls arrive, following HOURLY_PROFILE."""
    rng = random.Random(f"arrivals:{seed}")
    hour = day_seconds / len(HOURLY_PROFILE)
    offsets: list[float] = []
    shares = [s / sum(HOURLY_PROFILE) for s in HOURLY_PROFILE]
    counts = [int(calls * s) for s in shares]
    for n in range(calls - sum(counts)):
        counts[n % len(counts)] += 1
    for index, count in enumerate(counts):
        offsets.extend(index * hour + rng.uniform(0, hour) for _ in range(count))
    return sorted(offsets)


def talk_seconds(rng: random.Random) -> float:
    """Sales calls: lognormal, median 3 minutes, a long tail; 15 s .. 30 min."""
    return min(1800.0, max(15.0, rng.lognormvariate(math.log(180.0), 0.7)))


def patience_seconds(rng: random.Random) -> float:
    """How long a caller waits before hanging up: median ~2 minutes, some very impatient."""
    return min(1800.0, max(8.0, rng.lognormvariate(math.log(120.0), 0.9)))


def caller_plans(
    customers: list[dict[str, str]],
    calls: int,
    seed: int,
    start: float,
    day_seconds: float = 9 * 3600.0,
) -> list[tuple[float, CallerPlan]]:
    """A day's callers from `start`: three in four are customers of the CRM (their owner and
    team known), the rest unknown numbers; each with patience, talk time and the keys pressed."""
    from chalicelib.telephony.phone_numbers import caller_e164

    rng = random.Random(f"callers:{seed}")
    plans = []
    for offset in arrival_offsets(calls, seed, day_seconds):
        if rng.random() < 0.75:
            customer = rng.choice(customers)
            number = caller_e164(customer["phone"], "JP") or customer["phone"]
            extra = {
                "customer_id": customer["customer_id"],
                "owner_agent_id": customer["owner_agent_id"],
                "team": customer["team"],
            }
        else:
            number = f"+8190{rng.randint(10000000, 99999999)}"
            extra = {}
        plans.append(
            (
                start + offset,
                CallerPlan(
                    caller=number,
                    patience=patience_seconds(rng),
                    talk_seconds=talk_seconds(rng),
                    hangs_up_first=rng.random() < 0.7,
                    digits=rng.choice(["1", "1", "2", ""]),
                    voicemail_seconds=rng.uniform(8, 60),
                    **extra,
                ),
            )
        )
    return plans
