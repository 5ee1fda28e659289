"""SQLite adapter of the ledger ports: exactly-once counting per message key.

* ``ledger``: one row per counter (``accepted``, ``stored``, ``invalid_<type>``, ...). SQLite
  has one writer at a time, so there is nothing to gain from sharding counters.
* ``counted_messages`` / ``dead_lettered_messages``: the markers that make counting
  exactly-once per message key (``intake#<key>`` for what ingest counted, ``<key>`` for
  what the processor counted) (kept ``MARKER_DAYS``, like the AWS ledger's markers).

Everything one ``commit_batch`` counts - its markers, the ledger, the minute counts
(``theeye.sqlite.stats``) and the summaries of the sessions it stored events of
(``theeye.sqlite.session_summaries``) - is one transaction: a batch is counted entirely or
not at all.
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from theeye.ledger import IntakeTally, MessageTally
from theeye.sqlite import session_summaries
from theeye.sqlite.db import Database, retryable, unavailable
from theeye.sqlite.stats import add_minutes

MARKER_DAYS = 30
INTAKE_MARKER = "intake#"  # prefix of a message's intake marker beside its outcome marker

_writes = retryable("counters")
_reads = unavailable("counters")

_ADD = "INSERT INTO ledger (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = value + excluded.value"
_MARK_COUNTED = "INSERT INTO counted_messages (message_key, expires_at) VALUES (?, ?) ON CONFLICT DO NOTHING"
_MARK_DEAD = (
    "INSERT INTO dead_lettered_messages (message_key, expires_at) VALUES (?, ?) ON CONFLICT DO NOTHING"
)
_IS_COUNTED = "SELECT 1 FROM counted_messages WHERE message_key = ?"
_UNMARK_DEAD = "DELETE FROM dead_lettered_messages WHERE message_key = ?"
TOTALS = "SELECT name, value FROM ledger"


def add_counts(connection: sqlite3.Connection, counts: Mapping[str, int]) -> None:
    connection.executemany(_ADD, [(name, n) for name, n in counts.items() if n])


def add_intake(connection: sqlite3.Connection, tallies: list[IntakeTally], now: float | None = None) -> None:
    """Count what each message carries, once per message key, inside the caller's transaction."""
    expires = _expiry(now)
    counts: Counter[str] = Counter()
    for tally in tallies:
        if connection.execute(_MARK_COUNTED, (INTAKE_MARKER + tally.key, expires)).rowcount == 1:
            counts.update(tally.counts())
    add_counts(connection, counts)


def _expiry(now: float | None) -> int:
    return int(now if now is not None else time.time()) + MARKER_DAYS * 86400


@dataclass
class SqliteLedger:
    db: Database

    # -- ingest -------------------------------------------------------------------------

    def count_intake(self, tallies: list[IntakeTally], *, read_first: bool = False) -> None:
        """What queued messages carry, once per message key: one transaction.

        ``SqliteIntake`` counts in the transaction that queues, so the processor's safety net
        finds every key counted; ``read_first`` answers that without the write lock.
        """
        keys = [(INTAKE_MARKER + t.key,) for t in tallies]
        if read_first and all(self.db.read(_writes, _IS_COUNTED, key) for key in keys):
            return
        with self.db.write(retryable("ledger")) as connection:
            add_intake(connection, tallies)

    # -- processor ----------------------------------------------------------------------

    def commit_batch(self, entries: list[tuple[str, MessageTally]], now: float | None = None) -> None:
        """Add each message's tally once, the whole batch in one transaction, and bring the
        summaries of the sessions it stored events of up to date.

        A message whose marker exists (counted by an earlier delivery) adds nothing, and copies
        of one message in the batch are one message.
        """
        expires = _expiry(now)
        counts: Counter[str] = Counter()
        by_minute: Counter[tuple[str, str]] = Counter()
        sessions: set[str] = set()
        with self.db.write(_writes) as connection:
            for key, tally in dict(entries[::-1]).items():
                sessions.update(tally.sessions)
                if connection.execute(_MARK_COUNTED, (key, expires)).rowcount != 1:
                    continue
                counts.update({"stored": tally.stored, "duplicates": tally.duplicates})
                counts.update({f"invalid_{k}": v for k, v in tally.invalid.items()})
                by_minute.update(tally.stored_by_minute)
            add_counts(connection, counts)
            add_minutes(connection, by_minute)
            session_summaries.refresh(connection, sessions)

    def count_dead_letter(self, key: str, events: int, now: float | None = None) -> bool:
        """A message failed its last delivery; False when it was counted before."""
        with self.db.write(_writes) as connection:
            if connection.execute(_MARK_DEAD, (key, _expiry(now))).rowcount != 1:
                return False
            add_counts(connection, {"dead_lettered": events, "dead_lettered_messages": 1})
        return True

    def processed(self, key: str) -> bool:
        return bool(self.db.read(_reads, _IS_COUNTED, (key,)))

    def undo_dead_letter(self, key: str, events: int) -> bool:
        """A dead letter went back to the queue; False when it was not counted as dead."""
        with self.db.write(_writes) as connection:
            if connection.execute(_UNMARK_DEAD, (key,)).rowcount != 1:
                return False
            add_counts(connection, {"dead_lettered": -events, "dead_lettered_messages": -1})
        return True

    # -- reader -------------------------------------------------------------------------

    def totals(self) -> Counter[str]:
        return Counter({row["name"]: int(row["value"]) for row in self.db.read(_reads, TOTALS)})
