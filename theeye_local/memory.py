"""The in-memory backend: every port of ``theeye.ports``, with the AWS adapters' semantics.

Nothing survives the process, so no stack runs on it and it ships with no function. Unit tests
pass it instead of patching (with faults injected where a test asks), ``tests/contract`` runs
the same suite against it and against the real adapters, so it cannot drift from them, and
``bench.cpu`` runs the handlers on it to time only our own code.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Set
from datetime import datetime, timedelta

from theeye.buckets import Interval, bucket_of, bucket_start
from theeye.clock import Clock, format_timestamp, utc_now
from theeye.errors import InvalidRequest, NotFound, QueueUnavailable, RetryableStoreError
from theeye.events import compact_json
from theeye.intake import QueueThenCount
from theeye.keys import ApiKey
from theeye.ledger import IntakeTally, MessageTally, SessionTally, merge_sessions
from theeye.messages import QueueMessage, cut_payload
from theeye.ports import (
    Erasure,
    ErrorFilter,
    Page,
    View,
    Window,
    error_position,
    event_position,
    session_position,
)
from theeye.records import ErrorRecord, EventRecord, Replayed, WriteOutcome, redacted_details
from theeye.views import error_view, event_view, session_view


class MemoryEventStore:
    """Guard-then-item semantics of ``DynamoEventStore``, with optional injected faults."""

    def __init__(self, fail: Callable[[EventRecord], bool] | None = None) -> None:
        self.guards: dict[str, tuple[str, str]] = {}  # event_id -> (content_hash, origin)
        self.items: dict[tuple[str, str], EventRecord] = {}  # (session, position) -> record
        self.fail = fail or (lambda _r: False)
        self._lock = threading.Lock()

    def put_all(self, records: list[EventRecord]) -> list[WriteOutcome]:
        return [self.put(record) for record in records]

    def put(self, record: EventRecord) -> WriteOutcome:
        if self.fail(record):
            raise RetryableStoreError("injected throttling")
        event = record.event
        with self._lock:
            old = self.guards.get(event.event_id)
            if old is None:
                self.guards[event.event_id] = (record.content_hash, record.origin)
            elif old[0] != record.content_hash:
                return WriteOutcome.CONFLICT
            elif old[1] != record.origin:
                return WriteOutcome.DUPLICATE
            self.items.setdefault((event.session_id, event_position(event.timestamp, event.event_id)), record)
        return WriteOutcome.STORED


class MemoryErrorStore:
    def __init__(self) -> None:
        self.errors: dict[str, ErrorRecord] = {}
        self.erased: set[str] = set()  # ids of errors whose session was erased
        self.replayed: dict[str, Replayed] = {}  # error id -> its replay
        self._lock = threading.Lock()

    def put_all(self, records: list[ErrorRecord]) -> list[bool]:
        return [self.put(record) for record in records]

    def put(self, record: ErrorRecord) -> bool:
        with self._lock:
            if record.error_id in self.errors:
                return False
            self.errors[record.error_id] = record
            return True

    def mark_replayed(self, error_id: str, replayed: Replayed) -> bool:
        with self._lock:
            if error_id not in self.errors or error_id in self.erased or error_id in self.replayed:
                return False
            self.replayed[error_id] = replayed
            return True

    def unmark_replayed(self, error_id: str, replayed: Replayed) -> bool:
        with self._lock:
            if self.replayed.get(error_id) != replayed:
                return False
            del self.replayed[error_id]
            return True


class MemoryQueue:
    def __init__(self, fail_after: int | None = None) -> None:
        self.bodies: list[str] = []
        self.fail_after = fail_after  # take this many messages, then refuse

    def send_body(self, body: str, delay_seconds: float = 0) -> str:
        self.bodies.append(body)
        return f"memory-{len(self.bodies)}"

    def send(self, messages: list[QueueMessage]) -> None:
        taken = (
            messages if self.fail_after is None else messages[: max(0, self.fail_after - len(self.bodies))]
        )
        self.bodies += [m.to_body() for m in taken]
        if len(taken) < len(messages):
            raise QueueUnavailable(list(taken))

    def depth(self) -> dict[str, int]:
        return {"messages": len(self.bodies), "in_flight": 0}


class MemoryKeyStore:
    def __init__(self, clock: Clock = utc_now) -> None:
        self.keys: dict[str, ApiKey] = {}
        self.clock = clock

    def get(self, key_hash: str) -> ApiKey | None:
        return self.keys.get(key_hash)

    def put(self, record: ApiKey) -> None:
        if record.key_hash in self.keys:
            raise InvalidRequest("a key with this hash exists already", code="key_exists")
        self.keys[record.key_hash] = record

    def list(self) -> list[ApiKey]:
        return sorted(self.keys.values(), key=lambda k: k.created_at)

    def record_use(self, key_hash: str, used_at: str) -> None:
        record = self.keys.get(key_hash)
        if record is not None and (record.last_used_at is None or record.last_used_at < used_at):
            self.keys[key_hash] = dataclasses.replace(record, last_used_at=used_at)

    def revoke(self, key_id: str) -> ApiKey:
        found = [k for k in self.keys.values() if k.key_id == key_id]
        if not found:
            raise NotFound(f"no API key with id {key_id}")
        record = found[0]
        if record.revoked_at is None:
            record = dataclasses.replace(record, revoked_at=format_timestamp(self.clock()))
            self.keys[record.key_hash] = record
        return record


class MemoryCounters:
    """Exactly-once counting per message key, like ``DynamoCounters``."""

    def __init__(self) -> None:
        self.committed: dict[str, MessageTally] = {}
        self.intake: set[str] = set()
        self.ledger: Counter[str] = Counter()
        self.dead: set[str] = set()
        self.days: dict[str, set[str]] = {}
        self.by_minute: Counter[tuple[str, str]] = Counter()
        self.sessions: dict[str, SessionTally] = {}
        self._lock = threading.Lock()

    def count_intake(self, tallies: list[IntakeTally], *, read_first: bool = False) -> None:
        with self._lock:
            for tally in tallies:
                if tally.key not in self.intake:
                    self.intake.add(tally.key)
                    self.ledger.update(tally.counts())

    def register(self, categories_by_day: Mapping[str, Set[str]]) -> None:
        for day, names in categories_by_day.items():
            self.days.setdefault(day, set()).update(names)

    def commit_batch(self, entries: list[tuple[str, MessageTally]]) -> None:
        with self._lock:
            for key, tally in entries:
                if key in self.committed:
                    continue
                self.committed[key] = tally
                self.ledger.update({"stored": tally.stored, "duplicates": tally.duplicates})
                self.ledger.update({f"invalid_{k}": v for k, v in tally.invalid.items()})
                self.by_minute.update(tally.stored_by_minute)
                merge_sessions(self.sessions, tally.sessions)

    def count_dead_letter(self, key: str, events: int) -> bool:
        with self._lock:
            if key in self.dead:
                return False
            self.dead.add(key)
            self.ledger.update({"dead_lettered": events, "dead_lettered_messages": 1})
            return True

    def processed(self, key: str) -> bool:
        return key in self.committed

    def undo_dead_letter(self, key: str, events: int) -> bool:
        with self._lock:
            if key not in self.dead:
                return False
            self.dead.discard(key)
            self.ledger.subtract({"dead_lettered": events, "dead_lettered_messages": 1})
            return True

    def totals(self) -> Counter[str]:
        return Counter({k: v for k, v in self.ledger.items() if k})

    def buckets(self, interval: Interval, category: str, start: str, end: str) -> Counter[str]:
        lower = bucket_of(interval, start)
        counts: Counter[str] = Counter()
        for (name, minute), n in self.by_minute.items():
            bucket = bucket_of(interval, minute)
            if name == category and lower <= bucket and bucket_start(bucket) < end:
                counts[bucket] += n
        return counts

    def categories_between(self, start: datetime, end: datetime) -> set[str]:
        names: set[str] = set()
        day = start.date()
        while day <= end.date():
            names |= self.days.get(day.isoformat(), set())
            day += timedelta(days=1)
        return names

    def total(self, field: str) -> int:
        return sum(int(getattr(t, field)) for t in self.committed.values())


def _page(rows: Iterable[tuple[str, View]], window: Window, limit: int) -> Page:
    """Keyset paging over ``(position, view)`` rows, exactly as the store adapters page."""
    inside = sorted(
        (r for r in rows if window.lower <= r[0] <= window.upper and r[0] != window.after),
        key=lambda r: r[0],
        reverse=window.descending,
    )
    items = inside[:limit]
    more = len(inside) > limit
    return Page([view for _position, view in items], items[-1][0] if more else None, 1)


def _event_view(record: EventRecord) -> View:
    """Through the views every backend uses, from what a store keeps (JSON text for ``data``)."""
    event = record.event
    kept = {
        "event_id": event.event_id,
        "application_id": record.application_id,
        "session_id": event.session_id,
        "category": event.category,
        "name": event.name,
        "data": compact_json(event.data),
        "timestamp": event.timestamp,
        "client_timestamp": event.client_timestamp,
        "received_at": record.received_at,
        "context": compact_json(event.context) if event.context else None,
    }
    return event_view(kept)


class MemoryEventReader:
    def __init__(self, store: MemoryEventStore) -> None:
        self.store = store

    def _rows(self, keep: Callable[[EventRecord], bool]) -> list[tuple[str, View]]:
        return [(position, _event_view(r)) for (_s, position), r in self.store.items.items() if keep(r)]

    def by_session(
        self, session_id: str, window: Window, *, category: str | None, name: str | None, limit: int
    ) -> Page:
        def keep(r: EventRecord) -> bool:
            e = r.event
            return e.session_id == session_id and category in (None, e.category) and name in (None, e.name)

        return _page(self._rows(keep), window, limit)

    def by_category(self, category: str, window: Window, *, name: str | None, limit: int) -> Page:
        return _page(
            self._rows(lambda r: r.event.category == category and name in (None, r.event.name)), window, limit
        )

    def by_range(self, window: Window, *, name: str | None, limit: int) -> Page:
        return _page(self._rows(lambda r: name in (None, r.event.name)), window, limit)

    def get(self, event_id: str) -> View | None:
        found = [r for r in self.store.items.values() if r.event.event_id == event_id]
        return _event_view(found[0]) if found else None


def _error_view(
    record: ErrorRecord, erased: Set[str] = frozenset(), replayed: Mapping[str, Replayed] | None = None
) -> View:
    replay = (replayed or {}).get(record.error_id)
    kept = {
        **{name: getattr(record, name) for name in ("error_id", "type", "source", "application_id")},
        **{name: getattr(record, name) for name in ("received_at", "event_id", "key_id", "request_id")},
        "details": compact_json(record.details),
        "payload": compact_json(cut_payload(record.payload)),
        "session_id": record.session_id,
        "erased": record.error_id in erased,
        "replayed": compact_json(replay.to_dict()) if replay else None,
        "context": compact_json(record.context) if record.context else None,
    }
    return error_view(kept)


class MemorySessionReader:
    def __init__(self, counters: MemoryCounters) -> None:
        self.counters = counters

    def page(self, window: Window, *, application_id: str | None, limit: int) -> Page:
        rows = [
            (
                session_position(t.first_seen, session_id),
                session_view(
                    {
                        "session_id": session_id,
                        "first_seen": t.first_seen,
                        "last_seen": t.last_seen,
                        "events": t.events,
                        "application_ids": t.application_ids,
                    }
                ),
            )
            for session_id, t in list(self.counters.sessions.items())
            if application_id is None or application_id in t.application_ids
        ]
        return _page(rows, window, limit)


class MemoryEraser:
    def __init__(self, events: MemoryEventStore, errors: MemoryErrorStore, counters: MemoryCounters) -> None:
        self.events, self.errors, self.counters = events, errors, counters

    def erase(self, session_id: str) -> Erasure:
        with self.events._lock:
            doomed = [key for key in self.events.items if key[0] == session_id]
            for key in doomed:
                record = self.events.items.pop(key)
                self.events.guards.pop(record.event.event_id, None)
        with self.errors._lock:
            redacted = [
                e
                for e in self.errors.errors.values()
                if e.session_id == session_id and e.error_id not in self.errors.erased
            ]
            for error in redacted:
                self.errors.errors[error.error_id] = dataclasses.replace(
                    error, payload=None, details=redacted_details(error.details), context=None
                )
                self.errors.erased.add(error.error_id)
        with self.counters._lock:
            self.counters.sessions.pop(session_id, None)
            self.counters.ledger.update({"erased": len(doomed)})
        return Erasure(session_id, len(doomed), len(redacted))


class MemoryErrorReader:
    def __init__(self, store: MemoryErrorStore) -> None:
        self.store = store

    def page(self, window: Window, where: ErrorFilter, *, limit: int) -> Page:
        views = (
            _error_view(r, self.store.erased, self.store.replayed) for r in list(self.store.errors.values())
        )
        return _page(
            ((error_position(v["received_at"], v["error_id"]), v) for v in views if where.matches(v)),
            window,
            limit,
        )

    def get(self, error_id: str) -> View | None:
        record = self.store.errors.get(error_id)
        return _error_view(record, self.store.erased, self.store.replayed) if record else None


@dataclasses.dataclass
class MemoryStoreHealth:
    """Writable until a test says why not (``problem``)."""

    problem: str | None = None

    def write_problem(self) -> str | None:
        return self.problem


class MemoryBackend:
    """Every port in memory; ``theeye.wiring.install(MemoryBackend())`` runs the handlers on it."""

    def __init__(self) -> None:
        self.events = MemoryEventStore()
        self.errors = MemoryErrorStore()
        self.key_store = MemoryKeyStore()
        self.events_queue = MemoryQueue()
        self.dlq = MemoryQueue()
        self.counts = MemoryCounters()
        self.health = MemoryStoreHealth()

    def keys(self) -> MemoryKeyStore:
        return self.key_store

    def queue(self) -> MemoryQueue:
        return self.events_queue

    def intake(self) -> QueueThenCount:
        return QueueThenCount(self.events_queue, self.counts)

    def dead_letter_queue(self) -> MemoryQueue:
        return self.dlq

    def counters(self) -> MemoryCounters:
        return self.counts

    def event_store(self) -> MemoryEventStore:
        return self.events

    def error_store(self) -> MemoryErrorStore:
        return self.errors

    def event_reader(self) -> MemoryEventReader:
        return MemoryEventReader(self.events)

    def error_reader(self) -> MemoryErrorReader:
        return MemoryErrorReader(self.errors)

    def session_reader(self) -> MemorySessionReader:
        return MemorySessionReader(self.counts)

    def eraser(self) -> MemoryEraser:
        return MemoryEraser(self.events, self.errors, self.counts)

    def store_health(self) -> MemoryStoreHealth:
        return self.health

    def cursor_secret(self) -> bytes:
        return b"memory-backend-cursor-secret-0123456789"
