"""POST /events: authenticate, check envelopes, queue; the Segment-compatible /v1/* routes: the
same, their messages read as events; POST /events/validate: the same checks and the processor's,
queueing nothing. Wiring only, read top down: the routes, each one call of a use case
(logic.py), then the dependency factory."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from ingest import logic
from theeye import segment, wiring
from theeye.api_models import (
    INGEST_OPERATION_ID,
    INGEST_RESPONSES,
    INGEST_SUMMARY,
    SEGMENT_RESPONSES,
    SEGMENT_SUCCESS,
    VALIDATE_OPERATION_ID,
    VALIDATE_RESPONSES,
    VALIDATE_SUMMARY,
    segment_operation_id,
    segment_summary,
)
from theeye.checks import Rules
from theeye.clock import Clock, utc_now
from theeye.config import Settings, get_settings
from theeye.http import json_response, register_error_handlers
from theeye.keys import Authenticator
from theeye.observability import logger, metrics
from theeye.ports import Intake

app = APIGatewayHttpResolver()
register_error_handlers(app)


@app.post("/events", summary=INGEST_SUMMARY, operation_id=INGEST_OPERATION_ID, responses=INGEST_RESPONSES)
def post_events() -> Response[str]:
    """Checked envelopes are queued before the answer; payloads are validated asynchronously."""
    return json_response(202, _ingest(logic.EVENTS).to_response())


def segment_route(kind: str | None) -> Callable[[], Response[str]]:
    """``POST /v1/<kind>`` (``kind`` None: ``/v1/batch``): Segment messages, read by their
    dialect into the path of ``POST /events``; answered as Segment's libraries expect."""
    dialect = logic.segment_dialect(kind)

    def post_segment() -> Response[str]:
        _ingest(dialect)
        return json_response(200, SEGMENT_SUCCESS)

    post_segment.__name__ = f"post_segment_{kind or 'batch'}"
    return post_segment


for _path, _kind in segment.ROUTES.items():
    app.post(
        _path,
        summary=segment_summary(_kind),
        operation_id=segment_operation_id(_kind),
        responses=SEGMENT_RESPONSES,
    )(segment_route(_kind))


@app.post(
    "/events/validate",
    summary=VALIDATE_SUMMARY,
    operation_id=VALIDATE_OPERATION_ID,
    responses=VALIDATE_RESPONSES,
)
def post_events_validate() -> Response[str]:
    """A dry run of POST /events: every check of the pipeline, judged now. The Intake is not
    touched (nothing queued, counted in the ledger or recorded); the one metric says how many
    events were validated, apart from the accepted and rejected ones."""
    deps = dependencies()
    report = logic.validate_request(
        _request(), authenticator=deps.authenticator, validation=deps.validation, clock=deps.clock
    )
    return json_response(200, report.to_response())


def _ingest(dialect: logic.Dialect) -> logic.IngestResult:
    deps = dependencies()
    return logic.ingest_request(
        _request(),
        dialect,
        authenticator=deps.authenticator,
        intake=deps.intake,
        clock=deps.clock,
        settings=deps.settings,
    )


def _request() -> logic.Request:
    event = app.current_event
    return logic.Request(
        body=event.body,
        is_base64=bool(event.is_base64_encoded),
        headers={k.lower(): v for k, v in (event.headers or {}).items()},
        query=dict(event.query_string_parameters or {}),
        request_id=event.request_context.request_id,
        source_ip=event.request_context.http.source_ip or "",
    )


def load_validation() -> logic.Validation:
    """The schemas (``SCHEMAS_DIR``, the schemas layer) and rules of POST /events/validate.

    Loaded and compiled on the first dry run, not while the container starts: POST /events never
    needs them, so its cold start does not pay for reading, compiling (or even importing) them.
    """
    from theeye.schemas import SchemaRegistry  # imports fastjsonschema: only once validate is used

    settings = get_settings()
    schemas = SchemaRegistry.from_directory(settings.schemas_dir)
    schemas.compile_all()
    return logic.Validation(schemas, Rules.from_settings(settings))


@dataclass
class Dependencies:
    authenticator: Authenticator
    intake: Intake
    settings: Settings = field(default_factory=Settings)  # how the events' context is built
    clock: Clock = utc_now
    load_validation: Callable[[], logic.Validation] = load_validation
    _validation: logic.Validation | None = field(default=None, repr=False)

    def validation(self) -> logic.Validation:
        """The dry run's schemas and rules, loaded on first use (then kept by this container)."""
        if self._validation is None:
            self._validation = self.load_validation()
        return self._validation


@lru_cache(maxsize=1)
def dependencies() -> Dependencies:
    """Production collaborators from the chosen backend, built on first use (never at import)."""
    backend = wiring.backend()
    return Dependencies(
        authenticator=Authenticator.over(backend.keys(), ttl_seconds=get_settings().key_cache_seconds),
        intake=backend.intake(),
        settings=get_settings(),
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


wiring.build_at_init(dependencies)
