"""Ingest's one write: the messages into the queue, and what they carry into the ledger.

``ingest_counts`` says what a set of messages counts for (accepted events, rejections by
type); every ``Intake`` adds exactly that. Where the queue and the ledger are two services
(SQS and DynamoDB, or the in-memory fakes), ``QueueThenCount`` sends first and then counts:
the events are queued whatever happens to the count, and a count that fails is logged and
measured (``LedgerWriteFailed``), never turned into a refusal of events already queued. Where
both live in one database, its adapter does both in one transaction (``theeye.sqlite``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from aws_lambda_powertools.metrics import MetricUnit

from theeye.errors import QueueUnavailable, TheEyeError
from theeye.messages import QueueMessage
from theeye.observability import logger, metrics
from theeye.ports import EventQueue, IngestLedger


def ingest_counts(messages: list[QueueMessage]) -> tuple[int, dict[str, int]]:
    """Accepted events and rejections by type that ``messages`` carry."""
    rejected = Counter(r.type for m in messages for r in m.rejections)
    return sum(len(m.events) for m in messages), dict(rejected)


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
        accepted, rejected = ingest_counts(messages)
        try:
            self.ledger.count_ingest(accepted, rejected)
        except TheEyeError:
            logger.exception("could not count accepted events in the ledger")
            metrics.add_metric(name="LedgerWriteFailed", unit=MetricUnit.Count, value=1)
