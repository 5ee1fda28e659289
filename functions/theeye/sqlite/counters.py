"""SQLite adapter of the ledger ports, the dashboard counts and the category registry.

* ``ledger``: one row per counter (``accepted``, ``stored``, ``invalid_<type>``, ...). SQLite
  has one writer at a time, so there is nothing to gain from sharding counters.
* ``counted_messages`` / ``dead_lettered_messages``: the markers that make counting
  exactly-once per message key (``intake#<key>`` for what ingest counted, ``<key>`` for
  what the processor counted) (kept ``MARKER_DAYS``, like ``DynamoCounters``' markers).
* ``stored_counts``: stored events per (category, minute); hours and days are sums of minutes.
* ``categories``: the categories that had events on a UTC day.

Everything one ``commit_batch`` counts - its markers, the ledger and the minute counts - is
one transaction: a batch is counted entirely or not at all.
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from collections.abc import Mapping, Set
from dataclasses import dataclass
from datetime import datetime

from theeye.buckets import Interval, bucket_of, bucket_start
from theeye.ledger import IntakeTally, MessageTally
from theeye.sqlite.db import Database, retryable, unavailable

MARKER_DAYS = 30
INTAKE_MARKER = "intake#"  # prefix of a message's intake marker beside its outcome marker

_writes = retryable("counters")
_reads = unavailable("counters")

_ADD = "INSERT INTO ledger (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = value + excluded.value"
_ADD_MINUTE = (
    "INSERT INTO stored_counts (category, minute, count) VALUES (?, ?, ?)"
    " ON CONFLICT (category, minute) DO UPDATE SET count = count + excluded.count"
)
_MARK_COUNTED = "INSERT INTO counted_messages (message_key, expires_at) VALUES (?, ?) ON CONFLICT DO NOTHING"
_MARK_DEAD = (
    "INSERT INTO dead_lettered_messages (message_key, expires_at) VALUES (?, ?) ON CONFLICT DO NOTHING"
)
_IS_COUNTED = "SELECT 1 FROM counted_messages WHERE message_key = ?"
_UNMARK_DEAD = "DELETE FROM dead_lettered_messages WHERE message_key = ?"
_REGISTERED = "SELECT 1 FROM categories WHERE day = ? AND category = ?"
_REGISTER = "INSERT INTO categories (day, category) VALUES (?, ?) ON CONFLICT DO NOTHING"
TOTALS = "SELECT name, value FROM ledger"
MINUTES = "SELECT minute, count FROM stored_counts WHERE category = ? AND minute >= ? AND minute <= ?"
CATEGORIES = "SELECT DISTINCT category FROM categories WHERE day >= ? AND day <= ?"


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
class SqliteCounters:
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

    def register(self, categories_by_day: Mapping[str, Set[str]]) -> None:
        """Record categories per day (idempotent)."""
        rows = [(day, name) for day, names in categories_by_day.items() for name in sorted(names)]
        # Nearly always every pair is known already: a read answers that without the write lock.
        missing = [row for row in rows if not self.db.read(_writes, _REGISTERED, row)]
        if missing:
            with self.db.write(_writes) as connection:
                connection.executemany(_REGISTER, missing)

    def commit_batch(self, entries: list[tuple[str, MessageTally]], now: float | None = None) -> None:
        """Add each message's tally once, the whole batch in one transaction.

        A message whose marker exists (counted by an earlier delivery) adds nothing, and copies
        of one message in the batch are one message.
        """
        expires = _expiry(now)
        counts: Counter[str] = Counter()
        by_minute: Counter[tuple[str, str]] = Counter()
        with self.db.write(_writes) as connection:
            for key, tally in dict(entries[::-1]).items():
                if connection.execute(_MARK_COUNTED, (key, expires)).rowcount != 1:
                    continue
                counts.update({"stored": tally.stored, "duplicates": tally.duplicates})
                counts.update({f"invalid_{k}": v for k, v in tally.invalid.items()})
                by_minute.update(tally.stored_by_minute)
            add_counts(connection, counts)
            connection.executemany(
                _ADD_MINUTE,
                [(category, minute, n) for (category, minute), n in sorted(by_minute.items()) if n],
            )

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

    # -- readers ------------------------------------------------------------------------

    def totals(self) -> Counter[str]:
        return Counter({row["name"]: int(row["value"]) for row in self.db.read(_reads, TOTALS)})

    def buckets(self, interval: Interval, category: str, start: str, end: str) -> Counter[str]:
        """Stored events of one category per bucket starting in ``[start, end)``."""
        lower, upper = bucket_of(interval, start), bucket_of(interval, end)
        counts: Counter[str] = Counter()
        for row in self.db.read(_reads, MINUTES, (category, lower, upper + "~")):
            bucket = bucket_of(interval, row["minute"])
            if bucket_start(bucket) < end:
                counts[bucket] += int(row["count"])
        return counts

    def categories_between(self, start: datetime, end: datetime) -> set[str]:
        """Every category registered on a UTC day that ``[start, end)`` touches."""
        rows = self.db.read(_reads, CATEGORIES, (start.date().isoformat(), end.date().isoformat()))
        return {row["category"] for row in rows}
