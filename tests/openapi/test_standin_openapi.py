"""The stand-in's REST replies, checked against Twilio's OpenAPI description, in a short rehearsal.

The app runs in-process against the stand-in (ops/standin/harness.py): two calls are answered,
the adapter's call-control requests run during the first (hold, resume, mute, look-ups), and the
price reconciliation job runs after them, so the Call resource's `price` is read the way the
deployed job reads it. Every request the app sent the stand-in must
be an operation of Twilio's API with its parameters, and every reply must carry, with the types
the description gives, the fields our adapter reads (chalicelib/telephony/rest.py), and no
field the description does not name.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from chalicelib.conversations.pricing import RateLimiter
from chalicelib.transcripts.domain import comprehend_units
from ops.standin.engine import CallerPlan
from ops.standin.harness import Stack
from ops.standin.rest import Exchange
from tests.openapi import twilio_spec
from tests.standin.floor import available_floor

# What chalicelib/telephony/rest.py reads from each reply, by operation (list replies: of each
# item). Deletes and updates are read for their status alone.
ADAPTER_READS: dict[str, tuple[str, ...]] = {
    "FetchTask": ("assignment_status", "attributes"),
    "CreateTask": ("sid",),
    "ListTask": ("sid", "date_updated"),
    "ListWorker": ("sid", "activity_sid"),
    "ListWorkerReservation": ("sid", "task_sid"),
    "ListTaskReservation": ("worker_name",),
    "FetchConference": ("friendly_name",),
    "FetchCall": ("price", "price_unit"),
}

HOSTS = {"taskrouter": "taskrouter.twilio.com", "api": "api.twilio.com"}


def url_of(exchange: Exchange) -> str:
    """The Twilio URL the app asked for (the stand-in sees it with the product as the first
    segment: ops/standin/rest.py)."""
    product, _, rest = exchange.path.lstrip("/").partition("/")
    return f"https://{HOSTS[product]}/{rest}"


def exchange_problems(exchange: Exchange) -> list[str]:
    url = url_of(exchange)
    problems = twilio_spec.request_problems(exchange.method, url, exchange.query, exchange.form)
    found = twilio_spec.find_operation(exchange.method, url)
    if found is None:
        return problems
    operation, _, media = found
    reply = exchange.reply
    if media:
        if reply.status == 200 and not reply.content_type.startswith("audio/"):
            problems.append(f"{exchange.path}: media served as {reply.content_type}")
        return problems
    body: Any = json.loads(reply.body) if reply.body else None
    if reply.status >= 400:
        # Twilio's error document (https://www.twilio.com/docs/usage/twilios-response#response-formats-exceptions).
        if not (isinstance(body, dict) and {"code", "message", "status"} <= body.keys()):
            problems.append(f"{exchange.path}: {reply.status} without Twilio's error document")
        return problems
    reads = ADAPTER_READS.get(operation.operation_id, ())
    return problems + twilio_spec.response_problems(operation, reply.status, body, reads)


@pytest.fixture(scope="module")
def rehearsal() -> Iterator[Rehearsal]:
    with available_floor(6, seed=11) as (stack, _agents, customers):
        s = stack.standin
        owned = [c for c in customers if c["owner_agent_id"]][:2]
        sids = []
        for customer in owned:
            plan = CallerPlan(
                caller=customer["phone"],
                patience=300.0,
                talk_seconds=70.0,
                customer_id=customer["customer_id"],
                owner_agent_id=customer["owner_agent_id"],
                team=customer["team"],
            )
            sids.append(s.place_call(plan))
            s.clock.run(until=s.now() + 5)
        truths = [stack.truth.get(sid) for sid in sids]
        while truths[0].answered_at is None and s.now() < 600 + truths[0].placed_at:
            s.clock.run(until=s.now() + 2)
        live_call_control(stack, sids[0])
        deadline = s.now() + 900
        while any(t.ended_at is None for t in truths) and s.now() < deadline:
            s.clock.run(until=s.now() + 10)
        s.clock.run(until=s.now() + 60)
        # The price job right after the calls, and again once Twilio has rated them.
        early = reconcile(stack)
        s.clock.run(until=s.now() + s.voice.rating_delay + 30)
        late = reconcile(stack)
        yield Rehearsal(stack, sids, truths, early, late)


def live_call_control(stack: Stack, customer_sid: str) -> None:
    """What the softphone and the escalation ask of Twilio during a live call: the adapter's
    reads and updates, sent to the stand-in (chalicelib/telephony/rest.py)."""
    gateway = stack.container.twilio
    s = stack.standin
    call = s.calls[customer_sid]
    worker = s.taskrouter.tasks[call.task_sid].worker_sid
    assert call.conference_sid and worker
    assert gateway.conference_name(call.conference_sid) == call.task_sid
    assert gateway.accepted_task_sids(worker) == [call.task_sid]
    assert gateway.task_worker_names(call.task_sid)
    assert gateway.pending_reservation(worker) is None
    assert gateway.fetch_task(call.task_sid).status == "assigned"
    assert gateway.fetch_task_attributes(call.task_sid)[0] == "assigned"
    assert gateway.worker_activities()[worker]
    gateway.tasks_wrapping()
    gateway.update_participant(call.conference_sid, customer_sid, hold=True)
    s.clock.run(until=s.now() + 3)
    gateway.update_participant(call.conference_sid, customer_sid, hold=False)
    gateway.update_participant(call.conference_sid, "worker", muted=True)
    gateway.update_participant(call.conference_sid, "worker", muted=False)


@dataclass
class Rehearsal:
    stack: Stack
    sids: list[str]
    truths: list[Any]
    early: Any
    late: Any


def reconcile(stack: Stack) -> Any:
    """The scheduled job, paced on the stand-in's virtual clock instead of real sleeps."""
    s = stack.standin

    def wait(seconds: float) -> None:
        s.clock.run(until=s.now() + seconds)

    limiter = RateLimiter(5.0, clock=s.now, sleep=wait)
    return stack.container.price_reconciler.reconcile_prices(
        int(s.now() * 1000), limiter, sleep=wait
    )


def test_prices_reach_the_conversation_once_twilio_has_rated_the_calls(
    rehearsal: Rehearsal,
) -> None:
    """Call `price` is null until a while after the call completes
    (https://www.twilio.com/docs/voice/api/call-resource#call-properties): a run right after
    the calls leaves them pending, a run after the stand-in's rating delay prices every leg
    (the caller's and the agent's)."""
    assert all(t.answered_by for t in rehearsal.truths), [t.outcome for t in rehearsal.truths]
    early, late = rehearsal.early, rehearsal.late
    assert early.priced == 0 and early.not_yet >= len(rehearsal.sids), early
    assert late.priced >= 2 * len(rehearsal.sids) and late.failed == [], late
    for sid in rehearsal.sids:
        record = rehearsal.stack.container.conversations.get(sid)
        assert record is not None
        assert not record.get("legs_unpriced"), record
        # The record's cost is what the stand-in charged for the caller's leg and the agent's.
        standin = rehearsal.stack.standin
        legs = [c for c in standin.calls.values() if sid in (c.sid, c.parent_call_sid)]
        charged = sum(abs(Decimal(standin.voice.price(c)[0] or "0")) for c in legs)
        assert len(legs) >= 2 and charged > 0
        # Plus the call's live transcript: Comprehend's units for every line the parties said
        # (docs/transcripts.md "Cost"; Real-Time Transcription minutes are priced 0 by default).
        said = standin.live_transcription.spoken.get(sid, [])
        analysed = sum(comprehend_units(line.text) for line in said) * Decimal("0.0001")
        assert said and analysed > 0
        assert int(record["cost_micros"]) == int((charged + analysed) * 1_000_000), record
        assert record["cost_unit"] == "USD", record


def test_every_reply_of_the_rehearsal_is_twilios(rehearsal: Rehearsal) -> None:
    exchanges = rehearsal.stack.rest.exchanges or []
    operations = {
        f[0].operation_id
        for e in exchanges
        if (f := twilio_spec.find_operation(e.method, url_of(e))) is not None
    }
    # The rehearsal reached the parts of the API the adapter reads from.
    # Every read above but CreateTask (the fallback's callback task: no caller here asks).
    expected = set(ADAPTER_READS) - {"CreateTask"} | {"UpdateParticipant", "DeleteRecording"}
    assert expected <= operations, operations
    found = sorted({p for e in exchanges for p in exchange_problems(e)})
    # The instructions the app answered each assignment callback with (kept on the reservation
    # by the stand-in) are Reservation update parameters.
    instructions = [r.instruction for r in rehearsal.stack.standin.reservations.values()]
    assert any(i.get("instruction") == "conference" for i in instructions)
    found += sorted({p for i in instructions if i for p in twilio_spec.instruction_problems(i)})
    if found:
        pytest.fail(f"{len(found)} differences from Twilio's API:\n" + "\n".join(found))
