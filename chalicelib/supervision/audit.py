"""The audit trail: one entry per read of a conversation, a recording or a transcript.

An entry says who (the staff member, and whether as a supervisor), what (the kind of read and the
conversation, or the filter of a listing), when (epoch ms) and from where (the source IP API
Gateway saw and the browser's user agent). Writing it is part of the read: a read whose entry
cannot be stored is refused (503), so nothing is read unrecorded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from chalicelib.platform.errors import InvalidInput

# What was read.
CONVERSATION = "conversation"
CONVERSATION_LIST = "conversation_list"
RECORDING = "recording"
TRANSCRIPT = "transcript"
READS = frozenset({CONVERSATION, CONVERSATION_LIST, RECORDING, TRANSCRIPT})
# A supervisor's query spans at most this many days (one Query per day without an agent).
MAX_AUDIT_DAYS = 31
MAX_USER_AGENT_CHARS = 256


@dataclass(frozen=True)
class AuditEntry:
    agent_id: str
    supervisor: bool
    read: str
    subject: str  # the conversation id, or the listing's filter as query text
    at_ms: int
    source_ip: str
    user_agent: str
    outcome: str  # "granted" | "denied"

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class AuditStore(Protocol):
    def append(self, entry: AuditEntry) -> None: ...
    def between(self, from_ms: int, to_ms: int, agent_id: str) -> list[dict[str, Any]]: ...


def entry(
    agent_id: str,
    supervisor: bool,
    read: str,
    subject: str,
    at_ms: int,
    origin: Mapping[str, str],
    outcome: str = "granted",
) -> AuditEntry:
    if read not in READS:
        raise ValueError(f"unknown read {read!r}")
    return AuditEntry(
        agent_id=agent_id,
        supervisor=supervisor,
        read=read,
        subject=subject,
        at_ms=at_ms,
        source_ip=str(origin.get("source_ip") or ""),
        user_agent=str(origin.get("user_agent") or "")[:MAX_USER_AGENT_CHARS],
        outcome=outcome,
    )


def utc_days(from_ms: int, to_ms: int) -> list[str]:
    """The UTC days (the table's partitions) from `from_ms` to `to_ms`, oldest first."""
    first = datetime.fromtimestamp(from_ms / 1000, UTC).date()
    last = datetime.fromtimestamp(to_ms / 1000, UTC).date()
    return [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


def audit_range(params: Mapping[str, str], timezone: str, now_ms: int) -> tuple[int, int, str]:
    """GET /audit?from=&to=&agent=: dates (the report time zone's days), ISO 8601 times or epoch
    ms, as GET /conversations reads them; the last 24 hours by default, MAX_AUDIT_DAYS at most."""
    from chalicelib.conversations.search import parse_instant

    to_ms = parse_instant(params["to"], timezone, end_of_day=True) if params.get("to") else now_ms
    from_ms = parse_instant(params["from"], timezone) if params.get("from") else to_ms - 86_400_000
    if to_ms < from_ms:
        raise InvalidInput("`to` is before `from`")
    if len(utc_days(from_ms, to_ms)) > MAX_AUDIT_DAYS + 1:
        raise InvalidInput(f"ask for {MAX_AUDIT_DAYS} days at most")
    return from_ms, to_ms, str(params.get("agent") or "")


class AuditTrail:
    """Appends the entries of reads and answers supervisors' queries."""

    def __init__(self, store: AuditStore, timezone: str, clock: Callable[[], int]) -> None:
        self._store = store
        self._timezone = timezone
        self._clock = clock

    def record(
        self,
        agent_id: str,
        supervisor: bool,
        read: str,
        subject: str,
        origin: Mapping[str, str],
        outcome: str = "granted",
    ) -> None:
        self._store.append(
            entry(agent_id, supervisor, read, subject, self._clock(), origin, outcome)
        )

    def query(self, params: Mapping[str, str]) -> dict[str, Any]:
        from_ms, to_ms, agent_id = audit_range(params, self._timezone, self._clock())
        entries = self._store.between(from_ms, to_ms, agent_id)
        return {"from_ms": from_ms, "to_ms": to_ms, "agent": agent_id or None, "entries": entries}
