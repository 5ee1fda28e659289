"""The ledger as the end-to-end tests read it: ``GET /status``, and ``GET /status`` once the
pipeline has caught up with everything it accepted."""

from __future__ import annotations

from typing import Any

from tests.e2e.local_stack import LocalStackHandle
from tests.support import eventually

IDLE_QUEUE = {"messages": 0, "in_flight": 0}


def status(stack: LocalStackHandle) -> dict[str, Any]:
    answer = stack.request("GET", "/status", headers={"Authorization": f"Bearer {stack.query_key}"})
    assert answer.status == 200, answer.body
    ledger: dict[str, Any] = answer.json()
    return ledger


def settled(stack: LocalStackHandle) -> dict[str, Any]:
    """The ledger once nothing accepted is still queued and no message waits or is in flight."""

    def idle() -> dict[str, Any] | None:
        ledger = status(stack)
        return ledger if ledger["queued"] == 0 and ledger["queue"] == IDLE_QUEUE else None

    try:
        return eventually("the ledger to settle (nothing queued, nothing in flight)", idle)
    except AssertionError as error:
        raise AssertionError(f"{error}\n{stack.log_tail()}") from None
