"""POST /events through the real ingest handler, under its role, against moto's SQS and DynamoDB."""

from __future__ import annotations

import base64
import json
from typing import Any

from tests.integration.conftest import Aws, sample
from tests.integration.functions import ingest_handler
from theeye.aws.keys import DynamoKeyStore
from theeye.keys import new_api_key
from theeye.messages import QueueMessage


def call(event: dict[str, Any], context: Any) -> tuple[int, dict[str, Any], dict[str, Any]]:
    response = ingest_handler(event, context)
    return response["statusCode"], json.loads(response["body"]), response.get("headers") or {}


def with_body(event: dict[str, Any], body: Any, **headers: str) -> dict[str, Any]:
    copy: dict[str, Any] = json.loads(json.dumps(event))
    copy["body"] = body if isinstance(body, str) else json.dumps(body)
    copy["headers"].update(headers)
    return copy


def test_the_briefing_batch_is_accepted_and_queued_in_one_message(
    aws: Aws, ingest_key: str, lambda_context: Any
) -> None:
    status, body, _ = call(sample("apigw_post_events_batch.json"), lambda_context)
    assert status == 202
    assert body["accepted"] == 3 and body["rejected"] == []
    (message,) = aws.drain()
    queued = QueueMessage.from_body(message["Body"])
    assert [q.event.event_id for q in queued.events] == body["event_ids"]
    assert queued.origin.application_id == "sample-app"
    assert queued.origin.received_at.endswith("Z")
    # the three share one timestamp, and still get three distinct ids
    assert len(set(body["event_ids"])) == 3


def test_x_api_key_and_the_beacon_query_key_are_accepted(
    aws: Aws, ingest_key: str, lambda_context: Any
) -> None:
    for name in ("apigw_post_events_single.json", "apigw_post_events_beacon.json"):
        status, body, _ = call(sample(name), lambda_context)
        assert (status, body["accepted"]) == (202, 1)


def test_missing_or_unknown_keys_are_401_and_nothing_is_queued(
    aws: Aws, ingest_key: str, lambda_context: Any
) -> None:
    event = sample("apigw_post_events_single.json")
    del event["headers"]["x-api-key"]
    status, body, _ = call(event, lambda_context)
    assert status == 401 and body["error"]["code"] == "unauthorized"
    event["headers"]["authorization"] = "Bearer eye_wrong-key-000000000000000000000000"
    status, body, _ = call(event, lambda_context)
    assert status == 401 and set(body["error"]) == {"code", "message", "details"}
    assert aws.drain() == []


def test_a_query_key_cannot_ingest(aws: Aws, lambda_context: Any) -> None:
    raw, record = new_api_key("analyst", ["query"])
    DynamoKeyStore(aws.refs["ApiKeysTable"], aws.client("dynamodb")).put(record)
    event = with_body(
        sample("apigw_post_events_single.json"), sample("briefing_events.json")[0], **{"x-api-key": raw}
    )
    status, body, _ = call(event, lambda_context)
    assert status == 403 and body["error"]["code"] == "forbidden"


def test_a_revoked_key_is_refused_once_the_cache_expires(
    aws: Aws, ingest_key: str, lambda_context: Any
) -> None:
    from ingest import handler

    store = DynamoKeyStore(aws.refs["ApiKeysTable"], aws.client("dynamodb"))  # the operators' CLI
    (record,) = [k for k in store.list() if k.application_id == "sample-app"]
    store.revoke(record.key_id)
    handler.dependencies.cache_clear()  # a new container: nothing cached
    status, body, _ = call(sample("apigw_post_events_single.json"), lambda_context)
    assert status == 401 and "revoked" in body["error"]["message"]


def test_invalid_json_is_400_and_reaches_the_error_store_through_the_queue(
    aws: Aws, ingest_key: str, lambda_context: Any
) -> None:
    status, body, _ = call(sample("apigw_post_events_invalid_json.json"), lambda_context)
    assert status == 400 and body["error"]["code"] == "invalid_json"
    (message,) = aws.drain()
    queued = QueueMessage.from_body(message["Body"])
    assert queued.events == []
    assert [(r.index, r.type) for r in queued.rejections] == [(None, "invalid_json")]
    assert queued.rejections[0].payload == '{"session_id": "s-1", '


def test_a_base64_body_is_decoded(aws: Aws, ingest_key: str, lambda_context: Any) -> None:
    event = sample("apigw_post_events_single.json")
    event["body"] = base64.b64encode(event["body"].encode()).decode()
    event["isBase64Encoded"] = True
    assert call(event, lambda_context)[0] == 202


def test_an_oversized_body_is_413(aws: Aws, ingest_key: str, lambda_context: Any) -> None:
    event = with_body(sample("apigw_post_events_single.json"), "x" * (1024 * 1024 + 1))
    status, body, _ = call(event, lambda_context)
    assert status == 413 and body["error"]["code"] == "payload_too_large"


def test_when_sqs_is_down_the_answer_is_503_with_retry_after(
    aws: Aws, ingest_key: str, lambda_context: Any
) -> None:
    aws.client("sqs").delete_queue(QueueUrl=aws.refs["EventsQueue"])
    status, body, headers = call(sample("apigw_post_events_batch.json"), lambda_context)
    assert status == 503 and body["error"]["code"] == "service_unavailable"
    assert int(headers["Retry-After"]) >= 1


def test_unknown_routes_get_the_error_shape(aws: Aws, ingest_key: str, lambda_context: Any) -> None:
    event = sample("apigw_post_events_single.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/nope"
    status, body, _ = call(event, lambda_context)
    assert status == 404 and body["error"]["code"] == "not_found"


def test_when_the_keys_table_is_throttled_the_answer_is_503_with_retry_after(
    aws: Aws, ingest_key: str, lambda_context: Any
) -> None:
    from botocore.exceptions import ClientError

    from theeye import aws as theeye_aws

    def throttled(params: dict[str, Any], **_: Any) -> None:
        if params.get("TableName") == aws.refs["ApiKeysTable"]:
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "GetItem"
            )

    events = theeye_aws.client("dynamodb").meta.events
    events.register("provide-client-params.dynamodb.GetItem", throttled)
    try:
        status, body, headers = call(sample("apigw_post_events_batch.json"), lambda_context)
    finally:
        events.unregister("provide-client-params.dynamodb.GetItem", throttled)
    assert status == 503 and body["error"]["code"] == "service_unavailable"
    assert int(headers["Retry-After"]) >= 1
    assert aws.drain() == []
