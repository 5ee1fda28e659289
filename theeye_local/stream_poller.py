"""A DynamoDB stream event source mapping, as Lambda runs it, over moto's stream (``THEEYE_BACKEND=moto``).

One :class:`StreamPoller` per ``DynamoDB`` event of the template (``theeye_local.lambdas.StreamSource``)
reads the table's stream from its ``StartingPosition`` (``DescribeStream``, ``GetShardIterator``,
``GetRecords``), keeps the records that pass the event's ``FilterCriteria`` (any of its patterns
matches, EventBridge's pattern syntax as Lambda applies it: moto's own matcher, see
:class:`RecordFilter`) and invokes the function with them, in stream order, shaped as Lambda's
DynamoDB events are (:func:`lambda_record`):

* a batch goes when it holds ``BatchSize`` records or when its first record has waited the
  batching window; locally that window is at most ``MAX_WINDOW_SECONDS`` so that the lake
  stays well within the 10 s freshness ``POST /sql`` promises on a loaded machine;
* a function error retries the batch after the stack's retry delay, halved first when the
  event has ``BisectBatchOnFunctionError``; with ``ReportBatchItemFailures`` the stream
  resumes at the lowest sequence number reported (an answer Lambda would reject fails the
  whole batch, as for SQS: ``theeye_local.poller.batch_item_failures``); records are retried
  until they succeed (Lambda's default ``MaximumRetryAttempts`` of -1);
* filtered-out records are consumed, never delivered.

Whenever every record the stream held at an instant ``t`` has been taken by the function, the
poller reports ``t`` (``caught_up``): the stack moves the local lake's ``as_of`` there.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Final, cast

from botocore.exceptions import BotoCoreError, ClientError

from theeye.clock import utc_now
from theeye_local.lambdas import StreamSource
from theeye_local.poller import batch_item_failures
from theeye_local.pool import Outcome

LOG = logging.getLogger("theeye_local")

MAX_WINDOW_SECONDS: Final = 1.0
IDLE_SECONDS: Final = 0.25  # between reads of a stream with nothing new
ERROR_BACKOFF_SECONDS: Final = 1.0
MAX_RECORDS_PER_READ: Final = 1000  # GetRecords' own limit
EVENT_VERSION: Final = "1.1"

Invoke = Callable[[dict[str, Any]], Outcome]
CaughtUp = Callable[[datetime], None]


class RecordFilter:
    """A ``FilterCriteria``: a record passes when it matches any pattern (or there are none).

    The patterns are EventBridge's event pattern syntax, which Lambda's event filtering uses;
    moto's matcher (``moto.events.models.EventPattern``) applies them, so the local stack does
    not keep a matcher of its own."""

    def __init__(self, patterns: Iterable[str]) -> None:
        from moto.events.models import EventPattern  # moto runs only with the moto backend

        self.patterns = [EventPattern.load(pattern) for pattern in patterns]

    def passes(self, record: Mapping[str, Any]) -> bool:
        # typed for EventBridge's envelope; the matcher reads any JSON object
        event = cast(Any, dict(record))
        return not self.patterns or any(pattern.matches_event(event) for pattern in self.patterns)


def lambda_record(record: Mapping[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """The record Lambda puts in a DynamoDB event for ``record`` (a boto3 ``GetRecords`` record):
    ``eventSourceARN`` added, ``ApproximateCreationDateTime`` in epoch seconds, the region the
    stream's."""
    stream = dict(record["dynamodb"])
    created = stream.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        stream["ApproximateCreationDateTime"] = float(int(created.timestamp()))
    return {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": EVENT_VERSION,
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": stream,
        "eventSourceARN": stream_arn,
    }


class StreamPoller:
    """The event source mapping of one ``DynamoDB`` event: a thread reading the stream's shards."""

    def __init__(
        self,
        source: StreamSource,
        streams: Any,
        stream_arn: str,
        invoke: Invoke,
        *,
        region: str,
        retry_delay_seconds: int,
        caught_up: CaughtUp | None = None,
        name: str,
    ) -> None:
        self.source = source
        self.stream_arn = stream_arn
        self._streams = streams
        self._invoke = invoke
        self._region = region
        self._retry_delay = retry_delay_seconds
        self._caught_up = caught_up
        self._filter = RecordFilter(source.filters)
        self._window = min(float(source.batching_window_seconds), MAX_WINDOW_SECONDS)
        self._iterators: dict[str, str] = {}
        self._pending: deque[dict[str, Any]] = deque()  # read and kept, not yet taken by the function
        self._first_pending_at: float | None = None
        self._limit = source.batch_size  # halved while a batch fails and bisecting is on
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def request_stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    # -- loop -------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                wait = self.step()
            except (BotoCoreError, ClientError) as exc:
                LOG.warning("%s: the stream refused a call, retrying: %s", self._thread.name, exc)
                wait = ERROR_BACKOFF_SECONDS
            except Exception:
                LOG.exception("%s: polling the stream failed", self._thread.name)
                wait = ERROR_BACKOFF_SECONDS
            if wait:
                self._stop.wait(wait)

    def step(self) -> float:
        """Read what the stream has, deliver at most one batch; how long to wait before the next step."""
        moment = utc_now()  # every record in the stream now is read below
        exhausted = self._read()
        if not self._pending:
            if exhausted and self._caught_up is not None:
                self._caught_up(moment)
            return IDLE_SECONDS
        waited = time.monotonic() - (self._first_pending_at or time.monotonic())
        if len(self._pending) < self._limit and waited < self._window:
            return min(IDLE_SECONDS, self._window - waited)
        if not self._deliver():
            return float(self._retry_delay)
        if not self._pending and exhausted and self._caught_up is not None:
            self._caught_up(moment)
        return 0.0

    def _read(self) -> bool:
        """Add the shards' new records that pass the filter to the pending ones; whether every
        shard was read to its end."""
        if not self._iterators:
            self._open()
        exhausted = True
        for shard, iterator in list(self._iterators.items()):
            while len(self._pending) < self.source.batch_size:
                answer = self._streams.get_records(ShardIterator=iterator, Limit=MAX_RECORDS_PER_READ)
                iterator = answer.get("NextShardIterator") or iterator
                self._iterators[shard] = iterator
                records = answer.get("Records") or []
                for record in records:
                    shaped = lambda_record(record, self.stream_arn, self._region)
                    if self._filter.passes(shaped):
                        if not self._pending:
                            self._first_pending_at = time.monotonic()
                        self._pending.append(shaped)
                if len(records) < MAX_RECORDS_PER_READ:
                    break
            else:
                exhausted = False
        return exhausted

    def _open(self) -> None:
        description = self._streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        for shard in description["Shards"]:
            self._iterators[shard["ShardId"]] = self._streams.get_shard_iterator(
                StreamArn=self.stream_arn,
                ShardId=shard["ShardId"],
                ShardIteratorType=self.source.starting_position,
            )["ShardIterator"]

    def _deliver(self) -> bool:
        """Invoke the function with the next batch; whether it took every record of it."""
        batch = [self._pending[n] for n in range(min(self._limit, len(self._pending)))]
        numbers = [str(record["dynamodb"]["SequenceNumber"]) for record in batch]
        outcome = self._invoke({"Records": batch})
        if not outcome.ok:
            if self.source.bisect_on_error:
                self._limit = max(1, len(batch) // 2)
            LOG.warning(
                "%s: batch of %d failed (%s); retrying in %d s",
                self.source.function_id,
                len(batch),
                outcome.describe(),
                self._retry_delay,
            )
            return False
        failed = (
            batch_item_failures(outcome.payload or "", numbers)
            if self.source.report_batch_item_failures
            else set()
        )
        if failed is None:
            LOG.warning("%s: malformed batchItemFailures; the whole batch fails", self.source.function_id)
            return False
        taken = min((numbers.index(number) for number in failed), default=len(batch))
        for _ in range(taken):
            self._pending.popleft()
        self._first_pending_at = time.monotonic() if self._pending else None
        if failed:
            LOG.info(
                "%s: the stream resumes at record %d of %d",
                self.source.function_id,
                taken + 1,
                len(batch),
            )
            return False
        self._limit = self.source.batch_size
        return True


def stream_arn_of(dynamodb: Any, table_name: str) -> str:
    """The ARN of ``table_name``'s stream (its ``LatestStreamArn``)."""
    return str(dynamodb.describe_table(TableName=table_name)["Table"]["LatestStreamArn"])
