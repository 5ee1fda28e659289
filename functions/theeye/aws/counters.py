"""DynamoDB adapter of the ledger ports, the dashboard counts and the category registry.

One counters table, keyed ``pk`` / ``sk``:

* ``ledger`` / ``ingest#<shard>`` and ``processor#<shard>``: ledger counters, sharded so that
  concurrent writers rarely contend for one item; readers add the shards up.
* ``done`` / ``intake#<message key>``, ``<message key>[#part]`` and ``dlq#<message key>``: the
  markers that make counting exactly-once (what ingest queued, what the processor made of it,
  what went to the dead-letter queue) (a redelivered message finds its marker and adds nothing); they
  expire after ``MARKER_DAYS``.
* ``stats#m#<category>#<day>`` / ``<minute>#<shard>``, ``stats#h#<category>#<month>`` /
  ``<hour>#<shard>``, ``stats#d#<category>#<year>`` / ``<day>#<shard>``: stored events per
  category and time bucket (by event timestamp).
* ``categories`` / ``<day>``: the categories that had events on a day, so a time-range query
  without a category knows which index partitions to visit. Adding to a string set is
  idempotent, so redeliveries are harmless.
* ``session#<session id>`` / ``#``: a session's summary (``GET /sessions``): ``events`` and
  ``application_ids`` added in the batch's counting transaction (exactly once per message),
  ``first_seen`` / ``last_seen`` moved by conditional updates that are idempotent (an earlier
  first, a later last), with ``start_pk`` / ``start_sk`` (day x shard / first event and id)
  for the ``BySessionStart`` index.

The processor's counts of a whole batch go in one transaction: a marker per message, one
ledger update and one update per category bucket.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from theeye import aws
from theeye.aws import layout
from theeye.aws.merge import Item, drain
from theeye.aws.partition import Partition, fetcher
from theeye.buckets import BUCKET_CHARS, Interval, bucket_of, bucket_start
from theeye.errors import RetryableStoreError, TheEyeError
from theeye.ledger import IntakeTally, MessageTally, SessionTally, merge_sessions
from theeye.ports import session_position

LEDGER_PK = "ledger"
MARKER_PK = "done"
CATEGORY_REGISTRY_PK = "categories"
LEDGER_SHARDS = 16
STATS_SHARDS = 4
MARKER_DAYS = 30
INTAKE_MARKER = "intake#"  # sort key prefix of a message's intake marker
MAX_TRANSACTION_ITEMS = 100
# interval: (key letter, characters of its partition in a timestamp: day, month or year)
_STATS_PARTITIONS: dict[Interval, tuple[str, int]] = {"minute": ("m", 10), "hour": ("h", 7), "day": ("d", 4)}


def stats_key(interval: Interval, category: str, timestamp: str, shard: int) -> tuple[str, str]:
    letter, partition_chars = _STATS_PARTITIONS[interval]
    return (
        f"stats#{letter}#{category}#{timestamp[:partition_chars]}",
        f"{bucket_of(interval, timestamp)}#{shard}",
    )


class _Transient(RetryableStoreError):
    """A failure that retrying in a moment may cure (throttling, a network error)."""


def _counting_failure(detail: str, transient: bool) -> TheEyeError:
    error = _Transient if transient else RetryableStoreError
    return error(f"counters unavailable: {detail}")


_read_failure = aws.unavailable("counters table")
_counting_read_failure = aws.retryable("counters")


@dataclass
class DynamoCounters:
    table_name: str
    client: Any = field(default_factory=lambda: aws.client("dynamodb"))
    attempts: int = 5
    _registered: set[tuple[str, str]] = field(default_factory=set, repr=False)  # (day, category) written

    # -- ingest -------------------------------------------------------------------------

    def count_intake(self, tallies: list[IntakeTally], *, read_first: bool = False) -> None:
        """What queued messages carry, once per message key: a marker per message and one
        ledger update, in one transaction (markers found are left out and the rest retried).

        With ``read_first`` (the processor's safety net) the markers are read first: nearly
        always ingest counted them, and a read costs half a read unit where a refused
        transaction costs two write units per item.
        """
        pending = list({t.key: t for t in tallies}.values())
        if read_first and pending:
            counted = self._existing_markers([INTAKE_MARKER + t.key for t in pending])
            pending = [t for t in pending if INTAKE_MARKER + t.key not in counted]
        expires = _expiry(None)
        for first in range(0, len(pending), MAX_TRANSACTION_ITEMS - 1):
            chunk = pending[first : first + MAX_TRANSACTION_ITEMS - 1]
            while chunk:
                counts: Counter[str] = Counter()
                for tally in chunk:
                    counts.update(tally.counts())
                shard = f"ingest#{random.randrange(LEDGER_SHARDS):02d}"
                items = [self._marker(INTAKE_MARKER + t.key, expires) for t in chunk]
                items.append(self._update_item(LEDGER_PK, shard, +counts or {"accepted": 0}))
                found = self._transact_markers(items, len(chunk))
                if found is None:
                    break
                chunk = [t for i, t in enumerate(chunk) if i not in found]

    # -- processor ----------------------------------------------------------------------

    def register(self, categories_by_day: Mapping[str, Set[str]]) -> None:
        """Record categories per day; what this container registered before is not written again."""
        for day, all_names in categories_by_day.items():
            names = {n for n in all_names if (day, n) not in self._registered}
            if not names:
                continue
            aws.call(
                self.client.update_item,
                aws.retryable("counters"),
                TableName=self.table_name,
                Key={"pk": {"S": CATEGORY_REGISTRY_PK}, "sk": {"S": day}},
                UpdateExpression="ADD #names :names",
                ExpressionAttributeNames={"#names": "names"},
                ExpressionAttributeValues={":names": {"SS": sorted(names)}},
            )
            self._registered.update((day, n) for n in names)

    def commit_message(self, key: str, tally: MessageTally, now: float | None = None) -> bool:
        """Add a message's counts exactly once; False when they were added before."""
        counts = {"stored": tally.stored, "duplicates": tally.duplicates}
        counts.update({f"invalid_{k}": v for k, v in tally.invalid.items()})
        shard = int(key[:8], 16)
        stats = self._stats_updates(tally.stored_by_minute, shard % STATS_SHARDS)
        stats += self._session_updates(tally.sessions)
        first_room = MAX_TRANSACTION_ITEMS - 2
        chunks = [stats[:first_room]] + [
            stats[i : i + MAX_TRANSACTION_ITEMS - 1]
            for i in range(first_room, len(stats), MAX_TRANSACTION_ITEMS - 1)
        ]
        expires = _expiry(now)
        fresh = False
        # The message's own marker (part 0, with the ledger update) goes last: once it exists,
        # every part is in, which is what ``processed`` and a redelivered batch rely on.
        for part, chunk in reversed(list(enumerate(chunks))):
            items = [self._marker(key if part == 0 else f"{key}#{part}", expires)]
            if part == 0:
                items.append(self._update_item(LEDGER_PK, f"processor#{shard % LEDGER_SHARDS:02d}", counts))
            items += chunk
            fresh = self._transact(items) or fresh
        self.move_session_bounds(tally.sessions)
        return fresh

    def commit_batch(self, entries: list[tuple[str, MessageTally]], now: float | None = None) -> None:
        """Add a whole batch's counts in one transaction: a marker per message, one ledger update
        and one update per category bucket, so a batch of many messages costs a few writes.

        Messages whose marker already exists (counted by an earlier delivery) are left out and
        the rest retried; a batch too large for one transaction is committed message by message.
        """
        # Copies of one message (a duplicate delivery, a redrive after a crash) are one message.
        pending = list({key: (key, tally) for key, tally in reversed(entries)}.values())[::-1]
        expires = _expiry(now)
        sessions = _sessions(pending)
        while pending:
            items = self._batch_items(pending, expires)
            if len(items) > MAX_TRANSACTION_ITEMS:
                for key, tally in pending:
                    self.commit_message(key, tally, now)  # counts, then moves its bounds
                return
            counted = self._transact_markers(items, len(pending))
            if counted is None:
                break
            pending = [entry for i, entry in enumerate(pending) if i not in counted]
        # After the counts, also for messages counted before (a redelivery after a crash here).
        self.move_session_bounds(sessions)

    def count_dead_letter(self, key: str, events: int, now: float | None = None) -> bool:
        """A message failed its last delivery: its events now sit in the dead-letter queue."""
        counts = {"dead_lettered": events, "dead_lettered_messages": 1}
        shard = int(key[:8], 16) % LEDGER_SHARDS
        return self._transact(
            [
                self._marker(f"dlq#{key}", _expiry(now)),
                self._update_item(LEDGER_PK, f"processor#{shard:02d}", counts),
            ]
        )

    def processed(self, key: str) -> bool:
        """The message's own marker exists: written last of its parts (``commit_message``)."""
        return bool(self._existing_markers([key]))

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

    # -- readers ------------------------------------------------------------------------

    def totals(self) -> Counter[str]:
        """Every ledger counter, added up over its shards."""
        everything = Partition(self.table_name, None, "pk", LEDGER_PK, lower=" ", upper="~")
        totals: Counter[str] = Counter()
        for item in drain(self._fetch(everything, 100)):
            totals.update({k: int(v) for k, v in item.items() if k not in ("pk", "sk")})
        return totals

    def buckets(self, interval: Interval, category: str, start: str, end: str) -> Counter[str]:
        """Stored events of one category per bucket in ``[start, end)`` (timestamps)."""
        letter, partition_chars = _STATS_PARTITIONS[interval]
        lower, upper = bucket_of(interval, start), bucket_of(interval, end)
        counts: Counter[str] = Counter()
        for partition in _calendar(start[:partition_chars], end[:partition_chars]):
            pk = f"stats#{letter}#{category}#{partition}"
            items = drain(self._fetch(Partition(self.table_name, None, "pk", pk, lower, upper + "#~"), 1000))
            counts.update(_bucket_counts(items, BUCKET_CHARS[interval], lower, end))
        return counts

    def categories(self, day: str) -> set[str]:
        """The categories registered on one UTC day."""
        answer = aws.call(
            self.client.get_item,
            _read_failure,
            TableName=self.table_name,
            Key={"pk": {"S": CATEGORY_REGISTRY_PK}, "sk": {"S": day}},
        )
        item = answer.get("Item")
        return set(item["names"]["SS"]) if item else set()

    def categories_between(self, start: datetime, end: datetime) -> set[str]:
        """Every category registered on any day ``[start, end)`` touches (100 days a call)."""
        days = _calendar(start.date().isoformat(), end.date().isoformat())
        names: set[str] = set()
        for first in range(0, len(days), 100):
            keys = [{"pk": {"S": CATEGORY_REGISTRY_PK}, "sk": {"S": d}} for d in days[first : first + 100]]
            request: dict[str, Any] = {self.table_name: {"Keys": keys}}
            while request:
                answer = aws.call(self.client.batch_get_item, _read_failure, RequestItems=request)
                for item in answer.get("Responses", {}).get(self.table_name, []):
                    names.update(item["names"]["SS"])
                request = answer.get("UnprocessedKeys") or {}
        return names

    # -- helpers ------------------------------------------------------------------------

    def _existing_markers(self, sort_keys: list[str]) -> set[str]:
        """Which of these markers exist (a consistent read: a marker just written must show)."""
        found: set[str] = set()
        for first in range(0, len(sort_keys), 100):
            keys = [{"pk": {"S": MARKER_PK}, "sk": {"S": sk}} for sk in sort_keys[first : first + 100]]
            request: dict[str, Any] = {
                self.table_name: {"Keys": keys, "ConsistentRead": True, "ProjectionExpression": "sk"}
            }
            while request:
                answer = aws.call(self.client.batch_get_item, _counting_read_failure, RequestItems=request)
                found.update(i["sk"]["S"] for i in answer.get("Responses", {}).get(self.table_name, []))
                request = answer.get("UnprocessedKeys") or {}
        return found

    def _fetch(self, partition: Partition, page_size: int) -> Any:
        return fetcher(self.client, partition, descending=False, page_size=page_size)

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
        return (
            items
            + self._stats_updates(by_minute, shard % STATS_SHARDS)
            + self._session_updates(_sessions(entries))
        )

    def _session_updates(self, sessions: Mapping[str, SessionTally]) -> list[dict[str, Any]]:
        """A summary's counts: one update per session in the counting transaction."""
        return [
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": _summary_key(session_id),
                    "UpdateExpression": "ADD #events :events, #apps :apps SET #id = :id",
                    "ExpressionAttributeNames": {
                        "#events": "events",
                        "#apps": "application_ids",
                        "#id": "session_id",
                    },
                    "ExpressionAttributeValues": {
                        ":events": {"N": str(tally.events)},
                        ":apps": {"SS": sorted(tally.application_ids)},
                        ":id": {"S": session_id},
                    },
                }
            }
            for session_id, tally in sorted(sessions.items())
        ]

    def move_session_bounds(self, sessions: Mapping[str, SessionTally]) -> None:
        """Move each summary's first event earlier and last event later where these are beyond
        them: conditional updates, so running them again (a redelivery) changes nothing. Only a
        summary that has counts is moved (never one an erasure deleted meanwhile), so every
        summary the index lists has its counts."""
        for session_id, tally in sorted(sessions.items()):
            first = {
                # last_seen with it, when absent: a summary is listed only with both
                "UpdateExpression": (
                    "SET #first = :first, #spk = :spk, #ssk = :ssk, #id = :id, #last = if_not_exists(#last, :last)"
                ),
                "ConditionExpression": "attribute_exists(#events) AND (attribute_not_exists(#first) OR #first > :first)",
                "ExpressionAttributeNames": {
                    "#first": "first_seen",
                    "#spk": "start_pk",
                    "#ssk": "start_sk",
                    "#id": "session_id",
                    "#events": "events",
                    "#last": "last_seen",
                },
                "ExpressionAttributeValues": {
                    ":last": {"S": tally.last_seen},
                    ":first": {"S": tally.first_seen},
                    ":spk": {"S": layout.session_start_pk(tally.first_seen, session_id)},
                    ":ssk": {"S": session_position(tally.first_seen, session_id)},
                    ":id": {"S": session_id},
                },
            }
            last = {
                "UpdateExpression": "SET #last = :last",
                "ConditionExpression": "attribute_exists(#events) AND (attribute_not_exists(#last) OR #last < :last)",
                "ExpressionAttributeNames": {"#last": "last_seen", "#events": "events"},
                "ExpressionAttributeValues": {":last": {"S": tally.last_seen}},
            }
            for update in (first, last):
                with contextlib.suppress(aws.ConditionFailed):  # already as early (as late) or more
                    aws.call(
                        self.client.update_item,
                        _counting_failure,
                        TableName=self.table_name,
                        Key=_summary_key(session_id),
                        **update,
                    )

    def _transact_markers(self, items: list[dict[str, Any]], markers: int) -> set[int] | None:
        """Run the transaction: None when done, else the indexes of markers that already exist.

        The one retry loop of the counting transactions: throttling and transaction conflicts
        are retried with jittered backoff; anything else fails the work, which is delivered again.
        """
        for attempt in range(self.attempts):
            last = attempt == self.attempts - 1
            try:
                aws.call(self.client.transact_write_items, _counting_failure, TransactItems=items)
                return None
            except aws.TransactionCancelled as cancelled:
                reasons = cancelled.reasons
                counted = {i for i, code in enumerate(reasons[:markers]) if code == "ConditionalCheckFailed"}
                if counted:
                    return counted
                if not cancelled.throttled or last:
                    raise RetryableStoreError(f"counters unavailable: {reasons}") from None
            except _Transient:
                if last:
                    raise
            time.sleep(random.uniform(0, 0.05 * 2**attempt))
        return None

    def _transact(self, items: list[dict[str, Any]]) -> bool:
        """Run a counting transaction whose first item is its marker; False when it already ran."""
        return self._transact_markers(items, 1) is None

    def _stats_updates(self, by_minute: Mapping[tuple[str, str], int], shard: int) -> list[dict[str, Any]]:
        updates: list[dict[str, Any]] = []
        intervals: tuple[Interval, ...] = ("minute", "hour", "day")
        for interval in intervals:
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


def _summary_key(session_id: str) -> dict[str, Any]:
    return {"pk": {"S": layout.session_summary_pk(session_id)}, "sk": {"S": layout.SESSION_SUMMARY_SK}}


def _sessions(entries: Iterable[tuple[str, MessageTally]]) -> dict[str, SessionTally]:
    """The session tallies of many messages, one per session."""
    merged: dict[str, SessionTally] = {}
    for _key, tally in entries:
        merge_sessions(merged, tally.sessions)
    return merged


def _expiry(now: float | None) -> int:
    return int(now if now is not None else time.time()) + MARKER_DAYS * 86400


def _calendar(first: str, last: str) -> list[str]:
    """The years, months or days (by the width of ``first``) from ``first`` to ``last`` inclusive."""
    if len(first) == 4:
        return [str(y) for y in range(int(first), int(last) + 1)]
    if len(first) == 7:
        y, m = int(first[:4]), int(first[5:7])
        months = []
        while f"{y:04d}-{m:02d}" <= last:
            months.append(f"{y:04d}-{m:02d}")
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return months
    day, end = date.fromisoformat(first), date.fromisoformat(last)
    days = []
    while day <= end:
        days.append(day.isoformat())
        day += timedelta(days=1)
    return days


def _bucket_counts(items: Iterable[Item], chars: int, lower: str, end: str) -> Counter[str]:
    """Counts of the buckets that start in ``[start of lower, end)``, shards added up."""
    counts: Counter[str] = Counter()
    for item in items:
        bucket = str(item["sk"])[:chars]
        if lower <= bucket and bucket_start(bucket) < end:
            counts[bucket] += int(item.get("count", 0))
    return counts
