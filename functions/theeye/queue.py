"""The event queue port and its SQS adapter."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from theeye import aws
from theeye.errors import ServiceUnavailable
from theeye.messages import QueueMessage


class QueueUnavailable(ServiceUnavailable):
    """The queue did not take every message; ``delivered`` lists those it did take."""

    def __init__(self, delivered: list[QueueMessage]) -> None:
        super().__init__("the event queue cannot take events right now; retry shortly", retry_after_seconds=2)
        self.delivered = delivered


class EventQueue(Protocol):
    def send(self, messages: list[QueueMessage]) -> None:
        """Durably enqueue every message, or raise ``QueueUnavailable``."""


@dataclass
class SqsEventQueue:
    queue_url: str
    sqs: Any = None

    def send(self, messages: list[QueueMessage]) -> None:
        if not messages:
            return
        sqs = self.sqs or aws.client("sqs")

        def one(message: QueueMessage) -> bool:
            try:
                sqs.send_message(QueueUrl=self.queue_url, MessageBody=message.to_body())
            except (ClientError, BotoCoreError):
                return False
            return True

        if len(messages) == 1:
            delivered = [one(messages[0])]
        else:
            # A large request packs into a few messages; send them side by side.
            with ThreadPoolExecutor(max_workers=min(len(messages), 8)) as pool:
                delivered = list(pool.map(one, messages))
        if not all(delivered):
            raise QueueUnavailable([m for m, ok in zip(messages, delivered, strict=True) if ok])
