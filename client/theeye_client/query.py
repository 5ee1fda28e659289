"""``QueryClient``: every ``GET`` route of the API, with typed arguments and lazy paging.

List methods return iterators that fetch the next page (``cursor=<next_cursor>``, same filters)
only when the previous one is used up. Error answers raise :class:`~theeye_client.errors.ApiError`
subclasses; ``GET`` is safe to repeat, so network errors, 429 and 5xx are retried first.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal, TypedDict, cast
from urllib.parse import quote

from ._envelope import MAX_TEXT_LENGTH, TimeLike, check_text, to_time_text
from ._http import Backoff, Transport, parse_retry_after, retryable
from ._version import __version__
from .errors import ApiError, TheEyeError, TransportError, api_error

DEFAULT_ENDPOINT = "http://127.0.0.1:3000"
MAX_PAGE_SIZE = 1000
Order = Literal["asc", "desc"]
Interval = Literal["minute", "hour", "day"]
ErrorType = Literal[
    "invalid_json",
    "invalid_envelope",
    "schema_violation",
    "future_timestamp",
    "unknown_event_type",
    "event_id_conflict",
]
ErrorSource = Literal["ingest", "processor"]


class StoredEvent(TypedDict):
    event_id: str
    application_id: str
    session_id: str
    category: str
    name: str
    data: dict[str, Any]
    timestamp: str  #: when it occurred, corrected by the request's sent_at
    client_timestamp: str  #: the timestamp as the sender wrote it
    received_at: str
    context: dict[str, Any]  #: the visit: anonymised address, country, browser, os, device, bot, page, ...


class FieldProblem(TypedDict):
    field: str
    message: str


class Replay(TypedDict):
    at: str
    event_id: str


class ErrorRecord(TypedDict):
    error_id: str
    type: str
    source: str
    application_id: str
    received_at: str
    event_id: str | None
    session_id: str | None  #: the event's session; None for a rejection naming none
    details: list[FieldProblem]
    payload: Any  #: None once its session was erased
    erased: bool
    replayed: Replay | None  #: when the error's event was replayed, and as which event


class StatsPoint(TypedDict):
    t: str
    count: int


class StatsSeries(TypedDict):
    category: str
    points: list[StatsPoint]


class EventStats(TypedDict):
    interval: str
    series: list[StatsSeries]


class QueueDepth(TypedDict):
    messages: int
    in_flight: int


class Status(TypedDict):
    accepted: int
    stored: int
    duplicates: int
    invalid: dict[str, int]
    queued: int
    dead_lettered: int
    erased: int  #: stored events since erased (still counted in stored)
    replayed: int  #: recorded errors whose events entered the pipeline again
    balanced: bool
    rejected: dict[str, int]
    queue: QueueDepth
    dead_letter_queue: QueueDepth


class Health(TypedDict):
    status: str


class EventSchema(TypedDict):
    category: str
    name: str
    schema: dict[str, Any]  #: the JSON Schema (draft-07) the type's ``data`` is validated against


class SessionSummary(TypedDict):
    session_id: str
    first_seen: str  #: timestamp of the session's earliest stored event
    last_seen: str  #: timestamp of its latest stored event
    events: int  #: how many of its events are stored
    application_ids: list[str]  #: every application that sent them, sorted


class QueryClient:
    """Reads events, errors, counts and the ledger with a key of scope ``query``; thread-safe."""

    def __init__(
        self,
        api_key: str,
        endpoint: str = DEFAULT_ENDPOINT,
        *,
        timeout: float = 10.0,
        max_retries: int = 3,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        user_agent: str | None = None,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        if not isinstance(api_key, str) or not api_key.strip() or any(c in api_key for c in "\r\n"):
            raise ValueError("api_key must be a non-empty string on one line")
        if not timeout > 0:
            raise ValueError("timeout must be positive")
        if max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        agent = (
            user_agent or f"theeye-client/{__version__} python/{sys.version_info[0]}.{sys.version_info[1]}"
        )
        self._transport = Transport(
            endpoint,
            timeout=timeout,
            headers={"Authorization": f"Bearer {api_key}", "User-Agent": agent, "Accept": "application/json"},
        )
        self._max_retries = max_retries
        self._backoff = Backoff(backoff_base, backoff_max)
        self._sleep = sleep or time.sleep

    # ------------------------------------------------------------------ events

    def events(
        self,
        *,
        session_id: str | None = None,
        category: str | None = None,
        name: str | None = None,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        order: Order | None = None,
        page_size: int | None = None,
    ) -> Iterator[StoredEvent]:
        """``GET /events``: every matching event, page after page. ``start`` is inclusive, ``end``
        exclusive; without ``start``, a query that names no ``session_id`` covers the last 24 hours."""
        params = _params(
            session_id=_text(session_id, "session_id"),
            category=_text(category, "category"),
            name=_text(name, "name"),
            start=start,
            end=end,
            order=order,
            page_size=page_size,
        )
        return cast("Iterator[StoredEvent]", self._walk("/events", params))

    def session_events(
        self,
        session_id: str,
        *,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        order: Order | None = None,
        page_size: int | None = None,
    ) -> Iterator[StoredEvent]:
        """``GET /sessions/{session_id}/events``: the session's events in the order they occurred."""
        check_text(session_id, "session_id")
        params = _params(start=start, end=end, order=order, page_size=page_size)
        return cast("Iterator[StoredEvent]", self._walk(f"/sessions/{_segment(session_id)}/events", params))

    def event(self, event_id: str) -> StoredEvent:
        """``GET /events/{event_id}``; :class:`~theeye_client.errors.NotFound` if there is none."""
        return cast(StoredEvent, self._get(f"/events/{_segment(_id(event_id, 'event_id'))}"))

    # ------------------------------------------------------------------ sessions

    def sessions(
        self,
        *,
        application_id: str | None = None,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        order: Order | None = None,
        page_size: int | None = None,
    ) -> Iterator[SessionSummary]:
        """``GET /sessions``: sessions whose first stored event falls in ``[start, end)`` (without
        ``start``: the last 24 hours), ordered by that first event; ``order="desc"``: newest first."""
        params = _params(
            application_id=_text(application_id, "application_id"),
            start=start,
            end=end,
            order=order,
            page_size=page_size,
        )
        return cast("Iterator[SessionSummary]", self._walk("/sessions", params))

    # ------------------------------------------------------------------ errors

    def errors(
        self,
        *,
        type: ErrorType | None = None,
        source: ErrorSource | None = None,
        application_id: str | None = None,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        order: Order | None = None,
        page_size: int | None = None,
    ) -> Iterator[ErrorRecord]:
        """``GET /errors``: recorded errors, newest first unless ``order="asc"``."""
        params = _params(
            type=_text(type, "type"),
            source=_text(source, "source"),
            application_id=_text(application_id, "application_id"),
            start=start,
            end=end,
            order=order,
            page_size=page_size,
        )
        return cast("Iterator[ErrorRecord]", self._walk("/errors", params))

    def error(self, error_id: str) -> ErrorRecord:
        """``GET /errors/{error_id}``; :class:`~theeye_client.errors.NotFound` if there is none."""
        return cast(ErrorRecord, self._get(f"/errors/{_segment(_id(error_id, 'error_id'))}"))

    # ------------------------------------------------------------------ schemas

    def schemas(self) -> list[EventSchema]:
        """``GET /schemas``: every event type that has a schema, sorted by category then name."""
        return cast("list[EventSchema]", list(self._walk("/schemas", {})))

    def schema(self, category: str, name: str) -> EventSchema:
        """``GET /schemas/{category}/{name}``; :class:`~theeye_client.errors.NotFound` if that type
        has no schema. Each of ``category`` and ``name`` is escaped into one path segment."""
        path = f"/schemas/{_segment(check_text(category, 'category'))}/{_segment(check_text(name, 'name'))}"
        return cast(EventSchema, self._get(path))

    # ------------------------------------------------------------------ aggregates and service

    def stats(
        self,
        start: TimeLike | None,
        end: TimeLike | None,
        interval: Interval = "hour",
        *,
        category: str | None = None,
    ) -> EventStats:
        """``GET /stats/events``: stored events per category and ``interval``, by event time."""
        if interval not in ("minute", "hour", "day"):
            raise ValueError("interval must be 'minute', 'hour' or 'day'")
        params = _params(start=start, end=end, category=_text(category, "category"))
        params["interval"] = interval
        return cast(EventStats, self._get("/stats/events", params))

    def status(self) -> Status:
        """``GET /status``: the ledger (accepted, stored, duplicates, invalid, queued, ...)."""
        return cast(Status, self._get("/status"))

    def health(self) -> Health:
        """``GET /health``: 200 once the whole pipeline is ready; otherwise raises ``ApiError``."""
        return cast(Health, self._get("/health"))

    def openapi(self) -> dict[str, Any]:
        """``GET /openapi.json``: the OpenAPI 3 document of every route."""
        document: dict[str, Any] = self._get("/openapi.json")
        return document

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> QueryClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------------ plumbing

    def _walk(self, path: str, params: dict[str, str]) -> Iterator[Any]:
        seen: set[str] = set()
        cursor: str | None = None
        while True:
            page = self._get(path, {**params, "cursor": cursor} if cursor is not None else params)
            items = page.get("items") if isinstance(page, dict) else None
            if not isinstance(items, list):
                raise ApiError(200, "invalid_response", f"GET {path} answered without an items list")
            yield from items
            next_cursor = page.get("next_cursor")
            if not next_cursor:
                return
            if not isinstance(next_cursor, str) or next_cursor in seen:
                raise ApiError(200, "invalid_response", f"GET {path} answered a cursor it already gave")
            seen.add(next_cursor)
            cursor = next_cursor

    def _get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        attempts = 0
        while True:
            attempts += 1
            retry_after: float | None = None
            error: TheEyeError
            try:
                response = self._transport.request("GET", path, params=params)
            except TransportError as exc:
                error = exc
            else:
                if 200 <= response.status < 300:
                    try:
                        return response.json()
                    except ValueError:
                        raise ApiError(
                            response.status, "invalid_response", f"GET {path} answered with invalid JSON"
                        ) from None
                error = api_error(
                    response.status, response.body, parse_retry_after(response.headers.get("retry-after"))
                )
                if not retryable(response.status):
                    raise error
                retry_after = error.retry_after
            if attempts > self._max_retries:
                raise error
            self._sleep(self._backoff.delay(attempts, retry_after))


def _params(
    *,
    start: TimeLike | None = None,
    end: TimeLike | None = None,
    order: str | None = None,
    page_size: int | None = None,
    **filters: str | None,
) -> dict[str, str]:
    params = {key: value for key, value in filters.items() if value is not None}
    if start is not None:
        params["from"] = to_time_text(start, "start")
    if end is not None:
        params["to"] = to_time_text(end, "end")
    if order is not None:
        if order not in ("asc", "desc"):
            raise ValueError("order must be 'asc' or 'desc'")
        params["order"] = order
    if page_size is not None:
        if (
            isinstance(page_size, bool)
            or not isinstance(page_size, int)
            or not 1 <= page_size <= MAX_PAGE_SIZE
        ):
            raise ValueError(f"page_size must be an integer 1-{MAX_PAGE_SIZE}")
        params["limit"] = str(page_size)
    return params


def _text(value: str | None, field: str) -> str | None:
    return None if value is None else check_text(value, field)


def _id(value: str, field: str) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_TEXT_LENGTH:
        raise ValueError(f"{field} must be a non-empty string")
    return value


def _segment(value: str) -> str:
    """One path segment: every reserved character escaped, ``/`` included."""
    return quote(value, safe="")
