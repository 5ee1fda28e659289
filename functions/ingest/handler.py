"""POST /events: authenticate, check envelopes, queue. Wiring only; the use case is in logic.py."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from ingest import logic
from theeye import wiring
from theeye.api_models import INGEST_OPERATION_ID, INGEST_RESPONSES, INGEST_SUMMARY
from theeye.clock import Clock, format_timestamp, utc_now
from theeye.config import get_settings
from theeye.errors import InvalidRequest
from theeye.http import json_response, register_error_handlers
from theeye.keys import Authenticator, presented_key
from theeye.messages import Origin
from theeye.observability import logger, metrics
from theeye.ports import Intake

app = APIGatewayHttpResolver()
register_error_handlers(app)


@dataclass
class Dependencies:
    authenticator: Authenticator
    intake: Intake
    clock: Clock = utc_now


@lru_cache(maxsize=1)
def dependencies() -> Dependencies:
    """Production collaborators from the chosen backend, built on first use (never at import)."""
    backend = wiring.backend()
    return Dependencies(
        authenticator=Authenticator(backend.keys().get, ttl_seconds=get_settings().key_cache_seconds),
        intake=backend.intake(),
    )


@app.post("/events", summary=INGEST_SUMMARY, operation_id=INGEST_OPERATION_ID, responses=INGEST_RESPONSES)
def post_events() -> Response[str]:
    """Checked envelopes are queued before the answer; payloads are validated asynchronously."""
    deps = dependencies()
    request = app.current_event
    received_at = format_timestamp(deps.clock())
    headers = {k.lower(): v for k, v in (request.headers or {}).items()}
    caller = deps.authenticator.authenticate(
        presented_key(headers, request.query_string_parameters), "ingest"
    )
    origin = Origin(
        application_id=caller.application_id,
        key_id=caller.key_id,
        received_at=received_at,
        request_id=request.request_context.request_id,
    )
    logger.append_keys(application_id=caller.application_id, key_id=caller.key_id)
    try:
        raw = logic.decode_body(request.body, bool(request.is_base64_encoded))
        result = logic.ingest(raw, origin=origin, intake=deps.intake)
    except InvalidRequest as exc:
        metrics.add_metric(name="RequestsRejected", unit=MetricUnit.Count, value=1)
        logger.info("request rejected", extra={"code": exc.code})
        raise
    metrics.add_metric(name="EventsAccepted", unit=MetricUnit.Count, value=len(result.events))
    if result.rejections:
        metrics.add_metric(name="EventsRejected", unit=MetricUnit.Count, value=len(result.rejections))
    logger.info("events queued", extra={"accepted": len(result.events), "rejected": len(result.rejections)})
    return json_response(202, result.to_response())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


wiring.build_at_init(dependencies)
