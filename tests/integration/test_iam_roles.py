"""Each function runs under exactly the role template.yaml gives it: no grant missing, none unused.

Every integration test runs its handlers under their functions' roles while moto enforces
IAM (``tests.integration.functions``, ``tests.integration.enforcement``), so a missing grant
stops the test that needs it with :class:`PermissionDenied`. Here each function is taken
through every code path that calls AWS, rare ones included, and what moto allowed its role is
compared with what the template's statements grant: an unused grant fails like a missing one.
(A batch too large for one transaction, ``DynamoCounters.commit_message``, is counted under the
processor's role in test_ledger.py; it needs the same two grants as every other count.)

The lake's functions run against the lake's resources in moto (``tests.integration.lake``):
the feeder's PutRecordBatch reaches the real delivery stream (moto keeps no Iceberg records),
the sweep's DELETE and ``POST /sql`` reach Athena, whose reads and writes as the caller (the
Glue table, the lake's files, the result files) are checked as AWS checks them
(``tests.integration.enforcement.athena_as_the_caller``). Two grants no code path here can
show, because only Athena's own behaviour on a real result upload uses them, are named in
:data:`UNPROVABLE` with the reason.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core import enable_iam_authentication

from tests.iam import Permission, granting
from tests.integration.conftest import Aws, sample
from tests.integration.functions import (
    PermissionDenied,
    feeder_handler,
    processor_handler,
    query_handler,
    sweep_handler,
)
from tests.integration.lake import athena_models_moto_speaks, create_lake, queue_athena_rows
from tests.integration.test_admin_handler import erase, replay
from tests.integration.test_feeder_handler import passes_the_event_sources_filter, stream_records
from tests.integration.test_processor_handler import post, sqs_event
from tests.integration.test_query_handler import SESSION, get
from theeye import aws as theeye_aws
from theeye.aws.keys import DynamoKeyStore
from theeye.keys import new_api_key
from theeye_local.lambdas import function_environment

DAY = {"from": "2021-01-01", "to": "2021-01-02"}


# Granted for Athena's use of the results location that no request shows: Athena aborts a
# multipart upload of a result only when that upload fails (AWS, "Access to Amazon S3",
# https://docs.aws.amazon.com/athena/latest/ug/s3-permissions.html, lists it for the results
# location); moto uploads nothing. The sweep never reads its statements' results (a DELETE's
# result file holds no rows), yet the results location asks for s3:GetObject the same way.
UNPROVABLE: Final = {
    "QueryFunction": {"s3:AbortMultipartUpload"},
    "LakeSweepFunction": {"s3:AbortMultipartUpload", "s3:GetObject on results"},
}


def _unprovable(function_id: str, permission: Permission, results_bucket: str) -> bool:
    reasons = UNPROVABLE.get(function_id, set())
    if permission.action in reasons:
        return True
    return f"{permission.action} on results" in reasons and f":::{results_bucket}/" in permission.resource


def assert_uses_exactly_its_grants(aws: Aws, function_id: str) -> None:
    granted, used = aws.functions.granted(function_id), aws.functions.used(function_id)
    results_bucket = aws.refs.get("QueryResultsBucket", "")
    granted = {p for p in granted if not _unprovable(function_id, p, results_bucket)}
    # a modelled access to a file stands for the grant on the files' pattern that allowed it
    used = {granting(p, granted) or p for p in used}
    assert used == granted, (
        f"{function_id}: granted but never used: {sorted(map(str, granted - used))}; "
        f"used but granted by no statement of template.yaml: {sorted(map(str, used - granted))}"
    )


@pytest.fixture
def lake(aws: Aws, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[tuple[dict[str, str], Any]]:
    """The lake's resources in moto, and the feeder's and the sweep's environments."""
    from feeder import handler as feeder
    from sweep import handler as sweep
    from theeye.analytics import engine
    from theeye.config import get_settings

    monkeypatch.setenv("AWS_DATA_PATH", athena_models_moto_speaks(tmp_path))
    theeye_aws.client.cache_clear()  # clients made from now on read it
    credentials = aws.session.get_credentials()
    admin = boto3.session.Session(
        credentials.access_key, credentials.secret_key, region_name=aws.session.region_name
    )
    names = create_lake(admin, aws.refs)
    aws.refs.update(names)
    # what the feeder and the sweep read besides the union the aws fixture set (the sweep's own
    # work group differs from the query function's: test_the_sweep_uses_every_grant_it_has)
    for function_id in ("FeederFunction", "LakeSweepFunction"):
        for name, value in function_environment(function_id, aws.refs).items():
            if name != "POWERTOOLS_SERVICE_NAME" and name not in os.environ:
                monkeypatch.setenv(name, value)
    caches = (get_settings, feeder.dependencies, sweep.dependencies)
    for cache in caches:
        cache.cache_clear()
    engine.reset()
    yield names, admin
    for cache in caches:
        cache.cache_clear()
    engine.reset()


def post_sql(body: Any, context: Any, key: str) -> tuple[int, Any]:
    """POST /sql as API Gateway sends it."""
    event = sample("apigw_get_health.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/sql"
    event["requestContext"]["http"]["method"] = "POST"
    event["routeKey"] = event["requestContext"]["routeKey"] = "$default"
    event["body"] = json.dumps(body)
    event["isBase64Encoded"] = False
    event["headers"]["authorization"] = f"Bearer {key}"
    response = query_handler(event, context)
    return response["statusCode"], json.loads(response["body"])


@pytest.fixture
def query_key(aws: Aws) -> str:
    raw, record = new_api_key("analysts", ["query"])
    DynamoKeyStore(aws.refs["ApiKeysTable"], aws.client("dynamodb")).put(record)
    return raw


@pytest.fixture
def admin_key(aws: Aws) -> str:
    raw, record = new_api_key("operators", ["admin"])
    DynamoKeyStore(aws.refs["ApiKeysTable"], aws.client("dynamodb")).put(record)
    return raw


@pytest.fixture
def forgetful_conditional_puts(aws: Aws) -> Iterator[None]:
    """A failed conditional put answers without the old item, so the event store reads the guard
    (``DynamoEventStore._read_guard``, its fallback for an endpoint that ignores
    ``ReturnValuesOnConditionCheckFailure``); moto always returns the item."""

    def forget(parsed: dict[str, Any], **_: Any) -> None:
        if parsed.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            parsed.pop("Item", None)

    events = theeye_aws.client("dynamodb").meta.events
    events.register("after-call.dynamodb.PutItem", forget)
    yield
    events.unregister("after-call.dynamodb.PutItem", forget)


def briefing_with_an_invalid_and_a_conflicting_event(context: Any) -> list[str]:
    """Three valid events, a schema violation and a second version of an event id, in two messages."""
    events = sample("briefing_events.json")
    first = post([*events, {**events[1], "data": {"host": "h", "path": "/"}, "event_id": "cta-1"}], context)
    second = post(
        [{**events[0], "event_id": first["event_ids"][0], "data": {"host": "h", "path": "/x"}}], context
    )
    return [*first["event_ids"], *second["event_ids"]]


def test_the_ingest_function_uses_every_grant_it_has(aws: Aws, ingest_key: str, lambda_context: Any) -> None:
    # key lookup, one queued message, the ledger's count of accepted events
    assert post(sample("briefing_events.json"), lambda_context)["accepted"] == 3
    assert_uses_exactly_its_grants(aws, "IngestFunction")


def test_the_processor_uses_every_grant_it_has(
    aws: Aws, ingest_key: str, lambda_context: Any, forgetful_conditional_puts: None
) -> None:
    briefing_with_an_invalid_and_a_conflicting_event(lambda_context)
    batch = sqs_event(aws, aws.drain())
    # events and guards stored, errors recorded, categories registered, the batch counted
    assert processor_handler(batch, lambda_context) == {"batchItemFailures": []}
    # a redelivery finds every guard and, told nothing more (forgetful_conditional_puts), reads it
    assert processor_handler(batch, lambda_context) == {"batchItemFailures": []}
    # a message past its processing attempts is counted dead-lettered and moved to the DLQ
    aws.client("sqs").send_message(QueueUrl=aws.refs["EventsQueue"], MessageBody="garbage")
    (poison,) = sqs_event(aws, aws.drain())["Records"]
    poison["attributes"]["ApproximateReceiveCount"] = os.environ["MAX_RECEIVE_COUNT"]  # its last
    assert processor_handler({"Records": [poison]}, lambda_context) == {"batchItemFailures": []}
    assert [m["Body"] for m in aws.drain("DeadLetterQueue")] == ["garbage"]
    # a message with no time left for it is put back in the queue
    aws.client("sqs").send_message(QueueUrl=aws.refs["EventsQueue"], MessageBody="later")
    hurried = sqs_event(aws, aws.drain())

    class Hurried:
        def __getattr__(self, name: str) -> Any:
            return getattr(lambda_context, name)

        @staticmethod
        def get_remaining_time_in_millis() -> int:
            return 1000

    assert processor_handler(hurried, Hurried()) == {"batchItemFailures": []}
    assert [m["Body"] for m in aws.drain()] == ["later"]
    assert_uses_exactly_its_grants(aws, "ProcessorFunction")


def test_the_query_function_uses_every_grant_it_has(
    aws: Aws, ingest_key: str, query_key: str, lambda_context: Any, lake: tuple[dict[str, str], Any]
) -> None:
    ids = briefing_with_an_invalid_and_a_conflicting_event(lambda_context)
    assert processor_handler(sqs_event(aws, aws.drain()), lambda_context) == {"batchItemFailures": []}
    errors = get("/errors", lambda_context, query_key)[1]["items"]  # errors by time
    assert {e["type"] for e in errors} == {"schema_violation", "event_id_conflict"}
    sessions = get("/sessions", lambda_context, query_key, **DAY)  # summaries by first event
    assert [s["session_id"] for s in sessions[1]["items"]] == [SESSION], sessions
    answers = [
        get("/events", lambda_context, query_key, session_id=SESSION),  # a session's partition
        get("/events", lambda_context, query_key, category="page interaction", **DAY),  # the index
        get("/events", lambda_context, query_key, **DAY),  # the day's categories, then the index
        get(f"/events/{ids[0]}", lambda_context, query_key),  # guard, then item
        get("/errors", lambda_context, query_key, type="schema_violation"),  # errors by type
        get(f"/errors/{errors[0]['error_id']}", lambda_context, query_key),
        get("/stats/events", lambda_context, query_key, interval="day", **DAY),  # registry, buckets
        get("/status", lambda_context, query_key),  # ledger totals, both queues' depths
    ]
    assert [status for status, _ in answers] == [200] * len(answers), answers
    # SQL on Athena: the query started in the analysts' work group (Athena reading the table's
    # definition and files and writing the result as the caller), polled, its result read
    queue_athena_rows(lake[1], [("category", "varchar"), ("n", "bigint")], [["page interaction", "3"]])
    status, answer = post_sql(
        {"sql": "SELECT category, count(*) AS n FROM events GROUP BY 1"}, lambda_context, query_key
    )
    assert (status, answer["rows"], answer["engine"]) == (200, [["page interaction", 3]], "athena"), answer
    assert_uses_exactly_its_grants(aws, "QueryFunction")


def test_the_feeder_uses_every_grant_it_has(
    aws: Aws, ingest_key: str, admin_key: str, lambda_context: Any, lake: tuple[dict[str, str], Any]
) -> None:
    # Given stored events, then their session erased
    post(sample("briefing_events.json"), lambda_context)
    assert processor_handler(sqs_event(aws, aws.drain()), lambda_context) == {"batchItemFailures": []}
    assert erase(SESSION, lambda_context, admin_key)[0] == 200
    events = [r for r in stream_records(aws) if passes_the_event_sources_filter(r)]
    inserts = [r for r in events if r["eventName"] == "INSERT"]
    # When the feeder sends their upserts, then their deletes, to the lake's delivery stream
    assert feeder_handler({"Records": inserts}, lambda_context) == {"batchItemFailures": []}
    assert feeder_handler({"Records": events}, lambda_context) == {"batchItemFailures": []}
    # Then it used exactly its one grant (reading the stream is the Lambda service's)
    assert_uses_exactly_its_grants(aws, "FeederFunction")


def test_the_sweep_uses_every_grant_it_has(
    aws: Aws,
    ingest_key: str,
    admin_key: str,
    lambda_context: Any,
    lake: tuple[dict[str, str], Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a session erased (its note written)
    post(sample("briefing_events.json"), lambda_context)
    assert processor_handler(sqs_event(aws, aws.drain()), lambda_context) == {"batchItemFailures": []}
    assert erase(SESSION, lambda_context, admin_key)[0] == 200
    from sweep import handler
    from theeye.config import get_settings

    monkeypatch.setenv(
        "ATHENA_WORKGROUP", function_environment("LakeSweepFunction", aws.refs)["ATHENA_WORKGROUP"]
    )
    get_settings.cache_clear()
    handler.dependencies.cache_clear()
    # When the sweep runs: the notes read, the DELETE run in the maintenance work group (Athena
    # reading and committing the table, writing the statement's result, as the caller), polled
    assert sweep_handler({}, lambda_context) == {"sessions": 1}
    assert_uses_exactly_its_grants(aws, "LakeSweepFunction")


def test_the_admin_function_uses_every_grant_it_has(
    aws: Aws, ingest_key: str, admin_key: str, lambda_context: Any
) -> None:
    # Given a session with stored events, schema-violation (and conflict) errors and a summary
    briefing_with_an_invalid_and_a_conflicting_event(lambda_context)
    assert processor_handler(sqs_event(aws, aws.drain()), lambda_context) == {"batchItemFailures": []}
    # When its conflict is replayed (the errors of a type read, the cursor key read, the error
    # claimed, its event queued again and counted as replayed)
    status, body = replay({"type": "event_id_conflict"}, lambda_context, admin_key)
    assert (status, body["replayed"]) == (200, 1), body
    # and it is erased: key lookup, the session's partition read and its events and guards
    # deleted with the ledger's erased count, its errors found by session and redacted, its
    # summary deleted
    status, body = erase(SESSION, lambda_context, admin_key)
    assert (status, body) == (200, {"session_id": SESSION, "events_erased": 3, "errors_redacted": 2})
    # Then exactly the admin role's grants were used
    assert_uses_exactly_its_grants(aws, "AdminFunction")


@pytest.mark.filterwarnings("ignore:No application metrics")  # the invocation dies before any
def test_a_grant_the_code_needs_stops_the_test_with_access_denied(
    aws: Aws, ingest_key: str, lambda_context: Any, forgetful_conditional_puts: None
) -> None:
    # Given the processor's role as it was before ReadTheGuardOfARedeliveredEvent
    aws.functions.revoke("ProcessorFunction", "dynamodb:GetItem")
    post(sample("briefing_events.json"), lambda_context)
    batch = sqs_event(aws, aws.drain())
    assert processor_handler(batch, lambda_context) == {"batchItemFailures": []}
    # When a redelivery has to read a guard back, then the call that needs the grant says so
    table = f"arn:aws:dynamodb:us-east-1:123456789012:table/{aws.refs['EventsTable']}"
    with pytest.raises(PermissionDenied) as denied:
        processor_handler(batch, lambda_context)
    assert str(denied.value).startswith("ProcessorFunction calling GetItem: User: arn:aws:sts::")
    assert f"is not authorized to perform: dynamodb:GetItem on resource: {table}" in str(denied.value)


def test_moto_alone_matches_resources_for_sqs_but_not_for_dynamodb() -> None:
    """Why ``enforce_resources`` exists: moto 5.2.5 checks DynamoDB actions against ``*`` only.

    If this starts failing, moto learned DynamoDB's resources and the completion may be smaller.
    """
    with mock_aws():
        setup = boto3.session.Session("k", "s", region_name="us-east-1")
        setup.client("dynamodb").create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        queue = setup.client("sqs").create_queue(QueueName="q")["QueueUrl"]
        iam = setup.client("iam")
        trust = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}
        role = iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        prefix = "arn:aws:{}:us-east-1:123456789012:"
        statements = [
            {
                "Effect": "Allow",
                "Action": "dynamodb:GetItem",
                "Resource": prefix.format("dynamodb") + "table/t",
            },
            {"Effect": "Allow", "Action": "sqs:GetQueueAttributes", "Resource": prefix.format("sqs") + "q"},
        ]
        document = json.dumps({"Version": "2012-10-17", "Statement": statements})
        iam.put_role_policy(RoleName="r", PolicyName="p", PolicyDocument=document)
        issued = setup.client("sts").assume_role(RoleArn=role, RoleSessionName="probe")["Credentials"]
        session = boto3.session.Session(
            issued["AccessKeyId"], issued["SecretAccessKey"], issued["SessionToken"], region_name="us-east-1"
        )
        with enable_iam_authentication():
            session.client("sqs").get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
            with pytest.raises(ClientError, match="not authorized to perform: dynamodb:GetItem"):
                session.client("dynamodb").get_item(TableName="t", Key={"pk": {"S": "a"}})
