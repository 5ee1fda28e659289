"""SQLite adapter of ``ErrorStore``: one row per error id, inserted only when it is new.

What a row keeps is what ``theeye.aws.errors.error_item`` keeps: details and the payload (cut
to 32 KiB of text by ``cut_payload``) as compact JSON, key and request ids (empty when not
known), the event's stored context, and an expiry ``retention_days`` after the error was
received. A replay claims an error by marking it ``replayed`` in one conditional update.
"""

from __future__ import annotations

from dataclasses import dataclass

from theeye.clock import parse_timestamp
from theeye.events import compact_json
from theeye.messages import cut_payload
from theeye.ports import error_position
from theeye.records import ErrorRecord, Replayed
from theeye.sqlite.db import Database, retryable

_failure = retryable("error store")

_INSERT = (
    "INSERT INTO errors (error_id, position, type, source, application_id, received_at, event_id,"
    " details, payload, key_id, request_id, expires_at, session_id, context)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (error_id) DO NOTHING"
)
_MARK = "UPDATE errors SET replayed = ? WHERE error_id = ? AND erased = 0 AND replayed IS NULL"
_UNMARK = "UPDATE errors SET replayed = NULL WHERE error_id = ? AND replayed = ?"


@dataclass
class SqliteErrorStore:
    db: Database
    retention_days: int

    def put(self, record: ErrorRecord) -> bool:
        return self.put_all([record])[0]

    def put_all(self, records: list[ErrorRecord]) -> list[bool]:
        """Every record in one transaction; True for each that was new."""
        if not records:
            return []
        with self.db.write(_failure) as connection:
            return [connection.execute(_INSERT, self._row(record)).rowcount == 1 for record in records]

    def mark_replayed(self, error_id: str, replayed: Replayed) -> bool:
        with self.db.write(_failure) as connection:
            return connection.execute(_MARK, (compact_json(replayed.to_dict()), error_id)).rowcount == 1

    def unmark_replayed(self, error_id: str, replayed: Replayed) -> bool:
        with self.db.write(_failure) as connection:
            return connection.execute(_UNMARK, (error_id, compact_json(replayed.to_dict()))).rowcount == 1

    def _row(self, record: ErrorRecord) -> tuple[object, ...]:
        received = int(parse_timestamp(record.received_at).timestamp())
        return (
            record.error_id,
            error_position(record.received_at, record.error_id),
            record.type,
            record.source,
            record.application_id,
            record.received_at,
            record.event_id,
            compact_json(record.details),
            compact_json(cut_payload(record.payload)),
            record.key_id,
            record.request_id,
            received + self.retention_days * 86400,
            record.session_id,
            compact_json(record.context) if record.context else None,
        )
