"""Whether the embedded store can take writes, probed for real: a tmpfs filled to the last
page, remounted read-only, and a write lock another connection holds.

The full disk is the case where asking SQLite alone would lie: a small commit still fits in
pages its write-ahead log already holds, while a large insert is refused.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.tmpfs import fill, mounted_tmpfs, remount
from theeye.errors import RetryableStoreError
from theeye.sqlite.backend import SqliteBackend
from theeye.sqlite.db import retryable

TMPFS_MEBIBYTES = 24


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    with mounted_tmpfs(tmp_path / "disk", TMPFS_MEBIBYTES) as mounted:
        yield mounted


@pytest.fixture
def store(disk: Path) -> Iterator[SqliteBackend]:
    backend = SqliteBackend(disk / "data" / "theeye.db")
    yield backend
    backend.db.close()


def insert(backend: SqliteBackend, size: int) -> None:
    with backend.db.write(retryable("test")) as connection:
        connection.execute(
            "INSERT INTO secrets (name, value) VALUES (hex(randomblob(8)), hex(randomblob(?)))", (size // 2,)
        )


def test_a_store_on_a_disk_with_room_takes_writes(store: SqliteBackend) -> None:
    assert store.store_health().write_problem() is None


def test_a_full_disk_is_degraded_though_small_commits_still_fit_and_ok_once_freed(
    store: SqliteBackend, disk: Path
) -> None:
    # Given a store in use, its write-ahead log checkpointed (so its pages are there to reuse)
    for _ in range(20):
        insert(store, 20_000)
    store.db.connection().execute("PRAGMA wal_checkpoint(PASSIVE)")
    health = store.store_health()

    # When the disk fills up
    filler = disk / "filler"
    assert fill(filler) > 0

    # Then a large insert is refused, a small commit still fits, and the probe is not fooled
    with pytest.raises(RetryableStoreError, match="full"):
        insert(store, 2 * 1024 * 1024)
    insert(store, 100)
    assert health.write_problem() == "the disk holding the data directory is full (no room for 4 MiB more)"

    # ... and a refused commit left no lock behind: another connection can write
    other = sqlite3.connect(store.db.path, timeout=1, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("ROLLBACK")
    other.close()

    # When the space is freed, the store takes writes again
    filler.unlink()
    assert health.write_problem() is None
    insert(store, 2 * 1024 * 1024)


def test_a_read_only_file_system_is_degraded_until_remounted_writable(
    store: SqliteBackend, disk: Path
) -> None:
    health = store.store_health()
    insert(store, 100)
    store.db.close()  # a file open for writing keeps the file system from going read-only
    remount(disk, "ro")
    try:
        assert health.write_problem() == "the data directory is on a read-only file system"
    finally:
        remount(disk, "rw")
    assert health.write_problem() is None


def test_a_write_lock_held_by_another_connection_is_degraded_until_released(tmp_path: Path) -> None:
    store = SqliteBackend(tmp_path / "theeye.db")
    health = store.store_health()
    assert health.write_problem() is None
    holder = sqlite3.connect(store.db.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        # a writer would wait out the busy timeout and fail too
        quick = SqliteBackend(store.db.path, busy_timeout_ms=200)
        with pytest.raises(RetryableStoreError, match="locked"):
            insert(quick, 10)
        assert health.write_problem() == "another connection has held the database's write lock for over 1 s"
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert health.write_problem() is None
