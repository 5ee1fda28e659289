"""The sweep that does for SQLite what DynamoDB's TTL does on AWS: rows past ``expires_at`` go.

Tables swept (a row whose ``expires_at`` is NULL never expires):

* ``event_guards`` with their ``events`` rows: a guard and its event carry the same expiry
  (``SqliteEventStore.put`` writes both from one record) and go in the same transaction, so an
  event id is never left half there. Once its guard is gone the id can be stored again, as on
  DynamoDB after TTL. ``events`` rows past expiry without a guard (none are written) go too.
  The lake's change log gets the ids of the events removed, in the same transaction: past
  retention an event leaves the ``events`` table of ``POST /sql`` as well.
* ``errors``: ``retention_days`` after they were received.
* ``counted_messages`` / ``dead_lettered_messages``: the counting markers, kept
  ``ledger.MARKER_DAYS`` (far beyond the queue's retention, so no redelivery can outlive
  its marker).

Each transaction deletes at most ``batch`` rows of one table, so the sweep never holds the
write lock for long; writers wait ``busy_timeout`` at most one short batch.
"""

from __future__ import annotations

from theeye.sqlite import changes
from theeye.sqlite.db import Database, compose, retryable

_failure = retryable("retention sweep")

_EXPIRED = "WHERE expires_at IS NOT NULL AND expires_at < ?"

# table -> its key column: the batch is chosen by key through the table's expiry index.
_TABLES: dict[str, str] = {
    "events": "position",
    "errors": "error_id",
    "counted_messages": "message_key",
    "dead_lettered_messages": "message_key",
}

_EXPIRED_GUARDS = compose("SELECT event_id, position FROM event_guards", _EXPIRED, "LIMIT ?")
_DELETE_GUARD = "DELETE FROM event_guards WHERE event_id = ?"
_DELETE_EVENT = "DELETE FROM events WHERE position = ?"


def expired_batch(table: str) -> str:
    """The statement that deletes one batch of ``table``'s expired rows (params: now, batch)."""
    key = _TABLES[table]
    return compose("DELETE FROM", table, "WHERE", key, "IN (SELECT", key, "FROM", table, _EXPIRED, "LIMIT ?)")


_DELETE_EXPIRED = {table: expired_batch(table) for table in _TABLES}


def sweep(db: Database, now: float, batch: int = 1000) -> dict[str, int]:
    """Delete every row that expired before ``now`` (epoch seconds); rows deleted per table."""
    if batch < 1:
        raise ValueError("batch must be at least 1")
    swept = dict.fromkeys(("event_guards", *_TABLES), 0)
    while True:  # guards and their events, together
        with db.write(_failure) as connection:
            guards = connection.execute(_EXPIRED_GUARDS, (now, batch)).fetchall()
            connection.executemany(_DELETE_GUARD, [(row["event_id"],) for row in guards])
            events = connection.executemany(_DELETE_EVENT, [(row["position"],) for row in guards])
            if events.rowcount > 0:
                changes.record_removed(connection, changes.EXPIRED, [row["event_id"] for row in guards])
            swept["event_guards"] += len(guards)
            swept["events"] += max(events.rowcount, 0)
        if len(guards) < batch:
            break
    for table, statement in _DELETE_EXPIRED.items():
        while True:
            with db.write(_failure) as connection:
                deleted = connection.execute(statement, (now, batch)).rowcount
            swept[table] += deleted
            if deleted < batch:
                break
    return swept
