"""The change log the local lake is fed from: one row per stored event and per removal, written
in the same transaction as the change itself, so the lake misses none and sees none that did
not happen.

``lake_changes`` holds no payload: a stored event is named by its row's position in ``events``
(its row is read when the change is applied; gone by then means a later removal covers it), a
removal by its session (erasure) and the event ids it removed (erasure, retention). An erasure
therefore leaves no copy of what it erased here. ``position`` only grows (``AUTOINCREMENT``:
never reused, even after the applied rows are pruned), and SQLite has one writer at a time, so
the positions are in commit order: a reader that has applied everything up to ``p`` never sees
a change below ``p`` appear later.

``lake_source`` is this file's identity, made once by the migration that brought the log: a
lake fed from another file (the store was deleted and started anew) is rebuilt, not continued.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from theeye.analytics.table import row_of
from theeye.ports import LakeChange, LakeDelete, LakeUpsert
from theeye.sqlite.db import Database, compose, retryable, unavailable
from theeye.views import event_view

STORED: Final = "stored"
ERASED: Final = "erased"
EXPIRED: Final = "expired"

_read_failure = unavailable("change log")
_write_failure = retryable("change log")

_RECORD = "INSERT INTO lake_changes (kind, event_position, session_id, event_ids) VALUES (?, ?, ?, ?)"
_EVENT_COLUMNS = (
    "e.position AS stored_position, e.event_id, e.application_id, e.session_id AS event_session_id,"
    " e.category, e.name, e.data, e.timestamp, e.client_timestamp, e.received_at, e.context"
)
_CHANGES = compose(
    "SELECT c.position, c.kind, c.session_id, c.event_ids,",
    _EVENT_COLUMNS,
    "FROM lake_changes AS c LEFT JOIN events AS e ON e.position = c.event_position",
    "WHERE c.position > ? ORDER BY c.position LIMIT ?",
)
_EVENTS = compose(
    "SELECT", _EVENT_COLUMNS, "FROM events AS e WHERE e.position > ? ORDER BY e.position LIMIT ?"
)
_FIRST = "SELECT min(position) AS first FROM lake_changes"
_LAST = "SELECT seq FROM sqlite_sequence WHERE name = 'lake_changes'"
_SOURCE = "SELECT id FROM lake_source"
_PRUNE = "DELETE FROM lake_changes WHERE position <= ?"


def record_stored(connection: sqlite3.Connection, event_position: str) -> None:
    """In the transaction that stored the event at ``event_position``."""
    connection.execute(_RECORD, (STORED, event_position, None, None))


def record_removed(
    connection: sqlite3.Connection, kind: str, event_ids: Sequence[str], session_id: str | None = None
) -> None:
    """In the transaction that removed ``event_ids`` (and, for an erasure, ``session_id``)."""
    connection.execute(_RECORD, (kind, None, session_id, json.dumps(list(event_ids))))


@dataclass(frozen=True)
class Batch:
    """Changes after a position: ``changes`` in order, and ``reached``, the last position read
    (an upsert whose event is gone by now is left out: a later removal in the log covers it)."""

    changes: list[LakeChange]
    reached: int
    full: bool  # as many as asked for: more may follow


@dataclass
class SqliteChangeLog:
    db: Database

    def after(self, position: int, limit: int) -> Batch:
        rows = self.db.read(_read_failure, _CHANGES, (position, limit))
        changes: list[LakeChange] = []
        for row in rows:
            if row["kind"] == STORED:
                if row["stored_position"] is not None:
                    changes.append(LakeUpsert(row["position"], row_of(event_view(_stored(row)))))
            else:
                event_ids = tuple(json.loads(row["event_ids"] or "[]"))
                changes.append(LakeDelete(row["position"], row["session_id"], event_ids))
        return Batch(changes, rows[-1]["position"] if rows else position, len(rows) == limit)

    def events_after(self, event_position: str, limit: int, sequence: int) -> tuple[list[LakeUpsert], str]:
        """Stored events in position order after ``event_position`` (``theeye.ports.LOWEST_POSITION``:
        from the first) as upserts at ``sequence``, and the last event position read."""
        rows = self.db.read(_read_failure, _EVENTS, (event_position, limit))
        upserts = [LakeUpsert(sequence, row_of(event_view(_stored(row)))) for row in rows]
        return upserts, rows[-1]["stored_position"] if rows else event_position

    def first(self) -> int | None:
        """The oldest position still in the log (None: the log is empty)."""
        value = self.db.read(_read_failure, _FIRST)[0]["first"]
        return None if value is None else int(value)

    def last(self) -> int:
        """The newest position ever written (0: none yet), pruned or not."""
        rows = self.db.read(_read_failure, _LAST)
        return int(rows[0]["seq"]) if rows else 0

    def complete_after(self, position: int) -> bool:
        """Whether every change after ``position`` is still in the log (none was pruned)."""
        first = self.first()
        return position >= self.last() or (first is not None and first <= position + 1)

    def source(self) -> str:
        return str(self.db.read(_read_failure, _SOURCE)[0]["id"])

    def prune(self, through: int) -> None:
        """Forget the changes up to ``through``: the lake has them."""
        with self.db.write(_write_failure) as connection:
            connection.execute(_PRUNE, (through,))


def _stored(row: sqlite3.Row) -> dict[str, object]:
    """The event's columns of a joined row, under the names ``event_view`` reads."""
    return {
        "event_id": row["event_id"],
        "application_id": row["application_id"],
        "session_id": row["event_session_id"],
        "category": row["category"],
        "name": row["name"],
        "data": row["data"],
        "timestamp": row["timestamp"],
        "client_timestamp": row["client_timestamp"],
        "received_at": row["received_at"],
        "context": row["context"],
    }
