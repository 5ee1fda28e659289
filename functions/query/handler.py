"""Every GET route of the API. Wiring only: the use cases live in logic.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from query import api, docs, logic, static
from theeye import wiring
from theeye.api_models import (
    HEALTH_RESPONSES,
    ErrorOut,
    ErrorPage,
    EventOut,
    EventPage,
    EventStats,
    Health,
    SchemaList,
    SchemaOut,
    SessionPage,
    Status,
    responses,
)
from theeye.clock import Clock, utc_now
from theeye.config import ConfigurationError, get_settings
from theeye.cursor import CursorCodec
from theeye.http import path_value, register_error_handlers
from theeye.keys import Authenticator
from theeye.observability import logger, metrics
from theeye.ports import ErrorFilter, Page
from theeye.records import ErrorSource, ErrorType
from theeye.schemas import SchemaRegistry

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
SchemaPart = Annotated[str, Path(min_length=1, description="URL-encoded (a space is `%20`, a slash `%2F`).")]


@dataclass
class Dependencies:
    authenticator: Authenticator
    events: logic.EventQueries
    errors: logic.ErrorQueries
    cursors: CursorCodec
    dashboards: logic.Dashboards
    schemas: logic.SchemaQueries
    sessions: logic.SessionQueries
    clock: Clock = utc_now


@lru_cache(maxsize=1)
def dependencies() -> Dependencies:
    """Production collaborators from the chosen backend, built on first use (never at import)."""
    settings = get_settings()
    schemas = schema_registry(settings.schemas_dir)  # first: a broken file fails before any call
    backend = wiring.backend()
    return Dependencies(
        authenticator=Authenticator(backend.keys().get, ttl_seconds=settings.key_cache_seconds),
        events=logic.EventQueries(backend.event_reader()),
        errors=logic.ErrorQueries(backend.error_reader(), timedelta(days=settings.error_retention_days)),
        cursors=CursorCodec(backend.cursor_secret()),
        dashboards=logic.Dashboards(backend.counters(), backend.queue(), backend.dead_letter_queue()),
        schemas=logic.SchemaQueries(schemas),
        sessions=logic.SessionQueries(backend.session_reader()),
    )


def schema_registry(directory: str) -> SchemaRegistry:
    """The processor's schema files (the SchemasLayer, at /opt), read once per container and
    never compiled: ``ConfigurationError`` when the directory is missing, ``SchemaFileError``
    (naming the file) when a file is not JSON or claims no type or a type twice."""
    if not FilePath(directory).is_dir():
        raise ConfigurationError(
            f"SCHEMAS_DIR {directory!r} is not a directory (the SchemasLayer is mounted at /opt)"
        )
    return SchemaRegistry.from_directory(directory)


def _authenticator() -> Authenticator:
    return dependencies().authenticator


app.use([api.require_query_key(_authenticator)])


@app.exception_handler(RequestValidationError)
def _invalid_parameters(exc: RequestValidationError) -> Response[str]:
    event = app.current_event
    return api.invalid_parameters(exc, _authenticator, event.path, event.headers)


_time = api.parse_time


def _page(page: Page, view: Any, route: str, filters: dict[str, Any]) -> dict[str, Any]:
    return api.page_body(dependencies().cursors, page, view, route, filters)


def _position(cursor: str | None, route: str, filters: dict[str, Any]) -> str | None:
    return api.position(dependencies().cursors, cursor, route, filters)


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
    return _page(page, dict, route, filters)


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
        session_id=_path_value("session_id", session_id),
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
    "/sessions",
    summary="Sessions by their first stored event, with counts and applications",
    responses=responses(SessionPage),
)
def list_sessions(
    start: From = None,
    end: To = None,
    application_id: Text = None,
    limit: Limit = 100,
    cursor: Cursor = None,
    order: Order = "asc",
) -> SessionPage:
    """Sessions whose first event falls in the range (default: the last 24 hours), ordered by it;
    kept by the pipeline as it writes, never by scanning events."""
    filters = {
        k: v
        for k, v in {"application_id": application_id, "from": start, "to": end, "order": order}.items()
        if v is not None
    }
    deps = dependencies()
    page = deps.sessions.list(
        application_id=application_id,
        start=_time(start, "from"),
        end=_time(end, "to"),
        limit=limit,
        order=order,
        after=_position(cursor, "/sessions", filters),
        now=deps.clock(),
    )
    return SessionPage.model_validate(_page(page, dict, "/sessions", filters))


@app.get(
    "/events/<event_id>",
    summary="One event",
    responses=responses(EventOut, missing="event"),
)
def get_event(event_id: Annotated[str, Path(min_length=1, max_length=64)]) -> EventOut:
    return EventOut.model_validate(dependencies().events.get(_path_value("event_id", event_id)))


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
        ErrorFilter(type, source, application_id),
        start=_time(start, "from"),
        end=_time(end, "to"),
        limit=limit,
        order=order,
        after=_position(cursor, "/errors", filters),
        now=deps.clock(),
    )
    return ErrorPage.model_validate(_page(page, logic.public_error, "/errors", filters))


@app.get(
    "/errors/<error_id>",
    summary="One recorded error",
    responses=responses(ErrorOut, missing="error"),
)
def get_error(error_id: Annotated[str, Path(min_length=1, max_length=64)]) -> ErrorOut:
    return ErrorOut.model_validate(
        logic.public_error(dependencies().errors.get(_path_value("error_id", error_id)))
    )


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


@app.get(
    "/schemas", summary="The JSON Schema of every event type that has one", responses=responses(SchemaList)
)
def list_schemas() -> SchemaList:
    """Sorted by category then name: the rules the processor checks each event's `data` against."""
    return SchemaList.model_validate({"items": dependencies().schemas.list()})


@app.get(
    "/schemas/<category>/<name>",
    summary="The JSON Schema of one event type",
    responses=responses(SchemaOut, missing="schema"),
)
def get_schema(category: SchemaPart, name: SchemaPart) -> SchemaOut:
    found = dependencies().schemas.get(_path_value("category", category), _path_value("name", name))
    return SchemaOut.model_validate(found)


def _path_value(parameter: str, matched: str) -> str:
    return path_value(app, parameter, matched)


@app.get("/status", summary="The ledger: where every accepted event is", responses=responses(Status))
def status() -> Status:
    return Status.model_validate(dependencies().dashboards.status())


@app.get("/health", summary="Readiness", security=[], responses=HEALTH_RESPONSES)
def health() -> Response[str]:
    # Not through dependencies(): readiness must answer even when those cannot be built.
    problem = wiring.backend().store_health().write_problem()
    answer = Health(status="ok") if problem is None else Health(status="degraded", reason=problem)
    return Response(
        200 if problem is None else 503, "application/json", answer.model_dump_json(exclude_none=True)
    )


@app.get("/openapi.json", include_in_schema=False)
def openapi_json() -> Response[str]:
    return Response(200, "application/json", docs.openapi_json(app))


@app.get("/docs", include_in_schema=False)
def swagger() -> Response[str]:
    return Response(200, "text/html; charset=utf-8", docs.swagger_html(app), compress=True)


@app.get("/console", include_in_schema=False)
def console() -> Response[str]:
    """The web console (static; the browser asks for a query key and calls the routes above)."""
    return static.console_response("index.html", app.current_event.headers)


@app.get("/console/<asset>", include_in_schema=False)
def console_asset(asset: str) -> Response[str]:
    return static.console_response(asset, app.current_event.headers)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


wiring.build_at_init(dependencies)
