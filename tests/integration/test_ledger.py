"""The ledger's exactly-once counting against moto's DynamoDB transactions.

The counting is the processor's (its role signs it); reading the ledger back is an admin's,
and undoing a dead letter is the operators' CLI's (``theeye dlq redrive``).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from tests.integration.conftest import Aws
from theeye.aws.counters import DynamoCounters
from theeye.ledger import MessageTally


def tally(stored: int, minute: str = "2021-01-01T09:15") -> MessageTally:
    return MessageTally(stored, 1, {"schema_violation": 2}, {("page interaction", minute): stored})


def admin_view(aws: Aws) -> DynamoCounters:
    return DynamoCounters(aws.refs["CountersTable"], aws.client("dynamodb"))


def test_a_batch_mixing_counted_and_new_messages_counts_only_the_new_ones(aws: Aws) -> None:
    ledger = DynamoCounters(aws.refs["CountersTable"])
    with aws.functions.acting_as("ProcessorFunction"):
        ledger.commit_batch([("a" * 40, tally(3))])
        # Given a redelivered batch holding the counted message "a" and a new one "b"
        ledger.commit_batch([("a" * 40, tally(3)), ("b" * 40, tally(5, "2021-01-01T10:01"))])
        ledger.commit_batch([("b" * 40, tally(5, "2021-01-01T10:01"))])
    totals = admin_view(aws).totals()
    assert (totals["stored"], totals["duplicates"], totals["invalid_schema_violation"]) == (8, 2, 4)
    hours = admin_view(aws).buckets(
        "hour", "page interaction", "2021-01-01T00:00:00.000000Z", "2021-01-02T00:00:00.000000Z"
    )
    assert dict(hours) == {"2021-01-01T09": 3, "2021-01-01T10": 5}


def test_a_batch_too_large_for_one_transaction_is_counted_message_by_message(aws: Aws) -> None:
    ledger = DynamoCounters(aws.refs["CountersTable"])
    entries = [(f"{n:040x}", tally(1, f"2021-01-01T{n % 24:02d}:{n % 60:02d}")) for n in range(60)]
    with aws.functions.acting_as("ProcessorFunction"):
        ledger.commit_batch(entries)
        ledger.commit_batch(entries)
    assert admin_view(aws).totals()["stored"] == 60


def test_a_message_counted_in_parts_is_processed_only_once_every_part_is_in(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given one message whose counts need three transactions, and a process that dies after one
    ledger = DynamoCounters(aws.refs["CountersTable"])
    minutes = Counter({("big", f"2021-01-01T{m // 60:02d}:{m % 60:02d}"): 1 for m in range(0, 1440, 7)})
    big = ("f" * 40, MessageTally(len(minutes), 0, {}, minutes))
    real = DynamoCounters._transact_markers
    calls = []

    def dies_after_one(self: DynamoCounters, items: Any, markers: int) -> Any:
        if calls:
            raise ProcessKilled
        calls.append(1)
        return real(self, items, markers)

    with aws.functions.acting_as("ProcessorFunction"):
        with monkeypatch.context() as patched:
            patched.setattr(DynamoCounters, "_transact_markers", dies_after_one)
            with pytest.raises(ProcessKilled):
                ledger.commit_batch([big])
        # Then the message does not count as processed (the dead-letter step would drop its rest)
        assert ledger.processed(big[0]) is False
        ledger.commit_batch([big])  # the redelivery finishes it
        assert ledger.processed(big[0]) is True
        ledger.commit_batch([big])
    view = admin_view(aws)
    days = view.buckets("day", "big", "2021-01-01T00:00:00.000000Z", "2021-01-02T00:00:00.000000Z")
    hours = view.buckets("hour", "big", "2021-01-01T00:00:00.000000Z", "2021-01-02T00:00:00.000000Z")
    assert (view.totals()["stored"], sum(days.values()), sum(hours.values())) == (len(minutes),) * 3


class ProcessKilled(BaseException):
    """The process died here."""


def test_dead_letters_are_counted_once_and_undone_by_a_redrive(aws: Aws) -> None:
    ledger = DynamoCounters(aws.refs["CountersTable"])
    with aws.functions.acting_as("ProcessorFunction"):
        assert ledger.count_dead_letter("c" * 40, 7) is True
        assert ledger.count_dead_letter("c" * 40, 7) is False
    assert admin_view(aws).totals()["dead_lettered"] == 7
    assert admin_view(aws).undo_dead_letter("c" * 40, 7) is True
    assert admin_view(aws).undo_dead_letter("c" * 40, 7) is False
    assert admin_view(aws).totals()["dead_lettered"] == 0


def test_two_copies_of_one_message_in_a_batch_are_counted_once(aws: Aws) -> None:
    ledger = DynamoCounters(aws.refs["CountersTable"])
    with aws.functions.acting_as("ProcessorFunction"):
        ledger.commit_batch([("d" * 40, tally(2)), ("e" * 40, tally(1)), ("d" * 40, tally(2))])
    assert admin_view(aws).totals()["stored"] == 3
