"""The SQS calls the local poll loop and ``theeye dlq`` make, answered by the embedded
backend's SQLite queues.

``theeye_local.poller.SqsPoller`` speaks to SQS through ``receive_message``,
``delete_message_batch`` and ``change_message_visibility_batch``; this class answers those three
with ``theeye.sqlite.queue.SqliteQueue`` so the same poller (batching window, partial batch
responses, retry delay) feeds the processor SQS-shaped Lambda events from the SQLite file, and
the processor's handler runs unchanged. Long polling is a short sleep loop on the file, which
every process of the stack shares.

The operators' CLI (``theeye_cli.dlq``) also peeks and redrives through it: ``receive_message``
with its own ``VisibilityTimeout``, ``send_message`` of a raw body and ``delete_message``, so
``theeye --local dlq`` has one code path for SQS and SQLite. The SQLite queues keep no message
attributes; a call that asks to store some is refused rather than silently dropping them.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from typing import Any, Final

from theeye.errors import InvalidRequest, NotFound
from theeye.sqlite.queue import Received, SqliteQueue

POLL_INTERVAL_SECONDS: Final = 0.02


class SqliteSqs:
    """SQS's API over SQLite queues, by queue URL: what the poller and ``theeye dlq`` call."""

    def __init__(self, queues: Mapping[str, SqliteQueue], visibility_timeout: float) -> None:
        self._queues = dict(queues)
        self._visibility_timeout = visibility_timeout  # the queue's own, when a receive names none

    def receive_message(
        self,
        *,
        QueueUrl: str,
        MaxNumberOfMessages: int = 1,
        WaitTimeSeconds: int = 0,
        VisibilityTimeout: float | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        """Up to ``MaxNumberOfMessages``, each hidden for ``VisibilityTimeout`` seconds (default:
        the queue's); every attribute is returned whatever ``AttributeNames`` asks for."""
        queue = self._queue(QueueUrl)
        hide = self._visibility_timeout if VisibilityTimeout is None else float(VisibilityTimeout)
        deadline = time.monotonic() + WaitTimeSeconds
        while True:
            received = queue.receive(MaxNumberOfMessages, hide)
            if received or time.monotonic() >= deadline:
                return {"Messages": [_message(m) for m in received]} if received else {}
            time.sleep(POLL_INTERVAL_SECONDS)

    def send_message(
        self,
        *,
        QueueUrl: str,
        MessageBody: str,
        DelaySeconds: int = 0,
        MessageAttributes: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Enqueue ``MessageBody`` as it is (a new message: received zero times)."""
        if MessageAttributes:
            raise InvalidRequest("the embedded (SQLite) queues keep no message attributes")
        message_id = self._queue(QueueUrl).send_body(MessageBody, DelaySeconds)
        return {"MessageId": message_id, "MD5OfMessageBody": _md5(MessageBody)}

    def delete_message(self, *, QueueUrl: str, ReceiptHandle: str) -> dict[str, Any]:
        """Delete a received message. As on SQS, a receipt that names no message any more (deleted,
        or received again since) deletes nothing and is no error."""
        self._queue(QueueUrl).delete(ReceiptHandle)
        return {}

    def delete_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
        queue = self._queue(QueueUrl)
        return _batch(Entries, queue.delete_all([entry["ReceiptHandle"] for entry in Entries]))

    def change_message_visibility_batch(
        self, *, QueueUrl: str, Entries: list[dict[str, Any]]
    ) -> dict[str, Any]:
        queue = self._queue(QueueUrl)
        changes = [(entry["ReceiptHandle"], float(entry["VisibilityTimeout"])) for entry in Entries]
        return _batch(Entries, queue.change_visibility_all(changes))

    def _queue(self, url: str) -> SqliteQueue:
        try:
            return self._queues[url]
        except KeyError:
            known = ", ".join(sorted(self._queues)) or "none"
            raise NotFound(f"no embedded queue {url!r} (known: {known})") from None


def _message(received: Received) -> dict[str, Any]:
    """A received message as SQS's ReceiveMessage lists it (the attributes Lambda passes on)."""
    return {
        "MessageId": received.message_id,
        "ReceiptHandle": received.receipt,
        "Body": received.body,
        "MD5OfBody": _md5(received.body),
        "Attributes": {
            "ApproximateReceiveCount": str(received.receive_count),
            "SentTimestamp": str(int(received.sent_at * 1000)),
            "ApproximateFirstReceiveTimestamp": str(int(received.first_received_at * 1000)),
        },
    }


def _md5(body: str) -> str:
    return hashlib.md5(body.encode("utf-8"), usedforsecurity=False).hexdigest()


def _batch(entries: list[dict[str, Any]], results: list[bool]) -> dict[str, Any]:
    """A batch call's answer: which entries succeeded (``results``, in order) and which failed."""
    done: dict[str, list[dict[str, Any]]] = {"Successful": [], "Failed": []}
    for entry, ok in zip(entries, results, strict=True):
        if ok:
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
