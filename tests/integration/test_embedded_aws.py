"""The moto server of the local stack behaves like DynamoDB where the pipeline depends on it.

moto's ``TransactWriteItems`` snapshots every table it touches and, when any item of the
transaction is cancelled, puts the whole snapshot back: under concurrent requests that undoes
other clients' writes made meanwhile, and copying a table another thread is changing fails
with ``dictionary changed size during iteration``. DynamoDB isolates transactions; the local
stack must too, or the dashboard counts and the ledger lose what concurrent processors wrote.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from theeye.aws.counters import DynamoCounters
from theeye.ledger import MessageTally, message_key
from theeye_local.embedded_aws import EmbeddedAws
from theeye_local.resources import create_resources

pytestmark = pytest.mark.enable_socket


@pytest.fixture
def server() -> Iterator[EmbeddedAws]:
    aws = EmbeddedAws()
    aws.start()
    yield aws
    aws.stop()


def test_concurrent_counting_transactions_lose_nothing(server: EmbeddedAws) -> None:
    refs = create_resources(server.session(), endpoint_url=server.endpoint)
    minutes = [f"2026-11-30T{h:02d}:{m:02d}" for h, m in itertools.product(range(24), range(0, 60, 7))]

    def worker(n: int) -> int:
        counters = DynamoCounters(refs["CountersTable"], client=server.client("dynamodb"))
        stored = 0
        for i in range(4):
            by_minute = Counter(("shared", minutes[(n * 31 + i * 7 + j) % len(minutes)]) for j in range(40))
            entry = (message_key(f"worker {n} message {i}"), MessageTally(40, 0, {}, by_minute))
            # every message delivered twice: the second commit is cancelled by its marker
            counters.commit_batch([entry])
            counters.commit_batch([entry])
            stored += 40
        return stored

    with ThreadPoolExecutor(6) as pool:
        expected = sum(pool.map(worker, range(6)))
    counters = DynamoCounters(refs["CountersTable"], client=server.client("dynamodb"))
    day = counters.buckets("day", "shared", "2026-11-30T00:00:00.000000Z", "2026-12-01T00:00:00.000000Z")
    assert (counters.totals()["stored"], sum(day.values())) == (expected, expected)
