"""Every GET route of the API: wiring only; the use cases live in logic.py."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from theeye.http import json_response, register_error_handlers
from theeye.observability import logger, metrics, tracer

app = APIGatewayHttpResolver()
register_error_handlers(app)


@app.get("/health")
def health() -> Response[str]:
    return json_response(200, {"status": "ok"})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
