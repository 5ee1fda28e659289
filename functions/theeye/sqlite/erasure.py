"""SQLite adapter of ``Eraser``: a session's events, guards, summary and error payloads, in one
transaction with the ledger's ``erased`` count and the lake's change log (the session and the
event ids, no payload), so an erasure is all done or not at all.

The bytes go too: connections delete with ``secure_delete`` (freed space is zeroed), and once
the transaction is committed the write-ahead log, which still holds the pages as they were, is
checkpointed into the file and cut to zero bytes (``Database.truncate_wal``). That runs on
every call, so a call that found nothing left to erase still finishes an earlier one's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from theeye.events import compact_json
from theeye.ports import Erasure
from theeye.records import redacted_details
from theeye.sqlite import changes, session_summaries
from theeye.sqlite.db import Database, retryable
from theeye.sqlite.ledger import add_counts

_failure = retryable("erasure")

_DELETE_GUARDS = (
    "DELETE FROM event_guards WHERE event_id IN (SELECT event_id FROM events WHERE session_id = ?)"
    " AND position IN (SELECT position FROM events WHERE session_id = ?)"
)
_DELETE_EVENTS = "DELETE FROM events WHERE session_id = ? RETURNING event_id"
_ERRORS = "SELECT error_id, details FROM errors WHERE session_id = ? AND erased = 0"
_REDACT = "UPDATE errors SET payload = 'null', details = ?, context = NULL, erased = 1 WHERE error_id = ?"


@dataclass
class SqliteEraser:
    db: Database

    def erase(self, session_id: str) -> Erasure:
        with self.db.write(_failure) as connection:
            connection.execute(_DELETE_GUARDS, (session_id, session_id))
            event_ids = [row["event_id"] for row in connection.execute(_DELETE_EVENTS, (session_id,))]
            if event_ids:
                changes.record_removed(connection, changes.ERASED, event_ids, session_id)
            session_summaries.forget(connection, session_id)
            errors = connection.execute(_ERRORS, (session_id,)).fetchall()
            connection.executemany(
                _REDACT,
                [(compact_json(redacted_details(json.loads(e["details"]))), e["error_id"]) for e in errors],
            )
            add_counts(connection, {"erased": len(event_ids)})
        self.db.truncate_wal(_failure)
        return Erasure(session_id, len(event_ids), len(errors))
