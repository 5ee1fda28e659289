"""Nothing lost, nothing doubled: the pipeline under throttling, crashes and redeliveries.

Events go in through the real ingest handler, out through the real processor handler, with
moto's SQS (including its redrive to the DLQ) in between. ``EventSource`` plays the Lambda
SQS event source: batches, partial batch responses, failed messages made visible again.
Faults are injected at the boto3 layer, where DynamoDB's own errors would surface.
Afterwards every accepted event is accounted for, counted rather than sampled.
"""

from __future__ import annotations

import json
import os
import random
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from processor.batch import processing_attempts
from tests.integration.conftest import Aws, sample
from tests.integration.functions import ingest_handler, processor_handler
from tests.integration.test_processor_handler import items, sqs_event
from theeye import aws as theeye_aws
from theeye.aws.counters import DynamoCounters
from theeye.ledger import PROCESSOR_INVALID
from theeye.messages import QueueMessage


class ProcessKilled(BaseException):
    """A Lambda sandbox dying mid-batch (timeout, out of memory): no response at all."""


@dataclass
class Faults:
    """Injected into the processor's DynamoDB client: throttles a share of writes, kills once."""

    throttle_share: float = 0.0
    kill_after_writes: int | None = None
    seed: int = 7
    writes: int = 0
    throttled: int = 0
    kills: int = 0
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def __call__(self, **_: Any) -> tuple[Any, dict[str, Any]] | None:
        self.writes += 1
        if self.kill_after_writes is not None and self.writes == self.kill_after_writes:
            self.kills += 1
            raise ProcessKilled
        if self._rng.random() < self.throttle_share:
            self.throttled += 1
            error = {"Code": "ProvisionedThroughputExceededException", "Message": "injected"}
            return _Http(400), {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}
        return None


@dataclass
class _Http:
    status_code: int
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class EventSource:
    """The SQS event source mapping, in-process: batch, invoke, delete what succeeded."""

    aws: Aws
    context: Any
    batch_size: int = 10
    invocations: int = 0
    redelivered: int = 0

    def drain(self, handler: Callable[[dict[str, Any], Any], Any], limit: int = 1000) -> None:
        sqs = self.aws.client("sqs")
        url = self.aws.refs["EventsQueue"]
        for _ in range(limit):
            messages = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=self.batch_size, AttributeNames=["All"]
            ).get("Messages", [])
            if not messages:
                return
            self.invocations += 1
            try:
                response = handler(sqs_event(self.aws, messages), self.context)
                failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
            except ProcessKilled:
                failed = {m["MessageId"] for m in messages}
            for message in messages:
                if message["MessageId"] in failed:
                    self.redelivered += 1
                    sqs.change_message_visibility(
                        QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                    )
                else:
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        raise AssertionError("the queue did not drain")


def send_load(context: Any, requests: int, per_request: int, *, invalid_every: int = 7) -> list[str]:
    """Post a mixed load; return the ids of every accepted event."""
    accepted: list[str] = []
    template = sample("briefing_events.json")
    for r in range(requests):
        batch = []
        for i in range(per_request):
            n = r * per_request + i
            event = dict(template[n % 3], session_id=f"session-{n % 5}", event_id=f"ev-{n}")
            event["timestamp"] = f"2026-11-23T08:{n // 60 % 60:02d}:{n % 60:02d}.{n:06d}Z"
            if n % invalid_every == 0:
                event["data"] = {"host": "example.com"}  # no path: a schema violation
            batch.append(event)
        request = sample("apigw_post_events_batch.json")
        request["requestContext"]["requestId"] = f"req-{uuid.uuid4()}"  # unique, as API Gateway's are
        request["body"] = json.dumps(batch)
        answer = json.loads(ingest_handler(request, context)["body"])
        accepted.extend(answer["event_ids"])
    return accepted


def ledger(aws: Aws) -> tuple[Counter[str], set[str], set[str]]:
    """(stored count per event id, event ids with an error record, event ids sitting in the DLQ)."""
    stored = Counter(i["event_id"] for i in items(aws, "EventsTable") if i["pk"].startswith("S#"))
    errored = {e["event_id"] for e in items(aws, "ErrorsTable") if "event_id" in e}
    in_dlq: set[str] = set()
    sqs = aws.client("sqs")
    while True:
        got = sqs.receive_message(QueueUrl=aws.refs["DeadLetterQueue"], MaxNumberOfMessages=10).get(
            "Messages", []
        )
        if not got:
            break
        for message in got:
            in_dlq.update(q.event.event_id for q in QueueMessage.from_body(message["Body"]).events)
            sqs.delete_message(QueueUrl=aws.refs["DeadLetterQueue"], ReceiptHandle=message["ReceiptHandle"])
    return stored, errored, in_dlq


def ledger_balances(aws: Aws, requests_accepted: int) -> Counter[str]:
    """The pipeline's own ledger agrees with what the tables and the DLQ hold."""
    totals = DynamoCounters(aws.refs["CountersTable"], aws.client("dynamodb")).totals()
    invalid = sum(totals[f"invalid_{t}"] for t in PROCESSOR_INVALID)
    assert totals["accepted"] == requests_accepted
    assert totals["accepted"] == totals["stored"] + totals["duplicates"] + invalid + totals["dead_lettered"]
    return totals


def assert_balanced(accepted: list[str], stored: Counter[str], errored: set[str], in_dlq: set[str]) -> None:
    assert len(set(accepted)) == len(accepted)
    doubled = [event_id for event_id, n in stored.items() if n > 1]
    assert doubled == [], "events stored twice"
    assert set(stored) & errored == set(), "events both stored and recorded as invalid"
    lost = set(accepted) - set(stored) - errored - in_dlq
    assert lost == set(), f"{len(lost)} accepted events are nowhere"


@pytest.fixture
def faults(aws: Aws) -> Callable[..., Faults]:
    def install(**settings: Any) -> Faults:
        injected = Faults(**settings)
        theeye_aws.client("dynamodb").meta.events.register("before-call.dynamodb.PutItem", injected)
        return injected

    return install


def test_a_clean_run_stores_every_valid_event_once_and_records_every_invalid_one(
    aws: Aws, ingest_key: str, lambda_context: Any
) -> None:
    accepted = send_load(lambda_context, requests=10, per_request=20)
    EventSource(aws, lambda_context).drain(processor_handler)
    stored, errored, in_dlq = ledger(aws)
    assert_balanced(accepted, stored, errored, in_dlq)
    assert (len(stored), len(errored), len(in_dlq)) == (171, 29, 0)
    totals = ledger_balances(aws, len(accepted))
    assert (totals["stored"], totals["invalid_schema_violation"]) == (171, 29)


def test_throttling_on_a_share_of_writes_loses_and_doubles_nothing(
    aws: Aws, ingest_key: str, lambda_context: Any, faults: Callable[..., Faults]
) -> None:
    accepted = send_load(lambda_context, requests=20, per_request=10)
    injected = faults(throttle_share=0.05)
    source = EventSource(aws, lambda_context, batch_size=3)
    source.drain(processor_handler)
    stored, errored, in_dlq = ledger(aws)
    assert injected.throttled > 0 and source.redelivered > 0
    assert_balanced(accepted, stored, errored, in_dlq)
    ledger_balances(aws, len(accepted))


def test_a_processor_killed_mid_batch_is_finished_by_the_redelivery(
    aws: Aws, ingest_key: str, lambda_context: Any, faults: Callable[..., Faults]
) -> None:
    accepted = send_load(lambda_context, requests=6, per_request=25)
    injected = faults(kill_after_writes=40)
    source = EventSource(aws, lambda_context)
    source.drain(processor_handler)
    stored, errored, in_dlq = ledger(aws)
    assert injected.kills == 1
    assert_balanced(accepted, stored, errored, in_dlq)
    assert in_dlq == set()
    assert len(stored) + len(errored) == len(accepted)
    ledger_balances(aws, len(accepted))


def test_messages_that_always_fail_end_in_the_dlq_with_their_events(
    aws: Aws, ingest_key: str, lambda_context: Any, faults: Callable[..., Faults]
) -> None:
    accepted = send_load(lambda_context, requests=3, per_request=10)
    faults(throttle_share=1.0)
    source = EventSource(aws, lambda_context)
    source.drain(processor_handler)
    stored, errored, in_dlq = ledger(aws)
    assert stored == Counter()
    assert_balanced(accepted, stored, errored, in_dlq)
    # every message was tried on its processing attempts, then moved by the processor itself
    assert source.redelivered == 3 * processing_attempts(int(os.environ["MAX_RECEIVE_COUNT"]))
    totals = ledger_balances(aws, len(accepted))
    assert (totals["dead_lettered"], totals["dead_lettered_messages"]) == (30, 3)


@pytest.mark.parametrize("dies", ["before its commit", "after its commit"])
def test_a_message_whose_last_attempt_died_is_accounted_for(
    aws: Aws, ingest_key: str, lambda_context: Any, dies: str
) -> None:
    # Given a processor that dies (a timeout, a kill) on every processing attempt of a message,
    # before its batch is counted or after it (the answer to SQS never comes either way)
    accepted = send_load(lambda_context, requests=2, per_request=10)
    attempts = processing_attempts(int(os.environ["MAX_RECEIVE_COUNT"]))
    seen: Counter[int] = Counter()

    def dies_while_it_may_process(event: dict[str, Any], context: Any) -> Any:
        receives = {int(r["attributes"]["ApproximateReceiveCount"]) for r in event["Records"]}
        seen.update(receives)
        if max(receives) <= attempts:
            if dies == "after its commit":
                processor_handler(event, context)
            raise ProcessKilled
        return processor_handler(event, context)

    source = EventSource(aws, lambda_context)
    source.drain(dies_while_it_may_process)
    # Then the delivery after the last attempt settled each message: counted dead-lettered and
    # moved when it had not been counted, acknowledged when it had; nothing is reported queued
    # that sits in the DLQ, nothing counted twice, and the books balance with an empty queue
    stored, errored, in_dlq = ledger(aws)
    assert sorted(seen) == list(range(1, attempts + 2))
    assert_balanced(accepted, stored, errored, in_dlq)
    totals = ledger_balances(aws, len(accepted))
    if dies == "before its commit":
        assert (in_dlq, stored) == (set(accepted), Counter())
        assert (totals["dead_lettered"], totals["dead_lettered_messages"]) == (len(accepted), 2)
    else:
        assert in_dlq == set()
        assert (totals["dead_lettered"], totals["dead_lettered_messages"]) == (0, 0)


def test_duplicate_deliveries_and_client_retries_store_each_event_once(
    aws: Aws, ingest_key: str, lambda_context: Any
) -> None:
    # Given every request sent twice (a client retry) and every batch delivered twice
    first = send_load(lambda_context, requests=5, per_request=10)
    again = send_load(lambda_context, requests=5, per_request=10)
    assert first == again

    def twice(event: dict[str, Any], context: Any) -> Any:
        processor_handler(event, context)
        return processor_handler(event, context)

    EventSource(aws, lambda_context).drain(twice)
    stored, errored, in_dlq = ledger(aws)
    assert_balanced(first, stored, errored, in_dlq)
    assert len(stored) + len(errored) == 50
    totals = ledger_balances(aws, 100)
    # the retried request's valid events are duplicates; its invalid ones are invalid again
    assert totals["duplicates"] == len(stored) == 50 - totals["invalid_schema_violation"] // 2
