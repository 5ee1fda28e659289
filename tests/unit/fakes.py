"""In-memory stand-ins for the stores, with the same semantics as the DynamoDB adapters."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Set

from theeye.error_store import ErrorRecord
from theeye.errors import RetryableStoreError
from theeye.event_store import EventRecord, WriteOutcome
from theeye.ledger import MessageTally


class MemoryEventStore:
    """Guard-then-item semantics of ``DynamoEventStore``, with optional injected faults."""

    def __init__(self, fail: Callable[[EventRecord], bool] | None = None) -> None:
        self.guards: dict[str, tuple[str, str]] = {}  # event_id -> (content_hash, origin)
        self.items: dict[tuple[str, str], EventRecord] = {}
        self.fail = fail or (lambda _r: False)
        self._lock = threading.Lock()

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
            self.items.setdefault((event.session_id, f"{event.timestamp}#{event.event_id}"), record)
        return WriteOutcome.STORED


class MemoryErrorStore:
    def __init__(self) -> None:
        self.errors: dict[str, ErrorRecord] = {}
        self._lock = threading.Lock()

    def put(self, record: ErrorRecord) -> bool:
        with self._lock:
            if record.error_id in self.errors:
                return False
            self.errors[record.error_id] = record
            return True


class MemoryCategoryRegistry:
    def __init__(self) -> None:
        self.days: dict[str, set[str]] = {}

    def register(self, categories_by_day: Mapping[str, Set[str]]) -> None:
        for day, names in categories_by_day.items():
            self.days.setdefault(day, set()).update(names)

    def categories(self, day: str) -> set[str]:
        return set(self.days.get(day, set()))


class MemoryLedger:
    """Exactly-once counting per message key, like ``DynamoLedger``."""

    def __init__(self) -> None:
        self.committed: dict[str, MessageTally] = {}

    def commit_batch(self, entries: list[tuple[str, MessageTally]]) -> None:
        for key, tally in entries:
            self.committed.setdefault(key, tally)

    def total(self, field: str) -> int:
        return sum(int(getattr(t, field)) for t in self.committed.values())
