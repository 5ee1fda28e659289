"""SQLite adapter of the dashboard counts: ``stored_counts``, stored events per (category,
minute) by event timestamp; hours and days are sums of minutes. The counting transaction
(``theeye.sqlite.ledger``) adds to it; ``buckets`` reads it."""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from theeye.buckets import Interval, bucket_of, bucket_start
from theeye.sqlite.db import Database, unavailable

_reads = unavailable("counters")

_ADD_MINUTE = (
    "INSERT INTO stored_counts (category, minute, count) VALUES (?, ?, ?)"
    " ON CONFLICT (category, minute) DO UPDATE SET count = count + excluded.count"
)
MINUTES = "SELECT minute, count FROM stored_counts WHERE category = ? AND minute >= ? AND minute <= ?"


def add_minutes(connection: sqlite3.Connection, by_minute: Mapping[tuple[str, str], int]) -> None:
    """Add stored events per (category, minute), inside the caller's transaction."""
    connection.executemany(
        _ADD_MINUTE, [(category, minute, n) for (category, minute), n in sorted(by_minute.items()) if n]
    )


@dataclass
class SqliteStats:
    db: Database

    def buckets(self, interval: Interval, category: str, start: str, end: str) -> Counter[str]:
        """Stored events of one category per bucket starting in ``[start, end)``."""
        lower, upper = bucket_of(interval, start), bucket_of(interval, end)
        counts: Counter[str] = Counter()
        for row in self.db.read(_reads, MINUTES, (category, lower, upper + "~")):
            bucket = bucket_of(interval, row["minute"])
            if bucket_start(bucket) < end:
                counts[bucket] += int(row["count"])
        return counts
