"""SQLite adapters of ``EventReader``, ``ErrorReader`` and ``SessionReader``: one indexed,
keyset-paged query each.

| question                      | index                                          |
| ----------------------------- | ---------------------------------------------- |
| session (+ category, name)    | ``events_by_session (session_id, position)``   |
| category                      | ``events_by_category (category, position)``    |
| category + name               | ``events_by_category_name (category, name, position)`` |
| time range (+ name)           | ``events_by_position (position)``              |
| event by id                   | ``event_guards`` key, then ``events_by_position`` |
| errors (+ source, application)| ``errors_by_position (position)``              |
| errors of a type (+ ...)      | ``errors_by_type (type, position)``            |
| error by id                   | ``errors`` key                                 |
| sessions (+ application)      | ``sessions_by_position (position)``            |

A page is ``position BETWEEN lower AND upper AND position IS NOT after`` in reading order,
``LIMIT limit + 1``: the extra row says whether another page follows. Filters no index covers
are SQL conditions, so pages are never short. Rows become the API's views in one place for
both backends (``theeye.views``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from theeye.ports import ErrorFilter, Page, View, Window
from theeye.sqlite.db import Database, compose, unavailable
from theeye.views import error_view, event_view, session_view

_EVENT_COLUMNS = (
    "position, event_id, application_id, session_id, category, name, data, timestamp,"
    " client_timestamp, received_at, context"
)
_ERROR_COLUMNS = (
    "position, error_id, type, source, application_id, received_at, event_id, details, payload,"
    " key_id, request_id, session_id, erased, replayed, context"
)
_SESSION_COLUMNS = "position, session_id, first_seen, last_seen, events, application_ids"
SESSION_WHERE = "(? IS NULL OR EXISTS (SELECT 1 FROM json_each(application_ids) WHERE value = ?))"
_PAGED = "AND position BETWEEN ? AND ? AND position IS NOT ? ORDER BY position"

# Each question's condition; ``?`` parameters come first, then the window's.
EVENT_WHERE = {
    "session": "session_id = ? AND (? IS NULL OR category = ?) AND (? IS NULL OR name = ?)",
    "category": "category = ?",
    "category_name": "category = ? AND name = ?",
    "range": "(? IS NULL OR name = ?)",
}
_ERROR_REST = (
    "(? IS NULL OR source = ?) AND (? IS NULL OR application_id = ?)"
    " AND (? IS NULL OR (replayed IS NOT NULL) = ?)"
)
ERROR_WHERE = {"all": _ERROR_REST, "type": "type = ? AND " + _ERROR_REST}
EVENT_BY_ID = (
    "SELECT e.position, e.event_id, e.application_id, e.session_id, e.category, e.name, e.data,"
    " e.timestamp, e.client_timestamp, e.received_at, e.context FROM event_guards AS g JOIN events AS e ON e.position = g.position"
    " WHERE g.event_id = ?"
)
ERROR_BY_ID = compose("SELECT", _ERROR_COLUMNS, "FROM errors WHERE error_id = ?")

_failure = unavailable("store")


class Query(NamedTuple):
    sql: str
    params: tuple[Any, ...]


def paged(table: str, columns: str, where: str, params: tuple[Any, ...], window: Window, limit: int) -> Query:
    """One page's query: ``where`` (a constant of this module) within the window, limit + 1 rows."""
    order = "DESC" if window.descending else "ASC"
    sql = compose("SELECT", columns, "FROM", table, "WHERE", where, _PAGED, order, "LIMIT ?")
    return Query(sql, (*params, window.lower, window.upper, window.after, limit + 1))


def session_query(
    session_id: str, window: Window, category: str | None, name: str | None, limit: int
) -> Query:
    params = (session_id, category, category, name, name)
    return paged("events", _EVENT_COLUMNS, EVENT_WHERE["session"], params, window, limit)


def category_query(category: str, window: Window, name: str | None, limit: int) -> Query:
    if name is None:
        return paged("events", _EVENT_COLUMNS, EVENT_WHERE["category"], (category,), window, limit)
    return paged("events", _EVENT_COLUMNS, EVENT_WHERE["category_name"], (category, name), window, limit)


def range_query(window: Window, name: str | None, limit: int) -> Query:
    return paged("events", _EVENT_COLUMNS, EVENT_WHERE["range"], (name, name), window, limit)


def error_query(window: Window, where: ErrorFilter, limit: int) -> Query:
    rest = (
        where.source,
        where.source,
        where.application_id,
        where.application_id,
        where.replayed,
        where.replayed,
    )
    if where.type is None:
        return paged("errors", _ERROR_COLUMNS, ERROR_WHERE["all"], rest, window, limit)
    return paged("errors", _ERROR_COLUMNS, ERROR_WHERE["type"], (where.type, *rest), window, limit)


def _page(db: Database, query: Query, limit: int, view: Callable[[sqlite3.Row], View]) -> Page:
    """Run one page's query; the position is the last item's when another row followed."""
    rows = db.read(_failure, query.sql, query.params)
    items = rows[:limit]
    position = str(items[-1]["position"]) if len(rows) > limit and items else None
    return Page([view(row) for row in items], position, 1)


@dataclass
class SqliteEventReader:
    db: Database

    def by_session(
        self, session_id: str, window: Window, *, category: str | None, name: str | None, limit: int
    ) -> Page:
        return _page(self.db, session_query(session_id, window, category, name, limit), limit, event_view)

    def by_category(self, category: str, window: Window, *, name: str | None, limit: int) -> Page:
        return _page(self.db, category_query(category, window, name, limit), limit, event_view)

    def by_range(self, window: Window, *, name: str | None, limit: int) -> Page:
        return _page(self.db, range_query(window, name, limit), limit, event_view)

    def get(self, event_id: str) -> View | None:
        rows = self.db.read(_failure, EVENT_BY_ID, (event_id,))
        return event_view(rows[0]) if rows else None


@dataclass
class SqliteErrorReader:
    db: Database

    def page(self, window: Window, where: ErrorFilter, *, limit: int) -> Page:
        return _page(self.db, error_query(window, where, limit), limit, error_view)

    def get(self, error_id: str) -> View | None:
        rows = self.db.read(_failure, ERROR_BY_ID, (error_id,))
        return error_view(rows[0]) if rows else None


def sessions_query(window: Window, application_id: str | None, limit: int) -> Query:
    return paged("sessions", _SESSION_COLUMNS, SESSION_WHERE, (application_id, application_id), window, limit)


@dataclass
class SqliteSessionReader:
    db: Database

    def page(self, window: Window, *, application_id: str | None, limit: int) -> Page:
        return _page(self.db, sessions_query(window, application_id, limit), limit, session_view)
