"""Insights over events held in memory: the events table in DuckDB, made from
``theeye.analytics.table.row_of`` rows, and each insight's SQL (Athena's dialect) translated by
sqlglot as the local engine does it."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import duckdb
import sqlglot

from theeye.analytics.table import COLUMNS, TABLE, row_of
from theeye.clock import format_timestamp

SQL_TYPES = {"varchar": "VARCHAR", "timestamp": "TIMESTAMP", "boolean": "BOOLEAN"}
_ids = itertools.count()


def event(
    session_id: str,
    category: str,
    name: str,
    at: datetime,
    *,
    data: dict[str, Any] | None = None,
    context: dict[str, Any] | None = None,
    event_id: str | None = None,
    application_id: str = "web",
) -> dict[str, Any]:
    """An event as the API returns it (``theeye.views.event_view``'s shape)."""
    stamp = format_timestamp(at if at.tzinfo else at.replace(tzinfo=UTC))
    return {
        "event_id": event_id or f"ev-{next(_ids):06d}",
        "application_id": application_id,
        "session_id": session_id,
        "category": category,
        "name": name,
        "data": data or {},
        "timestamp": stamp,
        "client_timestamp": stamp,
        "received_at": stamp,
        "context": context or {},
    }


_database: list[duckdb.DuckDBPyConnection] = []


def _connection() -> duckdb.DuckDBPyConnection:
    """One in-memory database per test process (opening one takes longer than a query)."""
    if not _database:
        _database.append(duckdb.connect(":memory:"))
    return _database[0]


class EventsTable:
    """``execute(trino_sql) -> (columns, rows)`` over the given events. The table is the
    process's one ``events`` table, replaced by each new ``EventsTable``: use the latest."""

    def __init__(self, events: Sequence[dict[str, Any]]) -> None:
        self.connection = _connection()
        columns = ", ".join(f'"{column.name}" {SQL_TYPES[column.type]}' for column in COLUMNS)
        self.connection.execute(f"CREATE OR REPLACE TABLE {TABLE} ({columns})")
        if events:
            row = "(" + ", ".join("?" for _ in COLUMNS) + ")"
            values = [value for item in events for value in row_of(item).values()]
            statement = f"INSERT INTO {TABLE} VALUES " + ", ".join([row] * len(events))  # noqa: S608
            self.connection.execute(statement, values)
        self.statements: list[str] = []

    def __call__(self, trino_sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        self.statements.append(trino_sql)
        (local,) = sqlglot.transpile(trino_sql, read="trino", write="duckdb")
        cursor = self.connection.execute(local)
        return [description[0] for description in cursor.description], cursor.fetchall()
