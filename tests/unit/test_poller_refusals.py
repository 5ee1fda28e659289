"""The local poll loop when the queue or the store refuses writes (a full disk under the
embedded backend): failed messages still go back to the queue as soon as it takes the call, not
after the visibility timeout, and nothing more is received while the store cannot take writes."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from theeye.errors import RetryableStoreError
from theeye_local.lambdas import SqsSource
from theeye_local.poller import InFlight, SqsPoller
from theeye_local.pool import Outcome

DEADLINE_SECONDS = 60.0
SOURCE = SqsSource(
    function_id="ProcessorFunction",
    queue_id="EventsQueue",
    queue_url="sqlite://EventsQueue",
    queue_arn="arn:aws:sqs:us-east-1:000000000000:EventsQueue",
    batch_size=10,
    batching_window_seconds=0,
    report_batch_item_failures=True,
    maximum_concurrency=None,
)


class RefusingQueue:
    """One message, delivered on every receive it is visible for; settle calls refused while
    ``refusing`` is set, as the embedded queue refuses them on a full disk."""

    def __init__(self) -> None:
        self.refusing = threading.Event()
        self.visible = threading.Event()
        self.visible.set()
        self.receives = 0
        self.handed_back: list[float] = []
        self.lock = threading.Lock()

    def receive_message(self, **_: Any) -> dict[str, Any]:
        with self.lock:
            if not self.visible.is_set():
                return {}
            self.visible.clear()
            self.receives += 1
            message = {
                "MessageId": "m-1",
                "ReceiptHandle": f"r-{self.receives}",
                "Body": "{}",
                "MD5OfBody": "",
            }
        return {"Messages": [message]}

    def change_message_visibility_batch(self, **_: Any) -> dict[str, Any]:
        if self.refusing.is_set():
            raise RetryableStoreError("queue unavailable: OperationalError: database or disk is full")
        self.handed_back.append(time.monotonic())
        self.visible.set()
        return {"Successful": [{"Id": "0"}], "Failed": []}

    def delete_message_batch(self, **_: Any) -> dict[str, Any]:
        return {"Successful": [], "Failed": []}


def failing(_: dict[str, Any]) -> Outcome:
    return Outcome(request_id="local", payload=json.dumps({"batchItemFailures": [{"itemIdentifier": "m-1"}]}))


def poller(queue: RefusingQueue, store_problem: Callable[[], str | None] | None = None) -> SqsPoller:
    return SqsPoller(
        SOURCE,
        queue,
        failing,
        region="us-east-1",
        retry_delay_seconds=0,
        in_flight=InFlight(),
        name="test-poller",
        store_problem=store_problem,
    )


def wait_for(check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not check():
        assert time.monotonic() < deadline, "not within the deadline"
        time.sleep(0.01)


def test_a_failed_message_goes_back_once_the_queue_takes_the_call_again() -> None:
    # Given a queue that refuses to take the failed message back
    queue = RefusingQueue()
    queue.refusing.set()
    loop = poller(queue)
    loop.start()
    try:
        wait_for(lambda: queue.receives == 1)
        # When it takes calls again, the message is handed back and delivered again
        queue.refusing.clear()
        wait_for(lambda: queue.receives >= 2)
        assert queue.handed_back
    finally:
        loop.request_stop()
        loop.join(DEADLINE_SECONDS)


def test_nothing_is_received_while_the_store_cannot_take_writes() -> None:
    # Given a store that cannot take writes: the first delivery fails
    queue = RefusingQueue()
    problem: list[str | None] = ["the disk holding the data directory is full"]
    asked = threading.Event()

    def store_problem() -> str | None:
        asked.set()
        return problem[0]

    loop = poller(queue, store_problem)
    loop.start()
    try:
        wait_for(lambda: queue.receives == 1 and bool(queue.handed_back) and asked.is_set())
        # Then the message waits in the queue, visible, spending none of its deliveries
        asked.clear()
        wait_for(asked.is_set)
        assert queue.receives == 1 and queue.visible.is_set()
        # When the store takes writes again, the message is delivered at once
        problem[0] = None
        wait_for(lambda: queue.receives >= 2)
    finally:
        loop.request_stop()
        loop.join(DEADLINE_SECONDS)
