"""POST /events/validate through the real ingest handler, under the ingest function's own role,
against moto's SQS and DynamoDB built from template.yaml: it answers every check, and it writes
nothing at all (no message, no ledger count, no recorded error)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.conftest import Aws, sample
from tests.integration.functions import ingest_handler
from theeye.aws.keys import DynamoKeyStore
from theeye.config import get_settings
from theeye.keys import new_api_key

HOST = {"host": "www.example.com", "path": "/"}


def validate_request(body: Any, **headers: str) -> dict[str, Any]:
    event: dict[str, Any] = sample("apigw_post_events_single.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/events/validate"
    event["routeKey"] = event["requestContext"]["routeKey"] = "POST /events/validate"
    event["body"] = body if isinstance(body, str) else json.dumps(body)
    event["headers"].update(headers)
    return event


def call(event: dict[str, Any], context: Any) -> tuple[int, Any]:
    response = ingest_handler(event, context)
    return response["statusCode"], json.loads(response["body"])


def items(aws: Aws, table: str) -> list[dict[str, Any]]:
    return list(aws.client("dynamodb").scan(TableName=aws.refs[table])["Items"])


def nothing_written(aws: Aws) -> bool:
    return (
        aws.drain(),
        items(aws, "CountersTable"),
        items(aws, "ErrorsTable"),
        items(aws, "EventsTable"),
    ) == (
        [],
        [],
        [],
        [],
    )


def event(**changes: Any) -> dict[str, Any]:
    value = {"session_id": "s-1", "category": "page interaction", "name": "pageview", "data": dict(HOST)}
    return {**value, "timestamp": datetime.now(UTC).isoformat(), **changes}


def test_every_check_is_answered_and_moto_holds_nothing_afterwards(
    aws: Aws, ingest_key: str, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the stack rejects unknown types (the template's UnknownEventTypes=reject)
    from ingest import handler

    monkeypatch.setenv("UNKNOWN_EVENT_TYPES", "reject")
    get_settings.cache_clear()
    handler.dependencies.cache_clear()
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    events = [
        event(event_id="ok-1"),
        event(session_id=""),
        event(name="submit", category="form interaction", data={**HOST, "form": {"a": 1, "b": 2}}),
        event(timestamp=future),
        event(name="hover"),
    ]
    # When they are validated with the key of the sample events
    status, answer = call(validate_request(events), lambda_context)
    # Then every problem is reported
    assert status == 200
    assert (answer["valid"], answer["invalid"]) == (1, 4)
    found = [[(e["type"], e["field"]) for e in r["errors"]] for r in answer["results"]]
    assert found == [
        [],
        [("invalid_envelope", "session_id")],
        [("schema_violation", "data.form.a"), ("schema_violation", "data.form.b")],
        [("future_timestamp", "timestamp")],
        [("unknown_event_type", "category")],
    ]
    assert answer["results"][0]["event_id"] == "ok-1" and answer["results"][1]["event_id"] is None
    # And nothing was queued, counted or stored
    assert nothing_written(aws)


def test_a_refused_body_reaches_neither_the_queue_nor_the_ledger(
    aws: Aws, ingest_key: str, lambda_context: Any
) -> None:
    invalid = sample("apigw_post_events_invalid_json.json")["body"]
    status, body = call(validate_request(invalid), lambda_context)
    assert status == 400 and body["error"]["code"] == "invalid_json"
    status, body = call(validate_request("x" * (1024 * 1024 + 1)), lambda_context)
    assert status == 413 and body["error"]["code"] == "payload_too_large"
    assert nothing_written(aws)


def test_keys_without_the_ingest_scope_and_unknown_keys_are_refused(
    aws: Aws, ingest_key: str, lambda_context: Any
) -> None:
    raw, record = new_api_key("analyst", ["query"])
    DynamoKeyStore(aws.refs["ApiKeysTable"], aws.client("dynamodb")).put(record)
    status, body = call(validate_request([event()], **{"x-api-key": raw}), lambda_context)
    assert (status, body["error"]["code"]) == (403, "forbidden")
    missing = validate_request([event()])
    del missing["headers"]["x-api-key"]
    assert call(missing, lambda_context)[0] == 401
    assert nothing_written(aws)


def test_the_ingest_role_needs_no_new_grant_for_it(aws: Aws, ingest_key: str, lambda_context: Any) -> None:
    assert call(validate_request([event()]), lambda_context)[0] == 200
    # the key lookup and its use recorded (once a minute) are all it did: nothing queued, stored or
    # counted; the fixture fails the test if a managed policy was needed
    assert {p.action for p in aws.functions.used("IngestFunction")} == {
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
    }
