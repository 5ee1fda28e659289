"""SQS -> processor: partial batch responses, so one bad message never fails its neighbours."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from processor import logic
from theeye.clock import format_timestamp, utc_now
from theeye.config import get_settings
from theeye.counters import DynamoCounters
from theeye.error_store import DynamoErrorStore
from theeye.event_store import DynamoEventStore
from theeye.observability import logger, metrics, tracer
from theeye.schemas import SchemaRegistry

batch = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@lru_cache(maxsize=1)
def dependencies() -> logic.Processor:
    """Production collaborators, built on first use (never at import). Tests replace them."""
    settings = get_settings()
    schemas = SchemaRegistry.from_directory(settings.schemas_dir)
    schemas.compile_all()
    return logic.Processor(
        events=DynamoEventStore(settings.events_table, settings.index_shards),
        errors=DynamoErrorStore(settings.errors_table, settings.index_shards, settings.error_retention_days),
        categories=DynamoCounters(settings.counters_table),
        schemas=schemas,
        rules=logic.Rules(
            max_clock_skew=timedelta(seconds=settings.max_clock_skew_seconds),
            unknown_event_types=settings.unknown_event_types,
            event_retention_days=settings.event_retention_days,
        ),
        executor=ThreadPoolExecutor(max_workers=16, thread_name_prefix="writer"),
    )


def record_handler(record: SQSRecord) -> None:
    outcome = logic.process_message(record.body, dependencies())
    metrics.add_metric(name="EventsStored", unit=MetricUnit.Count, value=outcome.stored)
    metrics.add_metric(name="DuplicatesDropped", unit=MetricUnit.Count, value=outcome.duplicates)
    for error_type, count in outcome.invalid.items():
        metrics.add_metric(name=f"Invalid_{error_type}", unit=MetricUnit.Count, value=count)
    if outcome.stored:
        lag = logic.lag_seconds(outcome, format_timestamp(utc_now()))
        metrics.add_metric(name="EndToEndLagSeconds", unit=MetricUnit.Seconds, value=lag)
    logger.info(
        "message processed",
        extra={
            "message_id": record.message_id,
            "stored": outcome.stored,
            "duplicates": outcome.duplicates,
            "invalid": dict(outcome.invalid),
        },
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=batch, context=context
    )
    failed = len(response.get("batchItemFailures", []))
    metrics.add_metric(name="MessagesFailed", unit=MetricUnit.Count, value=failed)
    if failed:
        logger.warning("messages failed and will be retried", extra={"failed": failed})
    return response
