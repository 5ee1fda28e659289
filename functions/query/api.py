"""The query API's request policy, free of wiring: who may call a route, what a malformed
parameter answers, and how pages and cursors are bound to a route and its filters.

Everything here takes its collaborators as parameters; ``handler.py`` passes its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.metrics import MetricUnit

from theeye.clock import parse_timestamp
from theeye.cursor import CursorCodec, fingerprint
from theeye.errors import InvalidRequest, TheEyeError
from theeye.http import domain_error_response, error_response
from theeye.keys import Authenticator, presented_key
from theeye.observability import metrics

PUBLIC_PATHS = ("/health", "/openapi.json", "/docs", "/console")

Middleware = Callable[[ApiGatewayResolver, NextMiddleware], Response[Any]]


class PageOf(Protocol):
    """What a use case returns for one page: its items and where the next page starts."""

    @property
    def items(self) -> Sequence[Any]: ...

    @property
    def position(self) -> str | None: ...


def authenticate(
    authenticator: Callable[[], Authenticator], path: str, headers: Mapping[str, str] | None
) -> None:
    """Every route but the public ones needs a key with the ``query`` scope.

    ``authenticator`` is asked only for a non-public path, so public routes never build it.
    """
    if path.startswith(PUBLIC_PATHS):
        return
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    authenticator().authenticate(presented_key(lowered), "query")


def require_query_key(authenticator: Callable[[], Authenticator]) -> Middleware:
    """The middleware that authenticates every request (see ``authenticate``) and counts it."""

    def middleware(app: ApiGatewayResolver, next_middleware: NextMiddleware) -> Response[Any]:
        event = app.current_event
        authenticate(authenticator, event.path, event.headers)
        metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
        return next_middleware(app)

    return middleware


def invalid_parameters(
    exc: RequestValidationError,
    authenticator: Callable[[], Authenticator],
    path: str,
    headers: Mapping[str, str] | None,
) -> Response[str]:
    """The answer to parameters that fail validation: a 400, unless the caller may not ask."""
    try:
        authenticate(authenticator, path, headers)  # without a valid key: 401/403 whatever the parameters
    except TheEyeError as denied:
        return domain_error_response(denied)
    details = [
        {"field": str(e.get("loc", ["", "?"])[-1]), "message": str(e.get("msg", "is invalid"))}
        for e in exc.errors()
    ]
    return error_response(400, "invalid_parameter", "a query parameter is invalid", details)


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


def page_body(
    cursors: CursorCodec,
    page: PageOf,
    view: Callable[[Any], Any],
    route: str,
    filters: dict[str, Any],
) -> dict[str, Any]:
    """A page's body: its items as ``view`` shows them, and a cursor bound to route and filters."""
    next_cursor = cursors.encode(page.position, fingerprint(route, filters)) if page.position else None
    return {"items": [view(i) for i in page.items], "next_cursor": next_cursor}


def position(cursors: CursorCodec, cursor: str | None, route: str, filters: dict[str, Any]) -> str | None:
    """Where a presented cursor resumes; ``InvalidRequest`` for one made for another query."""
    return cursors.decode(cursor, fingerprint(route, filters)) if cursor is not None else None
