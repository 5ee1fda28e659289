"""Every read of the SQLite backend is an indexed search, checked with ``EXPLAIN QUERY PLAN``.

The statements checked are the ones the readers run (``theeye.sqlite.reads`` builds them), in
both reading orders, with and without a cursor and every optional filter: none may scan a
table, and none may sort in a temporary B-tree (the index gives the reading order).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from theeye.ports import ErrorFilter, Window
from theeye.sqlite import categories, keys, ledger, reads, session_summaries, stats
from theeye.sqlite.backend import SqliteBackend
from theeye.sqlite.reads import Query

START, END = datetime(2026, 11, 22, tzinfo=UTC), datetime(2026, 11, 25, tzinfo=UTC)


def windows() -> Iterator[Window]:
    for descending in (False, True):
        for after in (None, "2026-11-23T10:00:00.000000Z#ev-1"):
            yield Window(START, END, descending, after)
            yield Window(None, None, descending, after)


def reader_queries() -> Iterator[tuple[str, Query, str]]:
    """(what, the statement, the index it must search) for every reader path."""
    for n, w in enumerate(windows()):
        yield f"session-{n}", reads.session_query("s-1", w, None, None, 10), "events_by_session"
        yield f"session-filtered-{n}", reads.session_query("s-1", w, "c", "n", 10), "events_by_session"
        yield f"category-{n}", reads.category_query("c", w, None, 10), "events_by_category"
        yield f"category-name-{n}", reads.category_query("c", w, "n", 10), "events_by_category_name"
        yield f"range-{n}", reads.range_query(w, None, 10), "events_by_position"
        yield f"range-name-{n}", reads.range_query(w, "n", 10), "events_by_position"
        yield f"errors-{n}", reads.error_query(w, ErrorFilter(), 10), "errors_by_position"
        filtered = ErrorFilter(None, "ingest", "app-1")
        yield f"errors-filtered-{n}", reads.error_query(w, filtered, 10), "errors_by_position"
        typed = ErrorFilter("schema_violation", "ingest", "app-1")
        yield f"errors-type-{n}", reads.error_query(w, typed, 10), "errors_by_type"
    yield "event-by-id", Query(reads.EVENT_BY_ID, ("ev-1",)), "events_by_position"
    yield "error-by-id", Query(reads.ERROR_BY_ID, ("err-1",)), "sqlite_autoindex_errors_1"
    yield "key-by-hash", Query(keys.GET, ("0" * 64,)), "sqlite_autoindex_api_keys_1"
    yield "key-by-id", Query(keys.BY_ID, ("key-1",)), "api_keys_by_id"
    yield "stats-buckets", Query(stats.MINUTES, ("c", "2026-11-23", "2026-11-24~")), "PRIMARY KEY"


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[SqliteBackend]:
    backend = SqliteBackend(tmp_path / "plans.db")
    yield backend
    backend.db.close()


def plan(backend: SqliteBackend, query: Query) -> list[str]:
    rows = backend.db.connection().execute("EXPLAIN QUERY PLAN " + query.sql, query.params).fetchall()
    return [str(row["detail"]) for row in rows]


CASES = list(reader_queries())


@pytest.mark.parametrize(("what", "query", "index"), CASES, ids=[c[0] for c in CASES])
def test_every_reader_query_searches_an_index(
    backend: SqliteBackend, what: str, query: Query, index: str
) -> None:
    steps = plan(backend, query)
    assert steps, what
    for step in steps:
        assert step.startswith("SEARCH "), f"{what}: {step}"
        assert "USING INDEX" in step or "USING PRIMARY KEY" in step or "USING COVERING INDEX" in step, step
        assert "TEMP B-TREE" not in step, f"{what}: {step}"
    assert any(index in step for step in steps), f"{what}: {steps}"


def test_whole_table_reads_follow_an_index_or_a_key(backend: SqliteBackend) -> None:
    """Listing keys and totalling the ledger read every row by design, in key or index order."""
    assert plan(backend, Query(keys.LIST, ())) == ["SCAN api_keys USING INDEX api_keys_by_created"]
    assert plan(backend, Query(ledger.TOTALS, ())) == ["SCAN ledger"]  # WITHOUT ROWID: its key
    registry = plan(backend, Query(categories.CATEGORIES, ("2026-11-22", "2026-11-24")))
    assert registry[0] == "SEARCH categories USING PRIMARY KEY (day>? AND day<?)"


def test_the_counting_reads_a_sessions_events_through_its_index(backend: SqliteBackend) -> None:
    """The counting brings a session's summary up to date from the session's own rows: an index
    search, with a temporary set only for its distinct application ids."""
    steps = plan(backend, Query(session_summaries.SUMMARY, ("s-1",)))
    assert [s for s in steps if s.startswith(("SCAN", "SEARCH"))] == [
        "SEARCH events USING INDEX events_by_session (session_id=?)"
    ], steps
    assert [s for s in steps if "TEMP B-TREE" in s] == ["USE TEMP B-TREE FOR json_group_array(DISTINCT)"]
