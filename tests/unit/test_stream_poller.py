"""The local DynamoDB stream event source mapping (``theeye_local.stream_poller``) against a fake
stream: filtering as the template's FilterCriteria, Lambda's record shape, partial batch
failures resuming at the reported record, bisecting on errors, and the instant it has fed up to."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from theeye_local.lambdas import StreamSource
from theeye_local.pool import Outcome
from theeye_local.stream_poller import RecordFilter, StreamPoller, lambda_record
from theeye_local.template import load_template

ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/events/stream/2026-12-06T00:00:00.000"
EVENTS_ONLY = load_template().properties("FeederFunction")["Events"]["Stream"]["Properties"]["FilterCriteria"]


def source(**changes: Any) -> StreamSource:
    values: dict[str, Any] = {
        "function_id": "FeederFunction",
        "table_id": "EventsTable",
        "starting_position": "TRIM_HORIZON",
        "batch_size": 3,
        "batching_window_seconds": 0,
        "report_batch_item_failures": True,
        "bisect_on_error": True,
        "filters": tuple(f["Pattern"] for f in EVENTS_ONLY["Filters"]),
    }
    return StreamSource(**{**values, **changes})


def record(sequence: int, pk: str = "S#app#s-1") -> dict[str, Any]:
    return {
        "eventID": f"e{sequence}",
        "eventName": "INSERT",
        "eventVersion": "1.0",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": datetime(2026, 12, 6, 10, 0, 1, 500000, tzinfo=UTC),
            "Keys": {"pk": {"S": pk}, "sk": {"S": f"E#{sequence}"}},
            "NewImage": {"pk": {"S": pk}},
            "SequenceNumber": str(sequence),
            "SizeBytes": 10,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }


class FakeStream:
    """One shard; ``GetRecords`` answers from an iterator that is the position in ``records``."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = records

    def describe_stream(self, StreamArn: str) -> dict[str, Any]:
        return {"StreamDescription": {"Shards": [{"ShardId": "shard-1"}]}}

    def get_shard_iterator(self, **request: Any) -> dict[str, Any]:
        assert request["ShardIteratorType"] == "TRIM_HORIZON"
        return {"ShardIterator": "0"}

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:
        start = int(ShardIterator)
        got = self.records[start : start + Limit]
        return {"Records": got, "NextShardIterator": str(start + len(got))}


class Function:
    """Answers each invocation from ``answers`` (then succeeds), keeping the batches it got."""

    def __init__(self, *answers: Outcome) -> None:
        self.answers = list(answers)
        self.batches: list[list[str]] = []

    def __call__(self, event: dict[str, Any]) -> Outcome:
        self.batches.append([r["dynamodb"]["SequenceNumber"] for r in event["Records"]])
        return self.answers.pop(0) if self.answers else Outcome("ok", payload='{"batchItemFailures": []}')


def poller(stream: FakeStream, function: Function, caught_up: list[datetime], **changes: Any) -> StreamPoller:
    return StreamPoller(
        source(**changes),
        stream,
        ARN,
        function,
        region="eu-west-1",
        retry_delay_seconds=0,
        caught_up=caught_up.append,
        name="test-stream",
    )


def test_records_reach_the_function_shaped_as_lambdas_dynamodb_event() -> None:
    shaped = lambda_record(record(7), ARN, "eu-west-1")

    assert shaped["eventSourceARN"] == ARN
    assert shaped["awsRegion"] == "eu-west-1"
    assert shaped["eventVersion"] == "1.1"
    assert shaped["dynamodb"]["ApproximateCreationDateTime"] == 1796551201.0  # epoch seconds, as Lambda
    assert shaped["dynamodb"]["SequenceNumber"] == "7"
    json.dumps(shaped)  # nothing but JSON, as the function receives it


def test_the_templates_filter_keeps_event_items_and_drops_guards() -> None:
    events_only = RecordFilter(source().filters)

    assert events_only.passes(lambda_record(record(1, "S#app#s-1"), ARN, "us-east-1"))
    assert not events_only.passes(lambda_record(record(2, "E#ev-1"), ARN, "us-east-1"))
    assert RecordFilter(()).passes(lambda_record(record(2, "E#ev-1"), ARN, "us-east-1"))


def test_batches_go_in_stream_order_without_the_filtered_records_then_it_reports_caught_up() -> None:
    stream = FakeStream([record(1), record(2, "E#guard"), record(3), record(4), record(5)])
    function, caught_up = Function(), []
    mapping = poller(stream, function, caught_up)

    assert mapping.step() == 0.0  # a full batch: more may wait
    assert function.batches == [["1", "3", "4"]]
    assert caught_up == []

    mapping.step()
    assert function.batches == [["1", "3", "4"], ["5"]]
    assert len(caught_up) == 1


def test_a_reported_failure_resumes_the_stream_at_that_record() -> None:
    stream = FakeStream([record(1), record(2), record(3)])
    function = Function(Outcome("a", payload=json.dumps({"batchItemFailures": [{"itemIdentifier": "2"}]})))
    caught_up: list[datetime] = []
    mapping = poller(stream, function, caught_up)

    mapping.step()
    assert caught_up == []
    mapping.step()

    assert function.batches == [["1", "2", "3"], ["2", "3"]]
    assert len(caught_up) == 1


def test_a_function_error_bisects_the_batch_until_it_goes_and_a_malformed_answer_retries_it() -> None:
    error = Outcome("e", error={"errorType": "Boom", "errorMessage": "no"})
    stream = FakeStream([record(1), record(2), record(3)])
    function = Function(
        error, Outcome("m", payload=json.dumps({"batchItemFailures": [{"itemIdentifier": "9"}]}))
    )
    mapping = poller(stream, function, [])

    for _ in range(5):
        mapping.step()

    assert function.batches == [["1", "2", "3"], ["1"], ["1"], ["2", "3"]]


def test_without_records_it_reports_the_instant_it_read_at() -> None:
    caught_up: list[datetime] = []
    before = datetime.now(UTC)

    poller(FakeStream([]), Function(), caught_up).step()

    (moment,) = caught_up
    assert moment >= before
