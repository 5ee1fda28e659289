"""The lake feeder driven by the events table's real stream (moto's), after real processor writes
and a real erasure; Firehose is checked at the boto3 boundary (moto keeps no Iceberg records).

Given events stored by the processor (each an event item and its guard) and a session erased
by the admin function, the stream's records, filtered as the event source filters them, are
handed to the feeder as Lambda hands them; the records it sends to Firehose are the rows of
``events`` (``theeye.analytics.table.row_of``) and the deletes of the erased events.

The moto local stack's path too: its stream poller (``theeye_local.stream_poller``) reads the
stream and invokes the feeder, whose sink is the local lake when ``LAKE_DIRECTORY`` is set.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from tests.integration.conftest import Aws, sample
from tests.integration.functions import feeder_handler, processor_handler
from tests.integration.test_admin_handler import erase, new_key
from tests.integration.test_processor_handler import post, sqs_event
from theeye import aws as theeye_aws
from theeye.analytics.local_lake import LocalLake
from theeye.analytics.table import COLUMN_NAMES, Snapshot
from theeye_local.intrinsics import LocalWorld, Resolver
from theeye_local.lambdas import StreamSource, function_environment, load_functions
from theeye_local.pool import Outcome
from theeye_local.stream_poller import RecordFilter, StreamPoller, lambda_record, stream_arn_of
from theeye_local.template import load_template

REGION = "us-east-1"


@pytest.fixture
def firehose(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    from feeder import handler

    for name, value in function_environment("FeederFunction", aws.refs).items():
        if name != "POWERTOOLS_SERVICE_NAME":
            monkeypatch.setenv(name, value)
    from theeye.config import get_settings

    get_settings.cache_clear()
    handler.dependencies.cache_clear()
    with Stubber(theeye_aws.client("firehose")) as stubber:
        yield stubber
    handler.dependencies.cache_clear()


def streams_client(aws: Aws) -> Any:
    # the service's regional endpoint: the one moto routes (botocore may resolve another)
    return aws.session.client(
        "dynamodbstreams", endpoint_url=f"https://streams.dynamodb.{REGION}.amazonaws.com"
    )


def stream_records(aws: Aws) -> list[dict[str, Any]]:
    """Every record of the events table's stream, as Lambda's DynamoDB event carries them."""
    arn = stream_arn_of(aws.client("dynamodb"), aws.refs["EventsTable"])
    streams = streams_client(aws)
    records: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        got = streams.get_records(ShardIterator=iterator)["Records"]
        records += [lambda_record(r, arn, REGION) for r in got]
    return records


def feeder_source(aws: Aws) -> StreamSource:
    """FeederFunction's event source mapping, as the local stack reads it from the template."""
    template = load_template()
    (source,) = load_functions(template, Resolver(template, LocalWorld(), aws.refs))[
        "FeederFunction"
    ].stream_sources
    return source


def passes_the_event_sources_filter(record: dict[str, Any]) -> bool:
    """FeederFunction's FilterCriteria, applied as Lambda (and the moto local stack) applies it."""
    stream = load_template().properties("FeederFunction")["Events"]["Stream"]["Properties"]
    return RecordFilter(f["Pattern"] for f in stream["FilterCriteria"]["Filters"]).passes(record)


def sent(stubber: Stubber, stream_name: str, count: int, answer: dict[str, Any] | None = None) -> list[bytes]:
    """Expect one PutRecordBatch of ``count`` records; the list fills with their data when it runs."""
    captured: list[bytes] = []

    class Records:
        def __eq__(self, records: object) -> bool:
            assert isinstance(records, list) and len(records) == count, records
            captured.extend(r["Data"] for r in records)
            return True

    stubber.add_response(
        "put_record_batch",
        answer or {"FailedPutCount": 0, "RequestResponses": [{"RecordId": f"r{i}"} for i in range(count)]},
        {"DeliveryStreamName": stream_name, "Records": Records()},
    )
    return captured


def test_stored_events_become_rows_and_an_erased_sessions_events_deletes(
    aws: Aws, ingest_key: str, lambda_context: Any, firehose: Stubber
) -> None:
    # Given the briefing's three events stored, then their session erased
    ids = post(sample("briefing_events.json"), lambda_context)["event_ids"]
    assert processor_handler(sqs_event(aws, aws.drain()), lambda_context) == {"batchItemFailures": []}
    session = json.loads(json.dumps(sample("briefing_events.json")))[0]["session_id"]
    assert erase(session, lambda_context, new_key(aws, "admin"))[0] == 200
    records = stream_records(aws)
    events = [r for r in records if passes_the_event_sources_filter(r)]
    assert len(records) == 12 and len(events) == 6  # items and guards, each written then removed
    stream_name = (
        aws.refs.get("LakeDeliveryStream")
        or function_environment("FeederFunction", aws.refs)["LAKE_DELIVERY_STREAM"]
    )

    # When the feeder gets the stored events' records, then each becomes its row
    data = sent(firehose, stream_name, 3)
    inserts = [r for r in events if r["eventName"] == "INSERT"]
    assert feeder_handler({"Records": inserts}, lambda_context) == {"batchItemFailures": []}
    rows = [json.loads(d) for d in data]
    assert [list(row) for row in rows] == [list(COLUMN_NAMES)] * 3
    assert sorted(row["event_id"] for row in rows) == sorted(ids)
    assert all(isinstance(row["event_time"], int) and row["received_at"] for row in rows)

    # When it gets every record at once, then only each event's last change goes: its delete,
    # in its row's partition (the same event_time)
    data = sent(firehose, stream_name, 3)
    assert feeder_handler({"Records": events}, lambda_context) == {"batchItemFailures": []}
    deletes = [json.loads(d) for d in data]
    assert {d["event_id"]: d["event_time"] for d in deletes} == {r["event_id"]: r["event_time"] for r in rows}
    assert all(d["received_at"] is None and d["data"] is None for d in deletes)
    firehose.assert_no_pending_responses()


def test_a_refused_record_is_retried_and_what_stays_refused_resumes_the_stream_there(
    aws: Aws, ingest_key: str, lambda_context: Any, firehose: Stubber, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("theeye.aws.lake.time.sleep", lambda _seconds: None)
    post(sample("briefing_events.json"), lambda_context)
    assert processor_handler(sqs_event(aws, aws.drain()), lambda_context) == {"batchItemFailures": []}
    inserts = [r for r in stream_records(aws) if passes_the_event_sources_filter(r)]
    stream_name = function_environment("FeederFunction", aws.refs)["LAKE_DELIVERY_STREAM"]
    refused = {"ErrorCode": "ServiceUnavailableException", "ErrorMessage": "Slow down."}
    # the second record is refused every time; the first and third go at once
    sent(
        firehose,
        stream_name,
        3,
        {"FailedPutCount": 1, "RequestResponses": [{"RecordId": "a"}, refused, {"RecordId": "c"}]},
    )
    for _ in range(3):
        sent(firehose, stream_name, 1, {"FailedPutCount": 1, "RequestResponses": [refused]})
    answer = feeder_handler({"Records": inserts}, lambda_context)
    assert answer == {"batchItemFailures": [{"itemIdentifier": inserts[1]["dynamodb"]["SequenceNumber"]}]}
    firehose.assert_no_pending_responses()


def expired(insert: dict[str, Any], sequence: int) -> dict[str, Any]:
    """The stream record of an event item deleted by the table's TTL, shaped as DynamoDB writes it
    (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/time-to-live-ttl-streams.html):
    a REMOVE with the item as its old image, by the DynamoDB service itself."""
    stream = insert["dynamodb"]
    return {
        **insert,
        "eventName": "REMOVE",
        "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"},
        "dynamodb": {
            "Keys": stream["Keys"],
            "OldImage": stream["NewImage"],
            "SequenceNumber": str(sequence),
            "SizeBytes": stream["SizeBytes"],
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }


def test_events_the_tables_ttl_removes_become_deletes_in_their_rows_partitions(
    aws: Aws, ingest_key: str, lambda_context: Any, firehose: Stubber
) -> None:
    # Given the briefing's events stored and fed to the lake
    post(sample("briefing_events.json"), lambda_context)
    assert processor_handler(sqs_event(aws, aws.drain()), lambda_context) == {"batchItemFailures": []}
    inserts = [r for r in stream_records(aws) if passes_the_event_sources_filter(r)]
    stream_name = function_environment("FeederFunction", aws.refs)["LAKE_DELIVERY_STREAM"]
    rows = sent(firehose, stream_name, 3)
    assert feeder_handler({"Records": inserts}, lambda_context) == {"batchItemFailures": []}
    # When the table's TTL removes two of them
    last = max(int(r["dynamodb"]["SequenceNumber"]) for r in inserts)
    removals = [expired(insert, last + n) for n, insert in enumerate(inserts[:2], start=1)]
    data = sent(firehose, stream_name, 2)
    assert feeder_handler({"Records": removals}, lambda_context) == {"batchItemFailures": []}
    # Then each becomes the delete of its event, in its row's partition
    by_id = {row["event_id"]: row for row in map(json.loads, rows)}
    deletes = [json.loads(d) for d in data]
    assert [d["event_id"] for d in deletes] == [
        r["dynamodb"]["NewImage"]["event_id"]["S"] for r in inserts[:2]
    ]
    for delete in deletes:
        assert delete["event_time"] == by_id[delete["event_id"]]["event_time"]
        assert delete["received_at"] is None and delete["session_id"] is None
    firehose.assert_no_pending_responses()


def test_the_moto_stacks_stream_poller_feeds_the_local_lake_through_the_feeder(
    aws: Aws, ingest_key: str, lambda_context: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from feeder import handler
    from theeye.config import get_settings

    # Given the feeder configured as the moto local stack configures it (LAKE_DIRECTORY set)
    lake = LocalLake(tmp_path / "lake")
    monkeypatch.setenv("LAKE_DIRECTORY", str(lake.directory))
    get_settings.cache_clear()
    handler.dependencies.cache_clear()

    def invoke(event: dict[str, Any]) -> Outcome:
        return Outcome("local", payload=json.dumps(feeder_handler(event, lambda_context)))

    fed_up_to: list[datetime] = []
    source = replace(feeder_source(aws), batching_window_seconds=0)  # no waiting in a test
    arn = stream_arn_of(aws.client("dynamodb"), aws.refs["EventsTable"])
    poller = StreamPoller(
        source,
        streams_client(aws),
        arn,
        invoke,
        region=REGION,
        retry_delay_seconds=0,
        caught_up=fed_up_to.append,
        name="feeder-stream",
    )

    # When events are stored and the poller reads the stream
    events = sample("briefing_events.json")
    ids = post(events, lambda_context)["event_ids"]
    assert processor_handler(sqs_event(aws, aws.drain()), lambda_context) == {"batchItemFailures": []}
    stored_before = datetime.now(UTC)
    poller.step()

    # Then the lake holds each stored event once, and the poller says up to when
    assert sorted(local_rows(lake)) == sorted(ids)
    assert fed_up_to and fed_up_to[-1] >= stored_before

    # When the session is erased, then its rows leave the lake
    session = events[0]["session_id"]
    assert erase(session, lambda_context, new_key(aws, "admin"))[0] == 200
    poller.step()
    assert local_rows(lake) == []
    handler.dependencies.cache_clear()
    lake.close()


def local_rows(lake: LocalLake) -> list[str]:
    import duckdb

    def read(snapshot: Snapshot) -> list[str]:
        if not snapshot.files:
            return []
        query = "SELECT event_id FROM read_parquet(?)"
        return [row[0] for row in duckdb.connect().execute(query, [list(snapshot.files)]).fetchall()]

    return lake.read(read)
