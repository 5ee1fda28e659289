"""``make run`` as a user sees it: the local stack answers the public contract over HTTP."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from tests.e2e.ledger import settled
from tests.e2e.local_stack import LocalStackHandle, start_stack, stop_stack

pytestmark = pytest.mark.e2e

EVENT = {
    "session_id": "e2e-session",
    "category": "page",
    "name": "view",
    "data": {"path": "/home"},
    "timestamp": "2021-01-01 09:15:27.243860",
}


def test_health_is_ok_once_ready(local_stack: LocalStackHandle) -> None:
    answer = local_stack.request("GET", "/health")

    assert answer.status == 200
    assert answer.json() == {"status": "ok"}


def test_ingest_key_is_accepted(local_stack: LocalStackHandle) -> None:
    answer = local_stack.request(
        "POST", "/events", body=[EVENT], headers={"Authorization": f"Bearer {local_stack.ingest_key}"}
    )

    assert answer.status == 202, answer.body
    body = answer.json()
    assert body["accepted"] == 1
    assert len(body["event_ids"]) == 1
    assert body["rejected"] == []


def test_accepted_events_leave_the_queue(local_stack: LocalStackHandle) -> None:
    event = {**EVENT, "session_id": "e2e-drain"}

    answer = local_stack.request("POST", "/events", body=event, headers={"X-Api-Key": local_stack.ingest_key})

    assert answer.status == 202, answer.body
    settled(local_stack)  # fails with the stack's log if the processor never consumes the queue


def test_unknown_key_is_401_with_the_error_shape(local_stack: LocalStackHandle) -> None:
    answer = local_stack.request(
        "POST", "/events", body=EVENT, headers={"Authorization": "Bearer eye_not-a-key-that-exists-000000"}
    )

    assert answer.status == 401
    assert set(answer.json()["error"]) == {"code", "message", "details"}


def test_cors_preflight_is_answered_by_the_gateway(local_stack: LocalStackHandle) -> None:
    answer = local_stack.request(
        "OPTIONS",
        "/events",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )

    assert answer.status == 204
    headers = {name.lower(): value for name, value in answer.headers.items()}
    assert headers["access-control-allow-origin"] == "*"
    assert "POST" in headers["access-control-allow-methods"].split(",")
    assert {"authorization", "content-type", "content-encoding", "x-api-key"} <= set(
        headers["access-control-allow-headers"].split(",")
    )


def test_unmatched_path_is_404_with_the_error_shape(local_stack: LocalStackHandle) -> None:
    answer = local_stack.request("GET", "/no/such/route")

    assert answer.status == 404
    assert answer.json() == {
        "error": {"code": "not_found", "message": "no route for GET /no/such/route", "details": []}
    }


def test_state_file_describes_the_running_stack(local_stack: LocalStackHandle) -> None:
    state = local_stack.state

    assert stat.S_IMODE(os.stat(local_stack.state_file).st_mode) == 0o600
    assert state["api_url"] == local_stack.base_url
    assert state["backend"] == "embedded"
    assert state["database"] == str(local_stack.state_file.parent / "data" / "theeye.db")
    assert Path(state["database"]).is_file()
    assert "aws_endpoint" not in state
    assert state["region"] == "us-east-1"
    assert state["ingest_key"] == local_stack.ingest_key
    assert state["query_key"] == local_stack.query_key
    assert state["pid"] == local_stack.process.pid
    assert state["started_at"].endswith("Z")
    assert state["tables"]["EventsTable"] == "theeye-local-EventsTable"
    assert set(state["tables"]) >= {"EventsTable", "ErrorsTable", "ApiKeysTable", "CountersTable"}
    assert state["queue_url"] == state["queues"]["EventsQueue"]
    assert state["dlq_url"] == state["queues"]["DeadLetterQueue"]
    assert state["functions"]["IngestFunction"] == "ingest.handler.lambda_handler"


def test_the_moto_backend_says_where_moto_is(moto_stack: LocalStackHandle) -> None:
    state = moto_stack.state

    assert state["backend"] == "moto"
    assert state["aws_endpoint"].startswith("http://127.0.0.1:")
    assert "database" not in state
    assert state["queue_url"] == state["queues"]["EventsQueue"]
    assert state["dlq_url"] == state["queues"]["DeadLetterQueue"]


def test_sigterm_stops_the_stack_cleanly(tmp_path: Path) -> None:
    stack = start_stack(tmp_path)
    before_ready = stack.health_answers[:-1]

    started = time.monotonic()
    code = stop_stack(stack)

    assert code == 0, stack.log_tail()
    assert time.monotonic() - started < 30  # a clean stop, not one forced by a kill after a timeout
    assert all(status == 503 and b'"starting"' in body for status, body in before_ready)
    assert not stack.log_file.read_text().count("Traceback"), stack.log_tail()


def test_methods_no_route_serves_get_the_contract_404(local_stack: LocalStackHandle) -> None:
    for method in ("TRACE", "PROPFIND", "PUT"):
        answer = local_stack.request(method, "/events")
        assert answer.status == 404, (method, answer.status)
        assert answer.json()["error"]["code"] == "not_found"
