"""EventsTable stream -> FeederFunction -> the lake. Wiring only: the use case is logic.py.

The event source keeps event items only (template.yaml, FilterCriteria) and reports partial
failures (``ReportBatchItemFailures``): see ``feeder.logic``. The sink is Firehose on AWS; with
``LAKE_DIRECTORY`` set (the moto local stack, whose stream poller invokes this handler) it is the
local lake that ``POST /sql`` reads there.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from feeder import logic
from theeye import wiring
from theeye.observability import logger, metrics
from theeye.ports import ChangeReader, LakeSink


@dataclass
class Dependencies:
    read: ChangeReader
    sink: LakeSink


@lru_cache(maxsize=1)
def dependencies() -> Dependencies:
    """Production collaborators, built on first use (never at import)."""
    return Dependencies(wiring.change_reader(), wiring.lake_sink())


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    deps = dependencies()
    answer, applied = logic.feed(event.get("Records") or [], deps.read, deps.sink)
    metrics.add_metric(name="LakeChangesSent", unit=MetricUnit.Count, value=applied)
    if answer["batchItemFailures"]:
        logger.warning("the lake did not take every change; resuming", extra=answer)
    return answer


wiring.build_at_init(dependencies)
