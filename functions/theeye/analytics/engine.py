"""The SQL engine port (docs/API.md, "SQL over every event"): what ``POST /sql`` and the
insights need from an engine, its answers, and the one place that chooses the engine.

* ``SqlEngine.run(sql, max_rows)`` takes a statement in Athena's dialect. Every engine checks it
  with ``theeye.analytics.sql.check`` before anything runs (``InvalidSql`` when refused) and
  answers a ``SqlResult``, or ``SqlRunning`` when the statement is still running (Athena after
  20 s: ``202``). Over the engine's limits it raises ``QueryTooExpensive``; an engine's own
  refusal (a syntax error, an unknown column) is ``InvalidSql`` with the engine's message.
* ``SqlEngine.result(query_id)`` answers a statement that was running: the result, still
  ``SqlRunning``, its error, or ``NotFound`` for an id the engine does not know.

Implementations: DuckDB over the local lake (``theeye.analytics.duckdb_engine``; every
statement answers at once, so ``result`` knows no id) and Athena on AWS. ``sql_engine()``
chooses: DuckDB when ``LAKE_DIRECTORY`` is set, else Athena.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol
from uuid import UUID

from theeye.clock import format_timestamp
from theeye.config import Settings, get_settings
from theeye.errors import ServiceUnavailable

if TYPE_CHECKING:
    from theeye.analytics.table import Snapshot

EngineName = Literal["duckdb", "athena"]
# What POST /sql takes (kept here, apart from the parser, so the API's models need no sqlglot).
MAX_SQL_LENGTH: Final = 100_000  # characters of one statement (Athena takes 256 KiB)
MAX_ROWS: Final = 10_000
DEFAULT_MAX_ROWS: Final = 1_000


@dataclass(frozen=True)
class ResultColumn:
    name: str
    type: str  # Athena's name of the type: varchar, bigint, double, boolean, timestamp, date, …


@dataclass(frozen=True)
class SqlResult:
    """A finished statement's answer: at most ``max_rows`` rows, ``truncated`` when it had more."""

    columns: tuple[ResultColumn, ...]
    rows: list[list[Any]]  # JSON-ready cells (see ``cell``)
    truncated: bool
    as_of: datetime  # every event stored before it is in the table the statement read
    engine: EngineName
    elapsed_ms: int

    def body(self) -> dict[str, Any]:
        return {
            "columns": [{"name": c.name, "type": c.type} for c in self.columns],
            "rows": self.rows,
            "truncated": self.truncated,
            "as_of": format_timestamp(self.as_of),
            "engine": self.engine,
            "elapsed_ms": self.elapsed_ms,
        }


@dataclass(frozen=True)
class SqlRunning:
    """A statement still running: ask ``result(query_id)`` again later."""

    query_id: str

    def body(self) -> dict[str, Any]:
        return {"query_id": self.query_id, "status": "running"}


SqlAnswer = SqlResult | SqlRunning


class SqlEngine(Protocol):
    def run(self, sql: str, max_rows: int) -> SqlAnswer: ...

    def result(self, query_id: str) -> SqlAnswer: ...


def cell(value: Any) -> Any:
    """A value of a result row as JSON: numbers and booleans as they are; times as the API writes
    them everywhere (``2026-12-01T09:15:27.243860Z``, a timestamp without a zone being UTC);
    dates ``2026-12-01``; ``NaN`` and infinities, which JSON lacks, as the texts ``"NaN"``,
    ``"Infinity"`` and ``"-Infinity"``; arrays as lists, rows and maps as objects; binary as hex."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if isinstance(value, Decimal):
        if not value.is_finite():
            return cell(float(value))
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return format_timestamp(value if value.tzinfo else value.replace(tzinfo=UTC))
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return _interval(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [cell(item) for item in value]
    if isinstance(value, dict):
        return {str(key): cell(item) for key, item in value.items()}
    return str(value)


def _interval(value: timedelta) -> str:
    """Athena's text of an ``interval day to second``: ``1 02:03:04.500``."""
    sign = "-" if value < timedelta(0) else ""
    value = abs(value)
    hours, rest = divmod(value.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{sign}{value.days} {hours:02}:{minutes:02}:{seconds:02}.{value.microseconds // 1000:03}"


# -- choosing the engine --------------------------------------------------------------------------

_installed: list[SqlEngine] = []


def sql_engine() -> SqlEngine:
    """The engine of this process: the one installed, else the one the settings name."""
    return _installed[-1] if _installed else _default()


def install(chosen: SqlEngine | None) -> None:
    """Use ``chosen`` from now on in this process (``None``: back to the settings' choice)."""
    _installed.clear()
    if chosen is not None:
        _installed.append(chosen)


def reset() -> None:
    """Forget the engine built from the settings, as a new container would."""
    _default.cache_clear()


@lru_cache(maxsize=1)
def _default() -> SqlEngine:
    settings = get_settings()
    if settings.lake_directory:
        from theeye.analytics.duckdb_engine import DuckDbEngine

        return DuckDbEngine(lake_snapshots(settings.lake_directory))
    return athena_engine(settings)


def lake_snapshots(directory: str) -> Callable[[], Snapshot]:
    """How the local engine learns the lake's current files: the one reader of the local lake."""
    from theeye.analytics.local_lake import LocalLake

    snapshot: Callable[[], Snapshot] = LocalLake(directory).snapshot
    return snapshot


NO_ENGINE: Final = (
    "SQL needs an engine: LAKE_DIRECTORY (the local lake, read with DuckDB) or Athena's settings"
)


def athena_engine(settings: Settings) -> SqlEngine:
    """The engine of a deployed stack: Athena over the lake's Iceberg table, in the analysts'
    work group; without Athena's settings every valid statement answers 503 naming them."""
    if not (settings.athena_workgroup and settings.lake_database):
        return _Unavailable()
    from theeye.aws.athena import AthenaEngine

    return AthenaEngine(
        workgroup=settings.athena_workgroup,
        database=settings.lake_database,
        lake_delay=timedelta(seconds=settings.lake_delay_seconds),
    )


class _Unavailable:
    def run(self, sql: str, max_rows: int) -> SqlAnswer:
        from theeye.analytics.sql import check

        check(sql)
        raise ServiceUnavailable(NO_ENGINE)

    def result(self, query_id: str) -> SqlAnswer:
        raise ServiceUnavailable(NO_ENGINE)
