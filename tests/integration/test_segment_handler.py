"""The Segment-compatible routes through the real ingest handler, under its role, against moto's
SQS and DynamoDB: the ways a key is presented, the answer Segment's libraries expect, and the
messages queued as the events of POST /events."""

from __future__ import annotations

import base64
import gzip
import io
import json
from typing import Any

import pytest

from tests.integration.conftest import Aws, sample
from tests.integration.functions import ingest_handler
from theeye.aws.keys import DynamoKeyStore
from theeye.keys import hash_key, new_api_key
from theeye.messages import QueueMessage
from theeye.observability import logger
from theeye.segment import ROUTES

TRACK = {
    "type": "track",
    "event": "Order Completed",
    "anonymousId": "anon-7",
    "userId": "user-7",
    "properties": {"revenue": 19.99, "currency": "EUR"},
    "context": {"library": {"name": "analytics-python", "version": "2.3.4"}},
    "messageId": "5f0e7c1c-2d7b-4f5e-8f3e-6d2b9c1a7e01",
    "timestamp": "2026-12-02T09:00:00.000000+00:00",
}


def request(
    path: str, body: Any, *, headers: dict[str, str] | None = None, key: str | None = None
) -> dict[str, Any]:
    """An API Gateway v2 event of POST ``path``: the sample's, its key header replaced."""
    event: dict[str, Any] = sample("apigw_post_events_single.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["routeKey"] = event["requestContext"]["routeKey"] = f"POST {path}"
    event["headers"].pop("x-api-key")
    if key is not None:
        event["headers"]["authorization"] = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    event["headers"].update(headers or {})
    event["body"] = body if isinstance(body, str) else json.dumps(body)
    return event


def call(event: dict[str, Any], context: Any) -> tuple[int, dict[str, Any]]:
    response = ingest_handler(event, context)
    return response["statusCode"], json.loads(response["body"])


def queued(aws: Aws) -> list[QueueMessage]:
    return [QueueMessage.from_body(m["Body"]) for m in aws.drain()]


def test_every_route_answers_success_and_queues_one_event_per_message(
    aws: Aws, ingest_key: str, lambda_context: Any
) -> None:
    for path, kind in ROUTES.items():
        one = {**TRACK, "messageId": f"m-{kind}"}
        body = {"batch": [TRACK, {**TRACK, "messageId": "second"}]} if kind is None else one
        status, answer = call(request(path, body, key=ingest_key), lambda_context)
        assert (status, answer) == (200, {"success": True}), path
    events = [q.event for m in queued(aws) for q in m.events]
    assert len(events) == len(ROUTES) + 1
    by_type = {e.data["segment"]["type"]: e for e in events if e.event_id != "second"}
    assert set(by_type) == {k for k in ROUTES.values() if k}
    (order,) = [e for e in events if e.event_id == TRACK["messageId"]]
    assert (order.session_id, order.category, order.name) == ("anon-7", "track", "Order Completed")
    assert order.event_id == TRACK["messageId"]
    assert order.timestamp == "2026-12-02T09:00:00.000000Z"
    assert order.data["revenue"] == 19.99 and order.data["segment"]["userId"] == "user-7"
    assert by_type["page"].name == "pageview" and by_type["identify"].name == "identify"


@pytest.mark.parametrize("how", ["bearer", "x-api-key", "write-key", "write-key-in-a-message", "gzip-basic"])
def test_the_key_may_come_in_any_of_the_accepted_ways(
    aws: Aws, ingest_key: str, lambda_context: Any, how: str
) -> None:
    body: Any = {"batch": [TRACK]}
    headers: dict[str, str] = {}
    key = None
    if how == "bearer":
        headers["authorization"] = f"Bearer {ingest_key}"
    elif how == "x-api-key":
        headers["x-api-key"] = ingest_key
    elif how == "write-key":
        body["writeKey"] = ingest_key
    elif how == "write-key-in-a-message":
        body = {"batch": [{**TRACK, "writeKey": ingest_key}]}
    else:
        key, headers["content-encoding"] = ingest_key, "gzip"
    event = request("/v1/batch", body, headers=headers, key=key)
    if how == "gzip-basic":
        event["body"] = base64.b64encode(gzip.compress(event["body"].encode())).decode()
        event["isBase64Encoded"] = True
    status, answer = call(event, lambda_context)
    assert (status, answer) == (200, {"success": True})
    (message,) = queued(aws)
    assert ingest_key not in message.to_body()


def test_basic_is_refused_on_post_events(aws: Aws, ingest_key: str, lambda_context: Any) -> None:
    status, answer = call(request("/events", sample("briefing_events.json"), key=ingest_key), lambda_context)
    assert status == 401 and answer["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Basic " + base64.b64encode(b"eye_wrong-key-000000000000000000000000:").decode(),
        "Basic " + base64.b64encode(b"eye_sample-ingest-key-for-tests-and-sam-local-0001:password").decode(),
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
    ],
)
def test_a_missing_wrong_or_malformed_key_is_401_and_nothing_is_queued(
    aws: Aws, ingest_key: str, lambda_context: Any, authorization: str | None
) -> None:
    headers = {"authorization": authorization} if authorization else {}
    status, answer = call(request("/v1/track", TRACK, headers=headers), lambda_context)
    assert status == 401 and set(answer["error"]) == {"code", "message", "details"}
    assert aws.drain() == []


def test_an_unreadable_body_without_a_header_key_is_401(
    aws: Aws, ingest_key: str, lambda_context: Any
) -> None:
    for body in ('{"writeKey": "' + ingest_key + '", "batch": [', "x" * (1024 * 1024 + 10)):
        status, answer = call(request("/v1/batch", body), lambda_context)
        assert status == 401, answer
    assert aws.drain() == []


def test_a_query_key_cannot_send(aws: Aws, lambda_context: Any) -> None:
    raw, record = new_api_key("analyst", ["query"])
    DynamoKeyStore(aws.refs["ApiKeysTable"], aws.client("dynamodb")).put(record)
    status, answer = call(request("/v1/batch", {"batch": [TRACK], "writeKey": raw}), lambda_context)
    assert status == 403 and answer["error"]["code"] == "forbidden"


def test_when_every_message_is_rejected_the_answer_is_the_400_of_post_events(
    aws: Aws, ingest_key: str, lambda_context: Any
) -> None:
    body = {"batch": [{"type": "track", "anonymousId": "a"}, {"type": "wat", "userId": "u"}]}
    status, answer = call(request("/v1/batch", body, key=ingest_key), lambda_context)
    assert status == 400 and answer["error"]["code"] == "invalid_events"
    assert [d["errors"][0]["field"] for d in answer["error"]["details"]] == ["event", "type"]
    (message,) = queued(aws)  # both rejections go to the error store
    assert [(r.index, r.session_id) for r in message.rejections] == [(0, "a"), (1, None)]


@pytest.mark.parametrize(
    ("path", "body", "code", "status"),
    [
        ("/v1/batch", "[]", "invalid_body", 400),
        ("/v1/batch", '{"batch": []}', "empty_batch", 400),
        ("/v1/track", "[1]", "invalid_body", 400),
        ("/v1/track", "{nope", "invalid_json", 400),
        ("/v1/track", '{"anonymousId": "s\\ud800", "event": "x"}', "invalid_json", 400),
        ("/v1/batch", '{"batch": [{"type": "page", "properties": {"\\udfff": 1}}]}', "invalid_json", 400),
        ("/v1/track", "", "empty_body", 400),
        ("/v1/batch", '{"batch": [' + ",".join(['{"type": "alias"}'] * 501) + "]}", "too_many_events", 400),
        ("/v1/batch", '{"batch": ["' + "x" * (1024 * 1024) + '"]}', "payload_too_large", 413),
    ],
)
def test_bodies_that_are_not_messages_get_the_statuses_of_post_events(
    aws: Aws, ingest_key: str, lambda_context: Any, path: str, body: str, code: str, status: int
) -> None:
    got, answer = call(request(path, body, key=ingest_key), lambda_context)
    assert (got, answer["error"]["code"]) == (status, code)


def test_when_sqs_is_down_the_answer_is_503(aws: Aws, ingest_key: str, lambda_context: Any) -> None:
    aws.client("sqs").delete_queue(QueueUrl=aws.refs["EventsQueue"])
    response = ingest_handler(request("/v1/batch", {"batch": [TRACK]}, key=ingest_key), lambda_context)
    assert response["statusCode"] == 503 and int(response["headers"]["Retry-After"]) >= 1


def test_no_key_appears_in_a_log_line_or_the_queue(
    aws: Aws, ingest_key: str, lambda_context: Any, capsys: Any
) -> None:
    stream = io.StringIO()
    previous = logger.registered_handler.setStream(stream)  # type: ignore[attr-defined]
    try:
        wrong = "eye_this-key-does-not-exist-0000000000000"
        for key in (ingest_key, wrong):
            call(request("/v1/batch", {"batch": [TRACK]}, key=key), lambda_context)
            call(request("/v1/batch", {"batch": [TRACK], "writeKey": key}), lambda_context)
            call(request("/v1/batch", '{"writeKey": "' + key + '", "batch": [1', headers={}), lambda_context)
            call(
                request("/v1/batch", '{"writeKey": "' + key + '", "batch": 1}', key=ingest_key),
                lambda_context,
            )
    finally:
        logger.registered_handler.setStream(previous)  # type: ignore[attr-defined]
    logged = stream.getvalue() + capsys.readouterr().out
    bodies = "".join(m["Body"] for m in aws.drain())
    assert logged.count("\n") >= 6 and bodies
    for key in (ingest_key, wrong):
        for text in (logged, bodies):
            assert key not in text and hash_key(key) not in text
