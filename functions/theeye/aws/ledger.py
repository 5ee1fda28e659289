"""DynamoDB adapter of the ledger ports: exactly-once counting per message key.

Items of the counters table:

* ``ledger`` / ``ingest#<shard>`` and ``processor#<shard>``: ledger counters, sharded so that
  concurrent writers rarely contend for one item; ``totals`` adds the shards up.
* ``done`` / ``intake#<message key>``, ``<message key>[#part]`` and ``dlq#<message key>``: the
  markers that make counting exactly-once (what ingest queued, what the processor made of it,
  what went to the dead-letter queue): a redelivered message finds its marker and adds
  nothing. They expire after ``MARKER_DAYS``.

The processor's counts of a whole batch go in one transaction: a marker per message, one
ledger update, one update per category bucket (``theeye.aws.stats``) and one per session
summary (``theeye.aws.session_summaries``), whose first and last events are moved after it.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from theeye import aws
from theeye.aws.merge import drain
from theeye.aws.partition import Partition, fetcher
from theeye.aws.session_summaries import DynamoSessionSummaries, sessions_of, summary_updates
from theeye.aws.stats import STATS_SHARDS, added, stats_updates
from theeye.errors import RetryableStoreError, TheEyeError
from theeye.ledger import IntakeTally, MessageTally

LEDGER_PK = "ledger"
MARKER_PK = "done"
LEDGER_SHARDS = 16
MARKER_DAYS = 30
INTAKE_MARKER = "intake#"  # sort key prefix of a message's intake marker
MAX_TRANSACTION_ITEMS = 100


class _Transient(RetryableStoreError):
    """A failure that retrying in a moment may cure (throttling, a network error)."""


def _counting_failure(detail: str, transient: bool) -> TheEyeError:
    error = _Transient if transient else RetryableStoreError
    return error(f"counters unavailable: {detail}")


_counting_read_failure = aws.retryable("counters")


@dataclass
class DynamoLedger:
    table_name: str
    client: Any = field(default_factory=lambda: aws.client("dynamodb"))
    attempts: int = 5

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
                items.append(added(self.table_name, LEDGER_PK, shard, +counts or {"accepted": 0}))
                found = self._transact_markers(items, len(chunk))
                if found is None:
                    break
                chunk = [t for i, t in enumerate(chunk) if i not in found]

    # -- processor ----------------------------------------------------------------------

    def commit_message(self, key: str, tally: MessageTally, now: float | None = None) -> bool:
        """Add a message's counts exactly once; False when they were added before."""
        counts = {"stored": tally.stored, "duplicates": tally.duplicates}
        counts.update({f"invalid_{k}": v for k, v in tally.invalid.items()})
        shard = int(key[:8], 16)
        rest = stats_updates(self.table_name, tally.stored_by_minute, shard % STATS_SHARDS)
        rest += summary_updates(self.table_name, tally.sessions)
        first_room = MAX_TRANSACTION_ITEMS - 2
        chunks = [rest[:first_room]] + [
            rest[i : i + MAX_TRANSACTION_ITEMS - 1]
            for i in range(first_room, len(rest), MAX_TRANSACTION_ITEMS - 1)
        ]
        expires = _expiry(now)
        fresh = False
        # The message's own marker (part 0, with the ledger update) goes last: once it exists,
        # every part is in, which is what ``processed`` and a redelivered batch rely on.
        for part, chunk in reversed(list(enumerate(chunks))):
            items = [self._marker(key if part == 0 else f"{key}#{part}", expires)]
            if part == 0:
                items.append(
                    added(self.table_name, LEDGER_PK, f"processor#{shard % LEDGER_SHARDS:02d}", counts)
                )
            items += chunk
            fresh = self._transact(items) or fresh
        self._summaries.move_bounds(tally.sessions)
        return fresh

    def commit_batch(self, entries: list[tuple[str, MessageTally]], now: float | None = None) -> None:
        """Add a whole batch's counts in one transaction: a marker per message, one ledger update,
        one update per category bucket and one per session, so a batch of many messages costs a
        few writes; then move the sessions' first and last events.

        Messages whose marker already exists (counted by an earlier delivery) are left out and
        the rest retried; a batch too large for one transaction is committed message by message.
        """
        # Copies of one message (a duplicate delivery, a redrive after a crash) are one message.
        pending = list({key: (key, tally) for key, tally in reversed(entries)}.values())[::-1]
        expires = _expiry(now)
        sessions = sessions_of(pending)
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
        self._summaries.move_bounds(sessions)

    def count_dead_letter(self, key: str, events: int, now: float | None = None) -> bool:
        """A message failed its last delivery: its events now sit in the dead-letter queue."""
        counts = {"dead_lettered": events, "dead_lettered_messages": 1}
        shard = int(key[:8], 16) % LEDGER_SHARDS
        return self._transact(
            [
                self._marker(f"dlq#{key}", _expiry(now)),
                added(self.table_name, LEDGER_PK, f"processor#{shard:02d}", counts),
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
        return self._transact([delete, added(self.table_name, LEDGER_PK, f"processor#{shard:02d}", counts)])

    # -- reader -------------------------------------------------------------------------

    def totals(self) -> Counter[str]:
        """Every ledger counter, added up over its shards."""
        everything = Partition(self.table_name, None, "pk", LEDGER_PK, lower=" ", upper="~")
        totals: Counter[str] = Counter()
        for item in drain(fetcher(self.client, everything, descending=False, page_size=100)):
            totals.update({k: int(v) for k, v in item.items() if k not in ("pk", "sk")})
        return totals

    # -- helpers ------------------------------------------------------------------------

    @property
    def _summaries(self) -> DynamoSessionSummaries:
        return DynamoSessionSummaries(self.table_name, self.client)

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

    def _batch_items(self, entries: list[tuple[str, MessageTally]], expires: int) -> list[dict[str, Any]]:
        counts: Counter[str] = Counter()
        by_minute: Counter[tuple[str, str]] = Counter()
        for _key, tally in entries:
            counts.update({"stored": tally.stored, "duplicates": tally.duplicates})
            counts.update({f"invalid_{k}": v for k, v in tally.invalid.items()})
            by_minute.update(tally.stored_by_minute)
        shard = int(entries[0][0][:8], 16)
        items = [self._marker(key, expires) for key, _tally in entries]
        ledger_shard = f"processor#{shard % LEDGER_SHARDS:02d}"
        items.append(added(self.table_name, LEDGER_PK, ledger_shard, +counts or {"stored": 0}))
        return (
            items
            + stats_updates(self.table_name, by_minute, shard % STATS_SHARDS)
            + summary_updates(self.table_name, sessions_of(entries))
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

    def _marker(self, sk: str, expires: int) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": {"pk": {"S": MARKER_PK}, "sk": {"S": sk}, "expires_at": {"N": str(expires)}},
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }


def _expiry(now: float | None) -> int:
    return int(now if now is not None else time.time()) + MARKER_DAYS * 86400
