"""HTTP edge shared by the API functions: the one place domain errors become HTTP answers.

Every 4xx/5xx body has the contract's shape:
``{"error": {"code": "<snake_case>", "message": "<human readable>", "details": [...]}}``.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.metrics import MetricUnit

from theeye.errors import ServiceUnavailable, TheEyeError
from theeye.observability import logger, metrics

JSON = "application/json"


def path_value(app: ApiGatewayResolver, parameter: str, matched: str) -> str:
    """A path parameter, decoded: API Gateway's own ``pathParameters`` (decoded) when the event has
    them, else the segment the resolver matched in the raw path, percent-decoded here."""
    given: dict[str, str] = getattr(app.current_event, "path_parameters", None) or {}
    return given.get(parameter) or unquote(matched)


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status,
        content_type=JSON,
        body=json.dumps(body, separators=(",", ":"), ensure_ascii=False),
        headers=headers or {},
    )


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[str]:
    return json_response(
        status, {"error": {"code": code, "message": message, "details": details or []}}, headers
    )


def domain_error_response(exc: TheEyeError) -> Response[str]:
    """The answer to a domain error: its status, code, message and details."""
    headers: dict[str, str] = {}
    if isinstance(exc, ServiceUnavailable):
        headers["Retry-After"] = str(exc.retry_after_seconds)
    outcome = "ClientErrors" if exc.status < 500 else "ServerErrors"
    metrics.add_metric(name=outcome, unit=MetricUnit.Count, value=1)
    if exc.status >= 500:
        logger.warning("request failed", extra={"code": exc.code, "reason": exc.message})
    return error_response(exc.status, exc.code, exc.message, exc.details, headers)


def invalid_parameters_response(exc: RequestValidationError) -> Response[str]:
    """The answer to parameters that fail a route's validation: a 400 naming each field."""
    details = [
        {"field": str(e.get("loc", ["", "?"])[-1]), "message": str(e.get("msg", "is invalid"))}
        for e in exc.errors()
    ]
    return error_response(400, "invalid_parameter", "a query parameter is invalid", details)


def register_error_handlers(app: ApiGatewayResolver) -> None:
    """Map every exception a route can raise to the contract's error body."""

    app.exception_handler(TheEyeError)(domain_error_response)

    @app.not_found
    def _no_route(exc: NotFoundError) -> Response[str]:
        event = app.current_event
        metrics.add_metric(name="ClientErrors", unit=MetricUnit.Count, value=1)
        return error_response(404, "not_found", f"no route for {event.http_method} {event.path}")

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response[str]:
        logger.exception("unhandled error")
        metrics.add_metric(name="ServerErrors", unit=MetricUnit.Count, value=1)
        return error_response(500, "internal_error", "an unexpected error occurred; it has been logged")


def as_json_body(event: dict[str, Any]) -> dict[str, Any]:
    """The API Gateway event with its body read as JSON whatever ``Content-Type`` came with it:
    every body the API takes is JSON, and a browser's ``fetch`` or ``sendBeacon`` labels one
    ``text/plain`` unless told otherwise (a body that is not JSON is then a 400 naming it)."""
    headers = event.get("headers") or {}
    if not event.get("body"):
        return event
    kept = {name: value for name, value in headers.items() if name.lower() != "content-type"}
    declared = next((value for name, value in headers.items() if name.lower() == "content-type"), "")
    if str(declared).lower().startswith(JSON):
        return event
    return {**event, "headers": {**kept, "content-type": JSON}}
