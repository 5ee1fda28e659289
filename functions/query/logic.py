"""The query use cases: what a question means, its defaults and limits, and what an answer holds.

Which storage reads answer a question is the backend's business (``theeye.ports.EventReader``
and ``ErrorReader``); these use cases choose the reader method, the window and its defaults,
and check ranges, so every backend answers the same questions with the same 400s.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from theeye.buckets import BUCKET_SUFFIX, Interval
from theeye.clock import format_timestamp
from theeye.errors import InvalidRequest, NotFound
from theeye.ledger import ledger_status
from theeye.ports import (
    CountsReader,
    ErrorFilter,
    ErrorReader,
    EventReader,
    Page,
    QueueDepth,
    SessionReader,
    View,
    Window,
)
from theeye.schemas import EventType, SchemaRegistry

Order = Literal["asc", "desc"]
DEFAULT_WINDOW = timedelta(hours=24)
MAX_DAYS = 400
STATS_LIMITS = {"minute": timedelta(days=2), "hour": timedelta(days=93), "day": timedelta(days=3 * 366)}
# What GET /errors shows of a recorded error (operators' tools also see the key and request).
PUBLIC_ERROR_FIELDS = (
    "error_id",
    "type",
    "source",
    "application_id",
    "received_at",
    "event_id",
    "session_id",
    "details",
    "payload",
    "erased",
)


def check_range(start: datetime | None, end: datetime | None) -> None:
    if start is not None and end is not None and start >= end:
        raise InvalidRequest(
            "'from' must be earlier than 'to'",
            code="invalid_parameter",
            details=[{"field": "from", "message": "must be before 'to'"}],
        )
    if start is not None and end is not None and end - start > timedelta(days=MAX_DAYS):
        raise InvalidRequest(
            f"a time range may span at most {MAX_DAYS} days",
            code="invalid_parameter",
            details=[{"field": "from", "message": f"more than {MAX_DAYS} days before 'to'"}],
        )


def recent_window(
    start: datetime | None,
    end: datetime | None,
    default: timedelta,
    order: Order,
    after: str | None,
    now: datetime,
) -> Window:
    """A checked window that covers ``default`` before ``end`` (or now) when it has no start,
    and runs to a day after now when it has no end."""
    check_range(start, end)
    if start is None:
        start = (end or now) - default
    return Window(start, end or now + timedelta(days=1), order == "desc", after)


@dataclass
class EventQueries:
    reader: EventReader

    def list(
        self,
        *,
        session_id: str | None,
        category: str | None,
        name: str | None,
        start: datetime | None,
        end: datetime | None,
        limit: int,
        order: Order,
        after: str | None,
        now: datetime,
    ) -> Page:
        """A session's events over all time by default; other queries over the last 24 hours."""
        check_range(start, end)
        descending = order == "desc"
        if session_id is not None:
            window = Window(start, end, descending, after)
            return self.reader.by_session(session_id, window, category=category, name=name, limit=limit)
        window = recent_window(start, end, DEFAULT_WINDOW, order, after, now)
        if category is not None:
            return self.reader.by_category(category, window, name=name, limit=limit)
        return self.reader.by_range(window, name=name, limit=limit)

    def get(self, event_id: str) -> View:
        view = self.reader.get(event_id)
        if view is None:
            raise NotFound(f"no event with id {event_id!r}")
        return view


@dataclass
class SessionQueries:
    reader: SessionReader

    def list(
        self,
        *,
        application_id: str | None,
        start: datetime | None,
        end: datetime | None,
        limit: int,
        order: Order,
        after: str | None,
        now: datetime,
    ) -> Page:
        """Sessions whose first event falls in ``[start, end)``; the last 24 hours by default."""
        window = recent_window(start, end, DEFAULT_WINDOW, order, after, now)
        return self.reader.page(window, application_id=application_id, limit=limit)


@dataclass
class ErrorQueries:
    reader: ErrorReader
    window: timedelta = timedelta(days=30)  # the default: as long as errors are kept

    def list(
        self,
        where: ErrorFilter,
        *,
        start: datetime | None,
        end: datetime | None,
        limit: int,
        order: Order,
        after: str | None,
        now: datetime,
    ) -> Page:
        window = recent_window(start, end, self.window, order, after, now)
        return self.reader.page(window, where, limit=limit)

    def get(self, error_id: str) -> View:
        view = self.reader.get(error_id)
        if view is None:
            raise NotFound(f"no error with id {error_id!r}")
        return view


def public_error(view: View) -> View:
    return {name: view.get(name) for name in PUBLIC_ERROR_FIELDS}


@dataclass
class Dashboards:
    """The ledger and the per-category counts, as the processor aggregated them per batch."""

    counts: CountsReader
    queue: QueueDepth
    dead_letter_queue: QueueDepth

    def status(self) -> dict[str, Any]:
        return ledger_status(self.counts.totals(), self.queue.depth(), self.dead_letter_queue.depth())

    def event_stats(
        self,
        *,
        start: datetime | None,
        end: datetime | None,
        interval: Interval,
        category: str | None,
        now: datetime,
    ) -> dict[str, Any]:
        end = end or now
        start = start or end - DEFAULT_WINDOW
        check_range(start, end)
        if end - start > STATS_LIMITS[interval]:
            raise InvalidRequest(
                f"a range of at most {STATS_LIMITS[interval].days} days can be shown by {interval}",
                code="invalid_parameter",
                details=[{"field": "interval", "message": "choose a coarser interval or a shorter range"}],
            )
        first, last = format_timestamp(start), format_timestamp(end)
        categories = (
            [category] if category is not None else sorted(self.counts.categories_between(start, end))
        )
        series = []
        for name in categories:
            counts = self.counts.buckets(interval, name, first, last)
            points = [{"t": b + BUCKET_SUFFIX[interval], "count": n} for b, n in sorted(counts.items()) if n]
            if points:
                series.append({"category": name, "points": points})
        return {"interval": interval, "series": series}


@dataclass
class SchemaQueries:
    """The event types' JSON Schemas, the same files the processor validates with (read-only).

    Only the schema documents are served; nothing is compiled for this.
    """

    registry: SchemaRegistry

    def list(self) -> list[View]:
        """Every event type that has a schema, sorted by category then name."""
        return [_schema_item(t, s) for t, s in sorted(self.registry.schemas.items())]

    def get(self, category: str, name: str) -> View:
        schema = self.registry.schemas.get((category, name))
        if schema is None:
            raise NotFound(f"no schema for category {category!r} and name {name!r}")
        return _schema_item((category, name), schema)


def _schema_item(event_type: EventType, schema: dict[str, Any]) -> View:
    category, name = event_type
    return {"category": category, "name": name, "schema": schema}
