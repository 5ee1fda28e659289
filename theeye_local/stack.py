"""The local stack's lifecycle: start every piece in order, stop them in reverse.

Start: HTTP front (bound at once; answers ``503 starting``) -> the backend -> API keys ->
worker pools (spawned side by side, each worker imports its handler) -> SQS pollers -> what
feeds the lake -> state file -> ready. Stop: HTTP front (in-flight requests finish) ->
pollers (in-flight batches finish) -> workers -> the lake feeder -> the backend.

Two backends, one set of handlers (``THEEYE_BACKEND``):

* ``embedded`` (default): the template's tables and queues named, not created
  (``name_resources``); everything lives in one SQLite file (``theeye_local.embedded``) that
  the workers open themselves (``STORAGE_BACKEND=sqlite``) and the pollers receive from. Its
  change log feeds the local lake (``theeye_local.lake_feeder``); the template's ``DynamoDB``
  stream events have nothing to read and are not run.
* ``moto``: a moto server, and the template's tables, queues and secrets created in it. The
  template's ``DynamoDB`` stream events run over moto's streams (``theeye_local.stream_poller``):
  the feeder function gets the events table's records and, with ``LAKE_DIRECTORY`` set, writes
  the local lake.

Every name, route, queue and variable comes from the template; this module only decides the
order and the local sizes (workers per function, pollers per event source).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from theeye.analytics.local_lake import LocalLake
from theeye_local.apigw import CorsPolicy
from theeye_local.embedded import UNREACHABLE_AWS_ENDPOINT, EmbeddedStore, QueuePlan
from theeye_local.embedded_aws import EmbeddedAws, client_environment
from theeye_local.http_front import ApiFront, Gateway
from theeye_local.intrinsics import LocalWorld, Resolver
from theeye_local.lake_feeder import HEARTBEAT_SECONDS, LakeFeeder
from theeye_local.lambdas import FunctionSpec, HttpRoute, SqsSource, StreamSource, load_functions
from theeye_local.local_keys import LocalKeys, issue_keys
from theeye_local.poller import InFlight, SqsPoller
from theeye_local.pool import Outcome, WorkerPool
from theeye_local.resources import create_resources, local_world, name_resources
from theeye_local.routes import RouteTable
from theeye_local.settings import LocalSettings
from theeye_local.state import write_state
from theeye_local.stream_poller import StreamPoller, stream_arn_of
from theeye_local.template import Template, TemplateError, load_template
from theeye_local.worker import WorkerConfig

LOG = logging.getLogger("theeye_local")

# The environment variable through which the template tells functions the keys table
# (``theeye.config.Settings.keys_table``); the stack stores its keys there.
KEYS_TABLE_VARIABLE: Final = "KEYS_TABLE"
HTTP_DRAIN_SECONDS: Final = 10.0


@dataclass
class LocalStack:
    settings: LocalSettings
    template: Template | None = None
    front: ApiFront | None = None
    aws: EmbeddedAws | None = None
    store: EmbeddedStore | None = None
    refs: dict[str, str] = field(default_factory=dict)
    functions: dict[str, FunctionSpec] = field(default_factory=dict)
    pools: dict[str, WorkerPool] = field(default_factory=dict)
    pollers: list[SqsPoller] = field(default_factory=list)
    stream_pollers: list[StreamPoller] = field(default_factory=list)
    keys: LocalKeys | None = None
    feeder: LakeFeeder | None = None
    lake: LocalLake | None = None  # moto: the lake whose as_of the stream pollers move
    state: dict[str, Any] = field(default_factory=dict)

    def start(self) -> None:
        self.template = load_template(self.settings.template_path)
        self.front = ApiFront(self.settings.port)
        self.front.start()
        LOG.info("HTTP API bound on %s; starting", self.front.url)
        world, resolver = self._start_embedded() if self.settings.backend == "embedded" else self._start_aws()
        self._issue_keys()
        self._start_workers()
        self._start_pollers(world)
        if self.store is not None:
            self.store.start_sweeping()
            self.feeder = self.store.lake_feeder()
            self.feeder.start()
        else:
            self._start_stream_pollers(world)
        api_id, routes = self._http_api(resolver)
        self.state = self._state(world)
        write_state(self.settings.state_path, self.state)
        self.front.mark_ready(
            Gateway(
                routes=RouteTable(routes),
                invoke=self._invoke,
                api_id=api_id,
                account_id=world.account_id,
                cors=self._cors(api_id, resolver),
            )
        )

    def stop(self) -> None:
        """Stop what was started, in reverse order; safe after a partial start.

        Pollers are told first so that their current long poll runs out while the HTTP front
        drains; each still finishes the batch it holds before it exits.
        """
        started = time.monotonic()
        for poller in self.pollers:
            poller.request_stop()
        for stream_poller in self.stream_pollers:
            stream_poller.request_stop()
        if self.front is not None:
            self.front.stop(HTTP_DRAIN_SECONDS)
        LOG.debug("HTTP front stopped after %.2f s", time.monotonic() - started)
        for poller in self.pollers:
            poller.join(self.functions[poller.source.function_id].timeout_seconds + 2)
        for stream_poller in self.stream_pollers:
            stream_poller.join(self.functions[stream_poller.source.function_id].timeout_seconds + 2)
        LOG.debug("pollers stopped after %.2f s", time.monotonic() - started)
        for pool in self.pools.values():
            pool.stop()
        LOG.debug("workers stopped after %.2f s", time.monotonic() - started)
        if self.feeder is not None:
            self.feeder.stop()
        if self.lake is not None:
            self.lake.close()
        if self.aws is not None:
            self.aws.stop()
        if self.store is not None:
            self.store.close()
        LOG.debug("backend stopped after %.2f s", time.monotonic() - started)

    # -- pieces -----------------------------------------------------------------------------

    def _start_embedded(self) -> tuple[LocalWorld, Resolver]:
        """The template's names, and the SQLite file under ``THEEYE_DATA_DIR`` that holds them all."""
        assert self.template is not None
        _point_boto3_at(UNREACHABLE_AWS_ENDPOINT, LocalWorld().region)
        world = LocalWorld()
        overrides = self.settings.parameter_overrides
        self.refs = name_resources(self.template, parameters=overrides, world=world)
        resolver = Resolver(self.template, world, self.refs, overrides)
        self.functions = load_functions(self.template, resolver)
        plan = QueuePlan.of([s for spec in self.functions.values() for s in spec.sqs_sources], resolver)
        self._put_code_on_path()
        self.store = EmbeddedStore.open(self.settings.database_path, plan, fresh=self.settings.fresh)
        LOG.info("embedded backend: %s", self.store.path)
        return world, resolver

    def _start_aws(self) -> tuple[LocalWorld, Resolver]:
        """moto, then the template's tables, queues and secrets; the template resolved against them."""
        assert self.template is not None
        self.aws = aws = EmbeddedAws(self.settings.aws_port)
        aws.start()
        # moto's data lives in memory only: a lake left by an earlier run would describe none of it.
        shutil.rmtree(self.settings.lake_directory, ignore_errors=True)
        # Everything this process does with boto3 (the key store included) goes to moto.
        _point_boto3_at(aws.endpoint, aws.region)
        session = aws.session()
        overrides = self.settings.parameter_overrides
        self.refs = create_resources(session, self.template, parameters=overrides, endpoint_url=aws.endpoint)
        world = local_world(session, aws.endpoint)
        resolver = Resolver(self.template, world, self.refs, overrides)
        self.functions = load_functions(self.template, resolver)
        LOG.info("embedded AWS on %s: %s", aws.endpoint, ", ".join(self.refs))
        return world, resolver

    def _put_code_on_path(self) -> None:
        """The stores are domain code: they live in the functions' code directory."""
        for code_dir in sorted({str(spec.code_dir) for spec in self.functions.values()}):
            if code_dir not in sys.path:
                sys.path.insert(0, code_dir)

    def _issue_keys(self) -> None:
        self._put_code_on_path()
        from theeye.ports import KeyStore

        store: KeyStore
        if self.store is not None:
            store = self.store.backend.keys()
        else:
            from theeye.aws.keys import DynamoKeyStore  # boto3 only where moto runs

            store = DynamoKeyStore(self._keys_table())
        self.keys = issue_keys(
            store,
            ingest_key=self.settings.ingest_key,
            query_key=self.settings.query_key,
            admin_key=self.settings.admin_key,
        )

    def _start_workers(self) -> None:
        """One pool per function with routes or event sources; all pools start side by side."""
        self.pools = {
            function_id: WorkerPool(self._worker_config(spec), self._pool_size(spec), spec.timeout_seconds)
            for function_id, spec in self.functions.items()
            if spec.routes or spec.sqs_sources or self._stream_sources(spec)
        }
        for pool in self.pools.values():
            pool.launch()
        for pool in self.pools.values():
            pool.wait_ready()
            LOG.info("%s: %d worker(s) ready (%s)", pool.function_id, pool.size, pool.config.handler)

    def _invoke(self, function_id: str, event: dict[str, Any], wait_seconds: float) -> Outcome:
        return self.pools[function_id].invoke(event, wait_seconds=wait_seconds)

    def _keys_table(self) -> str:
        for spec in self.functions.values():
            if KEYS_TABLE_VARIABLE in spec.environment:
                return spec.environment[KEYS_TABLE_VARIABLE]
        raise TemplateError(f"no function has a {KEYS_TABLE_VARIABLE} variable; where do API keys live?")

    def _pool_size(self, spec: FunctionSpec) -> int:
        size = self.settings.http_workers(spec.logical_id) if spec.routes else 0
        for source in spec.sqs_sources:
            size += self.settings.pollers(spec.logical_id, source.maximum_concurrency)
        return size + len(self._stream_sources(spec))  # one batch at a time per stream (one shard)

    def _stream_sources(self, spec: FunctionSpec) -> tuple[StreamSource, ...]:
        """The function's ``DynamoDB`` stream events that run: only moto has streams."""
        return spec.stream_sources if self.aws is not None else ()

    def _worker_config(self, spec: FunctionSpec) -> WorkerConfig:
        overrides = self.settings.function_overrides(spec.environment)
        for name, value in overrides.items():
            LOG.info("%s: %s=%s from the shell overrides the template", spec.logical_id, name, value)
        if self.store is not None:
            backend = {
                **client_environment(UNREACHABLE_AWS_ENDPOINT, LocalWorld().region),
                **self.store.environment(),
            }
        else:
            assert self.aws is not None
            backend = {
                **client_environment(self.aws.endpoint, self.aws.region),
                "LAKE_DIRECTORY": str(self.settings.lake_directory),
            }
        environment = {**spec.environment, **overrides, **backend, **_runtime_environment(spec)}
        return WorkerConfig(
            function_id=spec.logical_id,
            function_name=spec.name,
            function_arn=spec.arn,
            handler=spec.handler,
            code_dir=str(spec.code_dir),
            memory_mb=spec.memory_mb,
            log_group=spec.log_group,
            environment=environment,
            log_file=str(self.settings.log_path(spec.logical_id)),
            log_to_terminal=self.settings.log_json,
        )

    def _start_pollers(self, world: LocalWorld) -> None:
        in_flight: dict[str, InFlight] = {}
        for spec in self.functions.values():
            for source in spec.sqs_sources:
                count = self.settings.pollers(spec.logical_id, source.maximum_concurrency)
                claims = in_flight.setdefault(source.queue_url, InFlight())
                pool = self.pools[spec.logical_id]
                for number in range(1, count + 1):
                    poller = SqsPoller(
                        source,
                        self.store.sqs() if self.store is not None else self._moto().client("sqs"),
                        # Normally a worker is free (one per poller); during a replacement
                        # wait at most a function timeout, then the batch counts as failed.
                        functools.partial(pool.invoke, wait_seconds=float(spec.timeout_seconds)),
                        region=world.region,
                        retry_delay_seconds=self.settings.retry_delay_seconds,
                        in_flight=claims,
                        name=f"{spec.logical_id}-{source.queue_id}-{number}",
                        store_problem=self.store.backend.store_health().write_problem if self.store else None,
                    )
                    poller.start()
                    self.pollers.append(poller)
                LOG.info(
                    "%s polls %s: %d poller(s), batch %d, window %d s%s",
                    spec.logical_id,
                    source.queue_id,
                    count,
                    source.batch_size,
                    source.batching_window_seconds,
                    ", ReportBatchItemFailures" if source.report_batch_item_failures else "",
                )

    def _start_stream_pollers(self, world: LocalWorld) -> None:
        """One poller per ``DynamoDB`` stream event; each reports when the function has taken
        every record, and the local lake's ``as_of`` moves there (``POST /sql``'s freshness)."""
        self.lake = lake = LocalLake(self.settings.lake_directory)
        for spec in self.functions.values():
            for source in self._stream_sources(spec):
                stream_arn = stream_arn_of(self._moto().client("dynamodb"), self.refs[source.table_id])
                poller = StreamPoller(
                    source,
                    self._moto().client("dynamodbstreams"),
                    stream_arn,
                    functools.partial(
                        self.pools[spec.logical_id].invoke, wait_seconds=float(spec.timeout_seconds)
                    ),
                    region=world.region,
                    retry_delay_seconds=self.settings.retry_delay_seconds,
                    caught_up=_LakeHeartbeat(lake),
                    name=f"{spec.logical_id}-{source.table_id}-stream",
                )
                poller.start()
                self.stream_pollers.append(poller)
                LOG.info(
                    "%s reads %s's stream: batch %d, window %d s, %d filter(s)%s",
                    spec.logical_id,
                    source.table_id,
                    source.batch_size,
                    source.batching_window_seconds,
                    len(source.filters),
                    ", ReportBatchItemFailures" if source.report_batch_item_failures else "",
                )

    def _http_api(self, resolver: Resolver) -> tuple[str, list[HttpRoute]]:
        """The one HTTP API the front serves: its local id and its routes."""
        routes = [route for spec in self.functions.values() for route in spec.routes]
        apis = sorted({route.api_id for route in routes})
        if len(apis) > 1:
            raise TemplateError(f"the local stack serves one HTTP API; the template has {', '.join(apis)}")
        api = apis[0] if apis else "HttpApi"
        local_id = (
            str(resolver.ref(api))
            if api in resolver.template.resources
            else resolver.world.physical_name(api)
        )
        return local_id, routes

    def _cors(self, api_id: str, resolver: Resolver) -> CorsPolicy | None:
        template = resolver.template
        for logical_id, _ in template.of_type("AWS::Serverless::HttpApi"):
            if resolver.ref(logical_id) == api_id:
                properties = resolver.resolve(template.properties(logical_id))
                return CorsPolicy.from_configuration(properties.get("CorsConfiguration"))
        implicit = resolver.resolve(template.with_globals("AWS::Serverless::HttpApi", {}))
        return CorsPolicy.from_configuration(implicit.get("CorsConfiguration"))

    def _moto(self) -> EmbeddedAws:
        assert self.aws is not None, "moto runs only with THEEYE_BACKEND=moto"
        return self.aws

    def _state(self, world: LocalWorld) -> dict[str, Any]:
        assert self.front is not None
        assert self.keys is not None
        assert self.template is not None
        kinds = {logical_id: self.template.resource_type(logical_id) for logical_id in self.refs}
        source = next((s for spec in self.functions.values() for s in spec.sqs_sources), None)
        if self.store is not None:
            where: dict[str, Any] = {
                "backend": "embedded",
                **self.store.state(),
                "dlq_url": self.store.plan.dlq_url if self.store.plan else None,
            }
        else:
            where = {
                "backend": "moto",
                "lake_directory": str(self.settings.lake_directory),
                "aws_endpoint": self._moto().endpoint,
                "dlq_url": self._dead_letter_queue(source),
            }
        return {
            **where,
            "api_url": self.front.url,
            "region": world.region,
            "account_id": world.account_id,
            "queue_url": source.queue_url if source else None,
            "tables": _of_kind(self.refs, kinds, "AWS::DynamoDB::Table"),
            "queues": _of_kind(self.refs, kinds, "AWS::SQS::Queue"),
            "secrets": _of_kind(self.refs, kinds, "AWS::SecretsManager::Secret"),
            "functions": {function_id: spec.handler for function_id, spec in self.functions.items()},
            "routes": [route.route_key for spec in self.functions.values() for route in spec.routes],
            "ingest_key": self.keys.ingest,
            "query_key": self.keys.query,
            "admin_key": self.keys.admin,
            "template": str(self.template.path),
            "pid": os.getpid(),
            "started_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        }

    def _dead_letter_queue(self, source: SqsSource | None) -> str | None:
        """URL of the queue the event source's queue redrives to, if any."""
        if source is None or self.aws is None:
            return None
        attributes = self.aws.client("sqs").get_queue_attributes(
            QueueUrl=source.queue_url, AttributeNames=["RedrivePolicy"]
        )["Attributes"]
        if "RedrivePolicy" not in attributes:
            return None
        target = str(json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"])
        return str(self.aws.client("sqs").get_queue_url(QueueName=target.rsplit(":", 1)[-1])["QueueUrl"])


@dataclass
class _LakeHeartbeat:
    """Moves the local lake's ``as_of`` to an instant the stream's function has fed it up to,
    at most every ``HEARTBEAT_SECONDS`` (as the embedded backend's feeder does)."""

    lake: LocalLake
    last: float = 0.0

    def __call__(self, moment: datetime) -> None:
        if time.monotonic() - self.last < HEARTBEAT_SECONDS:
            return
        self.lake.apply([], as_of=moment)
        self.last = time.monotonic()


def _of_kind(refs: Mapping[str, str], kinds: Mapping[str, str], kind: str) -> dict[str, str]:
    return {logical_id: ref for logical_id, ref in refs.items() if kinds[logical_id] == kind}


def _point_boto3_at(endpoint: str, region: str) -> None:
    """Send every boto3 call of this process to ``endpoint``; no AWS_* setting of the shell (a
    profile, a service endpoint) can send one elsewhere."""
    for name in [name for name in os.environ if name.startswith("AWS_")]:
        del os.environ[name]
    os.environ.update(client_environment(endpoint, region))


def _runtime_environment(spec: FunctionSpec) -> dict[str, str]:
    """What the Lambda runtime adds to a function's environment."""
    return {
        "AWS_LAMBDA_FUNCTION_NAME": spec.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": spec.log_group,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "LAMBDA_TASK_ROOT": str(spec.code_dir),
        "_HANDLER": spec.handler,
        "TZ": "UTC",
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "POWERTOOLS_TRACE_DISABLED": "true",
        # chaos runs only (theeye_local.faults); absent otherwise
        **({"THEEYE_FAULTS": os.environ["THEEYE_FAULTS"]} if os.environ.get("THEEYE_FAULTS") else {}),
    }
