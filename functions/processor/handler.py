"""SQS -> processor: partial batch responses, so one bad message never fails its neighbours."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse, PartialItemFailures
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from processor import logic
from theeye import layout
from theeye.clock import format_timestamp, utc_now
from theeye.config import get_settings
from theeye.counters import DynamoCounters
from theeye.error_store import DynamoErrorStore
from theeye.errors import TheEyeError
from theeye.event_store import DynamoEventStore
from theeye.ledger import DynamoLedger, message_key
from theeye.messages import QueueMessage
from theeye.observability import logger, metrics
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
        errors=DynamoErrorStore(
            settings.errors_table, layout.ERROR_TIME_SHARDS, settings.error_retention_days
        ),
        categories=DynamoCounters(settings.counters_table),
        ledger=DynamoLedger(settings.counters_table),
        schemas=schemas,
        rules=logic.Rules(
            max_clock_skew=timedelta(seconds=settings.max_clock_skew_seconds),
            unknown_event_types=settings.unknown_event_types,
            event_retention_days=settings.event_retention_days,
        ),
        executor=ThreadPoolExecutor(max_workers=16, thread_name_prefix="writer"),
    )


@lru_cache(maxsize=1)
def dead_letter_ledger() -> DynamoLedger:
    return DynamoLedger(get_settings().counters_table)


_processed: dict[str, logic.Outcome] = {}  # this invocation's successful messages, by message id


class DeadlineNear(Exception):
    """Too little time is left to process another message: leave it for the next delivery."""


_slowest_ms = [0.0]  # the slowest message of this invocation, to judge whether another one fits


def record_handler(record: SQSRecord, lambda_context: LambdaContext | None = None) -> None:
    if lambda_context is not None:
        remaining = lambda_context.get_remaining_time_in_millis()
        if remaining < max(3000.0, 2 * _slowest_ms[0]) + 1000:
            # Timing out would fail the whole batch, processed messages included; instead the
            # messages that do not fit fail alone and SQS delivers them again.
            raise DeadlineNear(f"{remaining} ms left")
    started = time.perf_counter()
    outcome = logic.process_message(record.body, dependencies())
    _slowest_ms[0] = max(_slowest_ms[0], (time.perf_counter() - started) * 1000)
    _processed[record.message_id] = outcome
    metrics.add_metric(name="EventsStored", unit=MetricUnit.Count, value=outcome.stored)
    metrics.add_metric(name="DuplicatesDropped", unit=MetricUnit.Count, value=outcome.duplicates)
    for error_type, count in outcome.invalid.items():
        metrics.add_metric(name=f"Invalid_{error_type}", unit=MetricUnit.Count, value=count)
    if outcome.stored:
        lag = logic.lag_seconds(outcome, format_timestamp(utc_now()))
        metrics.add_metric(name="EndToEndLagSeconds", unit=MetricUnit.Seconds, value=lag)
    for error_type, event_id, error_id in outcome.recorded:
        logger.info(
            "event not stored", extra={"type": error_type, "event_id": event_id, "error_id": error_id}
        )
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
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    _processed.clear()
    _slowest_ms[0] = 0.0
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=batch, context=context
    )
    try:
        logic.commit(dependencies(), list(_processed.values()))
    except TheEyeError:
        # Uncounted messages are delivered again; their writes are idempotent, their counts not yet made.
        logger.exception("could not count the batch; its messages will be retried")
        response["batchItemFailures"] = [PartialItemFailures(itemIdentifier=i) for i in _processed] + [
            f for f in response.get("batchItemFailures", []) if f["itemIdentifier"] not in _processed
        ]
    failed_ids = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
    metrics.add_metric(name="MessagesFailed", unit=MetricUnit.Count, value=len(failed_ids))
    if failed_ids:
        logger.warning("messages failed and will be retried", extra={"failed": len(failed_ids)})
        count_dead_letters([r for r in event.get("Records", []) if r.get("messageId") in failed_ids])
    return response


def count_dead_letters(failed: list[dict[str, Any]]) -> None:
    """Messages that failed their last delivery go to the DLQ next: put them in the ledger."""
    limit = get_settings().max_receive_count
    for record in failed:
        if int(record.get("attributes", {}).get("ApproximateReceiveCount", "1")) < limit:
            continue
        body = str(record.get("body", ""))
        try:
            events = len(QueueMessage.from_body(body).events)
        except (ValueError, KeyError, TypeError):
            events = 0  # unreadable: counted as a dead-lettered message, carrying no known event
        try:
            dead_letter_ledger().count_dead_letter(message_key(body), events)
        except TheEyeError:
            logger.exception("could not count a dead letter", extra={"message_id": record.get("messageId")})
        metrics.add_metric(name="MessagesDeadLettered", unit=MetricUnit.Count, value=1)
        logger.error(
            "message goes to the dead-letter queue",
            extra={"message_id": record.get("messageId"), "events": events},
        )
