"""The AWS backend: every adapter, built once per container from the function's settings.

The only place adapters are built. A function uses this process's default clients
(``theeye.aws.client``); the operators' CLI passes the clients of the stack it targets.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from theeye import aws
from theeye.aws.counters import DynamoCounters
from theeye.aws.erasure import DynamoEraser
from theeye.aws.errors import DynamoErrorStore
from theeye.aws.events import DynamoEventStore
from theeye.aws.keys import DynamoKeyStore
from theeye.aws.queue import SqsQueue
from theeye.aws.reads import DynamoErrorReader, DynamoEventReader, DynamoSessionReader
from theeye.config import Settings
from theeye.intake import QueueThenCount


class ManagedStoreHealth:
    """``StoreHealth`` of DynamoDB and SQS: there is no disk or lock of ours to run out of.

    A throttle or an outage is transient and per call: the functions answer 503 or retry the
    message, and the alarms report it. So the store counts as writable whenever the function
    that asks is running; nothing is called (a probe write would cost money on every check).
    """

    def write_problem(self) -> str | None:
        return None


@dataclass
class AwsBackend:
    settings: Settings
    client: Callable[[str], Any] = aws.client

    def keys(self) -> DynamoKeyStore:
        return self._keys

    def queue(self) -> SqsQueue:
        return self._queue

    def intake(self) -> QueueThenCount:
        return QueueThenCount(self._queue, self._counters)

    def dead_letter_queue(self) -> SqsQueue:
        return self._dead_letter_queue

    def counters(self) -> DynamoCounters:
        return self._counters

    def event_store(self) -> DynamoEventStore:
        return DynamoEventStore(
            self.settings.required("events_table"),
            self.settings.index_shards,
            self.client("dynamodb"),
            self._writers,
        )

    def error_store(self) -> DynamoErrorStore:
        return DynamoErrorStore(
            self.settings.required("errors_table"),
            self.settings.error_retention_days,
            client=self.client("dynamodb"),
            writers=self._writers,
        )

    def event_reader(self) -> DynamoEventReader:
        return DynamoEventReader(
            self.client("dynamodb"),
            self.settings.required("events_table"),
            self.settings.index_shards,
            self._counters,
            self._readers,
        )

    def error_reader(self) -> DynamoErrorReader:
        return DynamoErrorReader(
            self.client("dynamodb"), self.settings.required("errors_table"), self._readers
        )

    def session_reader(self) -> DynamoSessionReader:
        return DynamoSessionReader(
            self.client("dynamodb"), self.settings.required("counters_table"), self._readers
        )

    def eraser(self) -> DynamoEraser:
        return DynamoEraser(
            self.client("dynamodb"),
            self.settings.required("events_table"),
            self.settings.required("errors_table"),
            self.settings.required("counters_table"),
        )

    def store_health(self) -> ManagedStoreHealth:
        return ManagedStoreHealth()

    def cursor_secret(self) -> bytes:
        answer = aws.call(
            self.client("secretsmanager").get_secret_value,
            aws.unavailable("cursor secret"),
            SecretId=self.settings.required("cursor_secret_arn"),
        )
        return str(answer["SecretString"]).encode("utf-8")

    @cached_property
    def _keys(self) -> DynamoKeyStore:
        return DynamoKeyStore(self.settings.required("keys_table"), self.client("dynamodb"))

    @cached_property
    def _queue(self) -> SqsQueue:
        return SqsQueue(self.settings.required("queue_url"), self.client("sqs"))

    @cached_property
    def _dead_letter_queue(self) -> SqsQueue:
        return SqsQueue(self.settings.required("dlq_url"), self.client("sqs"))

    @cached_property
    def _counters(self) -> DynamoCounters:
        return DynamoCounters(self.settings.required("counters_table"), self.client("dynamodb"))

    @cached_property
    def _writers(self) -> ThreadPoolExecutor:
        """A batch's independent writes, side by side (the processor's events and errors)."""
        return ThreadPoolExecutor(max_workers=16, thread_name_prefix="writer")

    @cached_property
    def _readers(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=16, thread_name_prefix="reader")
