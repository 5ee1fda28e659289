"""SQLite adapter of ``ErrorStore``: one row per error id, inserted only when it is new.

What a row keeps is what ``theeye.aws.errors.error_item`` keeps: details and the payload (cut
to 32 KiB of text by ``cut_payload``) as compact JSON, key and request ids (empty when not
known), and an expiry ``retention_days`` after the error was received.
"""

from __future__ import annotations

from dataclasses import dataclass

from theeye.clock import parse_timestamp
from theeye.events import compact_json
from theeye.messages import cut_payload
from theeye.ports import error_position
from theeye.records import ErrorRecord
from theeye.sqlite.db import Database, retryable

_failure = retryable("error store")

_INSERT = (
    "INSERT INTO errors (error_id, position, type, source, application_id, received_at, event_id,"
    " details, payload, key_id, request_id, expires_at, session_id)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (error_id) DO NOTHING"
)


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
        )
