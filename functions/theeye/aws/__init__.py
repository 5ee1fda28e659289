"""The AWS backend: DynamoDB and SQS adapters behind the ports of ``theeye.ports``.

One module per port (``events``, ``errors``, ``keys``, ``counters``, ``queue``, ``reads``);
how events and errors are keyed is in ``layout`` and the merge of many partitions into one
ordered page in ``merge``. Everything AWS-shaped stays inside this package: clients are
built here (``client``), and every AWS failure becomes a domain error here (``call``).

Endpoints come from the standard environment (``AWS_ENDPOINT_URL`` points every client at
the local stack's emulated AWS), so the code is the same locally and on AWS.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from theeye.errors import RetryableStoreError, ServiceUnavailable, TheEyeError

_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3},
    connect_timeout=2,
    read_timeout=5,
    max_pool_connections=32,
    tcp_keepalive=True,
)

THROTTLING_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionConflictException",
    }
)


@cache
def client(service: str) -> Any:
    """This process's client for ``service``, created on first use (never at import)."""
    return boto3.session.Session().client(service, config=_CONFIG)


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ``ClientError`` (empty for anything else)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


class ConditionFailed(Exception):
    """A conditional write found its condition false; ``item`` is the old item, if returned."""

    def __init__(self, item: dict[str, Any] | None) -> None:
        super().__init__("condition failed")
        self.item = item


class TransactionCancelled(Exception):
    """A transaction was cancelled; ``reasons`` holds one code per item ("" where none)."""

    def __init__(self, reasons: list[str], throttled: bool) -> None:
        super().__init__(f"transaction cancelled: {reasons}")
        self.reasons = reasons
        self.throttled = throttled


# failure(what went wrong, whether retrying soon may help) -> the domain error to raise
Failure = Callable[[str, bool], TheEyeError]


def unavailable(what: str) -> Failure:
    """Failures of a read: the caller is answered 503 and retries."""
    return lambda detail, _transient: ServiceUnavailable(f"the {what} cannot answer right now ({detail})")


def retryable(what: str) -> Failure:
    """Failures of a write: the work fails and is retried (a message is delivered again)."""
    return lambda detail, _transient: RetryableStoreError(f"{what} unavailable: {detail}")


def call(operation: Callable[..., Any], failure: Failure, /, **request: Any) -> dict[str, Any]:
    """Run one AWS call: the one place AWS failures become domain errors.

    A false condition raises ``ConditionFailed`` and a cancelled transaction
    ``TransactionCancelled`` (both outcomes the adapter decides on); any other failure becomes
    ``failure(code, transient)``, the domain error the caller chose.
    """
    try:
        answer: dict[str, Any] = operation(**request)
    except ClientError as exc:
        code = error_code(exc)
        if code == "ConditionalCheckFailedException":
            raise ConditionFailed(exc.response.get("Item")) from None
        if code == "TransactionCanceledException":
            reasons = [r.get("Code", "") for r in exc.response.get("CancellationReasons", [])]
            raise TransactionCancelled(reasons, "TransactionConflict" in reasons) from None
        raise failure(code or type(exc).__name__, code in THROTTLING_CODES) from exc
    except BotoCoreError as exc:
        raise failure(type(exc).__name__, True) from exc
    return answer
