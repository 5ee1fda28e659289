"""Ingest's one write: the messages into the queue, and what they carry into the ledger.

``intake_tally`` says what one message counts for (accepted events, rejections by type),
keyed by its body; every ``Intake`` counts exactly that, once per message. Where the queue
and the ledger are two services (SQS and DynamoDB, or the in-memory fakes), ``QueueThenCount``
sends first and then counts: the events are queued whatever happens to the count, and a count
that fails, or a worker that dies before counting, leaves it to the processor, which counts
the intake of every message it handles unless ingest did (``IngestLedger.count_intake``).
Where both live in one database, its adapter does both in one transaction (``theeye.sqlite``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from aws_lambda_powertools.metrics import MetricUnit

from theeye.errors import QueueUnavailable, TheEyeError
from theeye.ledger import IntakeTally, message_key
from theeye.messages import QueueMessage
from theeye.observability import logger, metrics
from theeye.ports import EventQueue, IngestLedger


def intake_tally(message: QueueMessage, body: str | None = None) -> IntakeTally:
    """What ``message`` (queued as ``body``) counts for at intake: accepted events, or replayed
    ones when it is a replay's."""
    rejected = Counter(r.type for r in message.rejections)
    key = message_key(body or message.to_body())
    if message.replay:
        return IntakeTally(key, 0, dict(rejected), replayed=len(message.events))
    return IntakeTally(key, len(message.events), dict(rejected))


@dataclass
class QueueThenCount:
    """``Intake`` over a queue and a ledger that cannot share a transaction."""

    queue: EventQueue
    ledger: IngestLedger | None = None

    def accept(self, messages: list[QueueMessage]) -> None:
        try:
            self.queue.send(messages)
        except QueueUnavailable as exc:
            self._count(exc.delivered)  # what did get in will be processed; the retry is deduplicated
            raise
        self._count(messages)

    def _count(self, messages: list[QueueMessage]) -> None:
        if self.ledger is None or not messages:
            return
        try:
            self.ledger.count_intake([intake_tally(m) for m in messages])
        except TheEyeError:
            logger.exception("could not count accepted events in the ledger; the processor will")
            metrics.add_metric(name="LedgerWriteFailed", unit=MetricUnit.Count, value=1)
