"""Move recorded errors of the old ``ByTime`` layout to the partitions the reader visits.

Up to commit c5cb221 the processor wrote an error's ``time_pk`` as ``YYYY-MM-DD#NN`` with
``NN = shard_of(error_id, IndexShards)`` (the stack parameter: 16 by default, 1 to 64); since
then it is ``shard_of(error_id, ERROR_TIME_SHARDS)`` (4), and ``DynamoErrorReader`` queries
only ``#00`` to ``#03`` of a day. ``shard_of`` is a hash modulo the count, so with 16 (or any
multiple of 4) an old shard below 4 is also the new shard; every error in ``#04`` and above is
missed by ``GET /errors`` and ``theeye errors list``. (With a count that is not a multiple of
4, an old error in ``#00``-``#03`` may sit in another of those four than the new layout would
pick; the reader visits all four, so it is found, and is left where it is.)

``time_pk`` is an attribute of the item, keyed by ``error_id`` alone, not part of its primary
key: the "old" and the "new" place are two positions of the same item in the ``ByTime``
index. So an error moves with one conditional ``UpdateItem`` (``SET time_pk = new`` if
``time_pk = old``) that changes nothing else, not with a put and a delete (which, on the same
key, would delete the error itself). DynamoDB takes the index entry out of the old partition
and into the new one in the same write: there is no moment with two copies or none, a stop at
any point leaves every error either moved or still where it was, and a second run finds only
what the first did not move. An error the index still lists under its old partition although
the item was moved (the index lags its table by a moment, or two runs overlap) fails the
condition and is counted ``already_there``; one deleted in between (its TTL) ``gone``.

Where to look. Query, not Scan: the days the table can hold are known (``expires_at`` is
``received_at`` plus ``ErrorRetentionDays``; DynamoDB deletes expired items within a few
days, ``TTL_LAG_DAYS``), and the shards are ``#04`` to ``#63`` (``IndexShards`` is at most
64). That is 60 queries a day, 0.5 read units each when empty: about 2,300 requests and 1,150
read units for the default 30 days, however many errors the table holds. A Scan reads every
error (up to 32 KiB of payload each), and during an error flood the table holds millions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any, Final

from theeye import aws
from theeye.aws import layout
from theeye.aws.concurrently import SERIAL, run_all

OLD_SHARDS_MAX: Final = 64  # the ceiling of IndexShards (template MaxValue, Settings.index_shards)
TTL_LAG_DAYS: Final = 7  # expired items are deleted "typically within a few days"
PAGE_SIZE: Final = 100

_read_failure = aws.unavailable("errors table")
_write_failure = aws.retryable("errors table")

# Called after each error is settled: (outcome "moved" | "already_there" | "gone", error id).
Checkpoint = Callable[[str, str], None]


@dataclass
class ReshardResult:
    first_day: str
    last_day: str
    partitions: int = 0  # old ByTime partitions queried
    found: int = 0  # errors the index showed under an old partition
    moved: int = 0  # moved to their partition by this run
    already_there: int = 0  # already in their partition (moved by an earlier or concurrent run)
    gone: int = 0  # deleted between the query and the move (expired)
    dry_run: bool = False

    def view(self) -> dict[str, Any]:
        return asdict(self)


class ReshardInterrupted(Exception):
    """The run stopped early; ``result`` says how far it got (every error is in one place)."""

    def __init__(self, result: ReshardResult, cause: BaseException) -> None:
        super().__init__(str(cause) or type(cause).__name__)
        self.result = result
        self.cause = cause


def days_back(today: date, count: int) -> list[str]:
    """``today`` and the ``count`` UTC days before it, oldest first."""
    return [(today - timedelta(days=n)).isoformat() for n in range(count, -1, -1)]


def days_held(today: date, retention_days: int) -> list[str]:
    """The UTC days whose errors a table kept for ``retention_days`` may still hold."""
    return days_back(today, retention_days + TTL_LAG_DAYS)


def old_partitions(day: str, old_shards: int = OLD_SHARDS_MAX) -> list[str]:
    """The ``ByTime`` partitions of ``day`` that the old layout could fill and the reader skips."""
    return [layout.error_time_pk(day, shard) for shard in range(layout.ERROR_TIME_SHARDS, old_shards)]


def new_partition(day: str, error_id: str) -> str:
    """Where the current layout puts the error (what ``DynamoErrorStore`` writes today)."""
    return layout.error_time_pk(day, layout.shard_of(error_id, layout.ERROR_TIME_SHARDS))


@dataclass
class Resharder:
    client: Any
    table_name: str
    executor: Executor = SERIAL  # the first page of a day's partitions, queried side by side
    old_shards: int = OLD_SHARDS_MAX
    page_size: int = PAGE_SIZE

    def run(
        self, days: list[str], *, dry_run: bool = False, checkpoint: Checkpoint | None = None
    ) -> ReshardResult:
        """Move every error of ``days`` found under an old partition; raises ``ReshardInterrupted``."""
        result = ReshardResult(min(days, default=""), max(days, default=""), dry_run=dry_run)
        settled = checkpoint or (lambda _outcome, _error_id: None)
        try:
            for day in days:
                for old, error_id in self._stale(day, result):
                    result.found += 1
                    if dry_run:
                        continue
                    outcome = self._move(day, error_id, old)
                    setattr(result, outcome, getattr(result, outcome) + 1)
                    settled(outcome, error_id)
        except (Exception, KeyboardInterrupt) as exc:
            raise ReshardInterrupted(result, exc) from exc
        return result

    def _stale(self, day: str, result: ReshardResult) -> Iterator[tuple[str, str]]:
        """(old partition, error id) of every error under one of the day's old partitions."""
        partitions = old_partitions(day, self.old_shards)
        # Nearly every old partition is empty: one round of concurrent first pages finds out.
        firsts = run_all(self.executor, lambda pk: self._page(pk, None), partitions)
        result.partitions += len(partitions)
        for pk, (ids, token) in zip(partitions, firsts, strict=True):
            while True:
                for error_id in ids:
                    yield pk, error_id
                if token is None:
                    break
                # ExclusiveStartKey is a position: errors moved out behind it change nothing.
                ids, token = self._page(pk, token)

    def _page(self, pk: str, token: dict[str, Any] | None) -> tuple[list[str], dict[str, Any] | None]:
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": layout.ERRORS_TIME_INDEX,
            "KeyConditionExpression": "#pk = :pk",
            "ProjectionExpression": "#id",  # the key is all it takes; payloads stay in the table
            "ExpressionAttributeNames": {"#pk": "time_pk", "#id": "error_id"},
            "ExpressionAttributeValues": {":pk": {"S": pk}},
            "Limit": self.page_size,
        }
        if token:
            request["ExclusiveStartKey"] = token
        answer = aws.call(self.client.query, _read_failure, **request)
        return [str(i["error_id"]["S"]) for i in answer.get("Items", [])], answer.get("LastEvaluatedKey")

    def _move(self, day: str, error_id: str, old: str) -> str:
        new = new_partition(day, error_id)
        try:
            aws.call(
                self.client.update_item,
                _write_failure,
                TableName=self.table_name,
                Key={"error_id": {"S": error_id}},
                UpdateExpression="SET #pk = :new",
                ConditionExpression="#pk = :old",
                ExpressionAttributeNames={"#pk": "time_pk"},
                ExpressionAttributeValues={":new": {"S": new}, ":old": {"S": old}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except aws.ConditionFailed as failed:
            # No item: deleted since the query (expired). An item: no longer under ``old``,
            # so an earlier or concurrent run moved it and the index had not caught up.
            return "gone" if failed.item is None else "already_there"
        return "moved"
