"""DynamoDB adapters of ``EventReader`` and ``ErrorReader``: which partitions answer a question.

| question                      | read                                                   |
| ----------------------------- | ------------------------------------------------------ |
| session (+ anything)          | events table, ``pk = S#session``, one partition         |
| category (+ name), time range | ``ByCategory``: category x day x shard, merged          |
| time range (+ name) only      | ``ByCategory`` for each category registered that day    |
| error type, time range        | errors ``ByType``: type x day                           |
| errors, time range            | errors ``ByTime``: day x shard                          |
| sessions by first event       | counters ``BySessionStart``: day x shard                |

Filters that no key covers (``name`` within a category, ``source``, ``application_id`` and
``replayed`` of errors) are DynamoDB filter expressions; the merge (``theeye.aws.merge``) keeps paging correct
when they thin pages, and visits one day's partitions at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from theeye.aws import layout
from theeye.aws.categories import DynamoCategories
from theeye.aws.merge import Group, merge_pages
from theeye.aws.partition import Member, Partition, Present, fetcher, get
from theeye.ports import ErrorFilter, Page, View, Window
from theeye.views import error_view, event_view, session_view

MAX_DAYS = 400


def days(window: Window) -> list[str]:
    """The UTC days a window with both ends touches, in reading order."""
    first, last = layout.day_of(window.lower), layout.day_of(window.upper)
    found: list[str] = []
    day = date.fromisoformat(first)
    while day.isoformat() <= last and len(found) <= MAX_DAYS:
        found.append(day.isoformat())
        day += timedelta(days=1)
    return list(reversed(found)) if window.descending else found


def floor(window: Window, day: str) -> str:
    """A position just before every key of ``day`` in reading order (cursors may carry it)."""
    return day + "~" if window.descending else day


def per_partition_page(limit: int, partitions: int) -> int:
    """DynamoDB page size per partition: enough for an even spread, with headroom, plus one."""
    if partitions <= 1:
        return min(limit + 1, 1000)
    return min(max(10, 2 * -(-limit // partitions)), 1000)


@dataclass
class _Partitions:
    """Reads partitions of one table and merges them into pages of views."""

    client: Any
    executor: Executor

    def group(self, window: Window, day: str, partitions: list[Partition], limit: int, filters: Any) -> Group:
        """One day's partitions, read together and merged, each a lazy page-by-page reader."""
        page_size = per_partition_page(limit, len(partitions))
        fetches = [
            fetcher(self.client, p, descending=window.descending, page_size=page_size, filters=filters)
            for p in partitions
        ]
        return Group(floor(window, day), fetches)

    def merged(self, groups: Any, window: Window, limit: int, view: Any) -> Page:
        page = merge_pages(
            groups, limit=limit, descending=window.descending, after=window.after, executor=self.executor
        )
        return Page([view(i) for i in page.items], page.position, page.requests)


@dataclass
class DynamoEventReader:
    client: Any
    table_name: str
    shards: int
    registry: DynamoCategories
    executor: Executor

    def __post_init__(self) -> None:
        self._partitions = _Partitions(self.client, self.executor)

    def by_session(
        self, session_id: str, window: Window, *, category: str | None, name: str | None, limit: int
    ) -> Page:
        filters = {k: v for k, v in (("category", category), ("name", name)) if v is not None}
        partition = Partition(
            self.table_name, None, "pk", layout.session_pk(session_id), window.lower, window.upper
        )
        fetch = fetcher(
            self.client, partition, descending=window.descending, page_size=limit + 1, filters=filters
        )
        return self._partitions.merged([[fetch]], window, limit, event_view)

    def by_category(self, category: str, window: Window, *, name: str | None, limit: int) -> Page:
        return self._by_day(window, category, name, limit)

    def by_range(self, window: Window, *, name: str | None, limit: int) -> Page:
        return self._by_day(window, None, name, limit)

    def get(self, event_id: str) -> View | None:
        guard = get(
            self.client, self.table_name, {"pk": layout.guard_pk(event_id), "sk": layout.GUARD_SORT_KEY}
        )
        if guard is None:
            return None
        item = get(self.client, self.table_name, {"pk": str(guard["event_pk"]), "sk": str(guard["event_sk"])})
        return event_view(item) if item else None

    def _by_day(self, window: Window, category: str | None, name: str | None, limit: int) -> Page:
        filters = {"name": name} if name is not None else {}
        return self._partitions.merged(
            self._groups(window, category, limit, filters), window, limit, event_view
        )

    def _groups(
        self, window: Window, category: str | None, limit: int, filters: dict[str, str]
    ) -> Iterator[Group]:
        for day in days(window):
            categories = [category] if category is not None else sorted(self.registry.categories(day))
            partitions = [
                Partition(
                    self.table_name,
                    layout.CATEGORY_INDEX,
                    "cat_pk",
                    layout.category_pk(c, day, shard),
                    window.lower,
                    window.upper,
                )
                for c in categories
                for shard in range(self.shards)
            ]
            yield self._partitions.group(window, day, partitions, limit, filters)


@dataclass
class DynamoErrorReader:
    client: Any
    table_name: str
    executor: Executor
    shards: int = layout.ERROR_TIME_SHARDS

    def __post_init__(self) -> None:
        self._partitions = _Partitions(self.client, self.executor)

    def page(self, window: Window, where: ErrorFilter, *, limit: int) -> Page:
        filters: dict[str, str | Present] = {
            k: v for k, v in (("source", where.source), ("application_id", where.application_id)) if v
        }
        if where.replayed is not None:
            filters["replayed"] = Present(where.replayed)
        return self._partitions.merged(
            self._groups(window, where.type, limit, filters), window, limit, error_view
        )

    def get(self, error_id: str) -> View | None:
        item = get(self.client, self.table_name, {"error_id": error_id})
        return error_view(item) if item else None

    def _groups(
        self, window: Window, error_type: str | None, limit: int, filters: dict[str, str | Present]
    ) -> Iterator[Group]:
        for day in days(window):
            if error_type is not None:
                keys = [("type_pk", layout.ERRORS_TYPE_INDEX, layout.error_type_pk(error_type, day))]
            else:
                keys = [
                    ("time_pk", layout.ERRORS_TIME_INDEX, layout.error_time_pk(day, shard))
                    for shard in range(self.shards)
                ]
            partitions = [
                Partition(self.table_name, index, name, value, window.lower, window.upper)
                for name, index, value in keys
            ]
            yield self._partitions.group(window, day, partitions, limit, filters)


@dataclass
class DynamoSessionReader:
    """Session summaries (``theeye.aws.session_summaries``) by first event, from ``BySessionStart``."""

    client: Any
    table_name: str
    executor: Executor
    shards: int = layout.SESSION_START_SHARDS

    def __post_init__(self) -> None:
        self._partitions = _Partitions(self.client, self.executor)

    def page(self, window: Window, *, application_id: str | None, limit: int) -> Page:
        filters = {"application_ids": Member(application_id)} if application_id is not None else {}
        return self._partitions.merged(self._groups(window, limit, filters), window, limit, session_view)

    def _groups(self, window: Window, limit: int, filters: dict[str, Member]) -> Iterator[Group]:
        for day in days(window):
            partitions = [
                Partition(
                    self.table_name,
                    layout.SESSION_START_INDEX,
                    "start_pk",
                    layout.session_start_partition(day, shard),
                    window.lower,
                    window.upper,
                    sort_name="start_sk",
                )
                for shard in range(self.shards)
            ]
            yield self._partitions.group(window, day, partitions, limit, filters)
