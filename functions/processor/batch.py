"""The batch use case: one SQS invocation's messages, each on its own, then counted once.

* **Deadline.** A message is started only when the time left fits it (twice the slowest
  message so far, at least 3 s, plus 1 s) and half of the time the invocation started with is
  still left for the rest, the batch's commit included. One that does not fit is put back in
  the queue as a new message (a fresh receive count: deferring is not a failed attempt) and
  acknowledged, rather than a timeout failing the whole batch, processed messages included; if
  it cannot be put back it fails alone and SQS delivers it again.
* **Counting.** The messages processed are counted in the ledger together, after all their
  writes (``logic.commit``). When that commit fails, every processed message is reported
  failed too: their writes are idempotent, their counts not yet made, so a redelivery counts them.
* **Dead letters.** A message is processed on its first ``processing_attempts`` deliveries.
  A delivery after those is not processed: the message is counted dead-lettered (by its
  ledger key, once), then sent to the dead-letter queue and acknowledged. Whatever ended the
  last attempt - an exception, a timeout, a killed process - the message is accounted for;
  the deliveries SQS still grants after that (its redrive policy uses ``max_receive_count``)
  give the counting step a second chance, and when SQS moves the message itself it is
  counted already.

Failures are reported with Powertools' partial batch response, so one bad message never
fails its neighbours.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse, PartialItemFailures
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from processor import logic
from theeye.clock import format_timestamp, utc_now
from theeye.errors import QueueUnavailable, TheEyeError
from theeye.intake import intake_tally
from theeye.ledger import message_key
from theeye.messages import QueueMessage
from theeye.observability import logger, metrics
from theeye.ports import BatchLedger, BodyQueue, DeadLetterQueue

MIN_TIME_LEFT_MS = 3000.0
SAFETY_MS = 1000.0


class DeadlineNear(Exception):
    """Too little time is left to process another message: leave it for the next delivery."""


def processing_attempts(max_receive_count: int) -> int:
    """Deliveries that process a message; the rest of SQS's ``max_receive_count`` move it
    to the dead-letter queue (two chances, when there is room for them)."""
    return max(1, max_receive_count - 2)


@dataclass
class Batch:
    """One invocation: what it processed, and how long its slowest message took."""

    processor: logic.Processor
    ledger: BatchLedger
    queue: BodyQueue
    dead_letter_queue: DeadLetterQueue
    max_receive_count: int
    context: LambdaContext | None
    processed: dict[str, logic.Outcome] = field(default_factory=dict)  # by SQS message id
    slowest_ms: float = 0.0
    started_with_ms: float | None = None  # time left when the first message came
    deferred: int = 0

    def run(self, event: dict[str, Any]) -> PartialItemFailureResponse:
        response = process_partial_response(
            event=event,
            record_handler=self.record,
            processor=BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False),
            context=self.context,
        )
        try:
            logic.commit(self.processor, list(self.processed.values()))
        except TheEyeError:
            logger.exception("could not count the batch; its messages will be retried")
            response["batchItemFailures"] = [
                PartialItemFailures(itemIdentifier=i) for i in self.processed
            ] + [
                f for f in response.get("batchItemFailures", []) if f["itemIdentifier"] not in self.processed
            ]
        failed_ids = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        metrics.add_metric(name="MessagesFailed", unit=MetricUnit.Count, value=len(failed_ids))
        if failed_ids:
            logger.warning("messages failed and will be retried", extra={"failed": len(failed_ids)})
        return response

    def record(self, record: SQSRecord) -> None:
        if int(record.attributes.approximate_receive_count) > processing_attempts(self.max_receive_count):
            self.dead_letter(record)
            return
        if self.context is not None and not self.fits(self.context.get_remaining_time_in_millis()):
            self.defer(record)
            return
        started = time.perf_counter()
        outcome = logic.process_message(record.body, self.processor)
        self.slowest_ms = max(self.slowest_ms, (time.perf_counter() - started) * 1000)
        self.processed[record.message_id] = outcome
        _report(record.message_id, outcome)

    def fits(self, remaining: float) -> bool:
        """Whether another message may start with ``remaining`` ms left."""
        if self.started_with_ms is None:
            self.started_with_ms = remaining
        if remaining < max(MIN_TIME_LEFT_MS, 2 * self.slowest_ms) + SAFETY_MS:
            return False
        return not self.processed or remaining >= self.started_with_ms / 2

    def defer(self, record: SQSRecord) -> None:
        """Put the message back as a new one and acknowledge this delivery; when the queue does
        not take it, fail it alone (``DeadlineNear``) and let SQS deliver it again."""
        try:
            self.queue.send_body(record.body)
        except QueueUnavailable:
            raise DeadlineNear("no time left, and the queue did not take the message back") from None
        self.deferred += 1
        metrics.add_metric(name="MessagesDeferred", unit=MetricUnit.Count, value=1)
        logger.info("no time left for the message; queued again", extra={"message_id": record.message_id})

    def dead_letter(self, record: SQSRecord) -> None:
        """Count the message dead-lettered, then move it: counted first, so that whether this
        send or SQS's own redrive puts it in the dead-letter queue, the ledger knows.

        A message whose outcome was counted already (its last attempt died after the commit,
        before SQS heard of it) is done: acknowledged, neither moved nor counted again.
        """
        body = record.body
        if self.ledger.processed(message_key(body)):
            logger.info("message already processed; acknowledged", extra={"message_id": record.message_id})
            return
        try:
            message = QueueMessage.from_body(body)
        except (ValueError, KeyError, TypeError):
            message = None  # unreadable: a dead-lettered message carrying no known event
        events = len(message.events) if message is not None else 0
        if message is not None:
            self.ledger.count_intake([intake_tally(message, body)], read_first=True)
        self.ledger.count_dead_letter(message_key(body), events)
        self.dead_letter_queue.send_body(body)
        metrics.add_metric(name="MessagesDeadLettered", unit=MetricUnit.Count, value=1)
        logger.error(
            "message moved to the dead-letter queue",
            extra={
                "message_id": record.message_id,
                "events": events,
                "deliveries": record.attributes.approximate_receive_count,
            },
        )


def _report(message_id: str, outcome: logic.Outcome) -> None:
    """One metric per outcome, one log line per unstored event and per message."""
    metrics.add_metric(name="EventsStored", unit=MetricUnit.Count, value=outcome.stored)
    metrics.add_metric(name="DuplicatesDropped", unit=MetricUnit.Count, value=outcome.duplicates)
    for error_type, count in outcome.invalid.items():
        metrics.add_metric(name=f"Invalid_{error_type}", unit=MetricUnit.Count, value=count)
    if outcome.stored:
        lag = logic.lag_seconds(outcome, format_timestamp(utc_now()))
        metrics.add_metric(name="EndToEndLagSeconds", unit=MetricUnit.Seconds, value=lag)
    for error_type, event_id, error_id in outcome.recorded:
        logger.info(
            "event not stored", extra={"type": error_type, "event_id": event_id, "error_id": error_id}
        )
    logger.info(
        "message processed",
        extra={
            "message_id": message_id,
            "stored": outcome.stored,
            "duplicates": outcome.duplicates,
            "invalid": dict(outcome.invalid),
        },
    )
