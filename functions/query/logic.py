"""The query use cases: what a question means, its defaults and limits, and what an answer holds.

Which storage reads answer a question is the backend's business (``theeye.ports.EventReader``,
``SessionReader`` and ``ErrorReader``); these use cases choose the reader method, the window and
its defaults, and check ranges, so every backend answers the same questions with the same 400s.
``Listings`` is the one path of every listing route: a page asked for with a cursor, answered
with its items and a cursor bound to the same question.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Generic, Literal, TypeVar

from theeye.buckets import BUCKET_SUFFIX, Interval
from theeye.clock import Clock, format_timestamp, parse_timestamp, utc_now
from theeye.cursor import CursorCodec, fingerprint
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
    "replayed",
)


def parse_time(value: str | None, field: str) -> datetime | None:
    """A time parameter (``from``/``to``) as a datetime; ``InvalidRequest`` when it is not one."""
    if value is None:
        return None
    try:
        return parse_timestamp(value)
    except ValueError as exc:
        raise InvalidRequest(
            f"'{field}' is not a valid time",
            code="invalid_parameter",
            details=[{"field": field, "message": str(exc)}],
        ) from None


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


@dataclass(frozen=True)
class EventFilter:
    """Which stored events a listing asks for (None: any)."""

    session_id: str | None = None
    category: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class SessionFilter:
    """Which sessions a listing asks for (None: any)."""

    application_id: str | None = None


Filter = TypeVar("Filter", EventFilter, SessionFilter, ErrorFilter)


@dataclass(frozen=True)
class PageRequest(Generic[Filter]):
    """One page of a listing as a route was asked for it.

    The filters' fields are named as the query parameters are; ``start`` and ``end`` are ``from``
    and ``to`` as sent. A cursor is bound to the route, the filters given, the range and the
    order, so it continues only the question that made it.
    """

    route: str
    filters: Filter
    start: str | None
    end: str | None
    order: Order
    limit: int
    cursor: str | None

    def fingerprint(self) -> str:
        asked = {**asdict(self.filters), "from": self.start, "to": self.end, "order": self.order}
        return fingerprint(self.route, {name: value for name, value in asked.items() if value is not None})


@dataclass
class Listings:
    """The one path of every listing route (events, a session's events, sessions, errors): the
    range read, the cursor checked against the question, one page read, and the next page's
    cursor bound to the same question."""

    events: EventQueries
    sessions: SessionQueries
    errors: ErrorQueries
    cursors: CursorCodec
    clock: Clock = utc_now

    def event_page(self, asked: PageRequest[EventFilter]) -> dict[str, Any]:
        where = asked.filters
        read = partial(
            self.events.list, session_id=where.session_id, category=where.category, name=where.name
        )
        return self._page(asked, read)

    def session_page(self, asked: PageRequest[SessionFilter]) -> dict[str, Any]:
        return self._page(asked, partial(self.sessions.list, application_id=asked.filters.application_id))

    def error_page(self, asked: PageRequest[ErrorFilter]) -> dict[str, Any]:
        return self._page(asked, partial(self.errors.list, asked.filters), public_error)

    def _page(
        self, asked: PageRequest[Any], read: Callable[..., Page], view: Callable[[View], View] = dict
    ) -> dict[str, Any]:
        """``read``: a use case's ``list``, its filters given, the rest of its arguments left."""
        start, end = parse_time(asked.start, "from"), parse_time(asked.end, "to")
        bound = asked.fingerprint()
        after = self.cursors.decode(asked.cursor, bound) if asked.cursor is not None else None
        page = read(start=start, end=end, limit=asked.limit, order=asked.order, after=after, now=self.clock())
        next_cursor = self.cursors.encode(page.position, bound) if page.position else None
        return {"items": [view(item) for item in page.items], "next_cursor": next_cursor}


@dataclass
class Dashboards:
    """The ledger and the per-category counts, as the processor aggregated them per batch."""

    counts: CountsReader
    queue: QueueDepth
    dead_letter_queue: QueueDepth
    clock: Clock = utc_now

    def status(self) -> dict[str, Any]:
        return ledger_status(self.counts.totals(), self.queue.depth(), self.dead_letter_queue.depth())

    def event_stats(
        self, *, start: str | None, end: str | None, interval: Interval, category: str | None
    ) -> dict[str, Any]:
        """Stored events per category and ``interval`` over ``[from, to)`` as sent (default: the
        last 24 hours); empty buckets are left out."""
        since, until = parse_time(start, "from"), parse_time(end, "to")
        until = until or self.clock()
        since = since or until - DEFAULT_WINDOW
        check_range(since, until)
        if until - since > STATS_LIMITS[interval]:
            raise InvalidRequest(
                f"a range of at most {STATS_LIMITS[interval].days} days can be shown by {interval}",
                code="invalid_parameter",
                details=[{"field": "interval", "message": "choose a coarser interval or a shorter range"}],
            )
        first, last = format_timestamp(since), format_timestamp(until)
        categories = (
            [category] if category is not None else sorted(self.counts.categories_between(since, until))
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
