"""The k-way merge over partitions: ordered, complete, never skipping on a short page."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from theeye.aws.merge import Fetch, merge_pages

POOL = ThreadPoolExecutor(4)


def partition(
    sks: list[str], *, descending: bool, after: str | None, page: int, keep=lambda sk: True
) -> Fetch:  # type: ignore[no-untyped-def]
    """A DynamoDB-like partition: sorted, bounded by ``after`` (inclusive), paged, filtered after the limit."""
    ordered = sorted(sks, reverse=descending)
    if after is not None:
        ordered = [s for s in ordered if (s <= after if descending else s >= after)]

    def fetch(token: Any) -> tuple[list[dict[str, Any]], tuple[str, Any] | None]:
        offset = 0 if token is None else int(token)
        chunk = ordered[offset : offset + page]
        more = offset + page < len(ordered)
        return [{"sk": s} for s in chunk if keep(s)], ((chunk[-1], offset + page) if more else None)

    return fetch


def walk(
    groups_sks: list[list[list[str]]],
    *,
    limit: int,
    descending: bool,
    page: int = 3,
    keep=lambda sk: True,
    max_requests: int = 64,
) -> list[str]:  # type: ignore[no-untyped-def]
    seen: list[str] = []
    after: str | None = None
    for _ in range(10_000):
        groups = [
            [partition(p, descending=descending, after=after, page=page, keep=keep) for p in group]
            for group in groups_sks
        ]
        result = merge_pages(
            groups, limit=limit, descending=descending, after=after, executor=POOL, max_requests=max_requests
        )
        assert len(result.items) <= limit
        seen.extend(i["sk"] for i in result.items)
        if result.position is None:
            return seen
        assert result.position != after, "no progress"
        after = result.position
    raise AssertionError("did not finish")


def dataset(seed: int) -> list[list[list[str]]]:
    rng = random.Random(seed)
    groups = []
    for day in range(3):
        shards = [
            [
                f"2021-01-0{day + 1}T{rng.randrange(24):02d}:00:{rng.randrange(60):02d}#e{rng.randrange(10**6)}"
                for _ in range(rng.randrange(0, 12))
            ]
            for _ in range(4)
        ]
        groups.append(shards)
    return groups


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("limit", [1, 2, 5, 100])
def test_walking_every_page_yields_every_item_once_in_order(seed: int, descending: bool, limit: int) -> None:
    groups = dataset(seed)
    if descending:
        groups = list(reversed(groups))
    expected = sorted({s for g in groups for p in g for s in p}, reverse=descending)
    assert walk(groups, limit=limit, descending=descending) == expected


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("descending", [False, True])
def test_a_sparse_filter_with_a_tiny_request_budget_still_finds_everything(
    seed: int, descending: bool
) -> None:
    groups = dataset(seed)
    if descending:
        groups = list(reversed(groups))
    keep = lambda sk: sk.endswith(("1", "7"))  # noqa: E731
    expected = sorted({s for g in groups for p in g for s in p if keep(s)}, reverse=descending)
    assert walk(groups, limit=3, descending=descending, page=2, keep=keep, max_requests=5) == expected


def test_the_first_page_is_the_earliest_items_across_partitions() -> None:
    groups = [[["a1", "a4", "a7"], ["a2", "a5"], ["a3", "a6", "a8"]]]
    fetches = [[partition(p, descending=False, after=None, page=2) for p in groups[0]]]
    page = merge_pages(fetches, limit=4, descending=False, after=None, executor=POOL)
    assert [i["sk"] for i in page.items] == ["a1", "a2", "a3", "a4"]
    assert page.position == "a4"


def test_the_last_page_says_there_is_nothing_more() -> None:
    fetches = [[partition(["a1", "a2"], descending=False, after=None, page=5)]]
    page = merge_pages(fetches, limit=2, descending=False, after=None, executor=POOL)
    assert ([i["sk"] for i in page.items], page.position) == (["a1", "a2"], None)


@pytest.mark.parametrize("descending", [False, True])
def test_a_long_quiet_range_is_walked_in_bounded_steps_without_losing_anything(descending: bool) -> None:
    from theeye.aws.merge import Group

    days = [f"2021-01-{d:02d}" for d in range(1, 29)]
    data = {"2021-01-03": ["2021-01-03T01#a"], "2021-01-27": ["2021-01-27T05#b", "2021-01-27T06#c"]}
    order = list(reversed(days)) if descending else days
    seen: list[str] = []
    after: str | None = None
    calls = 0
    while True:
        groups = [
            Group(
                day + "~" if descending else day,
                [
                    partition(
                        data.get(day, []) if shard == 0 else [], descending=descending, after=after, page=2
                    )
                    for shard in range(4)
                ],
            )
            for day in order
            if after is None or (day <= after[:10] if descending else day >= after[:10])
        ]
        page = merge_pages(
            groups, limit=10, descending=descending, after=after, executor=POOL, max_requests=8
        )
        assert page.requests <= 8 + 4
        seen += [i["sk"] for i in page.items]
        calls += 1
        if page.position is None:
            break
        after = page.position
    expected = sorted((sk for sks in data.values() for sk in sks), reverse=descending)
    assert seen == expected
    assert calls > 3  # the range took several bounded calls, not one unbounded one
