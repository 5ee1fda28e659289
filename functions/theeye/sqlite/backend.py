"""The SQLite backend: every adapter on one database file, built like ``AwsBackend``.

The database is opened lazily: building the backend (or importing this module) touches no
file; the first statement of each thread opens its connection and, once, the schema.
"""

from __future__ import annotations

import os
import secrets
import time
from functools import cached_property

from theeye.sqlite.counters import SqliteCounters
from theeye.sqlite.db import BUSY_TIMEOUT_MS, Database, retryable
from theeye.sqlite.erasure import SqliteEraser
from theeye.sqlite.errors import SqliteErrorStore
from theeye.sqlite.events import SqliteEventStore
from theeye.sqlite.health import SqliteStoreHealth
from theeye.sqlite.intake import SqliteIntake
from theeye.sqlite.keys import SqliteKeyStore
from theeye.sqlite.queue import SqliteQueue
from theeye.sqlite.reads import SqliteErrorReader, SqliteEventReader, SqliteSessionReader
from theeye.sqlite.retention import sweep

_SIGNING_KEY_NAME = "cursor_secret"
_KEEP_KEY = "INSERT INTO secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING"
_READ_KEY = "SELECT value FROM secrets WHERE name = ?"


class SqliteBackend:
    """Every port of ``theeye.ports.Backend`` on the SQLite file at ``path``."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        error_retention_days: int = 30,
        max_receive_count: int = 5,
        busy_timeout_ms: int = BUSY_TIMEOUT_MS,
    ) -> None:
        self.db = Database(path, busy_timeout_ms)
        self.error_retention_days = error_retention_days
        self.max_receive_count = max_receive_count

    def keys(self) -> SqliteKeyStore:
        return self._keys

    def queue(self) -> SqliteQueue:
        return self._queue

    def intake(self) -> SqliteIntake:
        return SqliteIntake(self._queue)

    def dead_letter_queue(self) -> SqliteQueue:
        return self._dead_letter_queue

    def counters(self) -> SqliteCounters:
        return self._counters

    def event_store(self) -> SqliteEventStore:
        return SqliteEventStore(self.db)

    def error_store(self) -> SqliteErrorStore:
        return SqliteErrorStore(self.db, self.error_retention_days)

    def event_reader(self) -> SqliteEventReader:
        return SqliteEventReader(self.db)

    def error_reader(self) -> SqliteErrorReader:
        return SqliteErrorReader(self.db)

    def session_reader(self) -> SqliteSessionReader:
        return SqliteSessionReader(self.db)

    def eraser(self) -> SqliteEraser:
        return SqliteEraser(self.db)

    def store_health(self) -> SqliteStoreHealth:
        return SqliteStoreHealth(self.db)

    def cursor_secret(self) -> bytes:
        """This database's cursor key: made at random on first use, then kept in the file."""
        with self.db.write(retryable("cursor secret")) as connection:
            connection.execute(_KEEP_KEY, (_SIGNING_KEY_NAME, secrets.token_urlsafe(32)))
            value = connection.execute(_READ_KEY, (_SIGNING_KEY_NAME,)).fetchone()["value"]
        return str(value).encode("utf-8")

    def sweep(self, now: float | None = None) -> dict[str, int]:
        """Delete the rows that expired before ``now`` (what TTL does on DynamoDB); rows per table."""
        return sweep(self.db, time.time() if now is None else now)

    @cached_property
    def _keys(self) -> SqliteKeyStore:
        return SqliteKeyStore(self.db)

    @cached_property
    def _queue(self) -> SqliteQueue:
        return SqliteQueue(
            self.db,
            "queue_messages",
            dead_letters="dead_letter_messages",
            max_receives=self.max_receive_count,
        )

    @cached_property
    def _dead_letter_queue(self) -> SqliteQueue:
        return SqliteQueue(self.db, "dead_letter_messages")

    @cached_property
    def _counters(self) -> SqliteCounters:
        return SqliteCounters(self.db)
