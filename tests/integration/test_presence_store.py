"""Presence in DynamoDB (moto): conditional writes under real concurrency, history, timers."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from boto3.dynamodb.types import TypeSerializer

from chalicelib.api.agents import handle_stream_records
from chalicelib.bootstrap import Container
from chalicelib.presence.domain import AgentState, Event, transition
from chalicelib.presence.store import PresenceStore, VersionConflict, item_from_presence
from tests.conftest import ENGINES
from tests.data import put_agent

pytestmark = ENGINES

S = AgentState


class FakeClock:
    def __init__(self, now: int = 1_764_000_000_000) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


class RecordingStore(PresenceStore):
    """The real store, remembering each write that won, as the table's stream would."""

    def __init__(self, table: Any, clock: Any) -> None:
        super().__init__(table, clock)
        self.won: list[tuple[Any, Any]] = []
        self._lock = threading.Lock()

    def save(self, change: Any) -> int:
        changed_ms = super().save(change)
        with self._lock:
            self.won.append((change.before, change.after))
        return changed_ms


def image(presence: Any) -> dict[str, Any]:
    serializer = TypeSerializer()
    return {k: serializer.serialize(v) for k, v in item_from_presence(presence, 0).items()}


def stream_records(store: RecordingStore) -> list[tuple[str, Any, Any]]:
    """What the presence table's stream carries for the writes that won (moto's stream API
    answers "not yet implemented" here, so the records are built from the writes)."""
    return [
        (
            "MODIFY" if before.version else "INSERT",
            image(before) if before.version else None,
            image(after),
        )
        for before, after in store.won
    ]


def recording_store(container: Container) -> RecordingStore:
    store = RecordingStore(
        container.dynamodb.Table(container.settings.presence.presence_table), container.clock
    )
    container.presence_store = store
    return store


@pytest.fixture
def atomic_moto_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB checks a condition and writes an item atomically; moto's backend does not lock,
    so threads can interleave inside one UpdateItem. Give moto DynamoDB's guarantee, so what
    is tested is our conditional writes, not moto's races."""
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.Lock()
    for name in ("update_item", "put_item", "get_item"):
        original = getattr(DynamoDBBackend, name)

        def locked(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return _original(*args, **kwargs)

        monkeypatch.setattr(DynamoDBBackend, name, locked)


@pytest.mark.usefixtures("atomic_moto_writes")
def test_concurrent_changes_to_one_agent_are_all_kept(container: Container, resources: Any) -> None:
    store = recording_store(container)
    put_agent(resources, container.settings, "sato")
    service = container.presence
    service.sign_in("sato")
    threads, per_thread = 6, 8
    errors: list[BaseException] = []

    def flip(n: int) -> None:
        try:
            for i in range(per_thread):
                service.choose("sato", "break" if (n + i) % 2 else "away")
        except BaseException as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)

    workers = [threading.Thread(target=flip, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    final = container.presence_store.get("sato")
    assert final is not None
    versions = sorted(after.version for _, after in store.won)
    # Every write that won bumped the version by exactly one from the one it read: no two
    # writers both won from the same version, so none overwrote another.
    assert versions == list(range(1, final.version + 1))
    assert all(after.version == before.version + 1 for before, after in store.won)
    assert len(store.won) > threads  # the threads really interleaved
    assert final.state in (S.AWAY, S.BREAK)


def test_a_write_from_a_stale_read_loses_and_retries(container: Container, resources: Any) -> None:
    put_agent(resources, container.settings, "sato")
    service = container.presence
    signed_in = service.sign_in("sato")
    service.choose("sato", "break")  # someone else's change after our read
    store: PresenceStore = container.presence_store
    stale = transition(signed_in, Event.CHOOSE_AWAY, container.clock())

    with pytest.raises(VersionConflict) as raised:
        store.save(stale)
    assert raised.value.current is not None
    assert raised.value.current.state == S.BREAK


def test_every_change_becomes_one_history_event(container: Container, resources: Any) -> None:
    store = recording_store(container)
    put_agent(resources, container.settings, "sato")
    service = container.presence
    service.sign_in("sato")
    service.heartbeat("sato")  # not a change: no history
    service.choose("sato", "break")
    service.apply_external("sato", Event.OFFERED, container.clock() + 10, "WT1")
    service.sign_out("sato")
    records = stream_records(store)
    handle_stream_records(records, container)
    handle_stream_records(records, container)  # a retried batch writes nothing twice
    history = container.presence_history.for_agent("sato")
    assert [(h["from"], h["to"], h["reason"]) for h in history] == [
        ("offline", "available", "signed_in"),
        ("available", "break", "manual"),
        ("break", "ringing", "reservation"),
        ("ringing", "offline", "signed_out"),
    ]
    assert all(h["at"].startswith(h["day"]) and h["at"].endswith("+00:00") for h in history)


def test_no_heartbeat_for_the_timeout_makes_away_and_the_next_one_restores(
    container: Container, resources: Any
) -> None:
    clock = FakeClock()
    container.clock = clock
    put_agent(resources, container.settings, "sato")
    service = container.presence
    service.sign_in("sato")
    service.choose("sato", "break")
    clock.now += 45_000
    assert service.sweep() == 0
    clock.now += 1
    assert service.sweep() == 1
    lost = container.presence_store.get("sato")
    assert lost is not None
    assert (lost.state, lost.reason) == (S.AWAY, "heartbeat_lost")
    back = service.heartbeat("sato")
    assert (back.state, back.reason) == (S.BREAK, "reconnected")


def test_wrap_up_ends_by_itself(container: Container, resources: Any) -> None:
    clock = FakeClock()
    container.clock = clock
    put_agent(resources, container.settings, "sato")
    service = container.presence
    service.sign_in("sato")
    service.apply_external("sato", Event.ACCEPTED, clock.now + 1, "WT1")
    service.apply_external("sato", Event.CALL_ENDED, clock.now + 2, "WT1")
    clock.now += 2 + container.settings.presence.presence_wrap_up_seconds * 1000
    service.heartbeat("sato")
    after = container.presence_store.get("sato")
    assert after is not None
    assert (after.state, after.reason) == (S.AVAILABLE, "wrap_up_over")


def test_routing_still_reads_the_team_from_presence_items(
    container: Container, resources: Any
) -> None:
    put_agent(resources, container.settings, "sato", team="osaka")
    container.presence.sign_in("sato")
    team = container.presence_reader.team_presence("osaka")
    assert team.is_available("sato")
