"""Ordered pages over many DynamoDB partitions, merged by sort key.

Events of one category and day are spread over shards; a time-range query spans days. Every
partition shares one ordering (the sort key starts with the UTC timestamp), so a page is a
k-way merge of per-partition streams, and the position "after sort key X" is valid in all of
them at once. That position is what a cursor carries.

Each partition is read lazily, a DynamoDB page at a time, and partitions are visited in
groups (one group per day): a group is exhausted before the next is opened, so a query over a
month of quiet days costs little more than one over a day.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from theeye.ports import Page

Item = dict[str, Any]
# Where a partition's reading stopped: the sort key evaluated last, and the store's own token
# (DynamoDB's LastEvaluatedKey) to continue from. None when the partition is exhausted.
Continuation = tuple[str, Any]
# fetch(token or None for the start) -> (items in sort-key order, continuation)
Fetch = Callable[[Any], tuple[list[Item], Continuation | None]]


def drain(fetch: Fetch) -> Iterator[Item]:
    """Every item of one partition, page after page, until it has no continuation."""
    token = None
    while True:
        items, continuation = fetch(token)
        yield from items
        if continuation is None:
            return
        token = continuation[1]


@dataclass
class _Reader:
    fetch: Fetch
    skip: str | None  # the position itself is excluded (bounds are inclusive)
    buffer: deque[Item] = field(default_factory=deque)
    token: Any = None
    evaluated: str | None = None  # sort key up to which this partition has been read
    done: bool = False
    fetched: bool = False

    def refill(self) -> None:
        self.fetched = True
        items, continuation = self.fetch(self.token)
        self.buffer.extend(i for i in items if i["sk"] != self.skip)
        self.done = continuation is None
        if continuation is not None:
            self.evaluated, self.token = continuation


@dataclass(frozen=True)
class Group:
    """Partitions read together (one day), and a position before all of them in reading order."""

    floor: str
    fetches: Sequence[Fetch]


def merge_pages(
    groups: Iterable[Sequence[Fetch] | Group],
    *,
    limit: int,
    descending: bool,
    after: str | None,
    executor: Executor,
    max_requests: int = 160,
) -> Page:
    """Up to ``limit`` items in sort-key order from every partition of every group.

    ``after`` is the previous page's position: items equal to it are dropped (the fetchers
    already bound their key condition by it). Every partition of a group is read at least
    once; after that, when ``max_requests`` DynamoDB calls are spent before the page is full
    (a filter that matches little), the page is returned short with a position that skips
    nothing, so the client's next call goes on from there. Groups that carry a ``floor`` are
    not even opened once the budget is spent: a long quiet range costs bounded work per call.
    """

    def first(a: str, b: str) -> bool:
        return a > b if descending else a < b

    items: list[Item] = []
    requests = 0
    remaining = iter(groups)
    group = next(remaining, None)
    while group is not None:
        floor, fetches = (group.floor, group.fetches) if isinstance(group, Group) else (None, group)
        if floor is not None and requests and requests + len(fetches) > max_requests:
            # Everything before this group has been read: the next call starts here.
            return Page(items, str(items[-1]["sk"]) if items else floor, requests)
        readers = [_Reader(fetch, after) for fetch in fetches]
        while len(items) < limit:
            empty = [r for r in readers if not r.buffer and not r.done]
            if empty:
                over_budget = requests + len(empty) > max_requests
                if over_budget and (items or all(r.fetched for r in readers)):
                    return _cut_short(items, readers, empty, limit, requests, first)
                requests += len(empty)
                list(executor.map(_Reader.refill, empty))
                continue
            live = [r for r in readers if r.buffer]
            if not live:
                break
            best = live[0]
            for reader in live[1:]:
                if first(reader.buffer[0]["sk"], best.buffer[0]["sk"]):
                    best = reader
            items.append(best.buffer.popleft())
        following = next(remaining, None)
        if len(items) >= limit:
            more = following is not None or any(r.buffer or not r.done for r in readers)
            return Page(items, str(items[-1]["sk"]) if more else None, requests)
        group = following
    return Page(items, None, requests)


def _cut_short(
    items: list[Item],
    readers: list[_Reader],
    empty: list[_Reader],
    limit: int,
    requests: int,
    first: Callable[[str, str], bool],
) -> Page:
    """Emit what is safe (not beyond any partition still being read) and stop there."""
    if any(not r.fetched for r in empty):  # a new group not yet opened: stop before it
        return Page(items, str(items[-1]["sk"]), requests)
    # Every partition not yet finished has been read up to its own ``evaluated`` key; the
    # earliest of those is as far as the whole merge is known to be complete.
    unfinished = [str(r.evaluated) for r in readers if not r.done]
    frontier = unfinished[0]
    for evaluated in unfinished[1:]:
        if first(evaluated, frontier):
            frontier = evaluated
    pending = sorted(
        (i for r in readers for i in r.buffer), key=lambda i: str(i["sk"]), reverse=first("b", "a")
    )
    for item in pending:
        if len(items) >= limit or first(frontier, str(item["sk"])):
            return Page(items, str(items[-1]["sk"]) if items else frontier, requests)
        items.append(item)
    # Everything up to the frontier has been read; nothing before it is left unseen.
    return Page(items, frontier, requests)
