"""The ledger and the dashboard counters, kept by the pipeline itself, per batch.

Ingest adds what it accepted and rejected (one update per request). The processor adds what
each message turned into - stored, duplicates, invalid by type - and the per-category event
counts by minute, hour and day, in one DynamoDB transaction per message that also writes a
marker for the message. The marker makes the counting exactly-once: a redelivered message
finds its marker and adds nothing. Nothing is counted per event, and nothing is derived from
logs, so ``accepted = stored + duplicates + invalid + queued + dead-lettered`` can be checked.

Counters table layout (``pk`` / ``sk``):

* ``ledger`` / ``ingest#<shard>`` and ``processor#<shard>``: ledger counters, sharded so that
  concurrent writers rarely contend for one item; readers add the shards up.
* ``done`` / ``<message key>[#part]``: the markers (expire after 30 days).
* ``stats#m#<category>#<day>`` / ``<minute>#<shard>``, ``stats#h#<category>#<month>`` /
  ``<hour>#<shard>``, ``stats#d#<category>#<year>`` / ``<day>#<shard>``: stored events per
  category and time bucket (by event timestamp).
"""

from __future__ import annotations

import hashlib
import random
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from theeye import aws
from theeye.errors import RetryableStoreError, ServiceUnavailable
from theeye.paging import Item
from theeye.reader import DynamoReader, Partition

LEDGER_PK = "ledger"
MARKER_PK = "done"
LEDGER_SHARDS = 16
STATS_SHARDS = 4
MARKER_DAYS = 30
MAX_TRANSACTION_ITEMS = 100
Interval = Literal["minute", "hour", "day"]
_BUCKETS: dict[Interval, tuple[str, int, int]] = {
    # interval: (key letter, characters of the bucket in a timestamp, characters of its partition)
    "minute": ("m", 16, 10),
    "hour": ("h", 13, 7),
    "day": ("d", 10, 4),
}
# Ledger fields a processor-side invalid event type is counted under.
PROCESSOR_INVALID = ("schema_violation", "future_timestamp", "unknown_event_type", "event_id_conflict")
INGEST_REJECTED = ("invalid_envelope", "invalid_json")


def message_key(body: str) -> str:
    """Stable across redeliveries and redrives (SQS gives a redriven message a new id)."""
    return hashlib.sha256(body.encode("utf-8")).hexdigest()[:40]


def stats_key(interval: Interval, category: str, timestamp: str, shard: int) -> tuple[str, str]:
    letter, bucket_chars, partition_chars = _BUCKETS[interval]
    return f"stats#{letter}#{category}#{timestamp[:partition_chars]}", f"{timestamp[:bucket_chars]}#{shard}"


def bucket_of(interval: Interval, timestamp: str) -> str:
    return timestamp[: _BUCKETS[interval][1]]


@dataclass(frozen=True)
class MessageTally:
    """What one message contributes: its outcome counts and stored events per category/minute."""

    stored: int
    duplicates: int
    invalid: Mapping[str, int]
    stored_by_minute: Mapping[tuple[str, str], int]  # (category, "YYYY-MM-DDTHH:MM") -> events


@dataclass
class DynamoLedger:
    table_name: str
    client: Any = None
    attempts: int = 5

    def _ddb(self) -> Any:
        return self.client or aws.client("dynamodb")

    # -- writers --------------------------------------------------------------------------

    def count_ingest(self, accepted: int, rejected: Mapping[str, int]) -> None:
        """One update per request: what ingest accepted into the queue and what it refused."""
        counts = {"accepted": accepted, **{f"rejected_{k}": v for k, v in rejected.items() if v}}
        shard = random.randrange(LEDGER_SHARDS)
        self._update(LEDGER_PK, f"ingest#{shard:02d}", counts)

    def commit_message(self, key: str, tally: MessageTally, now: float | None = None) -> bool:
        """Add a message's counts exactly once; False when they were added before."""
        counts = {"stored": tally.stored, "duplicates": tally.duplicates}
        counts.update({f"invalid_{k}": v for k, v in tally.invalid.items()})
        shard = int(key[:8], 16)
        stats = self._stats_updates(tally.stored_by_minute, shard % STATS_SHARDS)
        first_room = MAX_TRANSACTION_ITEMS - 2
        chunks = [stats[:first_room]] + [
            stats[i : i + MAX_TRANSACTION_ITEMS - 1]
            for i in range(first_room, len(stats), MAX_TRANSACTION_ITEMS - 1)
        ]
        expires = int(now if now is not None else time.time()) + MARKER_DAYS * 86400
        fresh = False
        for part, chunk in enumerate(chunks):
            items = [self._marker(key if part == 0 else f"{key}#{part}", expires)]
            if part == 0:
                items.append(self._update_item(LEDGER_PK, f"processor#{shard % LEDGER_SHARDS:02d}", counts))
            items += chunk
            fresh = self._transact(items) or fresh
        return fresh

    def commit_batch(self, entries: list[tuple[str, MessageTally]], now: float | None = None) -> None:
        """Add a whole batch's counts in one transaction: a marker per message, one ledger update
        and one update per category bucket, so a batch of many messages costs a few writes.

        Messages whose marker already exists (counted by an earlier delivery) are left out and
        the rest retried; a batch too large for one transaction is committed message by message.
        """
        # Copies of one message (a duplicate delivery, a redrive after a crash) are one message.
        pending = list({key: (key, tally) for key, tally in reversed(entries)}.values())[::-1]
        expires = int(now if now is not None else time.time()) + MARKER_DAYS * 86400
        while pending:
            items = self._batch_items(pending, expires)
            if len(items) > MAX_TRANSACTION_ITEMS:
                for key, tally in pending:
                    self.commit_message(key, tally, now)
                return
            counted = self._transact_markers(items, len(pending))
            if counted is None:
                return
            pending = [entry for i, entry in enumerate(pending) if i not in counted]

    def _batch_items(self, entries: list[tuple[str, MessageTally]], expires: int) -> list[dict[str, Any]]:
        counts: Counter[str] = Counter()
        by_minute: Counter[tuple[str, str]] = Counter()
        for _key, tally in entries:
            counts.update({"stored": tally.stored, "duplicates": tally.duplicates})
            counts.update({f"invalid_{k}": v for k, v in tally.invalid.items()})
            by_minute.update(tally.stored_by_minute)
        shard = int(entries[0][0][:8], 16)
        items = [self._marker(key, expires) for key, _tally in entries]
        items.append(
            self._update_item(LEDGER_PK, f"processor#{shard % LEDGER_SHARDS:02d}", +counts or {"stored": 0})
        )
        return items + self._stats_updates(by_minute, shard % STATS_SHARDS)

    def _transact_markers(self, items: list[dict[str, Any]], markers: int) -> set[int] | None:
        """Run the transaction: None when done, else the indexes of markers that already exist."""
        for attempt in range(self.attempts):
            try:
                self._ddb().transact_write_items(TransactItems=items)
                return None
            except ClientError as exc:
                reasons = [r.get("Code", "") for r in exc.response.get("CancellationReasons", [])]
                counted = {i for i, code in enumerate(reasons[:markers]) if code == "ConditionalCheckFailed"}
                if counted:
                    return counted
                retryable = aws.error_code(exc) in aws.THROTTLING_CODES or "TransactionConflict" in reasons
                if not retryable or attempt == self.attempts - 1:
                    raise RetryableStoreError(
                        f"counters unavailable: {aws.error_code(exc)} {reasons}"
                    ) from exc
            except BotoCoreError as exc:
                if attempt == self.attempts - 1:
                    raise RetryableStoreError(f"counters unavailable: {exc}") from exc
            time.sleep(random.uniform(0, 0.05 * 2**attempt))
        return None

    def count_dead_letter(self, key: str, events: int, now: float | None = None) -> bool:
        """A message failed its last delivery: its events now sit in the dead-letter queue."""
        expires = int(now if now is not None else time.time()) + MARKER_DAYS * 86400
        counts = {"dead_lettered": events, "dead_lettered_messages": 1}
        shard = int(key[:8], 16) % LEDGER_SHARDS
        return self._transact(
            [
                self._marker(f"dlq#{key}", expires),
                self._update_item(LEDGER_PK, f"processor#{shard:02d}", counts),
            ]
        )

    def undo_dead_letter(self, key: str, events: int) -> bool:
        """A dead letter was moved back to the queue (redrive): it is queued again."""
        shard = int(key[:8], 16) % LEDGER_SHARDS
        delete = {
            "Delete": {
                "TableName": self.table_name,
                "Key": {"pk": {"S": MARKER_PK}, "sk": {"S": f"dlq#{key}"}},
                "ConditionExpression": "attribute_exists(pk)",
            }
        }
        counts = {"dead_lettered": -events, "dead_lettered_messages": -1}
        return self._transact([delete, self._update_item(LEDGER_PK, f"processor#{shard:02d}", counts)])

    # -- readers --------------------------------------------------------------------------

    def totals(self) -> Counter[str]:
        """Every ledger counter, added up over its shards."""
        reader = DynamoReader(self.client)
        everything = Partition(self.table_name, None, "pk", LEDGER_PK, lower=" ", upper="~")
        fetch = reader.fetcher(everything, descending=False, page_size=100)
        totals: Counter[str] = Counter()
        token = None
        while True:
            items, continuation = fetch(token)
            for item in items:
                totals.update({k: int(v) for k, v in item.items() if k not in ("pk", "sk")})
            if continuation is None:
                return totals
            token = continuation[1]

    def buckets(self, interval: Interval, category: str, start: str, end: str) -> Counter[str]:
        """Stored events of one category per bucket in ``[start, end)`` (timestamps)."""
        reader = DynamoReader(self.client)
        letter, bucket_chars, partition_chars = _BUCKETS[interval]
        lower, upper = bucket_of(interval, start), bucket_of(interval, end)
        counts: Counter[str] = Counter()
        for partition in _partitions(start[:partition_chars], end[:partition_chars], partition_chars):
            fetch = reader.fetcher(
                Partition(
                    self.table_name, None, "pk", f"stats#{letter}#{category}#{partition}", lower, upper + "#~"
                ),
                descending=False,
                page_size=1000,
            )
            token = None
            while True:
                items, continuation = fetch(token)
                counts.update(_bucket_counts(items, bucket_chars, lower, end))
                if continuation is None:
                    break
                token = continuation[1]
        return counts

    # -- helpers --------------------------------------------------------------------------

    def _stats_updates(self, by_minute: Mapping[tuple[str, str], int], shard: int) -> list[dict[str, Any]]:
        updates: list[dict[str, Any]] = []
        for interval in ("minute", "hour", "day"):
            totals: Counter[tuple[str, str]] = Counter()
            for (category, minute), n in by_minute.items():
                totals[stats_key(interval, category, minute, shard)] += n
            updates += [
                self._update_item(pk, sk, {"count": n}) for (pk, sk), n in sorted(totals.items()) if n
            ]
        return updates

    def _marker(self, sk: str, expires: int) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": {"pk": {"S": MARKER_PK}, "sk": {"S": sk}, "expires_at": {"N": str(expires)}},
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def _update_item(self, pk: str, sk: str, counts: Mapping[str, int]) -> dict[str, Any]:
        names = {f"#c{i}": name for i, name in enumerate(counts)}
        values = {f":c{i}": {"N": str(int(v))} for i, v in enumerate(counts.values())}
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": {"pk": {"S": pk}, "sk": {"S": sk}},
                "UpdateExpression": "ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(counts))),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }

    def _update(self, pk: str, sk: str, counts: Mapping[str, int]) -> None:
        update = self._update_item(pk, sk, counts)["Update"]
        try:
            self._ddb().update_item(**update)
        except (ClientError, BotoCoreError) as exc:
            raise RetryableStoreError(f"ledger unavailable: {aws.error_code(exc) or exc}") from exc

    def _transact(self, items: list[dict[str, Any]]) -> bool:
        """Run a counting transaction whose first item is its marker; False when it already ran."""
        return self._transact_markers(items, 1) is None


def ledger_status(ledger: DynamoLedger, sqs: Any, queue_url: str, dlq_url: str) -> dict[str, Any]:
    """Where every accepted event is, and whether the books balance (``GET /status``, ``theeye status``).

    ``queued`` is what was accepted and not yet accounted for. The ledger balances when it is
    never negative and is zero whenever the queue holds no message (messages can carry only
    rejections, so a non-empty queue with nothing queued is fine).
    """
    totals = ledger.totals()
    invalid = {t: totals[f"invalid_{t}"] for t in PROCESSOR_INVALID}
    rejected = {t: totals[f"rejected_{t}"] for t in INGEST_REJECTED}
    accepted, stored, duplicates = totals["accepted"], totals["stored"], totals["duplicates"]
    dead_lettered = totals["dead_lettered"]
    queued = accepted - stored - duplicates - sum(invalid.values()) - dead_lettered
    queue, dlq = queue_depth(sqs, queue_url), queue_depth(sqs, dlq_url)
    waiting = queue["messages"] + queue["in_flight"]
    return {
        "accepted": accepted,
        "stored": stored,
        "duplicates": duplicates,
        "invalid": invalid,
        "queued": queued,
        "dead_lettered": dead_lettered,
        "balanced": queued >= 0 and (queued == 0 or waiting > 0),
        "rejected": rejected,
        "queue": queue,
        "dead_letter_queue": dlq,
    }


def queue_depth(sqs: Any, url: str) -> dict[str, int]:
    """Approximate messages waiting (visible + delayed) and in flight in one queue."""
    try:
        attributes = sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )["Attributes"]
    except (ClientError, BotoCoreError) as exc:
        raise ServiceUnavailable("the queue cannot be read right now") from exc
    return {
        "messages": int(attributes.get("ApproximateNumberOfMessages", 0))
        + int(attributes.get("ApproximateNumberOfMessagesDelayed", 0)),
        "in_flight": int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
    }


def _partitions(first: str, last: str, chars: int) -> list[str]:
    """The stats partitions (days, months or years) from ``first`` to ``last`` inclusive."""
    from datetime import date

    if chars == 4:
        return [str(y) for y in range(int(first), int(last) + 1)]
    if chars == 7:
        y, m = int(first[:4]), int(first[5:7])
        out = []
        while f"{y:04d}-{m:02d}" <= last:
            out.append(f"{y:04d}-{m:02d}")
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return out
    day, end = date.fromisoformat(first), date.fromisoformat(last)
    out = []
    while day <= end:
        out.append(day.isoformat())
        day = date.fromordinal(day.toordinal() + 1)
    return out


def bucket_start(bucket: str) -> str:
    """The timestamp a bucket starts at: ``2021-01-01T09`` -> ``2021-01-01T09:00:00.000000Z``."""
    return bucket + "0000-01-01T00:00:00.000000Z"[len(bucket) :]


def _bucket_counts(items: Iterable[Item], chars: int, lower: str, end: str) -> Counter[str]:
    """Counts of the buckets that start in ``[start of lower, end)``, shards added up."""
    counts: Counter[str] = Counter()
    for item in items:
        bucket = str(item["sk"])[:chars]
        if lower <= bucket and bucket_start(bucket) < end:
            counts[bucket] += int(item.get("count", 0))
    return counts
