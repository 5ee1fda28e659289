"""The processing use case: one queued message in, stored events and recorded errors out.

Validation outcomes are final: an invalid event becomes an error record and the message is
done. Anything else (a throttled write, a timeout, an unreadable message) raises, so that
only this message fails, SQS delivers it again, and after the last attempt moves it to the
dead-letter queue. Every write is idempotent, so a redelivery never stores or records twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from theeye import checks
from theeye.buckets import bucket_of
from theeye.clock import parse_timestamp
from theeye.events import FieldError, usable_session_id
from theeye.intake import intake_tally
from theeye.ledger import (
    PROCESSOR_INVALID,
    IntakeTally,
    MessageTally,
    SessionTally,
    merge_sessions,
    message_key,
)
from theeye.messages import Origin, QueuedEvent, QueueMessage, Rejection
from theeye.ports import BatchLedger, ErrorStore, EventStore
from theeye.records import ErrorRecord, EventRecord, WriteOutcome, derive_error_id
from theeye.schemas import SchemaRegistry


@dataclass(frozen=True)
class Rules(checks.Rules):
    """The rules the checks apply (``theeye.checks``), and how long stored events are kept."""

    event_retention_days: int = 0


@dataclass
class Processor:
    events: EventStore
    errors: ErrorStore
    ledger: BatchLedger
    schemas: SchemaRegistry
    rules: Rules


@dataclass
class Outcome:
    """What one message turned into; every event it carried is counted exactly once here."""

    stored: int = 0
    duplicates: int = 0
    invalid: Counter[str] = field(default_factory=Counter)
    stored_by_category: Counter[tuple[str, str]] = field(default_factory=Counter)  # (category, minute)
    received_at: str = ""
    recorded: list[tuple[str, str | None, str]] = field(default_factory=list)  # (type, event id, error id)
    key: str = ""  # the message's ledger key (stable across redeliveries)
    intake: IntakeTally | None = None  # what the message counted for at ingest
    sessions: dict[str, SessionTally] = field(default_factory=dict)  # what it stored, by session

    def tally(self) -> MessageTally:
        """What this message adds to the ledger (ingest rejections were counted by ingest)."""
        return MessageTally(
            stored=self.stored,
            duplicates=self.duplicates,
            invalid={k: v for k, v in self.invalid.items() if k in PROCESSOR_INVALID},
            stored_by_minute=self.stored_by_category,
            sessions=self.sessions,
        )

    def add_session(self, record: EventRecord) -> None:
        event = record.event
        merge_sessions(
            self.sessions, {event.session_id: SessionTally.of_event(event.timestamp, record.application_id)}
        )

    @property
    def total(self) -> int:
        return self.stored + self.duplicates + sum(self.invalid.values())


def process_message(body: str, processor: Processor) -> Outcome:
    message = QueueMessage.from_body(body)
    outcome = Outcome(received_at=message.origin.received_at)
    errors = [ingest_error(message.origin, r) for r in message.rejections]
    outcome.invalid.update(r.type for r in message.rejections)

    to_store: list[EventRecord] = []
    for queued in message.events:
        problem = check(queued, message.origin, processor)
        if problem is None:
            to_store.append(event_record(queued, message.origin, processor.rules))
        else:
            errors.append(problem)
            outcome.invalid[problem.type] += 1

    # Register categories before their events exist, so a time-range query never misses one.
    days: dict[str, set[str]] = {}
    for record in to_store:
        days.setdefault(bucket_of("day", record.event.timestamp), set()).add(record.event.category)
    processor.ledger.register(days)

    for record, written in zip(to_store, processor.events.put_all(to_store), strict=True):
        if written is WriteOutcome.STORED:
            outcome.stored += 1
            minute = record.event.timestamp[:16]
            outcome.stored_by_category[(record.event.category, minute)] += 1
            outcome.add_session(record)
        elif written is WriteOutcome.DUPLICATE:
            outcome.duplicates += 1
        else:
            outcome.invalid["event_id_conflict"] += 1
            errors.append(conflict_error(record, message.origin))

    processor.errors.put_all(errors)
    outcome.recorded = [(e.type, e.event_id, e.error_id) for e in errors]
    outcome.key = message_key(body)
    outcome.intake = intake_tally(message, body)
    return outcome


def commit(processor: Processor, outcomes: list[Outcome]) -> None:
    """Count a batch's messages in the ledger, once each, after all they say has been written:
    first their intake, when ingest did not count it (it died between queueing and counting),
    then what they turned into."""
    if outcomes:
        processor.ledger.count_intake([o.intake for o in outcomes if o.intake], read_first=True)
        processor.ledger.commit_batch([(o.key, o.tally()) for o in outcomes])


def check(queued: QueuedEvent, origin: Origin, processor: Processor) -> ErrorRecord | None:
    """The error an event deserves (the first rule of ``theeye.checks`` it breaks, judged at its
    receipt), or None when it may be stored."""
    found = checks.findings(queued.event, origin.received_at, processor.schemas, processor.rules)
    if not found:
        return None
    return event_error(found[0].type, queued, origin, found[0].errors)


def event_record(queued: QueuedEvent, origin: Origin, rules: Rules) -> EventRecord:
    expires = None
    if rules.event_retention_days > 0:
        received = parse_timestamp(origin.received_at).timestamp()
        expires = int(received) + rules.event_retention_days * 86400
    return EventRecord(
        event=queued.event,
        application_id=origin.application_id,
        received_at=origin.received_at,
        origin=f"{origin.request_id}#{queued.index}",
        content_hash=queued.event.content_hash(),
        expires_at=expires,
    )


def ingest_error(origin: Origin, rejection: Rejection) -> ErrorRecord:
    payload = rejection.payload
    event_id = rejection.event_id or (payload.get("event_id") if isinstance(payload, dict) else None)
    return ErrorRecord(
        error_id=derive_error_id(origin.request_id, "rejection", str(rejection.index)),
        type=rejection.type,
        source="ingest",
        application_id=origin.application_id,
        received_at=origin.received_at,
        event_id=event_id if isinstance(event_id, str) else None,
        session_id=rejection.session_id or usable_session_id(payload),
        details=rejection.errors,
        payload=payload,
        key_id=origin.key_id,
        request_id=origin.request_id,
    )


def event_error(
    kind: str, queued: QueuedEvent, origin: Origin, problems: Iterable[FieldError]
) -> ErrorRecord:
    event = queued.event
    return ErrorRecord(
        error_id=derive_error_id(event.event_id, kind, event.content_hash()),
        type=kind,
        source="processor",
        application_id=origin.application_id,
        received_at=origin.received_at,
        event_id=event.event_id,
        session_id=event.session_id,
        details=[p.to_dict() for p in problems],
        payload=queued.as_sent(),
        key_id=origin.key_id,
        request_id=origin.request_id,
        context=event.context or None,
    )


def conflict_error(record: EventRecord, origin: Origin) -> ErrorRecord:
    message = "was already stored with other content; the first version is kept"
    queued = QueuedEvent(0, record.event)
    return event_error("event_id_conflict", queued, origin, [FieldError("event_id", message)])


def lag_seconds(outcome: Outcome, now: str) -> float:
    """Seconds from receipt at ingest to the end of processing."""
    return (parse_timestamp(now) - parse_timestamp(outcome.received_at)).total_seconds()
