"""What only the SQLite backend has: its queue's receive/delete/redrive, failures, concurrency."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from processor.logic import commit, process_message
from tests.contract import test_sessions as session_contract
from tests.contract.test_write_ports import error, message, record
from theeye.errors import QueueUnavailable, RetryableStoreError, ServiceUnavailable
from theeye.ports import Window
from theeye.records import WriteOutcome
from theeye.sqlite.backend import SqliteBackend
from theeye.sqlite.db import SCHEMA_VERSION


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[SqliteBackend]:
    backend = SqliteBackend(tmp_path / "theeye.db", busy_timeout_ms=50)
    yield backend
    backend.db.close()


@pytest.fixture
def clock(backend: SqliteBackend) -> Clock:
    clock = Clock()
    backend.queue().clock = clock
    backend.dead_letter_queue().clock = clock
    return clock


def test_nothing_is_opened_until_first_use_and_the_schema_is_versioned(tmp_path: Path) -> None:
    backend = SqliteBackend(tmp_path / "lazy" / "theeye.db")
    assert not (tmp_path / "lazy").exists()
    backend.counters().totals()
    connection = backend.db.connection()
    assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert connection.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    SqliteBackend(tmp_path / "lazy" / "theeye.db").counters().totals()  # a second opening: idempotent
    backend.db.close()


def test_a_received_message_is_in_flight_until_deleted(backend: SqliteBackend, clock: Clock) -> None:
    queue = backend.queue()
    queue.send([message(1), message(2)])
    got = queue.receive(max_messages=1, visibility_timeout=30)
    assert [r.receive_count for r in got] == [1]
    assert queue.depth() == {"messages": 1, "in_flight": 1}
    assert queue.delete(got[0].receipt) is True
    assert queue.delete(got[0].receipt) is False
    assert queue.depth() == {"messages": 1, "in_flight": 0}


def test_an_unsettled_message_reappears_after_its_visibility_timeout(
    backend: SqliteBackend, clock: Clock
) -> None:
    queue = backend.queue()
    queue.send([message(1)])
    first = queue.receive(visibility_timeout=30)
    assert queue.receive() == []
    clock.now += 31
    again = queue.receive(visibility_timeout=30)
    assert [r.body for r in again] == [first[0].body] and again[0].receive_count == 2
    assert queue.change_visibility(again[0].receipt, 0) is True
    assert [r.receive_count for r in queue.receive()] == [3]


def test_a_delayed_message_waits_and_counts_as_waiting(backend: SqliteBackend, clock: Clock) -> None:
    queue = backend.queue()
    queue.send([message(1)], delay_seconds=10)
    assert queue.depth() == {"messages": 1, "in_flight": 0}
    assert queue.receive() == []
    clock.now += 10
    assert len(queue.receive()) == 1


def test_a_message_received_too_often_is_dead_lettered_and_redriven(
    backend: SqliteBackend, clock: Clock
) -> None:
    queue, dead = backend.queue(), backend.dead_letter_queue()
    queue.send([message(1)])
    for _ in range(queue.max_receives):
        assert len(queue.receive(visibility_timeout=1)) == 1
        clock.now += 2
    assert queue.receive() == []
    assert (queue.depth()["messages"], dead.depth()["messages"]) == (0, 1)
    assert dead.redrive(queue) == 1
    got = queue.receive()
    assert [r.receive_count for r in got] == [1] and got[0].body == message(1).to_body()


def test_a_locked_database_fails_writes_as_retryable(backend: SqliteBackend) -> None:
    backend.counters().totals()  # the schema exists
    holder = sqlite3.connect(backend.db.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(RetryableStoreError):
            backend.event_store().put(record())
        with pytest.raises(RetryableStoreError):
            backend.counters().count_dead_letter("0" * 40, 1)
        with pytest.raises(QueueUnavailable) as refused:
            backend.queue().send([message(1)])
        assert refused.value.delivered == []
        assert backend.counters().totals() == {}  # WAL: readers are not blocked by a writer
    finally:
        holder.rollback()
        holder.close()
    assert backend.event_store().put(record()) is WriteOutcome.STORED


def test_an_unreadable_database_fails_reads_as_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "broken.db"
    path.write_bytes(b"this is not a database file" * 100)
    backend = SqliteBackend(path)
    with pytest.raises(ServiceUnavailable):
        backend.event_reader().get("ev-1")
    with pytest.raises(RetryableStoreError):
        backend.error_store().put(error())  # a write on the same file fails as retryable


def test_racing_writers_of_one_event_store_it_once(backend: SqliteBackend) -> None:
    backend.db.busy_timeout_ms = 10_000
    outcomes: list[WriteOutcome] = []
    barrier = threading.Barrier(8)

    def put(n: int) -> None:
        store = backend.event_store()
        barrier.wait()
        outcomes.append(store.put(record(origin=f"req-{n}#0")))

    threads = [threading.Thread(target=put, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(o.value for o in outcomes) == ["duplicate"] * 7 + ["stored"]
    page = backend.event_reader().by_session(
        "s-1", Window(None, None, False, None), category=None, name=None, limit=10
    )
    assert [v["event_id"] for v in page.items] == ["ev-1"]


def test_an_erasure_between_a_message_write_and_its_count_leaves_no_summary_behind(
    backend: SqliteBackend,
) -> None:
    """Given a message whose events are stored but not yet counted, when the session is erased
    and the message is counted afterwards, then no summary lists the erased events; what the
    session stores later is summarised alone."""
    p = session_contract.processor(backend)
    written = process_message(session_contract.body(session_contract.event("s-r", 1, 1)), p)
    assert backend.eraser().erase("s-r").events_erased == 1
    commit(p, [written])
    assert session_contract.walk(backend, session_contract.WHOLE, 10) == []

    later = session_contract.body(session_contract.event("s-r", 5, 2), request="later")
    session_contract.process(backend, later)
    [summary] = session_contract.walk(backend, session_contract.WHOLE, 10)
    assert (summary["events"], summary["first_seen"]) == (1, session_contract.at(5))
