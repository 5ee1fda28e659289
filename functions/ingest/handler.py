"""POST /events: authenticate, check envelopes, queue; the Segment-compatible /v1/* routes: the
same, their messages read as events; POST /events/validate: the same checks and the processor's,
queueing nothing. Wiring only; the use cases are in logic.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
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
from theeye.clock import Clock, format_timestamp, utc_now
from theeye.config import get_settings
from theeye.errors import InvalidRequest, PayloadTooLarge
from theeye.http import json_response, register_error_handlers
from theeye.keys import ApiKey, Authenticator, presented_key
from theeye.messages import Origin
from theeye.observability import logger, metrics
from theeye.ports import Intake

app = APIGatewayHttpResolver()
register_error_handlers(app)


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
    )


@app.post("/events", summary=INGEST_SUMMARY, operation_id=INGEST_OPERATION_ID, responses=INGEST_RESPONSES)
def post_events() -> Response[str]:
    """Checked envelopes are queued before the answer; payloads are validated asynchronously."""
    deps = dependencies()
    result = _ingest(deps, _caller(deps), logic.EVENTS)
    return json_response(202, result.to_response())


def segment_route(kind: str | None) -> Callable[[], Response[str]]:
    """``POST /v1/<kind>`` (``kind`` None: ``/v1/batch``): Segment messages, read by their
    dialect into the path of ``POST /events``; answered as Segment's libraries expect."""
    dialect = logic.segment_dialect(kind)

    def post_segment() -> Response[str]:
        deps = dependencies()
        caller, raw = _segment_caller(deps)
        _ingest(deps, caller, dialect, raw)
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


def _ingest(
    deps: Dependencies, caller: ApiKey, dialect: logic.Dialect, raw: bytes | None = None
) -> logic.IngestResult:
    """The one path of every ingest route: read the body (``raw`` when already read), queue its
    events and rejections, count and log what happened."""
    request = app.current_event
    origin = Origin(
        application_id=caller.application_id,
        key_id=caller.key_id,
        received_at=format_timestamp(deps.clock()),
        request_id=request.request_context.request_id,
    )
    logger.append_keys(application_id=caller.application_id, key_id=caller.key_id)
    try:
        if raw is None:
            try:
                raw = logic.decode_body(request.body, bool(request.is_base64_encoded), _content_encoding())
            except InvalidRequest as exc:
                logic.record_unreadable(deps.intake, origin, exc, request.body, dialect)
                raise
        result = logic.ingest(raw, origin=origin, intake=deps.intake, dialect=dialect)
    except InvalidRequest as exc:
        metrics.add_metric(name="RequestsRejected", unit=MetricUnit.Count, value=1)
        logger.info("request rejected", extra={"code": exc.code})
        raise
    metrics.add_metric(name="EventsAccepted", unit=MetricUnit.Count, value=len(result.events))
    if result.rejections:
        metrics.add_metric(name="EventsRejected", unit=MetricUnit.Count, value=len(result.rejections))
    logger.info("events queued", extra={"accepted": len(result.events), "rejected": len(result.rejections)})
    return result


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
    request = app.current_event
    now = format_timestamp(deps.clock())
    caller = _caller(deps)
    logger.append_keys(application_id=caller.application_id, key_id=caller.key_id)
    raw = logic.decode_body(request.body, bool(request.is_base64_encoded), _content_encoding())
    report = logic.validate(
        raw, application_id=caller.application_id, received_at=now, validation=deps.validation()
    )
    metrics.add_metric(name="EventsValidated", unit=MetricUnit.Count, value=len(report.results))
    logger.info("events validated", extra={"valid": report.valid, "invalid": report.invalid})
    return json_response(200, report.to_response())


def _content_encoding() -> str | None:
    headers = {k.lower(): v for k, v in (app.current_event.headers or {}).items()}
    return headers.get("content-encoding")


def _caller(deps: Dependencies) -> ApiKey:
    """The key of the current request (header, or ``?key=`` for beacons), with scope ingest."""
    request = app.current_event
    headers = {k.lower(): v for k, v in (request.headers or {}).items()}
    return deps.authenticator.authenticate(presented_key(headers, request.query_string_parameters), "ingest")


def _segment_caller(deps: Dependencies) -> tuple[ApiKey, bytes | None]:
    """The key of a ``/v1/*`` request, with scope ingest: from the headers (HTTP Basic too), else
    the ``writeKey`` of the body. Returns the body too when it had to be read for that."""
    request = app.current_event
    headers = {k.lower(): v for k, v in (request.headers or {}).items()}
    key = presented_key(headers, request.query_string_parameters, basic=True)
    raw = None
    if not key:  # an unreadable body has no key in it: a 401, like a request without any
        try:
            raw = logic.decode_body(request.body, bool(request.is_base64_encoded), _content_encoding())
            key = segment.write_key(logic.parse_body(raw))
        except (InvalidRequest, PayloadTooLarge):
            raw = None
    return deps.authenticator.authenticate(key, "ingest"), raw


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


wiring.build_at_init(dependencies)
