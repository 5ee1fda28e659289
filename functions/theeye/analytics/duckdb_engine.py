"""The local SQL engine: DuckDB over the files of the local lake (``theeye.analytics.engine``'s
``SqlEngine``). Development and the local stack only: ``duckdb`` is not in the Lambda layer.

Each statement gets its own in-memory connection, closed after it:

1. the ``events`` view is made over the snapshot's files (columns and types exactly
   ``theeye.analytics.table.COLUMNS``; no file yet: an empty view of the same columns);
2. then the walls go up: only those files may be read (``allowed_paths``), every other file,
   directory, URL and extension is out of reach (``enable_external_access=false``), nothing
   spills to disk, and the configuration is locked, so no statement can lower a wall again;
3. the checked statement (``theeye.analytics.sql``) runs in DuckDB's dialect, interrupted by a
   watchdog thread at the time limit (``QueryTooExpensive``), fetching one row more than asked
   to tell whether the result was cut.

The parse already refuses anything but a query over ``events``; these walls hold even for a
statement that got past it.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final

import duckdb

from theeye.analytics.engine import MAX_ROWS, ResultColumn, SqlAnswer, SqlResult, cell
from theeye.analytics.sql import Statement, check
from theeye.analytics.table import COLUMNS, TABLE, Snapshot
from theeye.errors import InvalidRequest, InvalidSql, NotFound, QueryTooExpensive, ServiceUnavailable

TIME_LIMIT_SECONDS: Final = 30.0  # docs/API.md: "the time limit (30 s locally)"
MEMORY_LIMIT: Final = "1GB"
THREADS: Final = 2
ENGINE: Final = "duckdb"

# How the table's column types are declared in DuckDB.
_DUCKDB_TYPES: Final = {"varchar": "VARCHAR", "timestamp": "TIMESTAMP", "boolean": "BOOLEAN"}
# DuckDB's type names as Athena names them (``theeye.analytics.engine.ResultColumn``).
_ATHENA_TYPES: Final = {
    "boolean": "boolean",
    "tinyint": "tinyint",
    "smallint": "smallint",
    "integer": "integer",
    "bigint": "bigint",
    "hugeint": "bigint",  # DuckDB's sum of bigints; Athena's is a bigint
    "utinyint": "smallint",
    "usmallint": "integer",
    "uinteger": "bigint",
    "ubigint": "decimal(20,0)",
    "uhugeint": "decimal(38,0)",
    "float": "real",
    "double": "double",
    "varchar": "varchar",
    "blob": "varbinary",
    "date": "date",
    "time": "time",
    "timestamp": "timestamp",
    "timestamp_s": "timestamp",
    "timestamp_ms": "timestamp",
    "timestamp_ns": "timestamp",
    "timestamp with time zone": "timestamp with time zone",
    "interval": "interval day to second",
    "uuid": "uuid",
}


# Snapshots a statement is tried on when files of the one it read were replaced meanwhile.
SNAPSHOT_ATTEMPTS: Final = 3


@dataclass
class DuckDbEngine:
    """``snapshot`` tells the lake's current files (``LocalLake(directory).snapshot``)."""

    snapshot: Callable[[], Snapshot]
    time_limit_seconds: float = TIME_LIMIT_SECONDS
    memory_limit: str = MEMORY_LIMIT
    threads: int = THREADS

    def run(self, sql: str, max_rows: int) -> SqlAnswer:
        if not 1 <= max_rows <= MAX_ROWS:
            raise InvalidRequest(f"max_rows must be 1-{MAX_ROWS}", code="invalid_parameter")
        return self.execute(check(sql), max_rows)

    def result(self, query_id: str) -> SqlAnswer:
        raise NotFound(f"no query with id {query_id!r}: local statements answer at once, none is kept")

    def execute(self, statement: Statement, max_rows: int) -> SqlResult:
        """Run a checked statement over the current snapshot."""
        started = time.monotonic()
        for attempt in range(1, SNAPSHOT_ATTEMPTS + 1):
            table = self.snapshot()
            expired = False
            try:
                with (
                    self._connection(table) as connection,
                    _Watchdog(connection, self.time_limit_seconds) as dog,
                ):
                    try:
                        cursor = connection.execute(statement.duckdb)
                        described = connection.description or []
                        fetched = cursor.fetchmany(max_rows + 1)
                    finally:
                        expired = dog.expired
                break
            except duckdb.Error as exc:
                # An erasure or a compaction replaced files of this snapshot while the statement
                # read them (or before its view was made): read the table again, as it is now.
                replaced = not all(os.path.exists(path) for path in table.files)
                if expired or not replaced or attempt == SNAPSHOT_ATTEMPTS:
                    raise self._refusal(exc, expired=expired) from None
        columns = tuple(ResultColumn(str(d[0]), athena_type(d[1])) for d in described)
        return SqlResult(
            columns=columns,
            rows=[[cell(value) for value in row] for row in fetched[:max_rows]],
            truncated=len(fetched) > max_rows,
            as_of=table.as_of,
            engine=ENGINE,
            elapsed_ms=round((time.monotonic() - started) * 1000),
        )

    @contextmanager
    def _connection(self, table: Snapshot) -> Iterator[duckdb.DuckDBPyConnection]:
        connection = duckdb.connect(
            ":memory:",
            config={
                "threads": self.threads,
                "memory_limit": self.memory_limit,
                "autoinstall_known_extensions": False,
                "autoload_known_extensions": False,
                "python_enable_replacements": False,  # no Python variable is a table
                "temp_directory": "",  # nothing spills to disk
            },
        )
        try:
            connection.execute("SET TimeZone = 'UTC'")
            connection.execute(view_sql(table.files))
            # The walls, after the view: from here only the snapshot's files can be read.
            connection.execute(f"SET allowed_paths = {_list(table.files)}")
            connection.execute("SET enable_external_access = false")
            connection.execute("SET lock_configuration = true")
            yield connection
        finally:
            connection.close()

    def _refusal(self, exc: duckdb.Error, *, expired: bool) -> Exception:
        if expired or isinstance(exc, duckdb.InterruptException):
            return QueryTooExpensive(
                f"the statement ran over the time limit of {self.time_limit_seconds:g} s; "
                "narrow it (a time range on event_time, fewer joins)"
            )
        if isinstance(exc, duckdb.OutOfMemoryException):
            return QueryTooExpensive(
                f"the statement needs more than the memory limit of {self.memory_limit}; narrow it"
            )
        if isinstance(exc, duckdb.IOException):
            return ServiceUnavailable("the lake changed while the statement read it; send it again")
        return InvalidSql(engine_message(exc))


def view_sql(files: Sequence[str]) -> str:
    """``CREATE VIEW events`` over ``files`` with the table's columns and types; without a file,
    an empty view of the same columns."""
    columns = ", ".join(
        f"CAST({_name(c.name)} AS {_DUCKDB_TYPES[c.type]}) AS {_name(c.name)}" for c in COLUMNS
    )
    if not files:
        empty = ", ".join(f"CAST(NULL AS {_DUCKDB_TYPES[c.type]}) AS {_name(c.name)}" for c in COLUMNS)
        return f"CREATE VIEW {TABLE} AS SELECT {empty} WHERE false"
    source = f"read_parquet({_list(files)}, union_by_name = true)"
    return f"CREATE VIEW {TABLE} AS SELECT {columns} FROM {source}"  # noqa: S608 - the table's names and the lake's paths


def athena_type(duckdb_type: Any) -> str:
    """Athena's name of a DuckDB result type (``VARCHAR`` → ``varchar``, ``INTEGER[]`` →
    ``array(integer)``, ``DECIMAL(10,2)`` → ``decimal(10,2)``, ``JSON`` → ``json``)."""
    text = str(duckdb_type)
    kind = getattr(duckdb_type, "id", text.lower())
    nested = kind in ("decimal", "list", "array", "map", "struct")
    children = duckdb_type.children if nested else []  # DuckDB refuses to list a plain type's
    if text == "JSON":
        return "json"
    if kind == "decimal":
        precision, scale = (value for _, value in children)
        return f"decimal({precision},{scale})"
    if kind in ("list", "array"):
        return f"array({athena_type(children[0][1])})"
    if kind == "map":
        return f"map({athena_type(children[0][1])}, {athena_type(children[1][1])})"
    if kind == "struct":
        return "row(" + ", ".join(f"{name} {athena_type(child)}" for name, child in children) + ")"
    return _ATHENA_TYPES.get(kind, kind)


def engine_message(exc: duckdb.Error) -> str:
    """DuckDB's message without the excerpt of the translated text it points into (``LINE 1:``),
    which is not what the analyst wrote."""
    return str(exc).split("\n\nLINE ", 1)[0].split("\nLINE ", 1)[0].strip()


def _name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _list(texts: Sequence[str]) -> str:
    return "[" + ", ".join("'" + text.replace("'", "''") + "'" for text in texts) + "]"


class _Watchdog:
    """Interrupts the connection's statement once ``limit`` seconds have passed, and again until
    it has stopped (an interrupt that lands between two steps of DuckDB is not lost)."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, limit: float) -> None:
        self._connection = connection
        self._limit = limit
        self._done = threading.Event()
        self._expired = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="sql-time-limit", daemon=True)

    @property
    def expired(self) -> bool:
        return self._expired.is_set()

    def __enter__(self) -> _Watchdog:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()

    def _watch(self) -> None:
        if self._done.wait(self._limit):
            return
        self._expired.set()
        while not self._done.is_set():
            self._connection.interrupt()
            self._done.wait(0.05)
