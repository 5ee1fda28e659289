"""The SQS event source mapping: long-poll a queue, batch, invoke, delete or retry.

Follows Lambda's documented behaviour for SQS event sources: batches of up to ``BatchSize``
gathered for at most ``MaximumBatchingWindowInSeconds``; with ``ReportBatchItemFailures``
only the messages the function lists in ``batchItemFailures`` stay in the queue, and a
malformed response (or an unknown id) fails the whole batch; a function error or timeout
fails the whole batch. Failed messages become visible again after the retry delay (a
local-only acceleration of the queue's visibility timeout), and the queue's ``RedrivePolicy``
moves them to the dead-letter queue once received ``maxReceiveCount`` times - moto applies
that on receive, in server mode as on AWS.

When the queue itself refuses (the embedded queue's file on a full disk, SQS unreachable), a
batch's deletes and retries are asked again until they are taken: left undone, its messages
would stay hidden for the queue's whole visibility timeout. And after a failure, a poller that
was given the store's health receives nothing while the store cannot take writes, so messages
do not spend their deliveries (and reach the dead-letter queue) against a full disk.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from theeye.errors import TheEyeError
from theeye_local.lambdas import SqsSource
from theeye_local.pool import Outcome

LOG = logging.getLogger("theeye_local")

MAX_MESSAGES_PER_RECEIVE: Final = 10  # SQS's own limit per ReceiveMessage
IDLE_WAIT_SECONDS: Final = 1  # long-poll slice; bounds how long a stop request waits
ERROR_BACKOFF_SECONDS: Final = 1.0

Invoke = Callable[[dict[str, Any]], Outcome]
# Why the store cannot take writes now, in plain words; None when it can (theeye.ports.StoreHealth)
StoreProblem = Callable[[], str | None]
# What a queue raises when it refuses a call: SQS (moto) errors, the embedded queue's domain errors.
QUEUE_REFUSALS: Final = (BotoCoreError, ClientError, TheEyeError)


class InFlight:
    """Message ids the pollers of one queue hold right now.

    moto's ReceiveMessage checks and marks a message as received in separate steps, so two
    pollers long-polling the same queue can, rarely, both receive one message. SQS does not
    do that to an invisible message, and a duplicate delivery would show in the pipeline's
    ledger; the second poller to claim an id therefore leaves the message to the first.
    """

    def __init__(self) -> None:
        self._ids: set[str] = set()
        self._lock = threading.Lock()

    def claim(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        with self._lock:
            mine = [message for message in messages if message["MessageId"] not in self._ids]
            self._ids.update(message["MessageId"] for message in mine)
        return mine

    def release(self, messages: list[dict[str, Any]]) -> None:
        with self._lock:
            self._ids.difference_update(message["MessageId"] for message in messages)


class SqsPoller:
    """One concurrent poller of an event source mapping (Lambda runs up to MaximumConcurrency)."""

    def __init__(
        self,
        source: SqsSource,
        sqs: Any,
        invoke: Invoke,
        *,
        region: str,
        retry_delay_seconds: int,
        in_flight: InFlight,
        name: str,
        store_problem: StoreProblem | None = None,
    ) -> None:
        self.source = source
        self._sqs = sqs
        self._invoke = invoke
        self._region = region
        self._retry_delay = retry_delay_seconds
        self._in_flight = in_flight
        self._store_problem = store_problem
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def request_stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the poller to finish its in-flight batch and exit."""
        self._thread.join(timeout)

    # -- loop -------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            messages: list[dict[str, Any]] = []
            failed = False
            try:
                self._gather(messages)
                failed = bool(messages) and not self._process(messages)
            except QUEUE_REFUSALS as exc:
                # e.g. moto answering 500 when two pollers race to move a message to the DLQ, or
                # the embedded queue's file refusing the write that hides received messages
                LOG.warning("%s: the queue refused a call, retrying: %s", self._thread.name, exc)
                self._stop.wait(ERROR_BACKOFF_SECONDS)
                failed = True
            except Exception:
                LOG.exception("%s: polling %s failed", self._thread.name, self.source.queue_id)
                self._stop.wait(ERROR_BACKOFF_SECONDS)
            finally:
                self._in_flight.release(messages)
            if failed:
                self._wait_for_store()  # the claims are released: another poller may take them

    def _gather(self, messages: list[dict[str, Any]]) -> None:
        """Receive into ``messages`` until the batch is full or the batching window ends.

        The window starts with the first message. Whatever was received is processed, even
        when a stop is requested meanwhile (it is the in-flight batch).
        """
        window_end: float | None = None
        while len(messages) < self.source.batch_size and not self._stop.is_set():
            wait = IDLE_WAIT_SECONDS
            if window_end is not None:
                remaining = window_end - time.monotonic()
                if remaining <= 0:
                    break
                wait = IDLE_WAIT_SECONDS if remaining >= IDLE_WAIT_SECONDS else 0
            wanted = min(MAX_MESSAGES_PER_RECEIVE, self.source.batch_size - len(messages))
            try:
                received = self._receive(wanted, wait)
            except QUEUE_REFUSALS as exc:
                if not messages:
                    raise
                # the messages in hand are hidden: process them now rather than drop them
                LOG.warning(
                    "%s: the queue refused a receive; the batch goes as it is: %s", self._thread.name, exc
                )
                break
            if received:
                messages.extend(received)
                if window_end is None:
                    window_end = time.monotonic() + self.source.batching_window_seconds
                    if self.source.batching_window_seconds == 0:
                        break
            elif wait == 0:
                self._stop.wait(0.05)  # the last fraction of a window: short polls, gently

    def _receive(self, count: int, wait_seconds: int) -> list[dict[str, Any]]:
        response = self._sqs.receive_message(
            QueueUrl=self.source.queue_url,
            MaxNumberOfMessages=count,
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return self._in_flight.claim(list(response.get("Messages", [])))

    def _process(self, messages: list[dict[str, Any]]) -> bool:
        """Invoke the function with the batch, then settle it; whether every message succeeded."""
        ids = [message["MessageId"] for message in messages]
        started = time.monotonic()
        outcome = self._invoke({"Records": [self._record(message) for message in messages]})
        LOG.debug(
            "%s: batch of %d -> %s in %.0f ms",
            self._thread.name,
            len(ids),
            outcome.describe(),
            (time.monotonic() - started) * 1000,
        )
        failed: set[str]
        if not outcome.ok:
            failed = set(ids)
            LOG.warning(
                "%s: batch of %d failed (%s); retrying in %d s",
                self.source.function_id,
                len(ids),
                outcome.describe(),
                self._retry_delay,
            )
        elif self.source.report_batch_item_failures:
            reported = batch_item_failures(outcome.payload or "", ids)
            if reported is None:
                LOG.warning("%s: malformed batchItemFailures; the whole batch fails", self.source.function_id)
                failed = set(ids)
            else:
                failed = reported
            if failed:
                LOG.info("%s: %d of %d messages to retry", self.source.function_id, len(failed), len(ids))
        else:
            failed = set()
        by_id = {message["MessageId"]: message for message in messages}
        self._settle([by_id[i] for i in ids if i not in failed], [by_id[i] for i in ids if i in failed])
        return not failed

    def _settle(self, done: list[dict[str, Any]], failed: list[dict[str, Any]]) -> None:
        """Hand back what failed (visible again after the retry delay), delete what succeeded.

        While the queue refuses, ask again every ``ERROR_BACKOFF_SECONDS``; on a stop request,
        leave what is left (the embedded stack makes it visible again when it next starts).
        """
        refused_since: float | None = None
        while failed or done:
            try:
                if failed:
                    self._retry_later(failed)
                    self._in_flight.release(failed)  # visible again soon: free to be received
                    failed = []
                self._delete(done)
                done = []
            except QUEUE_REFUSALS as exc:
                if refused_since is None:
                    refused_since = time.monotonic()
                    LOG.warning(
                        "%s: the queue refused to settle a batch (%s); asking again every %.0f s",
                        self._thread.name,
                        exc,
                        ERROR_BACKOFF_SECONDS,
                    )
                if self._stop.wait(ERROR_BACKOFF_SECONDS):
                    LOG.warning(
                        "%s: stopping with %d message(s) unsettled",
                        self._thread.name,
                        len(failed) + len(done),
                    )
                    return
        if refused_since is not None:
            LOG.info("%s: batch settled after %.0f s", self._thread.name, time.monotonic() - refused_since)

    def _wait_for_store(self) -> None:
        """After a failure, receive nothing while the store says it cannot take writes."""
        if self._store_problem is None:
            return
        problem = self._store_problem()
        if problem is None:
            return
        started = time.monotonic()
        LOG.warning(
            "%s: the store cannot take writes (%s); receiving waits until it can", self._thread.name, problem
        )
        while problem is not None and not self._stop.wait(ERROR_BACKOFF_SECONDS):
            problem = self._store_problem()
        if problem is None:
            LOG.info(
                "%s: the store takes writes again after %.0f s; receiving resumes",
                self._thread.name,
                time.monotonic() - started,
            )

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        """The record Lambda puts in an SQS event for ``message``."""
        record: dict[str, Any] = {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": dict(message.get("Attributes", {})),
            "messageAttributes": {
                name: _message_attribute(value)
                for name, value in message.get("MessageAttributes", {}).items()
            },
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": self.source.queue_arn,
            "awsRegion": self._region,
        }
        if "MD5OfMessageAttributes" in message:
            record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
        return record

    def _delete(self, messages: list[dict[str, Any]]) -> None:
        for chunk in _chunks(messages):
            response = self._sqs.delete_message_batch(
                QueueUrl=self.source.queue_url,
                Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(chunk)],
            )
            for failure in response.get("Failed", []):
                LOG.warning(
                    "%s: could not delete a message: %s", self.source.queue_id, failure.get("Message")
                )

    def _retry_later(self, messages: list[dict[str, Any]]) -> None:
        for chunk in _chunks(messages):
            self._sqs.change_message_visibility_batch(
                QueueUrl=self.source.queue_url,
                Entries=[
                    {
                        "Id": str(n),
                        "ReceiptHandle": m["ReceiptHandle"],
                        "VisibilityTimeout": self._retry_delay,
                    }
                    for n, m in enumerate(chunk)
                ],
            )


def batch_item_failures(payload_text: str, ids: list[str]) -> set[str] | None:
    """The ids a ``ReportBatchItemFailures`` response lists, or None when it fails the whole batch.

    As Lambda: no response, an empty one or an empty/null list mean success; invalid JSON, a
    missing/empty/null ``itemIdentifier`` or an id that is not in the batch fail every message.
    """
    try:
        response = json.loads(payload_text) if payload_text.strip() else None
    except ValueError:
        return None
    if response is None or response == {} or response == "":
        return set()
    if not isinstance(response, dict):
        return None
    items = response.get("batchItemFailures")
    if items is None:
        return set()
    if not isinstance(items, list):
        return None
    known = set(ids)
    failed: set[str] = set()
    for item in items:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or identifier not in known:
            return None
        failed.add(identifier)
    return failed


def _message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    attribute: dict[str, Any] = {
        "stringListValues": list(value.get("StringListValues", [])),
        "binaryListValues": [base64.b64encode(item).decode() for item in value.get("BinaryListValues", [])],
        "dataType": value["DataType"],
    }
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    return attribute


def _chunks(items: list[dict[str, Any]]) -> Iterable[list[dict[str, Any]]]:
    for start in range(0, len(items), MAX_MESSAGES_PER_RECEIVE):
        yield items[start : start + MAX_MESSAGES_PER_RECEIVE]
