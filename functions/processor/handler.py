"""SQS -> processor. Wiring only: the batch policy is in batch.py, the use case in logic.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from processor import batch, logic
from theeye import wiring
from theeye.config import get_settings
from theeye.observability import logger, metrics
from theeye.ports import BatchLedger, BodyQueue, DeadLetterQueue
from theeye.schemas import SchemaRegistry


@dataclass
class Dependencies:
    processor: logic.Processor
    ledger: BatchLedger
    queue: BodyQueue
    dead_letter_queue: DeadLetterQueue
    max_receive_count: int


@lru_cache(maxsize=1)
def dependencies() -> Dependencies:
    """Production collaborators from the chosen backend, built on first use (never at import)."""
    settings = get_settings()
    backend = wiring.backend()
    schemas = SchemaRegistry.from_directory(settings.schemas_dir)
    schemas.compile_all()
    counters = backend.counters()
    processor = logic.Processor(
        events=backend.event_store(),
        errors=backend.error_store(),
        ledger=counters,
        schemas=schemas,
        rules=logic.Rules(
            max_clock_skew=timedelta(seconds=settings.max_clock_skew_seconds),
            unknown_event_types=settings.unknown_event_types,
            event_retention_days=settings.event_retention_days,
        ),
    )
    return Dependencies(
        processor, counters, backend.queue(), backend.dead_letter_queue(), settings.max_receive_count
    )


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    deps = dependencies()
    return batch.Batch(
        deps.processor, deps.ledger, deps.queue, deps.dead_letter_queue, deps.max_receive_count, context
    ).run(event)


wiring.build_at_init(dependencies)
