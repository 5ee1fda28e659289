"""The query use cases: which partitions answer a question, and what an answer looks like.

| question                      | read                                                   |
| ----------------------------- | ------------------------------------------------------ |
| session (+ anything)          | events table, ``pk = S#session``, one partition         |
| category (+ name), time range | ``ByCategory``: category x day x shard, merged          |
| time range (+ name) only      | ``ByCategory`` for each category registered that day    |
| error type, time range        | errors ``ByType``: type x day                           |
| errors, time range            | errors ``ByTime``: day x shard                          |

Filters that no key covers (``name`` within a category, ``source`` and ``application_id`` of
errors) are DynamoDB filter expressions; the merge keeps paging correct when they thin pages.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from theeye import layout
from theeye.clock import format_timestamp
from theeye.counters import CategoryRegistry, DynamoCounters
from theeye.errors import InvalidRequest, NotFound
from theeye.ledger import DynamoLedger, Interval, ledger_status
from theeye.paging import Group, Item, Page, merge_pages
from theeye.reader import HIGHEST_KEY, LOWEST_KEY, DynamoReader, Partition

Order = Literal["asc", "desc"]
DEFAULT_WINDOW = timedelta(hours=24)
MAX_DAYS = 400


@dataclass(frozen=True)
class Tables:
    events: str
    errors: str
    shards: int
    error_window: timedelta = timedelta(days=30)


@dataclass(frozen=True)
class Window:
    """A time range as inclusive sort-key bounds, plus where the last page stopped."""

    start: datetime | None
    end: datetime | None
    descending: bool
    after: str | None

    @property
    def lower(self) -> str:
        bound = format_timestamp(self.start) if self.start else LOWEST_KEY
        if self.after is not None and not self.descending:
            bound = max(bound, self.after)
        return bound

    @property
    def upper(self) -> str:
        # "ts#id" <= "end" exactly when ts < end, so an inclusive bound makes ``to`` exclusive.
        bound = format_timestamp(self.end) if self.end else HIGHEST_KEY
        if self.after is not None and self.descending:
            bound = min(bound, self.after)
        return bound

    def floor(self, day: str) -> str:
        """A position just before every key of ``day`` in reading order (cursors may carry it)."""
        return day + "~" if self.descending else day

    def days(self) -> list[str]:
        """The UTC days the window touches, in reading order."""
        if self.start is None or self.end is None:
            raise ValueError("a window over index partitions needs both ends")
        first, last = layout.day_of(self.lower), layout.day_of(self.upper)
        days: list[str] = []
        day = datetime.fromisoformat(first).date()
        while day.isoformat() <= last and len(days) <= MAX_DAYS:
            days.append(day.isoformat())
            day += timedelta(days=1)
        return list(reversed(days)) if self.descending else days


def check_range(start: datetime | None, end: datetime | None) -> None:
    if start is not None and end is not None and start >= end:
        raise InvalidRequest(
            "'from' must be earlier than 'to'",
            code="invalid_parameter",
            details=[{"field": "from", "message": "must be before 'to'"}],
        )
    if start is not None and end is not None and end - start > timedelta(days=MAX_DAYS):
        raise InvalidRequest(
            f"a time range may span at most {MAX_DAYS} days",
            code="invalid_parameter",
            details=[{"field": "from", "message": f"more than {MAX_DAYS} days before 'to'"}],
        )


@dataclass
class EventQueries:
    reader: DynamoReader
    registry: CategoryRegistry
    tables: Tables
    executor: Executor

    def list(
        self,
        *,
        session_id: str | None,
        category: str | None,
        name: str | None,
        start: datetime | None,
        end: datetime | None,
        limit: int,
        order: Order,
        after: str | None,
        now: datetime,
    ) -> Page:
        check_range(start, end)
        descending = order == "desc"
        if session_id is not None:
            window = Window(start, end, descending, after)
            filters = {k: v for k, v in (("category", category), ("name", name)) if v is not None}
            partition = Partition(
                self.tables.events, None, "pk", layout.session_pk(session_id), window.lower, window.upper
            )
            fetch = self.reader.fetcher(
                partition, descending=descending, page_size=limit + 1, filters=filters
            )
            return merge_pages(
                [[fetch]], limit=limit, descending=descending, after=after, executor=self.executor
            )
        if start is None:
            start = (end or now) - DEFAULT_WINDOW
        window = Window(start, end or now + timedelta(days=1), descending, after)
        name_filter = {"name": name} if name is not None else {}
        groups = self._category_groups(window, category, limit, name_filter)
        return merge_pages(groups, limit=limit, descending=descending, after=after, executor=self.executor)

    def _category_groups(
        self, window: Window, category: str | None, limit: int, filters: dict[str, str]
    ) -> Iterator[Group]:
        for day in window.days():
            categories = [category] if category is not None else sorted(self.registry.categories(day))
            partitions = [
                Partition(
                    self.tables.events,
                    layout.CATEGORY_INDEX,
                    "cat_pk",
                    layout.category_pk(c, day, shard),
                    window.lower,
                    window.upper,
                )
                for c in categories
                for shard in range(self.tables.shards)
            ]
            yield day_group(self.reader, window, day, partitions, limit, filters)

    def get(self, event_id: str) -> Item:
        item = self.reader.event_by_id(self.tables.events, event_id)
        if item is None:
            raise NotFound(f"no event with id {event_id!r}")
        return item


@dataclass
class ErrorQueries:
    reader: DynamoReader
    tables: Tables
    executor: Executor

    def list(
        self,
        *,
        error_type: str | None,
        source: str | None,
        application_id: str | None,
        start: datetime | None,
        end: datetime | None,
        limit: int,
        order: Order,
        after: str | None,
        now: datetime,
    ) -> Page:
        check_range(start, end)
        if start is None:
            start = (end or now) - self.tables.error_window
        window = Window(start, end or now + timedelta(days=1), order == "desc", after)
        filters = {k: v for k, v in (("source", source), ("application_id", application_id)) if v is not None}
        groups = self._groups(window, error_type, limit, filters)
        return merge_pages(
            groups, limit=limit, descending=window.descending, after=after, executor=self.executor
        )

    def _groups(
        self, window: Window, error_type: str | None, limit: int, filters: dict[str, str]
    ) -> Iterator[Group]:
        for day in window.days():
            if error_type is not None:
                partitions = [
                    Partition(
                        self.tables.errors,
                        layout.ERRORS_TYPE_INDEX,
                        "type_pk",
                        layout.error_type_pk(error_type, day),
                        window.lower,
                        window.upper,
                    )
                ]
            else:
                partitions = [
                    Partition(
                        self.tables.errors,
                        layout.ERRORS_TIME_INDEX,
                        "time_pk",
                        layout.error_time_pk(day, shard),
                        window.lower,
                        window.upper,
                    )
                    for shard in range(layout.ERROR_TIME_SHARDS)
                ]
            yield day_group(self.reader, window, day, partitions, limit, filters)

    def get(self, error_id: str) -> Item:
        item = self.reader.get(self.tables.errors, {"error_id": error_id})
        if item is None:
            raise NotFound(f"no error with id {error_id!r}")
        return item


def day_group(
    reader: DynamoReader,
    window: Window,
    day: str,
    partitions: list[Partition],
    limit: int,
    filters: dict[str, str],
) -> Group:
    """One day's partitions, read together and merged, each a lazy page-by-page reader."""
    page_size = per_partition_page(limit, len(partitions))
    fetches = [
        reader.fetcher(p, descending=window.descending, page_size=page_size, filters=filters)
        for p in partitions
    ]
    return Group(window.floor(day), fetches)


def per_partition_page(limit: int, partitions: int) -> int:
    """DynamoDB page size per partition: enough for an even spread, with headroom, plus one."""
    if partitions <= 1:
        return min(limit + 1, 1000)
    return min(max(10, 2 * -(-limit // partitions)), 1000)


def event_view(item: Item) -> dict[str, Any]:
    return {
        "event_id": item["event_id"],
        "application_id": item["application_id"],
        "session_id": item["session_id"],
        "category": item["category"],
        "name": item["name"],
        "data": json.loads(item["data"]),
        "timestamp": item["timestamp"],
        "received_at": item["received_at"],
    }


def error_view(item: Item) -> dict[str, Any]:
    return {
        "error_id": item["error_id"],
        "type": item["type"],
        "source": item["source"],
        "application_id": item["application_id"],
        "received_at": item["received_at"],
        "event_id": item.get("event_id"),
        "details": json.loads(item["details"]),
        "payload": json.loads(item["payload"]),
    }


STATS_LIMITS = {"minute": timedelta(days=2), "hour": timedelta(days=93), "day": timedelta(days=3 * 366)}


@dataclass
class Dashboards:
    """The ledger and the per-category counts, as the processor aggregated them per batch."""

    ledger: DynamoLedger
    registry: DynamoCounters
    sqs: Any
    queue_url: str
    dlq_url: str

    def status(self) -> dict[str, Any]:
        return ledger_status(self.ledger, self.sqs, self.queue_url, self.dlq_url)

    def event_stats(
        self,
        *,
        start: datetime | None,
        end: datetime | None,
        interval: Interval,
        category: str | None,
        now: datetime,
    ) -> dict[str, Any]:
        end = end or now
        start = start or end - DEFAULT_WINDOW
        check_range(start, end)
        if end - start > STATS_LIMITS[interval]:
            raise InvalidRequest(
                f"a range of at most {STATS_LIMITS[interval].days} days can be shown by {interval}",
                code="invalid_parameter",
                details=[{"field": "interval", "message": "choose a coarser interval or a shorter range"}],
            )
        first, last = format_timestamp(start), format_timestamp(end)
        if category is not None:
            categories = [category]
        else:
            window = Window(start, end, False, None)
            categories = sorted(self.registry.categories_between(window.days()))
        series = []
        for name in categories:
            counts = self.ledger.buckets(interval, name, first, last)
            points = [{"t": b + _BUCKET_SUFFIX[interval], "count": n} for b, n in sorted(counts.items()) if n]
            if points:
                series.append({"category": name, "points": points})
        return {"interval": interval, "series": series}


_BUCKET_SUFFIX = {"minute": ":00Z", "hour": ":00:00Z", "day": "T00:00:00Z"}
