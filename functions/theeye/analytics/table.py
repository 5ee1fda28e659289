"""The ``events`` table analysts query (docs/API.md, "SQL over every event"): its columns, in
order, with their SQL types, and the row a stored event becomes.

This is the one definition of the table: the local lake's files, the AWS feeder's records, the
Glue table of the template, the DuckDB view, the insights' fields and the docs all follow it
(tests tie each copy that cannot import it to this list).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

from theeye.clock import parse_timestamp

SqlType = Literal["varchar", "timestamp", "boolean"]


@dataclass(frozen=True)
class Column:
    name: str
    type: SqlType
    # Where a context column's value is in the stored context: its keys, outermost first.
    context_path: tuple[str, ...] = ()


def _context(name: str, *path: str, type_: SqlType = "varchar") -> Column:
    return Column(name, type_, path or (name,))


EVENT_COLUMNS: Final[tuple[Column, ...]] = (
    Column("event_id", "varchar"),
    Column("session_id", "varchar"),
    Column("application_id", "varchar"),
    Column("category", "varchar"),
    Column("name", "varchar"),
    Column("event_time", "timestamp"),  # the event's corrected timestamp
    Column("client_time", "timestamp"),  # the timestamp the sender stated
    Column("received_at", "timestamp"),
    Column("data", "varchar"),  # the payload as compact JSON
)
CONTEXT_COLUMNS: Final[tuple[Column, ...]] = (
    _context("ip"),
    _context("country"),
    _context("user_agent"),
    _context("browser", "browser", "family"),
    _context("browser_version", "browser", "version"),
    _context("os", "os", "family"),
    _context("os_version", "os", "version"),
    _context("device"),
    _context("bot", type_="boolean"),
    _context("page_url", "page", "url"),
    _context("page_host", "page", "host"),
    _context("page_path", "page", "path"),
    _context("page_title", "page", "title"),
    _context("referrer_host", "referrer", "host"),
    _context("referrer_medium", "referrer", "medium"),
    _context("referrer_source", "referrer", "source"),
    _context("utm_source", "campaign", "source"),
    _context("utm_medium", "campaign", "medium"),
    _context("utm_campaign", "campaign", "name"),
    _context("utm_term", "campaign", "term"),
    _context("utm_content", "campaign", "content"),
    _context("locale"),
    _context("timezone"),
)
COLUMNS: Final[tuple[Column, ...]] = EVENT_COLUMNS + CONTEXT_COLUMNS
COLUMN_NAMES: Final[tuple[str, ...]] = tuple(column.name for column in COLUMNS)
TABLE: Final = "events"
# The column the table is partitioned by (by day) and a row's identity.
PARTITION_COLUMN: Final = "event_time"
KEY_COLUMN: Final = "event_id"

Row = dict[str, Any]


def row_of(event: Mapping[str, Any]) -> Row:
    """The table row of an event as the API returns it (``theeye.views.event_view``): times as
    naive UTC datetimes, ``data`` as compact JSON, the context flattened; absent is None."""
    from theeye.events import compact_json

    context = event.get("context") or {}
    row: Row = {
        "event_id": event["event_id"],
        "session_id": event["session_id"],
        "application_id": event["application_id"],
        "category": event["category"],
        "name": event["name"],
        "event_time": _utc(event["timestamp"]),
        "client_time": _utc(event.get("client_timestamp") or event["timestamp"]),
        "received_at": _utc(event["received_at"]),
        "data": compact_json(event["data"]),
    }
    for column in CONTEXT_COLUMNS:
        value: Any = context
        for key in column.context_path:
            value = value.get(key) if isinstance(value, Mapping) else None
        if column.type == "boolean":
            row[column.name] = value if isinstance(value, bool) else None
        else:
            row[column.name] = value if isinstance(value, str) and value else None
    return row


def _utc(text: str) -> datetime:
    """A stored ISO-8601 UTC time as a naive datetime (SQL ``timestamp`` has no zone)."""
    return parse_timestamp(text).replace(tzinfo=None)


@dataclass(frozen=True)
class Snapshot:
    """The files that hold the table at one instant (paths a reader opens as they are): every
    event stored before ``as_of`` is in them, and no erased one."""

    files: tuple[str, ...]
    as_of: datetime
