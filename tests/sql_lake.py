"""Lake files for the SQL tests: Parquet files of table rows, written with DuckDB's COPY from
``theeye.analytics.table.row_of`` (the local lake's own writer is not needed to test a reader)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from theeye.analytics.table import COLUMNS, Snapshot, row_of

AS_OF = datetime(2026, 12, 6, 18, 0, tzinfo=UTC)
_TYPES = {"varchar": "VARCHAR", "timestamp": "TIMESTAMP", "boolean": "BOOLEAN"}


def event(number: int, **fields: Any) -> dict[str, Any]:
    """An event as the API returns it: session ``s<number % 3>``, a minute apart."""
    minute = number % 60
    view: dict[str, Any] = {
        "event_id": f"ev-{number:04}",
        "application_id": "web",
        "session_id": f"s{number % 3}",
        "category": "page interaction" if number % 4 else "form interaction",
        "name": "page view",
        "data": {"path": f"/p/{number % 5}", "ms": number},
        "timestamp": f"2026-12-01T09:{minute:02}:27.243860Z",
        "received_at": f"2026-12-01T09:{minute:02}:28.000000Z",
        "context": {"browser": {"family": "Chrome", "version": "120.0"}, "bot": number % 7 == 0},
    }
    view.update(fields)
    return view


def write_file(path: Path, events: Iterable[Mapping[str, Any]]) -> Path:
    """One Parquet file of the events' rows, with exactly the table's columns and types."""
    rows = [row_of(e) for e in events]
    connection = duckdb.connect(":memory:")
    try:
        declared = ", ".join(f"{c.name} {_TYPES[c.type]}" for c in COLUMNS)
        connection.execute(f"CREATE TABLE rows ({declared})")
        marks = ", ".join("?" for _ in COLUMNS)
        connection.executemany(
            f"INSERT INTO rows VALUES ({marks})",  # noqa: S608 - the table's own column count
            [[row[c.name] for c in COLUMNS] for row in rows],
        )
        connection.execute(f"COPY rows TO '{path}' (FORMAT parquet)")
    finally:
        connection.close()
    return path


def lake(directory: Path, *batches: Iterable[Mapping[str, Any]]) -> Snapshot:
    """A snapshot of one file per batch, as of ``AS_OF``."""
    directory.mkdir(parents=True, exist_ok=True)
    files = [write_file(directory / f"part-{n}.parquet", batch) for n, batch in enumerate(batches)]
    return Snapshot(tuple(str(f) for f in files), AS_OF)
