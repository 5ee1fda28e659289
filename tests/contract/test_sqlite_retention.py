"""The SQLite retention sweep: what DynamoDB's TTL deletes on AWS, ``SqliteBackend.sweep`` deletes.

Rows past their ``expires_at`` go (events with their guards, errors, counting markers), rows
not yet expired and rows without an expiry stay, and every statement of the sweep searches an
index (checked with ``EXPLAIN QUERY PLAN``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from theeye.events import Event
from theeye.ledger import MessageTally
from theeye.records import ErrorRecord, EventRecord, WriteOutcome
from theeye.sqlite import retention
from theeye.sqlite.backend import SqliteBackend
from theeye.sqlite.errors import SqliteErrorStore
from theeye.sqlite.ledger import MARKER_DAYS

NOW = datetime(2026, 12, 1, tzinfo=UTC).timestamp()
DAY = 86400
NOTHING = {"events": 0, "event_guards": 0, "errors": 0, "counted_messages": 0, "dead_lettered_messages": 0}
TALLY = MessageTally(stored=1, duplicates=0, invalid={}, stored_by_minute={})


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[SqliteBackend]:
    backend = SqliteBackend(tmp_path / "db")
    yield backend
    backend.db.close()


def record(event_id: str, expires_at: int | None, *, origin: str = "req-1#0") -> EventRecord:
    event = Event(
        event_id=event_id,
        session_id="s-1",
        category="page interaction",
        name="pageview",
        data={"path": "/"},
        timestamp="2026-11-23T09:59:00.000000Z",
    )
    return EventRecord(
        event, "app-1", "2026-11-23T10:00:00.000000Z", origin, event.content_hash(), expires_at
    )


def error(error_id: str, received_at: str) -> ErrorRecord:
    return ErrorRecord(
        error_id=error_id,
        type="schema_violation",
        source="processor",
        application_id="app-1",
        received_at=received_at,
        event_id=None,
        details=[{"field": "data.path", "message": "is required"}],
        payload={"name": "pageview"},
    )


def test_expired_rows_are_swept_and_the_rest_kept(backend: SqliteBackend) -> None:
    events = backend.event_store()
    assert events.put(record("ev-expired", int(NOW) - 1)) is WriteOutcome.STORED
    assert events.put(record("ev-later", int(NOW) + DAY)) is WriteOutcome.STORED
    assert events.put(record("ev-forever", None)) is WriteOutcome.STORED
    errors = SqliteErrorStore(backend.db, retention_days=30)
    assert errors.put(error("err-old", "2026-10-01T00:00:00.000000Z"))  # expired 2026-10-31
    assert errors.put(error("err-recent", "2026-11-23T00:00:00.000000Z"))  # expires 2026-12-23
    counters = backend.counters()
    old, recent = NOW - (MARKER_DAYS + 1) * DAY, NOW - (MARKER_DAYS - 1) * DAY
    counters.commit_batch([("msg-old", TALLY)], now=old)
    counters.commit_batch([("msg-recent", TALLY)], now=recent)
    assert counters.count_dead_letter("dead-old", 3, now=old)
    assert counters.count_dead_letter("dead-recent", 3, now=recent)

    swept = backend.sweep(NOW)

    assert swept == {
        "events": 1,
        "event_guards": 1,
        "errors": 1,
        "counted_messages": 1,
        "dead_lettered_messages": 1,
    }
    reader = backend.event_reader()
    assert reader.get("ev-expired") is None
    assert reader.get("ev-later") is not None
    assert reader.get("ev-forever") is not None
    assert backend.error_reader().get("err-old") is None
    assert backend.error_reader().get("err-recent") is not None
    # A marker kept counts a redelivery once; a marker swept (past its 30 days) is forgotten.
    stored = counters.totals()["stored"]
    counters.commit_batch([("msg-recent", TALLY)], now=NOW)
    assert counters.totals()["stored"] == stored
    counters.commit_batch([("msg-old", TALLY)], now=NOW)
    assert counters.totals()["stored"] == stored + 1
    assert counters.count_dead_letter("dead-recent", 3, now=NOW) is False
    assert counters.count_dead_letter("dead-old", 3, now=NOW) is True

    assert backend.sweep(NOW) == NOTHING


def test_an_expired_event_id_can_be_stored_again_as_after_ttl(backend: SqliteBackend) -> None:
    store = backend.event_store()
    store.put(record("ev-1", int(NOW) - 1))
    assert store.put(record("ev-1", int(NOW) - 1, origin="req-2#0")) is WriteOutcome.DUPLICATE
    backend.sweep(NOW)
    assert store.put(record("ev-1", int(NOW) + DAY, origin="req-2#0")) is WriteOutcome.STORED
    assert backend.event_reader().get("ev-1") is not None
    assert backend.sweep(NOW) == NOTHING


def test_markers_are_kept_their_30_days(backend: SqliteBackend) -> None:
    counters = backend.counters()
    counters.commit_batch([("msg-1", TALLY)], now=NOW)
    assert counters.count_dead_letter("dead-1", 1, now=NOW)
    assert backend.sweep(NOW + MARKER_DAYS * DAY) == NOTHING
    assert backend.sweep(NOW + MARKER_DAYS * DAY + 1) == {
        **NOTHING,
        "counted_messages": 1,
        "dead_lettered_messages": 1,
    }


def test_the_sweep_goes_in_batches_until_nothing_expired_is_left(backend: SqliteBackend) -> None:
    store = backend.event_store()
    for n in range(7):
        store.put(record(f"ev-{n}", int(NOW) - 1))
    store.put(record("ev-kept", int(NOW) + DAY))
    assert retention.sweep(backend.db, NOW, batch=3) == {**NOTHING, "events": 7, "event_guards": 7}
    assert [backend.event_reader().get(f"ev-{n}") for n in range(7)] == [None] * 7
    assert backend.event_reader().get("ev-kept") is not None


def test_every_statement_of_the_sweep_searches_an_index(backend: SqliteBackend) -> None:
    statements = [retention._EXPIRED_GUARDS, *retention._DELETE_EXPIRED.values()]
    connection = backend.db.connection()
    for sql in statements:
        steps = [row["detail"] for row in connection.execute("EXPLAIN QUERY PLAN " + sql, (NOW, 10))]
        assert not [s for s in steps if s.startswith("SCAN")], (sql, steps)
        assert any("_by_expiry" in s for s in steps), (sql, steps)
