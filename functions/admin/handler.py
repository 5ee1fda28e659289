"""DELETE /sessions/{session_id}: erasure for data-subject requests (scope ``admin``).

Wiring only: what erasure does is the backend's ``Eraser`` (``theeye.ports``). The route is the
only one of this function, so its role holds the only delete grants of the stack.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from theeye import wiring
from theeye.api_models import ERASE_OPERATION_ID, ERASE_RESPONSES, ERASE_SUMMARY
from theeye.config import get_settings
from theeye.errors import InvalidRequest, RetryableStoreError, ServiceUnavailable
from theeye.events import MAX_TEXT_LENGTH
from theeye.http import json_response, path_value, register_error_handlers
from theeye.keys import Authenticator, presented_key
from theeye.observability import logger, metrics
from theeye.ports import Eraser

app = APIGatewayHttpResolver()
register_error_handlers(app)


@dataclass
class Dependencies:
    authenticator: Authenticator
    eraser: Eraser


@lru_cache(maxsize=1)
def dependencies() -> Dependencies:
    """Production collaborators from the chosen backend, built on first use (never at import)."""
    backend = wiring.backend()
    return Dependencies(
        authenticator=Authenticator.over(backend.keys(), ttl_seconds=get_settings().key_cache_seconds),
        eraser=backend.eraser(),
    )


def checked_session_id(session_id: str) -> str:
    if not session_id or len(session_id) > MAX_TEXT_LENGTH:
        raise InvalidRequest(
            f"a session id is 1-{MAX_TEXT_LENGTH} characters",
            code="invalid_parameter",
            details=[{"field": "session_id", "message": f"must be 1-{MAX_TEXT_LENGTH} characters"}],
        )
    return session_id


@app.delete(
    "/sessions/<session_id>",
    summary=ERASE_SUMMARY,
    operation_id=ERASE_OPERATION_ID,
    responses=ERASE_RESPONSES,
)
def erase_session(session_id: str) -> Response[str]:
    deps = dependencies()
    request = app.current_event
    headers = {k.lower(): v for k, v in (request.headers or {}).items()}
    caller = deps.authenticator.authenticate(presented_key(headers), "admin")
    logger.append_keys(key_id=caller.key_id)
    try:
        erasure = deps.eraser.erase(checked_session_id(path_value(app, "session_id", session_id)))
    except RetryableStoreError as exc:  # part may be erased: repeating the call finishes it
        raise ServiceUnavailable(f"the erasure could not finish ({exc.message}); repeat the call") from exc
    metrics.add_metric(name="EventsErased", unit=MetricUnit.Count, value=erasure.events_erased)
    # the session id is the data subject's: it is not logged
    logger.info("session erased", extra={"events": erasure.events_erased, "errors": erasure.errors_redacted})
    return json_response(
        200,
        {
            "session_id": erasure.session_id,
            "events_erased": erasure.events_erased,
            "errors_redacted": erasure.errors_redacted,
        },
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


wiring.build_at_init(dependencies)
