"""SQS adapter of ``EventQueue`` and ``QueueDepth``: one queue, by URL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from theeye import aws
from theeye.errors import QueueUnavailable, TheEyeError
from theeye.messages import QueueMessage

_depth_failure = aws.unavailable("queue")
_DEPTH_ATTRIBUTES = [
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
]


@dataclass
class SqsQueue:
    queue_url: str
    client: Any = field(default_factory=lambda: aws.client("sqs"))

    def send(self, messages: list[QueueMessage]) -> None:
        if not messages:
            return

        def one(message: QueueMessage) -> bool:
            try:
                aws.call(
                    self.client.send_message,
                    aws.retryable("queue"),
                    QueueUrl=self.queue_url,
                    MessageBody=message.to_body(),
                )
            except TheEyeError:
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

    def send_body(self, body: str, delay_seconds: float = 0) -> str:
        """Send one body exactly as given (a dead letter keeps its bytes); its message id."""
        try:
            answer = aws.call(
                self.client.send_message,
                aws.retryable("queue"),
                QueueUrl=self.queue_url,
                MessageBody=body,
                DelaySeconds=int(delay_seconds),
            )
        except TheEyeError:
            raise QueueUnavailable([]) from None
        return str(answer["MessageId"])

    def depth(self) -> dict[str, int]:
        attributes = aws.call(
            self.client.get_queue_attributes,
            _depth_failure,
            QueueUrl=self.queue_url,
            AttributeNames=_DEPTH_ATTRIBUTES,
        )["Attributes"]
        return {
            "messages": int(attributes.get("ApproximateNumberOfMessages", 0))
            + int(attributes.get("ApproximateNumberOfMessagesDelayed", 0)),
            "in_flight": int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
        }
