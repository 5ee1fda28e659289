"""SQLite adapter of the category registry: ``categories``, the categories that had events on
a UTC day, so a time-range read knows them without scanning events."""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass
from datetime import datetime

from theeye.sqlite.db import Database, retryable, unavailable

_writes = retryable("counters")
_reads = unavailable("counters")

_REGISTERED = "SELECT 1 FROM categories WHERE day = ? AND category = ?"
_REGISTER = "INSERT INTO categories (day, category) VALUES (?, ?) ON CONFLICT DO NOTHING"
CATEGORIES = "SELECT DISTINCT category FROM categories WHERE day >= ? AND day <= ?"


@dataclass
class SqliteCategories:
    db: Database

    def register(self, categories_by_day: Mapping[str, Set[str]]) -> None:
        """Record categories per day (idempotent)."""
        rows = [(day, name) for day, names in categories_by_day.items() for name in sorted(names)]
        # Nearly always every pair is known already: a read answers that without the write lock.
        missing = [row for row in rows if not self.db.read(_writes, _REGISTERED, row)]
        if missing:
            with self.db.write(_writes) as connection:
                connection.executemany(_REGISTER, missing)

    def categories_between(self, start: datetime, end: datetime) -> set[str]:
        """Every category registered on a UTC day that ``[start, end)`` touches."""
        rows = self.db.read(_reads, CATEGORIES, (start.date().isoformat(), end.date().isoformat()))
        return {row["category"] for row in rows}
