"""SQLite adapter of ``Eraser``: a session's events, guards, summary and error payloads, in one
transaction with the ledger's ``erased`` count, so an erasure is all done or not at all."""

from __future__ import annotations

import json
from dataclasses import dataclass

from theeye.events import compact_json
from theeye.ports import Erasure
from theeye.records import redacted_details
from theeye.sqlite import session_summaries
from theeye.sqlite.db import Database, retryable
from theeye.sqlite.ledger import add_counts

_failure = retryable("erasure")

_DELETE_GUARDS = (
    "DELETE FROM event_guards WHERE event_id IN (SELECT event_id FROM events WHERE session_id = ?)"
    " AND position IN (SELECT position FROM events WHERE session_id = ?)"
)
_DELETE_EVENTS = "DELETE FROM events WHERE session_id = ?"
_ERRORS = "SELECT error_id, details FROM errors WHERE session_id = ? AND erased = 0"
_REDACT = "UPDATE errors SET payload = 'null', details = ?, context = NULL, erased = 1 WHERE error_id = ?"


@dataclass
class SqliteEraser:
    db: Database

    def erase(self, session_id: str) -> Erasure:
        with self.db.write(_failure) as connection:
            connection.execute(_DELETE_GUARDS, (session_id, session_id))
            events = connection.execute(_DELETE_EVENTS, (session_id,)).rowcount
            session_summaries.forget(connection, session_id)
            errors = connection.execute(_ERRORS, (session_id,)).fetchall()
            connection.executemany(
                _REDACT,
                [(compact_json(redacted_details(json.loads(e["details"]))), e["error_id"]) for e in errors],
            )
            add_counts(connection, {"erased": events})
        return Erasure(session_id, events, len(errors))
