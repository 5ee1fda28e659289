"""The embedded store's change log (``theeye.sqlite.changes``) and what an erasure leaves on disk.

Every stored event and every removal is one entry, written with it, holding no payload; an
erasure leaves no byte of what it erased in any file of the data directory (the database, its
write-ahead log), even while another connection keeps reading.
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from theeye.events import Event
from theeye.ports import LakeDelete, LakeUpsert
from theeye.records import EventRecord, WriteOutcome
from theeye.sqlite.backend import SqliteBackend
from theeye.sqlite.changes import SqliteChangeLog

NOW = 1_800_000_000


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[SqliteBackend]:
    backend = SqliteBackend(tmp_path / "data" / "theeye.db")
    yield backend
    backend.db.close()


def record(
    event_id: str,
    session_id: str = "s-1",
    *,
    data: str = "/",
    origin: str = "req-1#0",
    expires_at: int | None = None,
) -> EventRecord:
    event = Event(
        event_id=event_id,
        session_id=session_id,
        category="page interaction",
        name="pageview",
        data={"path": data},
        timestamp="2026-12-01T09:59:00.000000Z",
        context={"browser": {"family": "Firefox", "version": "133.0"}, "bot": False},
    )
    return EventRecord(
        event, "app-1", "2026-12-01T10:00:00.000000Z", origin, event.content_hash(), expires_at
    )


def raw_log(backend: SqliteBackend) -> list[tuple[object, ...]]:
    rows = backend.db.connection().execute("SELECT * FROM lake_changes ORDER BY position").fetchall()
    return [tuple(row) for row in rows]


def test_each_stored_event_is_one_upsert_of_its_row(backend: SqliteBackend) -> None:
    store = backend.event_store()
    assert store.put_all([record("ev-1"), record("ev-2", "s-2")]) == [WriteOutcome.STORED] * 2
    assert store.put(record("ev-1")) is WriteOutcome.STORED  # the same delivery again
    assert store.put(record("ev-1", origin="req-2#0")) is WriteOutcome.DUPLICATE
    assert store.put(record("ev-1", data="/other", origin="req-3#0")) is WriteOutcome.CONFLICT

    batch = SqliteChangeLog(backend.db).after(0, 100)

    assert [type(c) for c in batch.changes] == [LakeUpsert, LakeUpsert]
    first = batch.changes[0]
    assert isinstance(first, LakeUpsert)
    assert (first.sequence, first.row["event_id"], first.row["data"]) == (1, "ev-1", '{"path":"/"}')
    assert (first.row["browser"], first.row["bot"]) == ("Firefox", False)
    assert (batch.reached, batch.full) == (2, False)


def test_an_erasure_is_one_delete_naming_the_session_and_its_events(backend: SqliteBackend) -> None:
    backend.event_store().put_all(
        [record("ev-1", "s-gone"), record("ev-2", "s-gone"), record("ev-3", "s-kept")]
    )

    backend.eraser().erase("s-gone")
    backend.eraser().erase("s-gone")  # nothing left: no entry
    log = SqliteChangeLog(backend.db)

    batch = log.after(0, 100)
    # The erased events' upserts are gone with their rows; the delete covers them.
    assert [c.row["event_id"] for c in batch.changes if isinstance(c, LakeUpsert)] == ["ev-3"]
    assert batch.changes[-1] == LakeDelete(4, "s-gone", ("ev-1", "ev-2"))
    assert all("path" not in repr(entry) for entry in raw_log(backend))  # no payload in the log


def test_retention_removals_are_deletes_of_their_event_ids(backend: SqliteBackend) -> None:
    backend.event_store().put_all(
        [record("ev-old", expires_at=NOW - 1), record("ev-new", expires_at=NOW + 1)]
    )

    backend.sweep(NOW)

    changes = SqliteChangeLog(backend.db).after(2, 100).changes
    assert changes == [LakeDelete(3, None, ("ev-old",))]


def test_positions_only_grow_and_pruning_keeps_the_last(backend: SqliteBackend) -> None:
    store, log = backend.event_store(), SqliteChangeLog(backend.db)
    store.put_all([record("ev-1"), record("ev-2")])
    assert (log.first(), log.last(), log.complete_after(0)) == (1, 2, True)

    log.prune(2)
    assert (log.first(), log.last(), log.complete_after(2), log.complete_after(0)) == (None, 2, True, False)
    store.put(record("ev-3"))
    assert (log.first(), log.last()) == (3, 3)
    assert log.after(2, 1).full and not log.after(2, 2).full


def test_each_file_has_its_own_source(tmp_path: Path) -> None:
    one, two = SqliteBackend(tmp_path / "one.db"), SqliteBackend(tmp_path / "two.db")
    assert SqliteChangeLog(one.db).source() == SqliteChangeLog(one.db).source()
    assert SqliteChangeLog(one.db).source() != SqliteChangeLog(two.db).source()


def test_an_erased_payload_leaves_no_byte_in_the_data_directory(
    backend: SqliteBackend, tmp_path: Path
) -> None:
    secret = "erase-me-" + secrets.token_hex(16)
    store = backend.event_store()
    store.put_all([record(f"ev-{n}", "s-gone", data=f"{secret}-{n}") for n in range(50)])
    store.put_all([record(f"ev-kept-{n}", "s-kept") for n in range(50)])
    backend.db.connection().execute("PRAGMA wal_checkpoint(PASSIVE)")  # part in the file, part in the log
    store.put_all([record(f"ev-late-{n}", "s-gone", data=f"{secret}-late") for n in range(5)])

    def files_holding() -> list[str]:
        return [
            p.name for p in (tmp_path / "data").iterdir() if p.is_file() and secret.encode() in p.read_bytes()
        ]

    assert files_holding()  # the search can see it

    # Another connection reading all the while, each read in a transaction of its own: the log
    # is truncated in a moment between two of them.
    reading, stop = threading.Event(), threading.Event()

    def read() -> None:
        reader = sqlite3.connect(backend.db.path, isolation_level=None)
        while not stop.is_set():
            reader.execute("BEGIN")
            reader.execute("SELECT count(*) FROM events").fetchone()
            reading.set()
            stop.wait(0.001)
            reader.execute("COMMIT")
        reader.close()

    thread = threading.Thread(target=read)
    thread.start()
    try:
        reading.wait()
        erasure = backend.eraser().erase("s-gone")
    finally:
        stop.set()
        thread.join()

    assert erasure.events_erased == 55
    assert files_holding() == []
    assert (tmp_path / "data" / "theeye.db-wal").stat().st_size == 0
