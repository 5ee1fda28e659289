"""DynamoDB adapter of the dashboard counts: stored events per category and time bucket.

Items of the counters table, keyed by event timestamp:
``stats#m#<category>#<day>`` / ``<minute>#<shard>``, ``stats#h#<category>#<month>`` /
``<hour>#<shard>``, ``stats#d#<category>#<year>`` / ``<day>#<shard>``. The counting
transaction (``theeye.aws.ledger``) adds to them with the updates built here; ``buckets``
reads them back, the shards added up.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from theeye import aws
from theeye.aws.merge import Item, drain
from theeye.aws.partition import Partition, fetcher
from theeye.buckets import BUCKET_CHARS, Interval, bucket_of, bucket_start

STATS_SHARDS = 4
# interval: (key letter, characters of its partition in a timestamp: day, month or year)
_STATS_PARTITIONS: dict[Interval, tuple[str, int]] = {"minute": ("m", 10), "hour": ("h", 7), "day": ("d", 4)}


def stats_key(interval: Interval, category: str, timestamp: str, shard: int) -> tuple[str, str]:
    letter, partition_chars = _STATS_PARTITIONS[interval]
    return (
        f"stats#{letter}#{category}#{timestamp[:partition_chars]}",
        f"{bucket_of(interval, timestamp)}#{shard}",
    )


def added(table_name: str, pk: str, sk: str, counts: Mapping[str, int]) -> dict[str, Any]:
    """A transaction item that adds ``counts`` to the numbers of one item."""
    names = {f"#c{i}": name for i, name in enumerate(counts)}
    values = {f":c{i}": {"N": str(int(v))} for i, v in enumerate(counts.values())}
    return {
        "Update": {
            "TableName": table_name,
            "Key": {"pk": {"S": pk}, "sk": {"S": sk}},
            "UpdateExpression": "ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(counts))),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
    }


def stats_updates(
    table_name: str, by_minute: Mapping[tuple[str, str], int], shard: int
) -> list[dict[str, Any]]:
    """The counting transaction's items for stored events per (category, minute): one per bucket."""
    updates: list[dict[str, Any]] = []
    intervals: tuple[Interval, ...] = ("minute", "hour", "day")
    for interval in intervals:
        totals: Counter[tuple[str, str]] = Counter()
        for (category, minute), n in by_minute.items():
            totals[stats_key(interval, category, minute, shard)] += n
        updates += [added(table_name, pk, sk, {"count": n}) for (pk, sk), n in sorted(totals.items()) if n]
    return updates


@dataclass
class DynamoStats:
    table_name: str
    client: Any = field(default_factory=lambda: aws.client("dynamodb"))

    def buckets(self, interval: Interval, category: str, start: str, end: str) -> Counter[str]:
        """Stored events of one category per bucket in ``[start, end)`` (timestamps)."""
        letter, partition_chars = _STATS_PARTITIONS[interval]
        lower, upper = bucket_of(interval, start), bucket_of(interval, end)
        counts: Counter[str] = Counter()
        for partition in calendar(start[:partition_chars], end[:partition_chars]):
            pk = f"stats#{letter}#{category}#{partition}"
            whole = Partition(self.table_name, None, "pk", pk, lower, upper + "#~")
            items = drain(fetcher(self.client, whole, descending=False, page_size=1000))
            counts.update(_bucket_counts(items, BUCKET_CHARS[interval], lower, end))
        return counts


def calendar(first: str, last: str) -> list[str]:
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
