"""What each ``AWS::Serverless::Function`` needs to run locally, read from the template.

A :class:`FunctionSpec` is the function as Lambda would see it after ``sam deploy``: Globals
merged, intrinsics resolved, and its ``HttpApi`` and ``SQS`` events turned into routes and
event source mappings (``SQS`` and ``DynamoDB`` streams). One local adjustment is made: Lambda mounts layers at ``/opt``, so an
environment value ``/opt`` (or ``/opt/...``) of a function that has a data layer (a
``LayerVersion`` without a ``BuildMethod``, i.e. content rather than packages) points at that
layer's ``ContentUri`` in the repository instead. Runtime layers (with a ``BuildMethod``) need
no mapping: their pinned packages are installed in the development virtualenv.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from theeye_local.intrinsics import LocalWorld, Resolver
from theeye_local.template import SERVERLESS_FUNCTION, Template, TemplateError, load_template

LOG = logging.getLogger("theeye_local")

LAYER_TYPES: Final = ("AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion")
LAYER_MOUNT: Final = "/opt"
IMPLICIT_HTTP_API: Final = "ServerlessHttpApi"  # what SAM calls the API it creates implicitly
DEFAULT_ROUTE: Final = "$default"
HTTP_INTEGRATION_TIMEOUT_SECONDS: Final = 30.0  # API Gateway's maximum and SAM's default
_DEFAULT_TIMEOUT_SECONDS: Final = 3  # Lambda's defaults when the template is silent
_DEFAULT_MEMORY_MB: Final = 128


@dataclass(frozen=True)
class HttpRoute:
    """One ``HttpApi`` event: a route of the HTTP API integrated with a function."""

    api_id: str
    method: str  # upper case; ``ANY`` matches every method
    path: str  # ``/events/{event_id}``, ``/console/{asset+}`` or ``$default``
    function_id: str
    integration_timeout_seconds: float

    @property
    def route_key(self) -> str:
        return DEFAULT_ROUTE if self.path == DEFAULT_ROUTE else f"{self.method} {self.path}"


@dataclass(frozen=True)
class SqsSource:
    """One ``SQS`` event: the event source mapping Lambda runs for the function."""

    function_id: str
    queue_id: str
    queue_url: str
    queue_arn: str
    batch_size: int
    batching_window_seconds: int
    report_batch_item_failures: bool
    maximum_concurrency: int | None


@dataclass(frozen=True)
class StreamSource:
    """One ``DynamoDB`` event: the event source mapping Lambda runs over a table's stream.

    ``filters`` are the ``FilterCriteria`` patterns (JSON text, as in the template): a record
    goes to the function when any of them matches it (``theeye_local.stream_poller``)."""

    function_id: str
    table_id: str  # the logical id of the table whose stream it reads
    starting_position: str  # TRIM_HORIZON or LATEST
    batch_size: int
    batching_window_seconds: int
    report_batch_item_failures: bool
    bisect_on_error: bool
    filters: tuple[str, ...]


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    name: str
    arn: str
    handler: str
    code_dir: Path
    runtime: str
    timeout_seconds: int
    memory_mb: int
    log_group: str
    environment: Mapping[str, str]
    routes: tuple[HttpRoute, ...]
    sqs_sources: tuple[SqsSource, ...]
    stream_sources: tuple[StreamSource, ...] = ()


def load_functions(template: Template, resolver: Resolver) -> dict[str, FunctionSpec]:
    """Every serverless function of the template, resolved, keyed by logical id."""
    return {
        logical_id: _function(template, resolver, logical_id)
        for logical_id, _ in template.of_type(SERVERLESS_FUNCTION)
        if template.included(logical_id, resolver.condition)
    }


def function_environment(
    function_id: str,
    refs: Mapping[str, str],
    *,
    template: Template | None = None,
    parameters: Mapping[str, str] | None = None,
    world: LocalWorld | None = None,
) -> dict[str, str]:
    """The environment ``template.yaml`` gives ``function_id``, resolved against ``refs``.

    For in-process integration tests: ``refs`` is what ``create_resources`` returned, so
    ``monkeypatch.setenv`` of each item configures a handler exactly as the local stack does
    (``/opt`` mapped to the data layer directory included).
    """
    template = template or load_template()
    resolver = Resolver(template, world or LocalWorld(), refs, parameters)
    return dict(_function(template, resolver, function_id).environment)


def _function(template: Template, resolver: Resolver, logical_id: str) -> FunctionSpec:
    properties = template.properties(logical_id)
    name = resolver.resolve_text({"Ref": logical_id}, what=f"{logical_id} name")
    code_uri = resolver.resolve(properties.get("CodeUri"))
    if not isinstance(code_uri, str):
        raise TemplateError(f"{logical_id}: CodeUri must be a local directory, got {code_uri!r}")
    handler = properties.get("Handler")
    if not isinstance(handler, str) or "." not in handler:
        raise TemplateError(f"{logical_id}: Handler must be 'module.function', got {handler!r}")
    variables = (properties.get("Environment") or {}).get("Variables") or {}
    environment = {
        key: resolver.resolve_text(value, what=f"{logical_id} environment {key}")
        for key, value in resolver.resolve(variables).items()  # AWS::NoValue entries drop out here
    }
    data_layer = _data_layer_dir(template, logical_id, properties.get("Layers") or [])
    if data_layer is not None:
        environment = {key: _mount(value, data_layer) for key, value in environment.items()}
    logging_config = resolver.resolve(properties.get("LoggingConfig") or {})
    routes, sources, streams = _events(template, resolver, logical_id, properties.get("Events") or {})
    return FunctionSpec(
        logical_id=logical_id,
        name=name,
        arn=resolver.get_att(logical_id, "Arn"),
        handler=handler,
        code_dir=(template.root / code_uri).resolve(),
        runtime=str(properties.get("Runtime", "")),
        timeout_seconds=int(resolver.resolve(properties.get("Timeout", _DEFAULT_TIMEOUT_SECONDS))),
        memory_mb=int(resolver.resolve(properties.get("MemorySize", _DEFAULT_MEMORY_MB))),
        log_group=str(logging_config.get("LogGroup") or f"/aws/lambda/{name}"),
        environment=environment,
        routes=routes,
        sqs_sources=sources,
        stream_sources=streams,
    )


def _data_layer_dir(template: Template, function_id: str, layers: list[Any]) -> Path | None:
    """The directory of the function's data layer (what Lambda would mount at ``/opt``)."""
    found: list[Path] = []
    for layer in layers:
        layer_id = layer.get("Ref") if isinstance(layer, Mapping) else None
        if (
            not isinstance(layer_id, str)
            or layer_id not in template.resources
            or template.resource_type(layer_id) not in LAYER_TYPES
        ):
            continue  # a layer ARN from outside the template: nothing to map locally
        resource = template.resources[layer_id]
        if (resource.get("Metadata") or {}).get("BuildMethod"):
            continue  # packages: already in the development virtualenv
        content_uri = (resource.get("Properties") or {}).get("ContentUri")
        if isinstance(content_uri, str):
            found.append((template.root / content_uri).resolve())
    if len(found) > 1:
        raise TemplateError(
            f"{function_id} has several data layers ({', '.join(map(str, found))}); locally only one "
            f"can stand in for {LAYER_MOUNT}"
        )
    if found and not found[0].is_dir():
        LOG.warning("%s: data layer directory %s does not exist", function_id, found[0])
    return found[0] if found else None


def _mount(value: str, data_layer: Path) -> str:
    if value == LAYER_MOUNT:
        return str(data_layer)
    if value.startswith(LAYER_MOUNT + "/"):
        return str(data_layer / value[len(LAYER_MOUNT) + 1 :])
    return value


def _events(
    template: Template, resolver: Resolver, function_id: str, events: Mapping[str, Any]
) -> tuple[tuple[HttpRoute, ...], tuple[SqsSource, ...], tuple[StreamSource, ...]]:
    routes: list[HttpRoute] = []
    sources: list[SqsSource] = []
    streams: list[StreamSource] = []
    for event_id, event in events.items():
        kind = event.get("Type")
        raw = event.get("Properties") or {}
        if kind == "HttpApi":
            routes.append(_http_route(resolver, function_id, event_id, raw))
        elif kind == "SQS":
            source = _sqs_source(template, resolver, function_id, event_id, raw)
            if source is not None:
                sources.append(source)
        elif kind == "DynamoDB":
            stream = _stream_source(template, resolver, function_id, event_id, raw)
            if stream is not None:
                streams.append(stream)
        else:
            LOG.warning("%s.%s: %s events are not emulated locally", function_id, event_id, kind)
    return tuple(routes), tuple(sources), tuple(streams)


def _http_route(resolver: Resolver, function_id: str, event_id: str, raw: Mapping[str, Any]) -> HttpRoute:
    api = raw.get("ApiId")
    if api is None:
        api_id = IMPLICIT_HTTP_API
    elif isinstance(api, Mapping) and isinstance(api.get("Ref"), str):
        api_id = api["Ref"]
    else:
        raise TemplateError(f"{function_id}.{event_id}: ApiId must be !Ref of an HttpApi of the template")
    properties = resolver.resolve(raw)
    version = str(properties.get("PayloadFormatVersion", "2.0"))
    if version != "2.0":
        raise TemplateError(f"{function_id}.{event_id}: payload format {version} is not emulated (2.0 is)")
    path = str(properties.get("Path", DEFAULT_ROUTE))
    method = str(properties.get("Method", "ANY")).upper()
    timeout_ms = properties.get("TimeoutInMillis")
    return HttpRoute(
        api_id=api_id,
        method="ANY" if method in ("ANY", "X-AMAZON-APIGATEWAY-ANY-METHOD") else method,
        path=path,
        function_id=function_id,
        integration_timeout_seconds=int(timeout_ms) / 1000
        if timeout_ms
        else HTTP_INTEGRATION_TIMEOUT_SECONDS,
    )


def _sqs_source(
    template: Template, resolver: Resolver, function_id: str, event_id: str, raw: Mapping[str, Any]
) -> SqsSource | None:
    properties = resolver.resolve(raw)
    if str(properties.get("Enabled", True)).lower() == "false":
        return None
    if properties.get("FilterCriteria"):
        raise TemplateError(f"{function_id}.{event_id}: FilterCriteria is not emulated locally")
    queue_arn = str(properties["Queue"])
    queue_id = next(
        (
            logical_id
            for logical_id, _ in template.of_type("AWS::SQS::Queue")
            if logical_id in resolver.refs and resolver.get_att(logical_id, "Arn") == queue_arn
        ),
        None,
    )
    if queue_id is None:
        raise TemplateError(f"{function_id}.{event_id}: queue {queue_arn} is not a queue of the template")
    scaling = properties.get("ScalingConfig") or {}
    concurrency = scaling.get("MaximumConcurrency")
    return SqsSource(
        function_id=function_id,
        queue_id=queue_id,
        queue_url=resolver.refs[queue_id],
        queue_arn=queue_arn,
        batch_size=int(properties.get("BatchSize", 10)),
        batching_window_seconds=int(properties.get("MaximumBatchingWindowInSeconds", 0)),
        report_batch_item_failures="ReportBatchItemFailures"
        in (properties.get("FunctionResponseTypes") or []),
        maximum_concurrency=int(concurrency) if concurrency is not None else None,
    )


def _stream_source(
    template: Template, resolver: Resolver, function_id: str, event_id: str, raw: Mapping[str, Any]
) -> StreamSource | None:
    properties = resolver.resolve(raw)
    if str(properties.get("Enabled", True)).lower() == "false":
        return None
    stream_arn = str(properties["Stream"])
    table_id = next(
        (
            logical_id
            for logical_id, _ in template.of_type("AWS::DynamoDB::Table")
            if logical_id in resolver.refs and resolver.get_att(logical_id, "StreamArn") == stream_arn
        ),
        None,
    )
    if table_id is None:
        raise TemplateError(f"{function_id}.{event_id}: stream {stream_arn} is not a table's of the template")
    criteria = properties.get("FilterCriteria") or {}
    return StreamSource(
        function_id=function_id,
        table_id=table_id,
        starting_position=str(properties.get("StartingPosition", "LATEST")),
        batch_size=int(properties.get("BatchSize", 100)),
        batching_window_seconds=int(properties.get("MaximumBatchingWindowInSeconds", 0)),
        report_batch_item_failures="ReportBatchItemFailures"
        in (properties.get("FunctionResponseTypes") or []),
        bisect_on_error=str(properties.get("BisectBatchOnFunctionError", False)).lower() == "true",
        filters=tuple(str(f["Pattern"]) for f in criteria.get("Filters") or []),
    )
