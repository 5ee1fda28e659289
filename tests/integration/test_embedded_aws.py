"""The moto server of the local stack behaves like DynamoDB where the pipeline depends on it.

moto's ``TransactWriteItems`` snapshots every table it touches and, when any item of the
transaction is cancelled, puts the whole snapshot back: under concurrent requests that undoes
other clients' writes made meanwhile, and copying a table another thread is changing fails
with ``dictionary changed size during iteration``. DynamoDB isolates transactions; the local
stack must too, or the dashboard counts and the ledger lose what concurrent processors wrote.
"""

from __future__ import annotations

import itertools
import urllib.request
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
    """A moto server in this process; moto's state is the process's, so it is reset around it."""
    aws = EmbeddedAws()
    aws.start()
    reset = urllib.request.Request(f"{aws.endpoint}/moto-api/reset", method="POST")
    urllib.request.urlopen(reset, timeout=30).close()
    yield aws
    urllib.request.urlopen(reset, timeout=30).close()
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


def test_a_cancelled_transaction_still_rolls_back_every_item(server: EmbeddedAws) -> None:
    """One snapshot per table and transaction (not per item) is still a whole rollback."""
    dynamodb = server.client("dynamodb")
    table = create_resources(server.session(), endpoint_url=server.endpoint)["CountersTable"]
    add = [
        {
            "Update": {
                "TableName": table,
                "Key": {"pk": {"S": "p"}, "sk": {"S": f"{n}"}},
                "UpdateExpression": "ADD n :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        }
        for n in range(60)
    ]
    dynamodb.transact_write_items(TransactItems=add)
    refused = {
        "Put": {
            "TableName": table,
            "Item": {"pk": {"S": "p"}, "sk": {"S": "0"}},
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }
    with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
        dynamodb.transact_write_items(TransactItems=[*add[1:], refused])
    counts = [
        dynamodb.get_item(TableName=table, Key={"pk": {"S": "p"}, "sk": {"S": f"{n}"}})["Item"]["n"]["N"]
        for n in range(60)
    ]
    assert counts == ["1"] * 60
