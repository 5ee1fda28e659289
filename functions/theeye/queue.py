"""The event queue port and its SQS adapter."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from theeye import aws
from theeye.errors import ServiceUnavailable
from theeye.messages import QueueMessage


class EventQueue(Protocol):
    def send(self, messages: list[QueueMessage]) -> None:
        """Durably enqueue every message, or raise ``ServiceUnavailable``."""


@dataclass
class SqsEventQueue:
    queue_url: str
    sqs: Any = None

    def send(self, messages: list[QueueMessage]) -> None:
        if not messages:
            return
        sqs = self.sqs or aws.client("sqs")
        bodies = [m.to_body() for m in messages]
        try:
            if len(bodies) == 1:
                sqs.send_message(QueueUrl=self.queue_url, MessageBody=bodies[0])
                return
            # A large request packs into a few messages; send them side by side.
            with ThreadPoolExecutor(max_workers=min(len(bodies), 8)) as pool:
                futures = [
                    pool.submit(sqs.send_message, QueueUrl=self.queue_url, MessageBody=body)
                    for body in bodies
                ]
                for future in futures:
                    future.result()
        except (ClientError, BotoCoreError) as exc:
            raise ServiceUnavailable(
                "the event queue cannot take events right now; retry shortly", retry_after_seconds=2
            ) from exc
