"""Every GET route of the query API, SQL (``POST /sql``) and insights (``POST /insights``), read top down: the resolver and its key check, the typed
parameters, then the routes, each one call of a use case (logic.py); the dependency factory last.
Wiring only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from query import docs, logic, static
from theeye import wiring
from theeye.analytics.engine import SqlAnswer, SqlRunning, sql_engine
from theeye.analytics.insights.query_ids import MAX_QUERY_ID_LENGTH, InsightQueryIds
from theeye.analytics.insights.service import InsightAnswer, InsightQueries
from theeye.api_models import (
    HEALTH_RESPONSES,
    INSIGHT_RESPONSES,
    INSIGHT_RESULT_RESPONSES,
    SQL_RESPONSES,
    SQL_RESULT_RESPONSES,
    ErrorOut,
    ErrorPage,
    EventOut,
    EventPage,
    EventStats,
    Health,
    SchemaList,
    SchemaOut,
    SessionPage,
    SqlIn,
    Status,
    responses,
)
from theeye.clock import utc_now
from theeye.config import ConfigurationError, get_settings
from theeye.cursor import CursorCodec
from theeye.errors import InvalidInsight, TheEyeError
from theeye.http import (
    as_json_body,
    domain_error_response,
    invalid_parameters_response,
    json_response,
    path_value,
    register_error_handlers,
)
from theeye.keys import Authenticator, presented_key
from theeye.observability import logger, metrics
from theeye.ports import ErrorFilter
from theeye.records import ErrorSource, ErrorType
from theeye.schemas import SchemaRegistry

app = APIGatewayHttpResolver(enable_validation=True)
register_error_handlers(app)

PUBLIC_PATHS = ("/health", "/openapi.json", "/docs", "/console")


def require_query_key(app: ApiGatewayResolver, next_middleware: NextMiddleware) -> Response[Any]:
    """Every request is counted; every route but the public ones needs a key with the ``query`` scope."""
    _authenticate()
    metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
    return next_middleware(app)


app.use([require_query_key])


@app.exception_handler(RequestValidationError)
def invalid_parameters(exc: RequestValidationError) -> Response[str]:
    """Parameters that fail validation are a 400, for a caller who may ask: 401/403 otherwise."""
    try:
        _authenticate()
    except TheEyeError as denied:
        return domain_error_response(denied)
    return invalid_parameters_response(exc)


def _authenticate() -> None:
    """The key check of the current request; the authenticator is built only for a non-public path."""
    event = app.current_event
    if event.path.startswith(PUBLIC_PATHS):
        return
    headers = {k.lower(): v for k, v in (event.headers or {}).items()}
    dependencies().authenticator.authenticate(presented_key(headers), "query")


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
    where = logic.EventFilter(session_id, category, name)
    asked = logic.PageRequest("/events", where, start, end, order, limit, cursor)
    return EventPage.model_validate(dependencies().listings.event_page(asked))


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
    where = logic.EventFilter(session_id=_path_value("session_id", session_id))
    asked = logic.PageRequest("/sessions/events", where, start, end, order, limit, cursor)
    return EventPage.model_validate(dependencies().listings.event_page(asked))


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
    where = logic.SessionFilter(application_id)
    asked = logic.PageRequest("/sessions", where, start, end, order, limit, cursor)
    return SessionPage.model_validate(dependencies().listings.session_page(asked))


@app.get(
    "/events/<event_id>",
    summary="One event",
    responses=responses(EventOut, missing="event"),
)
def get_event(event_id: Annotated[str, Path(min_length=1, max_length=64)]) -> EventOut:
    return EventOut.model_validate(dependencies().listings.events.get(_path_value("event_id", event_id)))


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
    replayed: Annotated[
        bool | None, Query(description="`true`: only errors replayed; `false`: only those not replayed.")
    ] = None,
) -> ErrorPage:
    asked = logic.PageRequest(
        "/errors", ErrorFilter(type, source, application_id, replayed), start, end, order, limit, cursor
    )
    return ErrorPage.model_validate(dependencies().listings.error_page(asked))


@app.get(
    "/errors/<error_id>",
    summary="One recorded error",
    responses=responses(ErrorOut, missing="error"),
)
def get_error(error_id: Annotated[str, Path(min_length=1, max_length=64)]) -> ErrorOut:
    error = dependencies().listings.errors.get(_path_value("error_id", error_id))
    return ErrorOut.model_validate(logic.public_error(error))


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
    body = dependencies().dashboards.event_stats(start=start, end=end, interval=interval, category=category)
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


@app.post(
    "/sql",
    summary="Run one SELECT over the events table, in Athena's SQL",
    responses=SQL_RESPONSES,
)
def run_sql(body: Annotated[SqlIn, Body()]) -> Response[str]:
    """Read-only: one SELECT (or WITH … SELECT) over `events`; anything else is `400 invalid_sql`
    and nothing runs. Locally (DuckDB) every statement answers at once; on AWS (Athena) a
    statement still running after 20 s answers `202` with its `query_id`."""
    return _sql_answer(sql_engine().run(body.sql, body.max_rows))


@app.get(
    "/sql/<query_id>",
    summary="The result of a statement that was still running",
    responses=SQL_RESULT_RESPONSES,
)
def sql_result(query_id: Annotated[str, Path(min_length=1, max_length=128)]) -> Response[str]:
    """`202` while it runs, then `200` with the result (kept 24 hours) or its error."""
    return _sql_answer(sql_engine().result(_path_value("query_id", query_id)))


def _sql_answer(answer: SqlAnswer) -> Response[str]:
    return json_response(202 if isinstance(answer, SqlRunning) else 200, answer.body())


@app.post(
    "/insights",
    summary="Trends, funnels, top values and sessions over every event",
    responses=INSIGHT_RESPONSES,
)
def ask_insight() -> Response[str]:
    """One SQL statement over `events` run by the engine of `POST /sql` (same data, freshness and
    `202` path); the body is read here so that every problem is `400 invalid_insight` naming the
    field (the request's schema: `docs.py`)."""
    return _insight_answer(dependencies().insights.ask(_json_body()))


@app.get(
    "/insights/<query_id>",
    summary="The answer of an insight that was still running",
    responses=INSIGHT_RESULT_RESPONSES,
)
def insight_result(
    query_id: Annotated[str, Path(min_length=1, max_length=MAX_QUERY_ID_LENGTH)],
) -> Response[str]:
    """`202` while it runs, then `200` with the answer (kept 24 hours) or its error."""
    return _insight_answer(dependencies().insights.result(_path_value("query_id", query_id)))


def _json_body() -> Any:
    try:
        return app.current_event.json_body
    except (TypeError, ValueError):  # no body, or not JSON
        message = "the body is not JSON: send one insight request object"
        raise InvalidInsight(message, details=[{"field": "body", "message": message}]) from None


def _insight_answer(answer: InsightAnswer) -> Response[str]:
    if isinstance(answer, SqlRunning):
        return json_response(202, answer.body())
    return json_response(200, answer)


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


@dataclass
class Dependencies:
    authenticator: Authenticator
    listings: logic.Listings
    dashboards: logic.Dashboards
    schemas: logic.SchemaQueries
    insights: InsightQueries


@lru_cache(maxsize=1)
def dependencies() -> Dependencies:
    """Production collaborators from the chosen backend, built on first use (never at import)."""
    settings = get_settings()
    schemas = schema_registry(settings.schemas_dir)  # first: a broken file fails before any call
    backend = wiring.backend()
    return Dependencies(
        authenticator=Authenticator.over(backend.keys(), ttl_seconds=settings.key_cache_seconds),
        listings=logic.Listings(
            events=logic.EventQueries(backend.event_reader()),
            sessions=logic.SessionQueries(backend.session_reader()),
            errors=logic.ErrorQueries(backend.error_reader(), timedelta(days=settings.error_retention_days)),
            cursors=CursorCodec(backend.cursor_secret()),
        ),
        dashboards=logic.Dashboards(backend.counters(), backend.queue(), backend.dead_letter_queue()),
        schemas=logic.SchemaQueries(schemas),
        insights=InsightQueries(sql_engine, InsightQueryIds(backend.cursor_secret()), utc_now),
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


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(as_json_body(event), context)


wiring.build_at_init(dependencies)
