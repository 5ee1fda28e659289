"""EventBridge schedule -> LakeSweepFunction. Wiring only: the use case is logic.py."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from sweep import logic
from theeye import wiring
from theeye.clock import utc_now
from theeye.observability import logger, metrics
from theeye.ports import ErasureLog, LakeStatements


@dataclass
class Dependencies:
    log: ErasureLog
    statements: LakeStatements


@lru_cache(maxsize=1)
def dependencies() -> Dependencies:
    """Production collaborators, built on first use (never at import)."""
    return Dependencies(wiring.erasure_log(), wiring.lake_statements())


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
