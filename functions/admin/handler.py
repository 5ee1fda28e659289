"""The admin routes (scope ``admin``): ``DELETE /sessions/{session_id}``, erasure for
data-subject requests, and ``POST /errors/replay``.

Wiring only: what erasure does is the backend's ``Eraser`` (``theeye.ports``), what a replay does
is ``admin.replay``. This function's role holds the only delete grants of the stack.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from admin.replay import Replay, ReplayRequest
from theeye import strict_json, wiring
from theeye.api_models import (
    ERASE_OPERATION_ID,
    ERASE_RESPONSES,
    ERASE_SUMMARY,
    REPLAY_OPERATION_ID,
    REPLAY_RESPONSES,
    REPLAY_SUMMARY,
    ReplayIn,
)
from theeye.checks import Rules
from theeye.config import get_settings
from theeye.cursor import CursorCodec
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
def replay() -> Replay:
    """The replay's collaborators, built on the first replay (erasure never loads the schemas)."""
    from theeye.schemas import SchemaRegistry  # imports fastjsonschema: only once a replay runs

    settings = get_settings()
    backend = wiring.backend()
    schemas = SchemaRegistry.from_directory(settings.schemas_dir)
    schemas.compile_all()
    return Replay(
        reader=backend.error_reader(),
        errors=backend.error_store(),
        intake=backend.intake(),
        schemas=schemas,
        rules=Rules.from_settings(settings),
        cursors=CursorCodec(backend.cursor_secret()),
    )


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


@app.post(
    "/errors/replay",
    summary=REPLAY_SUMMARY,
    operation_id=REPLAY_OPERATION_ID,
    responses=REPLAY_RESPONSES,
)
def replay_errors() -> Response[str]:
    deps = dependencies()
    request = app.current_event
    headers = {k.lower(): v for k, v in (request.headers or {}).items()}
    caller = deps.authenticator.authenticate(presented_key(headers), "admin")
    logger.append_keys(key_id=caller.key_id)
    asked = replay_request(request.decoded_body or "")
    try:
        answer = replay().run(asked)
    except RetryableStoreError as exc:  # what was claimed and queued stays so: repeating finishes it
        raise ServiceUnavailable(f"the replay could not finish ({exc.message}); repeat the call") from exc
    metrics.add_metric(name="ErrorsReplayed", unit=MetricUnit.Count, value=answer.replayed)
    logger.info(
        "errors replayed" if not asked.dry_run else "replay dry run",
        extra={"type": asked.type, "matched": answer.matched, "replayed": answer.replayed},
    )
    return json_response(200, answer.to_dict())


def replay_request(body: str) -> ReplayRequest:
    """The body of ``POST /errors/replay`` read, or ``InvalidRequest`` naming each problem."""
    try:
        value = strict_json.loads(body)
    except ValueError as exc:
        raise InvalidRequest(
            "the request body is not JSON",
            code="invalid_json",
            details=[{"field": "body", "message": str(exc)}],
        ) from None
    try:
        given = ReplayIn.model_validate(value)
    except ValidationError as exc:
        details = [
            {"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]} for e in exc.errors()
        ]
        raise InvalidRequest(
            "the replay's parameters are invalid", code="invalid_parameter", details=details
        ) from None
    return ReplayRequest(
        type=given.type,
        start=given.start,
        end=given.end,
        category=given.category,
        name=given.name,
        dry_run=given.dry_run,
        max=given.max,
        cursor=given.cursor,
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


wiring.build_at_init(dependencies)
