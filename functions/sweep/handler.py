"""EventBridge schedule -> LakeSweepFunction. Wiring only: the use case is logic.py."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from sweep import logic
from theeye import aws, wiring
from theeye.aws.athena import AthenaStatements
from theeye.aws.erasure import DynamoErasureLog
from theeye.clock import utc_now
from theeye.config import get_settings
from theeye.observability import logger, metrics


@dataclass
class Dependencies:
    log: logic.ErasureLog
    statements: logic.Statements


@lru_cache(maxsize=1)
def dependencies() -> Dependencies:
    """Production collaborators, built on first use (never at import)."""
    settings = get_settings()
    return Dependencies(
        DynamoErasureLog(aws.client("dynamodb"), settings.required("counters_table")),
        AthenaStatements(settings.required("athena_workgroup"), settings.required("lake_database")),
    )


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    deps = dependencies()
    swept = logic.sweep(
        deps.log, deps.statements, utc_now(), lambda: context.get_remaining_time_in_millis() / 1000
    )
    metrics.add_metric(name="LakeSessionsSwept", unit=MetricUnit.Count, value=swept)
    return {"sessions": swept}


wiring.build_at_init(dependencies)
