"""DELETE /sessions/{session_id} through the real admin handler against moto, on data the real
pipeline stored, read back through the real query handler (every handler under its own role)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest

from tests.integration.conftest import Aws, sample
from tests.integration.functions import admin_handler, processor_handler
from tests.integration.test_delivery_guarantees import EventSource
from tests.integration.test_query_handler import SESSION, get, ids_of, ingest
from theeye.aws.keys import DynamoKeyStore
from theeye.keys import new_api_key
from theeye.records import ERASED_MESSAGE

OTHER = "another-session"
DAY = {"from": "2021-01-01", "to": "2021-01-02"}


def erase(session_id: str, context: Any, key: str | None) -> tuple[int, Any]:
    """DELETE /sessions/{session_id} as API Gateway sends it: the raw path URL-encoded, the route's
    path parameters decoded."""
    event = sample("apigw_get_health.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/sessions/{quote(session_id, safe='')}"
    event["requestContext"]["http"]["method"] = "DELETE"
    event["routeKey"] = event["requestContext"]["routeKey"] = "DELETE /sessions/{session_id}"
    event["pathParameters"] = {"session_id": session_id}
    if key:
        event["headers"]["authorization"] = f"Bearer {key}"
    response = admin_handler(event, context)
    return response["statusCode"], json.loads(response["body"])


def replay(body: Any, context: Any, key: str | None) -> tuple[int, Any]:
    """POST /errors/replay as API Gateway sends it."""
    event = sample("apigw_get_health.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/errors/replay"
    event["requestContext"]["http"]["method"] = "POST"
    event["routeKey"] = event["requestContext"]["routeKey"] = "POST /errors/replay"
    event["body"] = body if isinstance(body, str) else json.dumps(body)
    event["isBase64Encoded"] = False
    if key:
        event["headers"]["authorization"] = f"Bearer {key}"
    response = admin_handler(event, context)
    return response["statusCode"], json.loads(response["body"])


def new_key(aws: Aws, scope: str) -> str:
    raw, record = new_api_key(f"{scope}-people", [scope])
    DynamoKeyStore(aws.refs["ApiKeysTable"], aws.client("dynamodb")).put(record)
    return raw


@pytest.fixture
def admin_key(aws: Aws) -> str:
    return new_key(aws, "admin")


@pytest.fixture
def query_key(aws: Aws) -> str:
    return new_key(aws, "query")


@pytest.fixture
def stored(aws: Aws, ingest_key: str, lambda_context: Any) -> list[str]:
    """The briefing's session (3 events, 1 schema violation) and another session (1 event, 1
    schema violation), stored by the pipeline; the briefing session's event ids."""
    events = sample("briefing_events.json")
    ids = ingest(events, lambda_context)
    ingest([{**events[1], "data": {"host": "h", "path": "/"}}], lambda_context)  # schema_violation
    other = {**events[0], "session_id": OTHER}
    ingest([other, {**other, "name": "cta click", "event_id": "other-cta"}], lambda_context)
    EventSource(aws, lambda_context).drain(processor_handler)
    return ids


def errors_by_session(context: Any, key: str) -> dict[str | None, list[dict[str, Any]]]:
    status, body = get("/errors", context, key)
    assert status == 200, body
    found: dict[str | None, list[dict[str, Any]]] = {}
    for error in body["items"]:
        found.setdefault(error["session_id"], []).append(error)
    return found


def test_erasure_removes_the_sessions_events_redacts_its_errors_and_counts_them(
    stored: list[str], admin_key: str, query_key: str, lambda_context: Any
) -> None:
    before = errors_by_session(lambda_context, query_key)
    assert [e["erased"] for e in before[SESSION]] == [False] and before[SESSION][0]["payload"] is not None
    # When the session is erased
    status, body = erase(SESSION, lambda_context, admin_key)
    # Then its events and errors are counted
    assert status == 200, body
    assert body == {"session_id": SESSION, "events_erased": 3, "errors_redacted": 1}
    # and its events are gone, the other session's are not
    status, page = get(f"/sessions/{SESSION}/events", lambda_context, query_key)
    assert (status, page) == (200, {"items": [], "next_cursor": None})
    assert get(f"/events/{stored[0]}", lambda_context, query_key)[0] == 404
    assert len(ids_of(get(f"/sessions/{OTHER}/events", lambda_context, query_key)[1])) == 1
    # its errors are listed still, without their payload, and the fields that were wrong only
    after = errors_by_session(lambda_context, query_key)
    (redacted,) = after[SESSION]
    assert redacted["payload"] is None and redacted["erased"] is True
    assert redacted["details"] == [{"field": "data.element", "message": ERASED_MESSAGE}]
    assert {k: v for k, v in redacted.items() if k not in ("payload", "erased", "details")} == {
        k: v for k, v in before[SESSION][0].items() if k not in ("payload", "erased", "details")
    }
    assert after[OTHER] == before[OTHER] and after[OTHER][0]["erased"] is False
    status, one = get(f"/errors/{quote(redacted['error_id'])}", lambda_context, query_key)
    assert (status, one) == (200, redacted)
    # its summary is gone
    _, sessions = get("/sessions", lambda_context, query_key, **DAY)
    assert [s["session_id"] for s in sessions["items"]] == [OTHER]
    # and the ledger counts the erased events and still balances
    _, ledger = get("/status", lambda_context, query_key)
    assert (ledger["stored"], ledger["erased"], ledger["balanced"]) == (4, 3, True)
    # When it is erased again, then there is nothing left to erase
    assert erase(SESSION, lambda_context, admin_key) == (
        200,
        {"session_id": SESSION, "events_erased": 0, "errors_redacted": 0},
    )
    _, ledger = get("/status", lambda_context, query_key)
    assert (ledger["stored"], ledger["erased"], ledger["balanced"]) == (4, 3, True)
    assert errors_by_session(lambda_context, query_key) == after


def test_events_of_an_erased_session_sent_again_are_stored_as_new_data(
    aws: Aws, stored: list[str], admin_key: str, query_key: str, lambda_context: Any
) -> None:
    assert erase(SESSION, lambda_context, admin_key)[1]["events_erased"] == 3
    # When the same events arrive again (same ids: their guards went with them)
    assert ingest(sample("briefing_events.json"), lambda_context) == stored
    EventSource(aws, lambda_context).drain(processor_handler)
    # Then they are stored, counted and summarized again
    _, page = get(f"/sessions/{SESSION}/events", lambda_context, query_key)
    assert sorted(ids_of(page)) == sorted(stored)
    _, ledger = get("/status", lambda_context, query_key)
    assert (ledger["stored"], ledger["duplicates"], ledger["erased"], ledger["balanced"]) == (7, 0, 3, True)
    _, sessions = get("/sessions", lambda_context, query_key, **DAY)
    assert {s["session_id"]: s["events"] for s in sessions["items"]} == {SESSION: 3, OTHER: 1}


def test_keys_and_scopes_are_enforced_before_anything_is_erased(
    aws: Aws, stored: list[str], ingest_key: str, query_key: str, lambda_context: Any
) -> None:
    status, body = erase(SESSION, lambda_context, None)
    assert status == 401 and body["error"]["code"] == "unauthorized"
    assert erase(SESSION, lambda_context, "eye_unknown-00000000000000000000000")[0] == 401
    assert erase("x" * 129, lambda_context, None)[0] == 401  # the key before the parameter
    for key in (query_key, ingest_key):
        status, body = erase(SESSION, lambda_context, key)
        assert status == 403 and body["error"]["code"] == "forbidden"
        assert erase("x" * 129, lambda_context, key)[0] == 403
    assert len(ids_of(get(f"/sessions/{SESSION}/events", lambda_context, query_key)[1])) == 3
    _, ledger = get("/status", lambda_context, query_key)
    assert ledger["erased"] == 0


@pytest.mark.parametrize(
    "session_id",
    [
        "a session with spaces",
        "tenant/user/42",  # slashes, %2F in the path
        "sitzung-ü-セッション-😀",  # UTF-8, percent-encoded
        "100% a%20b?x=1#y",  # decoded once only: the %20 stays
        "x" * 128,
    ],
)
def test_url_encoded_session_ids_are_decoded(
    aws: Aws, ingest_key: str, admin_key: str, query_key: str, lambda_context: Any, session_id: str
) -> None:
    # Given a stored event of a session whose id needs escaping in a path, and one of a neighbour
    event = {**sample("briefing_events.json")[0], "session_id": session_id}
    neighbour = {**event, "session_id": session_id[:-1] or "-", "event_id": "neighbour"}
    ingest([event, neighbour], lambda_context)
    EventSource(aws, lambda_context).drain(processor_handler)
    path = f"/sessions/{quote(session_id, safe='')}/events"
    assert len(get(path, lambda_context, query_key)[1]["items"]) == 1
    # When it is erased by its URL-encoded id
    status, body = erase(session_id, lambda_context, admin_key)
    # Then that session, and only it, is erased
    assert status == 200, body
    assert body == {"session_id": session_id, "events_erased": 1, "errors_redacted": 0}
    _, page = get(path, lambda_context, query_key)
    assert page["items"] == []
    _, page = get("/events", lambda_context, query_key, session_id=session_id)
    assert page["items"] == []
    _, page = get(f"/sessions/{quote(neighbour['session_id'], safe='')}/events", lambda_context, query_key)
    assert ids_of(page) == ["neighbour"]


def test_a_session_id_over_128_characters_is_400_with_the_error_shape(
    aws: Aws, admin_key: str, query_key: str, lambda_context: Any
) -> None:
    status, body = erase("x" * 129, lambda_context, admin_key)
    assert status == 400, body
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == "invalid_parameter"
    assert [d["field"] for d in body["error"]["details"]] == ["session_id"]
    status, body = erase("ü" * 129, lambda_context, admin_key)  # characters, not bytes
    assert status == 400 and body["error"]["details"][0]["field"] == "session_id"
    _, ledger = get("/status", lambda_context, query_key)
    assert ledger["erased"] == 0


def test_a_replay_dry_run_judges_the_recorded_violations_by_the_deployed_schemas(
    stored: list[str], admin_key: str, query_key: str, lambda_context: Any
) -> None:
    status, body = replay({"type": "schema_violation", "dry_run": True}, lambda_context, admin_key)
    assert status == 200, body
    assert (body["matched"], body["replayable"], body["replayed"], body["next"]) == (2, 0, 0, None)
    assert [e["type"] for s in body["still_invalid"] for e in s["errors"]] == ["schema_violation"] * 2
    listed = get("/errors", lambda_context, query_key, replayed="false")[1]["items"]
    assert len(listed) == 2 and all(e["replayed"] is None for e in listed)
    assert get("/errors", lambda_context, query_key, replayed="true")[1]["items"] == []


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        [],
        {},
        {"type": "invalid_json"},
        {"type": "schema_violation", "max": 0},
        {"type": "schema_violation", "max": 100001},
        {"type": "schema_violation", "from": "soon"},
        {"type": "schema_violation", "extra": 1},
        {"type": "schema_violation", "cursor": "forged.cursor"},
    ],
)
def test_a_bad_replay_request_is_a_400(body: Any, admin_key: str, lambda_context: Any) -> None:
    status, answer = replay(body, lambda_context, admin_key)
    assert status == 400, answer
    assert set(answer["error"]) == {"code", "message", "details"}


def test_a_replay_needs_the_admin_scope(query_key: str, lambda_context: Any) -> None:
    assert replay({"type": "schema_violation"}, lambda_context, query_key)[0] == 403
    assert replay({"type": "schema_violation"}, lambda_context, None)[0] == 401
