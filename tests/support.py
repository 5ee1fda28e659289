"""Small pieces the suites share: moto's credentials, a Lambda context, and the one way a test
waits for something that happens on its own time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")

# How long a test waits for an outcome of asynchronous work (a stored event, a settled ledger,
# a page that has rendered) before it fails. On a loaded machine the work is slower, not wrong:
# the deadline is generous, and a wait that succeeds returns as soon as its condition holds.
OUTCOME_DEADLINE_SECONDS = 120.0


def fake_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy credentials in one region; no endpoint or profile of the shell leaks in."""
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


class LambdaContext:
    """What a handler reads of the Lambda context, with 30 s left."""

    function_name = "test"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test"
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e812345678"
    log_group_name = "/aws/lambda/test"
    log_stream_name = "stream"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


def eventually(
    description: str,
    check: Callable[[], T | None],
    *,
    seconds: float = OUTCOME_DEADLINE_SECONDS,
    interval: float = 0.2,
) -> T:
    """Call ``check`` until it returns something truthy, and return that.

    Fails with ``description`` and the last value seen once ``seconds`` have passed. A test
    never sleeps a fixed time instead: it waits for the condition it needs.
    """
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {seconds:.0f} s waiting for {description}; last: {found!r}"
            )
        time.sleep(interval)
