"""Authentication never writes key material to the logs, whether it succeeds or fails."""

from __future__ import annotations

import io
import json
from typing import Any

from tests.integration.conftest import Aws, sample
from tests.integration.functions import ingest_handler, query_handler
from theeye.aws.keys import DynamoKeyStore
from theeye.keys import hash_key, new_api_key
from theeye.observability import logger


def test_no_key_or_key_hash_appears_in_any_log_line(
    aws: Aws, ingest_key: str, lambda_context: Any, capsys: Any
) -> None:
    raw_query, record = new_api_key("analysts", ["query"])
    DynamoKeyStore(aws.refs["ApiKeysTable"], aws.client("dynamodb")).put(record)
    wrong = "eye_this-key-does-not-exist-0000000000000"
    stream = io.StringIO()
    previous = logger.registered_handler.setStream(stream)  # type: ignore[attr-defined]
    try:
        for key in (ingest_key, wrong, raw_query):
            for header in ("authorization", "x-api-key"):
                event = sample("apigw_post_events_single.json")
                event["headers"].pop("x-api-key", None)
                event["headers"][header] = f"Bearer {key}" if header == "authorization" else key
                ingest_handler(event, lambda_context)
            beacon = sample("apigw_post_events_beacon.json")
            beacon["queryStringParameters"] = {"key": key}
            beacon["rawQueryString"] = f"key={key}"
            ingest_handler(beacon, lambda_context)
            query = sample("apigw_get_health.json")
            query["rawPath"] = query["requestContext"]["http"]["path"] = "/events"
            query["headers"]["authorization"] = f"Bearer {key}"
            query_handler(query, lambda_context)
    finally:
        logger.registered_handler.setStream(previous)  # type: ignore[attr-defined]
    logged = stream.getvalue() + capsys.readouterr().out
    assert logged.count("\n") >= 10  # the requests were logged...
    for key in (ingest_key, wrong, raw_query):
        assert key not in logged  # ...but never a key
        assert hash_key(key) not in logged  # nor a hash that identifies one
        assert key.split("_", 1)[1][:12] not in logged
    assert all(json.loads(line) for line in stream.getvalue().splitlines())


def test_no_end_user_address_appears_in_any_log_line_even_at_debug(
    aws: Aws, ingest_key: str, lambda_context: Any, capsys: Any
) -> None:
    raw = "198.51.100.77"
    stream = io.StringIO()
    previous = logger.registered_handler.setStream(stream)  # type: ignore[attr-defined]
    level = logger.log_level
    logger.setLevel("DEBUG")
    try:
        bodies = [
            json.dumps(
                {**json.loads(sample("apigw_post_events_single.json")["body"]), "context": {"ip": raw}}
            ),
            json.dumps({"session_id": "s", "context": {"ip": raw}}),  # an invalid envelope
            '{"context": {"ip": "' + raw + '"}, ',  # not JSON
        ]
        for body in bodies:
            event = sample("apigw_post_events_single.json")
            event["body"] = body
            event["requestContext"]["http"]["sourceIp"] = raw
            event["headers"]["x-forwarded-for"] = raw
            ingest_handler(event, lambda_context)
    finally:
        logger.setLevel(level)
        logger.registered_handler.setStream(previous)  # type: ignore[attr-defined]
    logged = stream.getvalue() + capsys.readouterr().out
    assert logged.count("\n") >= 3  # the requests were logged...
    assert raw not in logged  # ...but never the end user's address
