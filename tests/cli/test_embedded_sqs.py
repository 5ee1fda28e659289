"""The SQS facade of the embedded backend (``theeye_local.sqlite_sqs.SqliteSqs``) as ``theeye dlq``
calls it: per-call visibility timeouts, raw bodies sent and deleted - and, for the local poll
loop, the queue's own visibility timeout when a receive names none."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from theeye.errors import InvalidRequest, NotFound
from theeye.sqlite.db import Database
from theeye.sqlite.queue import SqliteQueue
from theeye_local.sqlite_sqs import SqliteSqs

QUEUE = "sqlite://theeye-local-EventsQueue"
DLQ = "sqlite://theeye-local-DeadLetterQueue"
QUEUE_VISIBILITY = 180


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sqs(tmp_path: Path, clock: Clock) -> SqliteSqs:
    db = Database(tmp_path / "theeye.db")
    queue = SqliteQueue(
        db, "queue_messages", dead_letters="dead_letter_messages", max_receives=5, clock=clock
    )
    dead_letters = SqliteQueue(db, "dead_letter_messages", clock=clock)
    return SqliteSqs({QUEUE: queue, DLQ: dead_letters}, visibility_timeout=QUEUE_VISIBILITY)


def receive(sqs: SqliteSqs, url: str = DLQ, **kwargs: Any) -> list[dict[str, Any]]:
    return list(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, **kwargs).get("Messages", []))


def test_a_sent_body_is_received_verbatim_under_its_message_id(sqs: SqliteSqs, clock: Clock) -> None:
    body = '{"not": "quite a message of The Eye"'
    sent = sqs.send_message(QueueUrl=DLQ, MessageBody=body)
    [got] = receive(sqs, AttributeNames=["All"], MessageAttributeNames=["All"])
    assert got["Body"] == body
    assert got["MessageId"] == sent["MessageId"]
    assert got["MD5OfBody"] == sent["MD5OfMessageBody"]
    assert got["Attributes"]["ApproximateReceiveCount"] == "1"
    assert got["Attributes"]["SentTimestamp"] == str(int(clock.now * 1000))
    assert "MessageAttributes" not in got


def test_a_receive_hides_for_its_own_visibility_timeout(sqs: SqliteSqs, clock: Clock) -> None:
    sqs.send_message(QueueUrl=DLQ, MessageBody="peeked")
    assert len(receive(sqs, VisibilityTimeout=30)) == 1
    clock.now += 29
    assert receive(sqs) == []
    clock.now += 2  # past the 30 s this receive asked for, far from the queue's 180 s
    [again] = receive(sqs, VisibilityTimeout=0)
    assert again["Attributes"]["ApproximateReceiveCount"] == "2"
    assert len(receive(sqs)) == 1  # VisibilityTimeout 0: visible at once


def test_without_a_visibility_timeout_the_queue_s_own_applies(sqs: SqliteSqs, clock: Clock) -> None:
    sqs.send_message(QueueUrl=QUEUE, MessageBody="for the processor")
    assert len(receive(sqs, QUEUE)) == 1  # what the poller does
    clock.now += QUEUE_VISIBILITY - 1
    assert receive(sqs, QUEUE) == []
    clock.now += 2
    assert len(receive(sqs, QUEUE)) == 1


def test_delete_message_removes_what_it_names_and_a_stale_receipt_is_no_error(
    sqs: SqliteSqs, clock: Clock
) -> None:
    sqs.send_message(QueueUrl=DLQ, MessageBody="one")
    [first] = receive(sqs, VisibilityTimeout=10)
    clock.now += 11
    [second] = receive(sqs, VisibilityTimeout=10)  # received again: the first receipt is stale
    assert sqs.delete_message(QueueUrl=DLQ, ReceiptHandle=str(first["ReceiptHandle"])) == {}
    clock.now += 11
    assert len(receive(sqs, VisibilityTimeout=10)) == 1  # the stale receipt deleted nothing
    clock.now += 11
    [third] = receive(sqs, VisibilityTimeout=10)
    assert second["MessageId"] == third["MessageId"]
    sqs.delete_message(QueueUrl=DLQ, ReceiptHandle=str(third["ReceiptHandle"]))
    clock.now += 11
    assert receive(sqs) == []


def test_send_message_honours_a_delay(sqs: SqliteSqs, clock: Clock) -> None:
    sqs.send_message(QueueUrl=QUEUE, MessageBody="later", DelaySeconds=5)
    assert receive(sqs, QUEUE) == []
    clock.now += 5
    assert [m["Body"] for m in receive(sqs, QUEUE)] == ["later"]


def test_message_attributes_are_refused_rather_than_dropped(sqs: SqliteSqs) -> None:
    attributes = {"trace": {"DataType": "String", "StringValue": "x"}}
    with pytest.raises(InvalidRequest, match="no message attributes"):
        sqs.send_message(QueueUrl=QUEUE, MessageBody="b", MessageAttributes=attributes)
    assert receive(sqs, QUEUE) == []


def test_an_unknown_queue_url_is_named(sqs: SqliteSqs) -> None:
    with pytest.raises(NotFound, match="no embedded queue 'sqlite://elsewhere'"):
        sqs.send_message(QueueUrl="sqlite://elsewhere", MessageBody="b")
    with pytest.raises(NotFound, match="sqlite://theeye-local-DeadLetterQueue"):
        sqs.receive_message(QueueUrl="sqlite://elsewhere")


def test_the_batch_calls_report_each_entry(sqs: SqliteSqs, clock: Clock) -> None:
    for body in ("a", "b"):
        sqs.send_message(QueueUrl=DLQ, MessageBody=body)
    held = receive(sqs, VisibilityTimeout=60)
    entries = [
        {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
        for n, m in enumerate(held)
    ]
    entries.append({"Id": "gone", "ReceiptHandle": "no-such-receipt", "VisibilityTimeout": 0})
    answer = sqs.change_message_visibility_batch(QueueUrl=DLQ, Entries=entries)
    assert [e["Id"] for e in answer["Successful"]] == ["0", "1"]
    assert [e["Id"] for e in answer["Failed"]] == ["gone"]
    again = receive(sqs, VisibilityTimeout=60)  # visible again at once
    assert sorted(str(m["Body"]) for m in again) == ["a", "b"]
    deleted = sqs.delete_message_batch(
        QueueUrl=DLQ,
        Entries=[{"Id": str(n), "ReceiptHandle": str(m["ReceiptHandle"])} for n, m in enumerate(again)],
    )
    assert len(deleted["Successful"]) == 2
    clock.now += 61
    assert receive(sqs) == []
