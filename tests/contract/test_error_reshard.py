"""Errors recorded in the old 16-shard ``ByTime`` layout, and their migration (theeye_cli.reshard).

Up to commit c5cb221 the processor wrote errors with ``IndexShards`` (16 by default) shards;
since then with 4, and ``DynamoErrorReader`` reads only those 4 partitions of a day. Here
``DynamoErrorStore(shards=16)`` writes what the old processor wrote (the item is the old
``ErrorRecord.to_item``, with 16 as the count), on moto with the tables of template.yaml, and
``GET /errors``'s use case (``query.logic.ErrorQueries`` on the real ``DynamoErrorReader``,
default 30-day window) reads them.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from query.logic import ErrorQueries
from tests.contract.conftest import aws_backend
from theeye.aws import layout
from theeye.aws.backend import AwsBackend
from theeye.aws.errors import DynamoErrorStore
from theeye.clock import format_timestamp
from theeye.errors import RetryableStoreError
from theeye.ports import ErrorFilter
from theeye.records import ErrorRecord, derive_error_id
from theeye_cli.reshard import Resharder, ReshardInterrupted, days_back, days_held

NOW = datetime.now(UTC).replace(microsecond=0)
OLD_SHARDS = 16  # the template's default IndexShards, what the old processor wrote errors with


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsBackend]:
    for made in aws_backend(monkeypatch):
        assert isinstance(made, AwsBackend)
        yield made


def dynamodb(stack: AwsBackend) -> Any:
    return stack.client("dynamodb")


def table(stack: AwsBackend) -> str:
    return stack.settings.required("errors_table")


def record(n: int, received: datetime) -> ErrorRecord:
    at = format_timestamp(received)
    return ErrorRecord(
        error_id=derive_error_id("schema_violation", at, str(n)),
        type="schema_violation",
        source="processor",
        application_id="shop",
        received_at=at,
        event_id=f"ev-{n:08x}",
        details=[{"field": "data.path", "message": "is required"}],
        payload={"n": n},
        key_id="key-0123456789abcdef",
        request_id=f"req-{n}",
    )


def write_old_layout(stack: AwsBackend, count: int = 60) -> list[ErrorRecord]:
    """Errors over the last 20 days, written as the processor did before c5cb221."""
    rng = random.Random(11)
    records = [record(n, NOW - timedelta(minutes=rng.randrange(1, 20 * 24 * 60))) for n in range(count)]
    old = DynamoErrorStore(table(stack), 30, shards=OLD_SHARDS, client=dynamodb(stack))
    assert all(old.put_all(records))
    return records


def item(stack: AwsBackend, error_id: str) -> dict[str, Any]:
    found: dict[str, Any] = dynamodb(stack).get_item(
        TableName=table(stack), Key={"error_id": {"S": error_id}}
    )["Item"]
    return found


def listed(stack: AwsBackend, *, descending: bool, limit: int = 7) -> list[str]:
    """Every error ``GET /errors`` returns over its default window, page after page."""
    queries = ErrorQueries(stack.error_reader())
    seen: list[str] = []
    after: str | None = None
    for _ in range(500):
        page = queries.list(
            ErrorFilter(),
            start=None,
            end=None,
            limit=limit,
            order="desc" if descending else "asc",
            after=after,
            now=NOW,
        )
        seen += [str(v["error_id"]) for v in page.items]
        if page.position is None:
            return seen
        after = page.position
    raise AssertionError("the pages never ended")


def in_order(records: list[ErrorRecord], *, descending: bool) -> list[str]:
    ordered = sorted(records, key=lambda r: (r.received_at, r.error_id), reverse=descending)
    return [r.error_id for r in ordered]


def resharder(stack: AwsBackend, client: Any = None, **options: Any) -> Resharder:
    """By default only the 12 old shards these tests write, to keep moto's ~2,300 empty queries of
    a full run (38 days x 60 shards, what the first test does) to one test."""
    return Resharder(client or dynamodb(stack), table(stack), **{"old_shards": OLD_SHARDS, **options})


DAYS = days_held(NOW.date(), 30)  # what the CLI looks at by default
WRITTEN = days_back(NOW.date(), 20)  # the days write_old_layout writes


def test_the_old_layout_is_the_16_shard_one_of_before_c5cb221(stack: AwsBackend) -> None:
    (one,) = write_old_layout(stack, 1)
    shard = int(layout.shard_of(one.error_id, 16))
    assert item(stack, one.error_id)["time_pk"]["S"] == f"{one.received_at[:10]}#{shard:02d}"


def test_errors_of_the_old_layout_are_missed_before_and_all_listed_once_after(stack: AwsBackend) -> None:
    records = write_old_layout(stack)
    hidden = {r.error_id for r in records if layout.shard_of(r.error_id, OLD_SHARDS) >= 4}
    assert 0 < len(hidden) < len(records)  # both kinds are there
    # and errors written since the upgrade, which nothing must touch
    current = [record(1000 + n, NOW - timedelta(hours=n)) for n in range(8)]
    assert all(DynamoErrorStore(table(stack), 30, client=dynamodb(stack)).put_all(current))
    before = {r.error_id: item(stack, r.error_id) for r in records + current}

    # Before: GET /errors misses every old error in shards 4 to 15, in either order
    for descending in (False, True):
        assert set(listed(stack, descending=descending)) == {r.error_id for r in records + current} - hidden

    result = resharder(stack, page_size=3, old_shards=64).run(DAYS)
    assert (result.found, result.moved, result.already_there, result.gone) == (len(hidden), len(hidden), 0, 0)
    assert result.partitions == len(DAYS) * 60  # shards 4 to 63 of every day

    # After: every error exactly once, in order, both ways (and across page boundaries)
    for descending in (False, True):
        assert listed(stack, descending=descending) == in_order(records + current, descending=descending)
    # Each moved error is in the partition the current layout assigns, and otherwise the same item
    for error_id, was in before.items():
        now = item(stack, error_id)
        day = was["received_at"]["S"][:10]
        assert now["time_pk"]["S"] == layout.error_time_pk(day, layout.shard_of(error_id, 4))
        assert {k: v for k, v in now.items() if k != "time_pk"} == {
            k: v for k, v in was.items() if k != "time_pk"
        }
        if error_id not in hidden:
            assert now == was


def test_a_rerun_moves_nothing(stack: AwsBackend) -> None:
    records = write_old_layout(stack)
    first = resharder(stack).run(WRITTEN)
    assert first.moved > 0
    again = resharder(stack).run(WRITTEN)
    assert (again.found, again.moved, again.already_there, again.gone) == (0, 0, 0, 0)
    assert listed(stack, descending=True) == in_order(records, descending=True)


def test_a_dry_run_counts_and_moves_nothing(stack: AwsBackend) -> None:
    records = write_old_layout(stack)
    hidden = [r for r in records if layout.shard_of(r.error_id, OLD_SHARDS) >= 4]
    result = resharder(stack, page_size=4).run(WRITTEN, dry_run=True)
    assert (result.found, result.moved, result.dry_run) == (len(hidden), 0, True)
    assert len(listed(stack, descending=False)) == len(records) - len(hidden)


class FailingAfter:
    """The DynamoDB client, whose writes start failing after ``k`` (a throttle, a lost network)."""

    def __init__(self, client: Any, k: int) -> None:
        self.client, self.k, self.writes = client, k, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def update_item(self, **request: Any) -> Any:
        if self.writes >= self.k:
            error = {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}
            raise ClientError(error, "UpdateItem")
        self.writes += 1
        return self.client.update_item(**request)


@pytest.mark.parametrize("k", [0, 1, 17])
def test_an_interrupted_run_resumes_where_it_stopped(stack: AwsBackend, k: int) -> None:
    records = write_old_layout(stack)
    hidden = [r for r in records if layout.shard_of(r.error_id, OLD_SHARDS) >= 4]
    with pytest.raises(ReshardInterrupted) as stopped:
        resharder(stack, FailingAfter(dynamodb(stack), k), page_size=5).run(WRITTEN)
    assert isinstance(stopped.value.cause, RetryableStoreError)
    assert (stopped.value.result.moved, stopped.value.result.found) == (k, k + 1)
    # the k moved ones are listed, the rest still missed; none twice
    seen = listed(stack, descending=True)
    assert len(seen) == len(set(seen)) == len(records) - len(hidden) + k

    rest = resharder(stack).run(WRITTEN)
    assert (rest.found, rest.moved, rest.already_there) == (len(hidden) - k, len(hidden) - k, 0)
    for descending in (False, True):
        assert listed(stack, descending=descending) == in_order(records, descending=descending)


class Overtaken:
    """The client of a run that another run (or the index's lag, or TTL) overtakes: before each
    write, the item has just been moved (even) or deleted (odd) behind its back."""

    def __init__(self, client: Any) -> None:
        self.client, self.writes = client, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def update_item(self, **request: Any) -> Any:
        if self.writes % 2 == 0:
            self.client.update_item(**request)
        else:
            self.client.delete_item(TableName=request["TableName"], Key=request["Key"])
        self.writes += 1
        return self.client.update_item(**request)


def test_errors_moved_or_deleted_meanwhile_are_counted_not_rewritten(stack: AwsBackend) -> None:
    records = write_old_layout(stack)
    hidden = [r for r in records if layout.shard_of(r.error_id, OLD_SHARDS) >= 4]
    result = resharder(stack, Overtaken(dynamodb(stack))).run(WRITTEN)
    assert result.found == len(hidden)
    assert (result.moved, result.already_there, result.gone) == (0, -(-len(hidden) // 2), len(hidden) // 2)
    gone = set(listed(stack, descending=False)) ^ {r.error_id for r in records}
    assert len(gone) == len(hidden) // 2


def test_the_days_looked_at_are_those_the_table_can_hold() -> None:
    days = days_held(date(2026, 11, 24), 30)
    assert (days[0], days[-1], len(days)) == ("2026-10-18", "2026-11-24", 38)  # 30 + 7 days of TTL lag
