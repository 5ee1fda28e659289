"""The database: one file, one connection per thread (opened on first use), and the schema.

Every statement runs through ``Database.write`` (a ``BEGIN IMMEDIATE`` transaction, so a
read-modify-write holds the write lock from its first read) or ``Database.read``, and those
two are the one place where a ``sqlite3`` failure becomes a domain error: on writes
``RetryableStoreError`` (the work is retried, a message delivered again), on reads
``ServiceUnavailable`` (the caller is answered 503). ``write_lock_problem`` says, in plain
words, why a write could not start now (``theeye.sqlite.health``, behind ``GET /health``).

Durability: WAL with ``synchronous=FULL``, so every commit is fsynced before it returns; an
accepted event (its queue message) is on disk before the API answers 202.
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from theeye.errors import RetryableStoreError, ServiceUnavailable, TheEyeError

SCHEMA_VERSION = 8  # 2: indexes on expires_at for the retention sweep; 3 to 8: see MIGRATIONS
BUSY_TIMEOUT_MS = 10_000
# How long a writer waits before asking for the write lock again (see Database._begin_immediate).
LOCK_RETRY_MIN_SECONDS = 0.0002
LOCK_RETRY_MAX_SECONDS = 0.0015
# How long one attempt to truncate the write-ahead log waits for readers (see Database.truncate_wal).
CHECKPOINT_WAIT_MS = 50

# failure(what went wrong) -> the domain error to raise
Failure = Callable[[str], TheEyeError]

SCHEMA: tuple[str, ...] = (
    # -- events: a guard per event id, the event keyed by its position ---------------------
    """CREATE TABLE IF NOT EXISTS event_guards (
        event_id TEXT PRIMARY KEY,
        content_hash TEXT NOT NULL,
        origin TEXT NOT NULL,
        position TEXT NOT NULL,
        expires_at INTEGER
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS events (
        position TEXT NOT NULL,
        event_id TEXT NOT NULL,
        application_id TEXT NOT NULL,
        session_id TEXT NOT NULL,
        category TEXT NOT NULL,
        name TEXT NOT NULL,
        data TEXT NOT NULL,
        timestamp TEXT NOT NULL,
        received_at TEXT NOT NULL,
        stored_at TEXT NOT NULL,
        expires_at INTEGER
    )""",
    "CREATE UNIQUE INDEX IF NOT EXISTS events_by_position ON events (position)",
    "CREATE INDEX IF NOT EXISTS events_by_session ON events (session_id, position)",
    "CREATE INDEX IF NOT EXISTS events_by_category ON events (category, position)",
    "CREATE INDEX IF NOT EXISTS events_by_category_name ON events (category, name, position)",
    # the retention sweep (``theeye.sqlite.retention``) finds expired rows through these
    "CREATE INDEX IF NOT EXISTS event_guards_by_expiry ON event_guards (expires_at) WHERE expires_at IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS events_by_expiry ON events (expires_at) WHERE expires_at IS NOT NULL",
    # -- errors ------------------------------------------------------------------------------
    """CREATE TABLE IF NOT EXISTS errors (
        error_id TEXT PRIMARY KEY,
        position TEXT NOT NULL,
        type TEXT NOT NULL,
        source TEXT NOT NULL,
        application_id TEXT NOT NULL,
        received_at TEXT NOT NULL,
        event_id TEXT,
        details TEXT NOT NULL,
        payload TEXT NOT NULL,
        key_id TEXT NOT NULL,
        request_id TEXT NOT NULL,
        expires_at INTEGER
    )""",
    "CREATE INDEX IF NOT EXISTS errors_by_position ON errors (position)",
    "CREATE INDEX IF NOT EXISTS errors_by_type ON errors (type, position)",
    "CREATE INDEX IF NOT EXISTS errors_by_expiry ON errors (expires_at) WHERE expires_at IS NOT NULL",
    # -- API keys ----------------------------------------------------------------------------
    """CREATE TABLE IF NOT EXISTS api_keys (
        key_hash TEXT PRIMARY KEY,
        key_id TEXT NOT NULL,
        application_id TEXT NOT NULL,
        scopes TEXT NOT NULL,
        created_at TEXT NOT NULL,
        revoked_at TEXT,
        description TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS api_keys_by_id ON api_keys (key_id)",
    "CREATE INDEX IF NOT EXISTS api_keys_by_created ON api_keys (created_at, key_id)",
    # -- counters ----------------------------------------------------------------------------
    "CREATE TABLE IF NOT EXISTS ledger (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID",
    """CREATE TABLE IF NOT EXISTS counted_messages (
        message_key TEXT PRIMARY KEY, expires_at INTEGER NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS dead_lettered_messages (
        message_key TEXT PRIMARY KEY, expires_at INTEGER NOT NULL
    ) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS counted_messages_by_expiry ON counted_messages (expires_at)",
    "CREATE INDEX IF NOT EXISTS dead_lettered_messages_by_expiry ON dead_lettered_messages (expires_at)",
    """CREATE TABLE IF NOT EXISTS stored_counts (
        category TEXT NOT NULL, minute TEXT NOT NULL, count INTEGER NOT NULL,
        PRIMARY KEY (category, minute)
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS categories (
        day TEXT NOT NULL, category TEXT NOT NULL, PRIMARY KEY (day, category)
    ) WITHOUT ROWID""",
    # -- queues: the events queue and its dead-letter queue, SQS-shaped ----------------------
    *(
        f"""CREATE TABLE IF NOT EXISTS {table} (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            body TEXT NOT NULL,
            sent_at REAL NOT NULL,
            visible_at REAL NOT NULL,
            receipt TEXT,
            receive_count INTEGER NOT NULL DEFAULT 0,
            first_received_at REAL
        )"""
        for table in ("queue_messages", "dead_letter_messages")
    ),
    "CREATE INDEX IF NOT EXISTS queue_messages_by_visibility ON queue_messages (visible_at, id)",
    "CREATE UNIQUE INDEX IF NOT EXISTS queue_messages_by_receipt ON queue_messages (receipt)",
    "CREATE INDEX IF NOT EXISTS dead_letter_messages_by_visibility ON dead_letter_messages (visible_at, id)",
    "CREATE UNIQUE INDEX IF NOT EXISTS dead_letter_messages_by_receipt ON dead_letter_messages (receipt)",
    # -- secrets (the cursor signing key of this installation) -------------------------------
    "CREATE TABLE IF NOT EXISTS secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
)


# What changed after version 2, by the version that brought it. ``SCHEMA`` states version 2 (its
# statements are idempotent); a file of any older version gets ``SCHEMA`` and then every step
# above its version, a new file all of them, so every file ends with the same tables.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    # the timestamp as the sender wrote it, when sent_at corrected it (NULL: equal to timestamp)
    3: ("ALTER TABLE events ADD COLUMN client_timestamp TEXT",),
    # session summaries (GET /sessions), recomputed by the counting transaction; errors findable
    # by session and marked when erasure redacted them (DELETE /sessions/{id})
    4: (
        """CREATE TABLE IF NOT EXISTS sessions (
            session_id TEXT PRIMARY KEY,
            position TEXT NOT NULL,
            first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL,
            events INTEGER NOT NULL,
            application_ids TEXT NOT NULL
        ) WITHOUT ROWID""",
        "CREATE INDEX IF NOT EXISTS sessions_by_position ON sessions (position)",
        "ALTER TABLE errors ADD COLUMN session_id TEXT",
        "ALTER TABLE errors ADD COLUMN erased INTEGER NOT NULL DEFAULT 0",
        "CREATE INDEX IF NOT EXISTS errors_by_session ON errors (session_id) WHERE session_id IS NOT NULL",
    ),
    # when each key was last used (``theeye keys list``)
    5: ("ALTER TABLE api_keys ADD COLUMN last_used_at TEXT",),
    # each event's context built at ingest, as compact JSON (NULL: none, as for older events)
    6: ("ALTER TABLE events ADD COLUMN context TEXT",),
    # an error's event's stored context (so a replay stores the event with it) and when the
    # error was replayed (POST /errors/replay), both compact JSON (NULL: none, not replayed)
    7: ("ALTER TABLE errors ADD COLUMN context TEXT", "ALTER TABLE errors ADD COLUMN replayed TEXT"),
    # the change log the local lake is fed from (``theeye.sqlite.changes``), written in the
    # transaction of each stored event and each removal, and this file's identity, made once
    8: (
        """CREATE TABLE IF NOT EXISTS lake_changes (
            position INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL,
            event_position TEXT,
            session_id TEXT,
            event_ids TEXT
        )""",
        "CREATE TABLE IF NOT EXISTS lake_source (id TEXT NOT NULL)",
        "INSERT INTO lake_source (id) SELECT lower(hex(randomblob(16))) WHERE NOT EXISTS (SELECT 1 FROM lake_source)",
    ),
}


def compose(*parts: str) -> str:
    """A statement put together from this package's constant fragments (table and column names,
    conditions, ``ASC``/``DESC``), never from input: values are always ``?`` parameters."""
    return " ".join(parts)


def retryable(what: str) -> Failure:
    """Failures of a write: the work fails and is retried."""
    return lambda detail: RetryableStoreError(f"{what} unavailable: {detail}")


def unavailable(what: str) -> Failure:
    """Failures of a read: the caller is answered 503 and retries."""
    return lambda detail: ServiceUnavailable(f"the {what} cannot answer right now ({detail})")


class Database:
    """One SQLite file; each thread (and each forked process) opens its own connection lazily."""

    def __init__(self, path: str | os.PathLike[str], busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> None:
        self.path = Path(path)
        self.busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        self._schema_lock = threading.Lock()
        self._schema_ready = False

    @contextmanager
    def write(self, failure: Failure) -> Iterator[sqlite3.Connection]:
        """A ``BEGIN IMMEDIATE`` transaction: committed on success, rolled back on any error."""
        with self._translated(failure):
            connection = self.connection()
            if connection.in_transaction:  # left open by a failed rollback: start clean
                connection.rollback()
            self._begin_immediate(connection)
            try:
                yield connection
                connection.commit()
            except BaseException:
                # A commit refused (a full disk) leaves the transaction, and its write lock, open.
                if connection.in_transaction:
                    connection.rollback()
                raise

    def _begin_immediate(self, connection: sqlite3.Connection, wait_seconds: float | None = None) -> None:
        """Take the write lock, waiting at most ``wait_seconds`` (default: the busy timeout).

        SQLite's own busy handler waits for a lock in growing sleeps (1, 2, 5, 10 ... 100 ms),
        so under contention a writer sleeps long after the lock was freed: the stack's p99 and
        throughput are those sleeps. Here ``BEGIN IMMEDIATE`` is tried without the handler and
        retried after short sleeps with jitter, which hands the lock on within about a
        millisecond. Other statements keep the handler (``busy_timeout``).
        """
        wait = self.busy_timeout_ms / 1000 if wait_seconds is None else wait_seconds
        deadline = time.monotonic() + wait
        connection.execute("PRAGMA busy_timeout = 0")
        try:
            while True:
                try:
                    connection.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) and "busy" not in str(exc):
                        raise
                    if time.monotonic() >= deadline:
                        raise
                time.sleep(random.uniform(LOCK_RETRY_MIN_SECONDS, LOCK_RETRY_MAX_SECONDS))
        finally:
            connection.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")

    def write_lock_problem(self, wait_seconds: float) -> str | None:
        """Why a write could not start now, in plain words; None when it could.

        Takes the write lock as every write does (waiting at most ``wait_seconds``) and gives it
        back at once, writing nothing: a lock another connection holds past the wait, or a file
        SQLite cannot write (read-only, unopenable), is the answer.
        """
        try:
            connection = self.connection()
            if connection.in_transaction:
                connection.rollback()
            self._begin_immediate(connection, wait_seconds)
            connection.rollback()
        except sqlite3.Error as exc:
            return _refusal(exc, wait_seconds)
        return None

    def truncate_wal(self, failure: Failure, wait_seconds: float | None = None) -> None:
        """Copy every page of the write-ahead log into the file and cut the log to zero bytes, so
        no page image written before (an erased payload's) stays in ``<file>-wal``.

        A checkpoint cannot finish while another connection reads an older snapshot or writes;
        SQLite then answers "busy". Waiting inside one checkpoint (its busy handler) can last
        the whole timeout even though readers come and go (a reader that starts meanwhile keeps
        the log in use), while a new checkpoint finds the log free at once: so each attempt
        waits ``CHECKPOINT_WAIT_MS`` at most, and attempts follow each other until the deadline
        (default: the busy timeout); then ``failure`` is raised.
        """
        wait = self.busy_timeout_ms / 1000 if wait_seconds is None else wait_seconds
        deadline = time.monotonic() + wait
        with self._translated(failure):
            connection = self.connection()
            connection.execute(f"PRAGMA busy_timeout = {CHECKPOINT_WAIT_MS}")
            try:
                while True:
                    busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                    if not busy:
                        return
                    if time.monotonic() >= deadline:
                        raise sqlite3.OperationalError(
                            "the write-ahead log stayed in use; it was not truncated"
                        )
                    time.sleep(random.uniform(LOCK_RETRY_MIN_SECONDS, LOCK_RETRY_MAX_SECONDS))
            finally:
                connection.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")

    def read(self, failure: Failure, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Every row of one query (a read sees one snapshot: the statement's own)."""
        with self._translated(failure):
            return self.connection().execute(sql, params).fetchall()

    def connection(self) -> sqlite3.Connection:
        """This thread's connection, opened (and the schema made ready) on first use."""
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None or getattr(self._local, "pid", None) != os.getpid():
            connection = self._open()
            self._local.connection, self._local.pid = connection, os.getpid()
        return connection

    def close(self) -> None:
        """Close this thread's connection (others close when their thread ends)."""
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: no implicit transactions; every write says BEGIN IMMEDIATE.
        connection = sqlite3.connect(
            self.path, timeout=self.busy_timeout_ms / 1000, isolation_level=None, check_same_thread=False
        )
        connection.row_factory = sqlite3.Row
        connection.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
        connection.execute("PRAGMA synchronous = FULL")
        # Deleted content is overwritten with zeros, so an erased payload leaves no bytes in the
        # file's free space (with ``truncate_wal`` after an erasure, none in the log either).
        connection.execute("PRAGMA secure_delete = ON")
        with self._schema_lock:
            if not self._schema_ready:
                _use_wal(connection, self.busy_timeout_ms / 1000)
                _migrate(connection)
                self._schema_ready = True
        return connection

    @contextmanager
    def _translated(self, failure: Failure) -> Iterator[None]:
        """The one place a ``sqlite3`` failure (locked, busy, I/O) becomes a domain error."""
        try:
            yield
        except sqlite3.Error as exc:
            raise failure(f"{type(exc).__name__}: {exc}") from exc


def _refusal(exc: sqlite3.Error, wait_seconds: float) -> str:
    """A refused write, as an operator reads it (by SQLite's primary result code)."""
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return f"another connection has held the database's write lock for over {wait_seconds:g} s"
    if code == sqlite3.SQLITE_READONLY:
        return "the database file is read-only"
    if code == sqlite3.SQLITE_FULL:
        return "the disk holding the database is full"
    return f"the database cannot be written ({exc})"


def _use_wal(connection: sqlite3.Connection, timeout_seconds: float) -> None:
    """Put the file in WAL mode (kept in the file: later connections find it so).

    Switching a new file's journal mode takes an exclusive lock and SQLite does not wait for it
    through the busy handler; when another process is switching or writing at that moment the
    pragma answers "database is locked" at once. So: wait and ask again, within the busy timeout.
    """
    deadline = time.monotonic() + timeout_seconds
    while True:
        try:
            mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
            if (
                str(mode).lower() == "wal"
                or connection.execute("PRAGMA journal_mode = WAL").fetchone()[0] == "wal"
            ):
                return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
        if time.monotonic() >= deadline:
            raise sqlite3.OperationalError("could not switch the database to WAL mode: it stayed locked")
        time.sleep(0.01)


def _migrate(connection: sqlite3.Connection) -> None:
    """Create the schema once per file (idempotent); ``user_version`` records its version."""
    if connection.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
        return
    connection.execute("BEGIN IMMEDIATE")
    try:
        version = connection.execute("PRAGMA user_version").fetchone()[0]  # read under the lock
        if version < SCHEMA_VERSION:
            for statement in SCHEMA:
                connection.execute(statement)
            for step in sorted(MIGRATIONS):
                if step > version:
                    for statement in MIGRATIONS[step]:
                        connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        connection.rollback()
        raise
    connection.commit()
