"""Every GET route of the API. Wiring only: the use cases live in logic.py."""

from __future__ import annotations

import hashlib
import pathlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from query import docs, logic
from theeye import aws
from theeye.api_models import (
    ErrorOut,
    ErrorPage,
    EventOut,
    EventPage,
    EventStats,
    Health,
    Status,
    responses,
)
from theeye.clock import Clock, parse_timestamp, utc_now
from theeye.config import get_settings
from theeye.counters import DynamoCounters
from theeye.cursor import CursorCodec, fingerprint
from theeye.error_store import ErrorSource, ErrorType
from theeye.errors import InvalidRequest, TheEyeError
from theeye.http import domain_error_response, error_response, register_error_handlers
from theeye.key_store import DynamoKeyStore
from theeye.keys import Authenticator, presented_key
from theeye.ledger import DynamoLedger
from theeye.observability import logger, metrics
from theeye.paging import Page
from theeye.reader import DynamoReader

app = APIGatewayHttpResolver(enable_validation=True)
register_error_handlers(app)

Text = Annotated[str | None, Query(min_length=1, max_length=128)]
From = Annotated[
    str | None,
    Query(
        alias="from",
        max_length=40,
        description="Inclusive; ISO-8601, no zone means UTC.",
        examples=["2021-01-01"],
    ),
]
To = Annotated[
    str | None,
    Query(
        alias="to",
        max_length=40,
        description="Exclusive; ISO-8601, no zone means UTC.",
        examples=["2021-01-02"],
    ),
]
Limit = Annotated[int, Query(ge=1, le=1000, description="Items per page.")]
Cursor = Annotated[str | None, Query(max_length=2048, description="`next_cursor` of the previous page.")]
Order = Literal["asc", "desc"]
PUBLIC_PATHS = ("/health", "/openapi.json", "/docs", "/console")


@dataclass
class Dependencies:
    authenticator: Authenticator
    events: logic.EventQueries
    errors: logic.ErrorQueries
    cursors: CursorCodec
    dashboards: logic.Dashboards
    clock: Clock = utc_now


@lru_cache(maxsize=1)
def dependencies() -> Dependencies:
    """Production collaborators, built on first use (never at import). Tests replace them."""
    settings = get_settings()
    reader = DynamoReader()
    executor = ThreadPoolExecutor(max_workers=16, thread_name_prefix="reader")
    tables = logic.Tables(
        events=settings.events_table,
        errors=settings.errors_table,
        shards=settings.index_shards,
        error_window=timedelta(days=settings.error_retention_days),
    )
    secret = aws.client("secretsmanager").get_secret_value(SecretId=settings.cursor_secret_arn)[
        "SecretString"
    ]
    return Dependencies(
        authenticator=Authenticator(
            DynamoKeyStore(settings.keys_table).get, ttl_seconds=settings.key_cache_seconds
        ),
        events=logic.EventQueries(reader, DynamoCounters(settings.counters_table), tables, executor),
        errors=logic.ErrorQueries(reader, tables, executor),
        cursors=CursorCodec(secret.encode("utf-8")),
        dashboards=logic.Dashboards(
            DynamoLedger(settings.counters_table),
            DynamoCounters(settings.counters_table),
            aws.client("sqs"),
            settings.queue_url,
            settings.dlq_url,
        ),
    )


def _authenticate() -> None:
    """Every route but the public ones needs a key with the ``query`` scope."""
    event = app.current_event
    if event.path.startswith(PUBLIC_PATHS):
        return
    headers = {k.lower(): v for k, v in (event.headers or {}).items()}
    dependencies().authenticator.authenticate(presented_key(headers), "query")


def require_query_key(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
    _authenticate()
    metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
    return next_middleware(app)


app.use([require_query_key])


@app.exception_handler(RequestValidationError)
def _invalid_parameters(exc: RequestValidationError) -> Response[str]:
    try:
        _authenticate()  # a request without a valid key is a 401/403 whatever its parameters
    except TheEyeError as denied:
        return domain_error_response(denied)
    details = [
        {"field": str(e.get("loc", ["", "?"])[-1]), "message": str(e.get("msg", "is invalid"))}
        for e in exc.errors()
    ]
    return error_response(400, "invalid_parameter", "a query parameter is invalid", details)


def _time(value: str | None, field: str) -> datetime | None:
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


def _page(page: Page, view: Any, route: str, filters: dict[str, Any]) -> dict[str, Any]:
    cursors = dependencies().cursors
    next_cursor = cursors.encode(page.position, fingerprint(route, filters)) if page.position else None
    return {"items": [view(i) for i in page.items], "next_cursor": next_cursor}


def _position(cursor: str | None, route: str, filters: dict[str, Any]) -> str | None:
    return dependencies().cursors.decode(cursor, fingerprint(route, filters)) if cursor is not None else None


def _events(route: str, **query: Any) -> dict[str, Any]:
    cursor = query.pop("cursor")
    limit = query.pop("limit")
    filters = {k: v for k, v in query.items() if v is not None}
    deps = dependencies()
    page = deps.events.list(
        session_id=query["session_id"],
        category=query["category"],
        name=query["name"],
        start=_time(query["start"], "from"),
        end=_time(query["end"], "to"),
        limit=limit,
        order=query["order"],
        after=_position(cursor, route, filters),
        now=deps.clock(),
    )
    return _page(page, logic.event_view, route, filters)


@app.get(
    "/events", summary="Events by session, category, name and time range", responses=responses(EventPage)
)
def list_events(
    session_id: Text = None,
    category: Text = None,
    name: Text = None,
    start: From = None,
    end: To = None,
    limit: Limit = 100,
    cursor: Cursor = None,
    order: Order = "asc",
) -> EventPage:
    """Ordered by timestamp (then event id). Without `from`, queries that name no session cover 24 hours."""
    body = _events(
        "/events",
        session_id=session_id,
        category=category,
        name=name,
        start=start,
        end=end,
        limit=limit,
        cursor=cursor,
        order=order,
    )
    return EventPage.model_validate(body)


@app.get(
    "/sessions/<session_id>/events",
    summary="A session's events in the order they occurred",
    responses=responses(EventPage),
)
def session_events(
    session_id: Annotated[str, Path(min_length=1, max_length=128)],
    start: From = None,
    end: To = None,
    limit: Limit = 100,
    cursor: Cursor = None,
    order: Order = "asc",
) -> EventPage:
    body = _events(
        "/sessions/events",
        session_id=session_id,
        category=None,
        name=None,
        start=start,
        end=end,
        limit=limit,
        cursor=cursor,
        order=order,
    )
    return EventPage.model_validate(body)


@app.get(
    "/events/<event_id>",
    summary="One event",
    responses=responses(EventOut, missing="event"),
)
def get_event(event_id: Annotated[str, Path(min_length=1, max_length=64)]) -> EventOut:
    return EventOut.model_validate(logic.event_view(dependencies().events.get(event_id)))


@app.get("/errors", summary="Recorded errors, newest first", responses=responses(ErrorPage))
def list_errors(
    type: Annotated[ErrorType | None, Query()] = None,
    source: Annotated[ErrorSource | None, Query()] = None,
    application_id: Text = None,
    start: From = None,
    end: To = None,
    limit: Limit = 100,
    cursor: Cursor = None,
    order: Order = "desc",
) -> ErrorPage:
    filters = {
        k: v
        for k, v in {
            "type": type,
            "source": source,
            "application_id": application_id,
            "from": start,
            "to": end,
            "order": order,
        }.items()
        if v is not None
    }
    deps = dependencies()
    page = deps.errors.list(
        error_type=type,
        source=source,
        application_id=application_id,
        start=_time(start, "from"),
        end=_time(end, "to"),
        limit=limit,
        order=order,
        after=_position(cursor, "/errors", filters),
        now=deps.clock(),
    )
    return ErrorPage.model_validate(_page(page, logic.error_view, "/errors", filters))


@app.get(
    "/errors/<error_id>",
    summary="One recorded error",
    responses=responses(ErrorOut, missing="error"),
)
def get_error(error_id: Annotated[str, Path(min_length=1, max_length=64)]) -> ErrorOut:
    return ErrorOut.model_validate(logic.error_view(dependencies().errors.get(error_id)))


@app.get(
    "/stats/events",
    summary="Stored events per category and minute, hour or day (by event timestamp)",
    responses=responses(EventStats),
)
def event_stats(
    start: From = None,
    end: To = None,
    interval: Annotated[Literal["minute", "hour", "day"], Query()] = "hour",
    category: Text = None,
) -> EventStats:
    """Maintained by the processor per batch (never by scanning events); empty buckets are omitted."""
    deps = dependencies()
    body = deps.dashboards.event_stats(
        start=_time(start, "from"),
        end=_time(end, "to"),
        interval=interval,
        category=category,
        now=deps.clock(),
    )
    return EventStats.model_validate(body)


@app.get("/status", summary="The ledger: where every accepted event is", responses=responses(Status))
def status() -> Status:
    return Status.model_validate(dependencies().dashboards.status())


@app.get("/health", summary="Readiness", security=[])
def health() -> Health:
    return Health(status="ok")


@app.get("/openapi.json", include_in_schema=False)
def openapi_json() -> Response[str]:
    return Response(200, "application/json", docs.openapi_json())


@app.get("/docs", include_in_schema=False)
def swagger() -> Response[str]:
    return Response(200, "text/html; charset=utf-8", docs.swagger_html(), compress=True)


CONSOLE_DIR = pathlib.Path(__file__).resolve().parent / "console"
CONSOLE_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}
CONSOLE_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@dataclass(frozen=True)
class ConsoleFile:
    content_type: str
    body: str
    etag: str


@lru_cache(maxsize=1)
def console_files() -> dict[str, ConsoleFile]:
    """The console's static files by name, read once per container. Only these are ever served."""
    files: dict[str, ConsoleFile] = {}
    for path in sorted(CONSOLE_DIR.iterdir()) if CONSOLE_DIR.is_dir() else []:
        content_type = CONSOLE_TYPES.get(path.suffix)
        if content_type and path.is_file() and not path.is_symlink():
            body = path.read_text(encoding="utf-8")
            digest = hashlib.sha256(body.encode("utf-8")).hexdigest()[:32]
            files[path.name] = ConsoleFile(content_type, body, f'"{digest}"')
    return files


def _console_file(name: str) -> Response[str]:
    file = console_files().get(name)
    if file is None:
        return error_response(404, "not_found", "no such console file")
    headers = {**CONSOLE_HEADERS, "ETag": file.etag}
    if_none_match = {k.lower(): v for k, v in (app.current_event.headers or {}).items()}.get("if-none-match")
    if if_none_match and file.etag in (tag.strip() for tag in if_none_match.split(",")):
        return Response(304, None, "", headers=headers)
    return Response(200, file.content_type, file.body, headers=headers, compress=True)


@app.get("/console", include_in_schema=False)
def console() -> Response[str]:
    """The web console (static; the browser asks for a query key and calls the routes above)."""
    return _console_file("index.html")


@app.get("/console/<asset>", include_in_schema=False)
def console_asset(asset: str) -> Response[str]:
    return _console_file(asset)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
