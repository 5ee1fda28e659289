"""SQLite adapter of ``EventStore``: a guard row per event id and the event row, one transaction.

The guard (``event_guards``) remembers the content hash and the origin (the delivery) of the
first version stored under an id, exactly like ``DynamoEventStore``'s guard item: the same
content from another delivery is a DUPLICATE, other content a CONFLICT (the first version is
kept), and the same delivery again is STORED (finishing its work if it was half done) - never
a second row. A row stored is written to the lake's change log in the same transaction
(``theeye.sqlite.changes``). The sessions' summaries are the counting's (``theeye.sqlite.session_summaries``).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from theeye.clock import format_timestamp, utc_now
from theeye.events import compact_json
from theeye.ports import event_position
from theeye.records import EventRecord, WriteOutcome
from theeye.sqlite import changes
from theeye.sqlite.db import Database, retryable

_failure = retryable("event store")

_GUARD = "SELECT content_hash, origin FROM event_guards WHERE event_id = ?"
_INSERT_GUARD = (
    "INSERT INTO event_guards (event_id, content_hash, origin, position, expires_at) VALUES (?, ?, ?, ?, ?)"
)
_INSERT_EVENT = (
    "INSERT INTO events (position, event_id, application_id, session_id, category, name, data,"
    " timestamp, client_timestamp, received_at, stored_at, expires_at, context)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (position) DO NOTHING"
)


@dataclass
class SqliteEventStore:
    db: Database

    def put(self, record: EventRecord) -> WriteOutcome:
        return self.put_all([record])[0]

    def put_all(self, records: list[EventRecord]) -> list[WriteOutcome]:
        """Every record in one transaction: one durable commit for a whole message's events."""
        if not records:
            return []
        stored_at = format_timestamp(utc_now())
        with self.db.write(_failure) as connection:
            return [_put(connection, record, stored_at) for record in records]


def _put(connection: sqlite3.Connection, record: EventRecord, stored_at: str) -> WriteOutcome:
    event = record.event
    position = event_position(event.timestamp, event.event_id)
    old = connection.execute(_GUARD, (event.event_id,)).fetchone()
    if old is None:
        connection.execute(
            _INSERT_GUARD, (event.event_id, record.content_hash, record.origin, position, record.expires_at)
        )
    elif old["content_hash"] != record.content_hash:
        return WriteOutcome.CONFLICT
    elif old["origin"] != record.origin:
        return WriteOutcome.DUPLICATE
    # New, or our own earlier attempt of this same delivery: the row exists once.
    inserted = connection.execute(
        _INSERT_EVENT,
        (
            position,
            event.event_id,
            record.application_id,
            event.session_id,
            event.category,
            event.name,
            compact_json(event.data),
            event.timestamp,
            None if event.client_timestamp == event.timestamp else event.client_timestamp,
            record.received_at,
            stored_at,
            record.expires_at,
            compact_json(event.context) if event.context else None,
        ),
    ).rowcount
    if inserted:
        changes.record_stored(connection, position)
    return WriteOutcome.STORED
