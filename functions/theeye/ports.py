"""The ports: what the use cases need from storage and queues, and nothing of how it is kept.

Each Protocol is named for what the domain asks (``EventStore.put``, ``EventQueue.send``,
``EventReader.by_session``), never for a storage engine's verbs. Every backend implements
every one of them (``Backend`` builds them); ``theeye.wiring`` chooses the backend, and one
contract suite per port (``tests/contract``) holds every implementation to the same behaviour.

Session summaries (``GET /sessions``) have one owner: the processor's counting step,
``BatchLedger.commit_batch``. The event store stores rows and nothing else.

Reads are keyset-paged. A position is an opaque string that sorts like the items it follows
(``<timestamp>#<event_id>`` for events, ``<received_at>#<error_id>`` for errors); a cursor
carries it, and a page continues strictly after it in reading order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from theeye.buckets import Interval
from theeye.clock import format_timestamp
from theeye.keys import ApiKey
from theeye.ledger import IntakeTally, MessageTally
from theeye.messages import QueueMessage
from theeye.records import ErrorRecord, EventRecord, Replayed, WriteOutcome

# Every position starts with a four-digit year, so these bound "everything".
LOWEST_POSITION = "0"
HIGHEST_POSITION = "9~"


def event_position(timestamp: str, event_id: str) -> str:
    """Where an event sorts: fixed-width UTC time first, so position order is time order; the id breaks ties."""
    return f"{timestamp}#{event_id}"


def error_position(received_at: str, error_id: str) -> str:
    return f"{received_at}#{error_id}"


def session_position(first_seen: str, session_id: str) -> str:
    """Where a session sorts in ``GET /sessions``: by its first event, then its id."""
    return f"{first_seen}#{session_id}"


# A stored event or a recorded error as the API shows it (plus, for errors, ``key_id`` and
# ``request_id``, which operators see and the query API does not).
View = dict[str, Any]


@dataclass(frozen=True)
class Window:
    """A time range read in one direction, continuing after ``after`` (a position) if given.

    ``lower`` and ``upper`` are inclusive bounds on positions: ``"ts#id" <= "end"`` exactly
    when ``ts < end``, so an inclusive bound makes ``end`` exclusive, as the API's ``to`` is.
    """

    start: datetime | None
    end: datetime | None
    descending: bool
    after: str | None

    @property
    def lower(self) -> str:
        bound = format_timestamp(self.start) if self.start else LOWEST_POSITION
        if self.after is not None and not self.descending:
            bound = max(bound, self.after)
        return bound

    @property
    def upper(self) -> str:
        bound = format_timestamp(self.end) if self.end else HIGHEST_POSITION
        if self.after is not None and self.descending:
            bound = min(bound, self.after)
        return bound


@dataclass(frozen=True)
class ErrorFilter:
    """Which recorded errors: of a type, from a source, of an application, replayed or not
    (None: any)."""

    type: str | None = None
    source: str | None = None
    application_id: str | None = None
    replayed: bool | None = None

    def matches(self, view: View) -> bool:
        wanted = (("type", self.type), ("source", self.source), ("application_id", self.application_id))
        replayed = self.replayed is None or (view.get("replayed") is not None) == self.replayed
        return replayed and all(want is None or view.get(name) == want for name, want in wanted)


@dataclass
class Page:
    items: list[View]
    position: str | None  # where the next page starts (exclusive); None when nothing is left
    requests: int = 0  # store calls spent on the page (what it cost; the benchmarks report it)


# -- the write side -------------------------------------------------------------------------


class EventStore(Protocol):
    def put(self, record: EventRecord) -> WriteOutcome:
        """Store an event once per ``event_id``: STORED (also when finishing our own earlier,
        half-done attempt of the same delivery), DUPLICATE (same content, another delivery) or
        CONFLICT (other content; the first version is kept). Raises ``RetryableStoreError``."""
        ...

    def put_all(self, records: list[EventRecord]) -> list[WriteOutcome]:
        """``put`` of every record, outcomes in order: one transaction where the store has them,
        concurrent calls where it has not. Raises ``RetryableStoreError`` when any failed; the
        records that were written stay written (a retry finds them)."""
        ...


class ErrorStore(Protocol):
    def put(self, record: ErrorRecord) -> bool:
        """Record an error; False when the same error id was recorded before."""
        ...

    def put_all(self, records: list[ErrorRecord]) -> list[bool]:
        """``put`` of every record, in order, as ``EventStore.put_all`` writes events."""
        ...

    def mark_replayed(self, error_id: str, replayed: Replayed) -> bool:
        """Claim an error for a replay before its event is queued again: mark it ``replayed``
        when it exists, is not erased and was not replayed, in one conditional write; False
        otherwise (another replay claimed it first, its session was erased, it expired)."""
        ...

    def unmark_replayed(self, error_id: str, replayed: Replayed) -> bool:
        """Give back a claim whose event could not be queued: remove the mark when it is still
        exactly ``replayed``; False otherwise."""
        ...


class EventQueue(Protocol):
    def send(self, messages: list[QueueMessage]) -> None:
        """Durably enqueue every message, or raise ``QueueUnavailable`` naming those taken."""
        ...


class Intake(Protocol):
    """Ingest's one write (``theeye.intake``)."""

    def accept(self, messages: list[QueueMessage]) -> None:
        """Durably enqueue every message and count in the ledger what it carries
        (``theeye.intake.intake_tally``); raise ``QueueUnavailable`` naming the messages taken
        (those are counted)."""
        ...


class QueueDepth(Protocol):
    def depth(self) -> dict[str, int]:
        """Approximate ``messages`` waiting (visible + delayed) and ``in_flight``."""
        ...


class BodyQueue(Protocol):
    def send_body(self, body: str, delay_seconds: float = 0) -> str:
        """Enqueue one message body exactly as given; its message id. Raises ``QueueUnavailable``."""
        ...


class DeadLetterQueue(BodyQueue, QueueDepth, Protocol):
    """The dead-letter queue: the processor moves messages into it, the dashboards read its depth."""


class IngestLedger(Protocol):
    def count_intake(self, tallies: list[IntakeTally], *, read_first: bool = False) -> None:
        """Add what each queued message carries, once per message key: a key counted before
        adds nothing. Ingest counts as it queues; the processor counts again, as a safety net,
        every message it handles (``read_first``: nearly all are counted already, and a read
        costs less than a refused write where the two differ)."""
        ...


class BatchLedger(IngestLedger, Protocol):
    """What the processor counts: each message's intake and outcome exactly once, categories per day."""

    def register(self, categories_by_day: Mapping[str, Set[str]]) -> None:
        """Record that these categories had events on these days (idempotent)."""
        ...

    def commit_batch(self, entries: list[tuple[str, MessageTally]]) -> None:
        """Add each message's tally once: a message key counted before adds nothing.

        Also the one keeper of the session summaries: the sessions of ``MessageTally.sessions``
        are brought up to date here, so that a summary counts each stored event exactly once
        however often its message is delivered - either by adding the tallies under the same
        exactly-once markers as the counts, or by reading the sessions' stored events again
        within the counting's own transaction."""
        ...

    def count_dead_letter(self, key: str, events: int) -> bool:
        """A message failed its last delivery; False when it was counted before."""
        ...

    def processed(self, key: str) -> bool:
        """Whether a message's outcome was counted (a delivery that died after its commit)."""
        ...


class DeadLetterLedger(Protocol):
    def undo_dead_letter(self, key: str, events: int) -> bool:
        """A dead letter went back to the queue; False when it was not counted as dead."""
        ...


class KeyStore(Protocol):
    def get(self, key_hash: str) -> ApiKey | None: ...

    def put(self, record: ApiKey) -> None:
        """Store a new key; ``InvalidRequest`` when its hash exists."""
        ...

    def list(self) -> list[ApiKey]:
        """Every key, oldest first."""
        ...

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke a key (idempotent); ``NotFound`` for an unknown id."""
        ...

    def record_use(self, key_hash: str, used_at: str) -> None:
        """Keep ``used_at`` as the key's ``last_used_at`` unless a later time is kept already;
        an unknown hash changes nothing. Raises like any write (the caller decides whether
        that matters)."""
        ...


# -- the read side --------------------------------------------------------------------------


class EventReader(Protocol):
    """Pages of stored events in ``(timestamp, event_id)`` order within a window.

    A page may come back short with a position (a filter that matches little spent the
    page's budget); it never skips an event. Raises ``ServiceUnavailable``.
    """

    def by_session(
        self, session_id: str, window: Window, *, category: str | None, name: str | None, limit: int
    ) -> Page: ...

    def by_category(self, category: str, window: Window, *, name: str | None, limit: int) -> Page: ...

    def by_range(self, window: Window, *, name: str | None, limit: int) -> Page:
        """Every category's events in the window (the window has both ends)."""
        ...

    def get(self, event_id: str) -> View | None: ...


class ErrorReader(Protocol):
    """Pages of recorded errors in ``(received_at, error_id)`` order within a window.

    A view carries, besides what the API shows (``replayed`` included), ``key_id``,
    ``request_id`` and ``context`` (the event's stored context; None when not kept), which a
    replay needs and the query API does not show."""

    def page(self, window: Window, where: ErrorFilter, *, limit: int) -> Page: ...

    def get(self, error_id: str) -> View | None: ...


class SessionReader(Protocol):
    """Session summaries in ``(first_seen, session_id)`` order within a window."""

    def page(self, window: Window, *, application_id: str | None, limit: int) -> Page: ...


@dataclass(frozen=True)
class Erasure:
    session_id: str
    events_erased: int
    errors_redacted: int


class Eraser(Protocol):
    """Erasure of a session for a data-subject request (``DELETE /sessions/{id}``)."""

    def erase(self, session_id: str) -> Erasure:
        """Delete the session's events (and their guards, so the same events sent again are
        new data) and its summary, replace the payload of its errors by null, and count the
        erased events in the ledger exactly once; a second call finds nothing and answers zeros.
        Raises ``RetryableStoreError`` (then part may be done, and a retry finishes it)."""
        ...


class CountsReader(Protocol):
    """The ledger's totals and the stored-event counts per category and time bucket."""

    def totals(self) -> Counter[str]:
        """Every ledger counter (``accepted``, ``stored``, ``invalid_<type>``, ...)."""
        ...

    def buckets(self, interval: Interval, category: str, start: str, end: str) -> Counter[str]:
        """Stored events of one category per bucket starting in ``[start, end)``."""
        ...

    def categories_between(self, start: datetime, end: datetime) -> set[str]:
        """Every category registered on a UTC day that ``[start, end)`` touches."""
        ...


class Counters(BatchLedger, DeadLetterLedger, CountsReader, Protocol):
    """Everything the pipeline counts, and its readers: one adapter per backend."""


class Queue(EventQueue, BodyQueue, QueueDepth, Protocol):
    """The events queue as ingest, the processor (putting back what it had no time for) and the
    dashboards see it."""


class StoreHealth(Protocol):
    def write_problem(self) -> str | None:
        """Why the store cannot take writes right now, in plain words; None when it can."""
        ...


@dataclass(frozen=True)
class LakeUpsert:
    """A stored event, as the row of the ``events`` table it becomes (``theeye.analytics.table.row_of``).

    ``sequence`` grows with the source's order of changes (the local change log's position, the
    stream's sequence number on AWS); it only has to order the changes of one event, and an
    event's upserts against the deletes that name it or its session."""

    sequence: int
    row: Mapping[str, Any]


@dataclass(frozen=True)
class LakeDelete:
    """Rows gone from the store (an erasure, or retention): every row of ``session_id`` (when
    given) and every row whose ``event_id`` is listed. An upsert of one of them whose
    ``sequence`` is not above this delete's stays out, even when it arrives later.

    ``event_time`` is the deleted event's, when the delete names one event and the source
    knows it (the AWS lake needs it: its table is partitioned by that time's day)."""

    sequence: int
    session_id: str | None = None
    event_ids: tuple[str, ...] = ()
    event_time: datetime | None = None


LakeChange = LakeUpsert | LakeDelete


class LakeSink(Protocol):
    """The change -> lake step: what keeps the ``events`` table of ``POST /sql`` equal to the store.

    One contract suite (``tests/contract/test_lake_sink.py``) holds every implementation to it:
    an event's row is there once however often its upsert is delivered, a delete removes the
    rows (and their bytes) it names, and a delete hides every upsert of those events that is not
    newer than it, whatever order the two arrive in."""

    def apply(self, changes: Sequence[LakeChange]) -> None:
        """Apply ``changes`` in the order given, all or none; raises when they could not be
        applied (then applying them again is safe)."""
        ...


@dataclass(frozen=True)
class StreamChange:
    """A lake change read from a change stream, and the first record of the stream it stands
    for (where the stream resumes when the change could not be applied)."""

    change: LakeChange
    first_record: str


# A batch of a change stream's records read as lake changes, in the stream's order.
ChangeReader = Callable[[Sequence[Mapping[str, Any]]], list[StreamChange]]


class ErasureLog(Protocol):
    """The sessions erased lately (the lake's erasure sweep deletes their rows again)."""

    def erased_since(self, now: datetime) -> list[str]: ...


class LakeStatements(Protocol):
    """Statements the lake's maintenance runs to their end (the sweep's ``DELETE``)."""

    def execute(self, sql: str, *, timeout_seconds: float) -> None: ...


class Backend(Protocol):
    """Builds every adapter of one backend; ``theeye.wiring`` chooses which backend runs."""

    def keys(self) -> KeyStore: ...

    def queue(self) -> Queue: ...

    def intake(self) -> Intake: ...

    def dead_letter_queue(self) -> DeadLetterQueue: ...

    def counters(self) -> Counters: ...

    def event_store(self) -> EventStore: ...

    def error_store(self) -> ErrorStore: ...

    def event_reader(self) -> EventReader: ...

    def error_reader(self) -> ErrorReader: ...

    def session_reader(self) -> SessionReader: ...

    def eraser(self) -> Eraser: ...

    def store_health(self) -> StoreHealth: ...

    def cursor_secret(self) -> bytes:
        """The key that signs query cursors."""
        ...
