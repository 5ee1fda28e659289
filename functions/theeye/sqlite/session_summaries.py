"""SQLite adapter of the session summaries (``GET /sessions``): ``sessions``, one row per
session that has stored events - how many, the first and last, which applications sent them.

The counting transaction (``theeye.sqlite.ledger``) brings the summaries of the sessions a
batch stored events of up to date from the stored rows themselves, through the
``events_by_session`` index: a summary counts each stored row once however often its
message is delivered, and an erasure (one transaction too) that ran between a message's
write and its count leaves nothing of the erased rows behind. ``SqliteSessionReader``
(``theeye.sqlite.reads``) pages the summaries; erasure deletes one with ``forget``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable

from theeye.events import compact_json
from theeye.ports import session_position

SUMMARY = (
    "SELECT count(*) AS events, min(position) AS first, max(position) AS last,"
    " json_group_array(DISTINCT application_id) AS application_ids FROM events WHERE session_id = ?"
)
_PUT = (
    "INSERT OR REPLACE INTO sessions (session_id, position, first_seen, last_seen, events, application_ids)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
_FORGET = "DELETE FROM sessions WHERE session_id = ?"


def refresh(connection: sqlite3.Connection, session_ids: Iterable[str]) -> None:
    """Write each session's summary as its stored rows say, inside the caller's transaction
    (none when it has no rows left)."""
    for session_id in sorted(session_ids):
        row = connection.execute(SUMMARY, (session_id,)).fetchone()
        if not row["events"]:
            forget(connection, session_id)
            continue
        first_seen = str(row["first"]).split("#", 1)[0]  # a position is "<timestamp>#<event id>"
        last_seen = str(row["last"]).split("#", 1)[0]
        connection.execute(
            _PUT,
            (
                session_id,
                session_position(first_seen, session_id),
                first_seen,
                last_seen,
                row["events"],
                compact_json(sorted(json.loads(row["application_ids"]))),
            ),
        )


def forget(connection: sqlite3.Connection, session_id: str) -> None:
    """Delete a session's summary, inside the caller's transaction."""
    connection.execute(_FORGET, (session_id,))
