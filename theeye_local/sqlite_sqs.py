"""The SQS calls the local poll loop makes, answered by the embedded backend's SQLite queues.

``theeye_local.poller.SqsPoller`` speaks to SQS through ``receive_message``,
``delete_message_batch`` and ``change_message_visibility_batch``; this class answers those three
with ``theeye.sqlite.queue.SqliteQueue`` so the same poller (batching window, partial batch
responses, retry delay) feeds the processor SQS-shaped Lambda events from the SQLite file, and
the processor's handler runs unchanged. Long polling is a short sleep loop on the file, which
every process of the stack shares.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from typing import Any, Final

from theeye.sqlite.queue import Received, SqliteQueue

POLL_INTERVAL_SECONDS: Final = 0.02


class SqliteSqs:
    """SQS's poller-side API over SQLite queues, by queue URL."""

    def __init__(self, queues: Mapping[str, SqliteQueue], visibility_timeout: float) -> None:
        self._queues = dict(queues)
        self._visibility_timeout = visibility_timeout

    def receive_message(
        self, *, QueueUrl: str, MaxNumberOfMessages: int = 1, WaitTimeSeconds: int = 0, **_: Any
    ) -> dict[str, Any]:
        queue = self._queues[QueueUrl]
        deadline = time.monotonic() + WaitTimeSeconds
        while True:
            received = queue.receive(MaxNumberOfMessages, self._visibility_timeout)
            if received or time.monotonic() >= deadline:
                return {"Messages": [_message(m) for m in received]} if received else {}
            time.sleep(POLL_INTERVAL_SECONDS)

    def delete_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
        queue = self._queues[QueueUrl]
        return _batch(Entries, lambda entry: queue.delete(entry["ReceiptHandle"]))

    def change_message_visibility_batch(
        self, *, QueueUrl: str, Entries: list[dict[str, Any]]
    ) -> dict[str, Any]:
        queue = self._queues[QueueUrl]
        return _batch(
            Entries,
            lambda entry: queue.change_visibility(entry["ReceiptHandle"], float(entry["VisibilityTimeout"])),
        )


def _message(received: Received) -> dict[str, Any]:
    """A received message as SQS's ReceiveMessage lists it (the attributes Lambda passes on)."""
    return {
        "MessageId": received.message_id,
        "ReceiptHandle": received.receipt,
        "Body": received.body,
        "MD5OfBody": hashlib.md5(received.body.encode("utf-8"), usedforsecurity=False).hexdigest(),
        "Attributes": {
            "ApproximateReceiveCount": str(received.receive_count),
            "SentTimestamp": str(int(received.sent_at * 1000)),
            "ApproximateFirstReceiveTimestamp": str(int(received.first_received_at * 1000)),
        },
    }


def _batch(entries: list[dict[str, Any]], one: Any) -> dict[str, Any]:
    done: dict[str, list[dict[str, Any]]] = {"Successful": [], "Failed": []}
    for entry in entries:
        if one(entry):
            done["Successful"].append({"Id": entry["Id"]})
        else:
            done["Failed"].append(
                {
                    "Id": entry["Id"],
                    "Code": "ReceiptHandleIsInvalid",
                    "SenderFault": True,
                    "Message": "the receipt handle names no message",
                }
            )
    return done
