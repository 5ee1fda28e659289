"""``POST /events/validate`` through the real ingest handler on the in-memory and the embedded
SQLite backends: the answers of ``POST /events`` where they must match (authentication, 400,
413), and not a single write: the queue, the ledger and the error store stay as they were."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ingest import handler
from ingest.handler import lambda_handler as ingest_handler
from tests.support import LambdaContext
from theeye import wiring
from theeye.config import get_settings
from theeye.events import MAX_BODY_BYTES
from theeye.keys import new_api_key
from theeye.ports import Backend, ErrorFilter, Window
from theeye_local.memory import MemoryBackend

ROOT = Path(__file__).parents[2]
INGEST_KEY = "eye_sample-ingest-key-for-tests-and-sam-local-0001"
HOST = {"host": "www.example.com", "path": "/"}


@pytest.fixture(params=["memory", "sqlite"])
def backend(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Backend]:
    monkeypatch.setenv("SCHEMAS_DIR", str(ROOT / "schemas"))
    monkeypatch.setenv("UNKNOWN_EVENT_TYPES", "reject")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "TheEye")
    if request.param == "memory":
        wiring.install(MemoryBackend())
    else:
        monkeypatch.setenv("STORAGE_BACKEND", "sqlite")
        monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "theeye.db"))
    wiring.reset()
    get_settings.cache_clear()
    handler.dependencies.cache_clear()
    chosen = wiring.backend()
    chosen.keys().put(new_api_key("sample-app", ["ingest"], raw_key=INGEST_KEY)[1])
    yield chosen
    wiring.install(None)
    wiring.reset()
    get_settings.cache_clear()
    handler.dependencies.cache_clear()


def request(
    body: Any, path: str = "/events/validate", *, key: str | None = INGEST_KEY, query_key: bool = False
) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((ROOT / "events" / "apigw_post_events_single.json").read_text())
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["routeKey"] = event["requestContext"]["routeKey"] = f"POST {path}"
    del event["headers"]["x-api-key"]
    if key is not None and query_key:
        event["rawQueryString"] = f"key={key}"
        event["queryStringParameters"] = {"key": key}
        event["headers"]["content-type"] = "text/plain"
    elif key is not None:
        event["headers"]["authorization"] = f"Bearer {key}"
    event["body"] = body if isinstance(body, str) else json.dumps(body)
    return event


def call(event: dict[str, Any]) -> tuple[int, Any]:
    answer = ingest_handler(event, LambdaContext())
    return answer["statusCode"], json.loads(answer["body"])


def written(backend: Backend) -> tuple[dict[str, int], dict[str, int], list[Any]]:
    """What the pipeline has been handed: the queue's depth, the ledger, the recorded errors."""
    now = datetime.now(UTC)
    window = Window(now - timedelta(days=2), now + timedelta(days=1), True, None)
    errors = backend.error_reader().page(window, ErrorFilter(), limit=100).items
    return backend.queue().depth(), dict(backend.counters().totals()), list(errors)


NOTHING = ({"messages": 0, "in_flight": 0}, {}, [])


def event(**changes: Any) -> dict[str, Any]:
    value = {"session_id": "s-1", "category": "page interaction", "name": "pageview", "data": dict(HOST)}
    return {**value, "timestamp": datetime.now(UTC).isoformat(), **changes}


def test_every_check_is_answered_and_nothing_is_written(backend: Backend) -> None:
    # Given one event per check, and one valid event
    soon = (datetime.now(UTC) + timedelta(minutes=10)).isoformat()
    events = [
        {"x": 1},
        event(data={"host": 5}),
        event(timestamp=soon),
        event(name="hover"),
        event(event_id="fine-1"),
    ]
    # When they are validated
    status, answer = call(request(events))
    # Then each check is reported, and the pipeline was handed nothing
    assert status == 200
    assert (answer["valid"], answer["invalid"]) == (1, 4)
    kinds = [sorted({e["type"] for e in r["errors"]}) for r in answer["results"]]
    assert kinds == [
        ["invalid_envelope"],
        ["schema_violation"],
        ["future_timestamp"],
        ["unknown_event_type"],
        [],
    ]
    assert sorted(e["field"] for e in answer["results"][1]["errors"]) == ["data.host", "data.path"]
    assert answer["results"][4] == {"index": 4, "event_id": "fine-1", "valid": True, "errors": []}
    assert written(backend) == NOTHING


def test_a_body_post_events_refuses_gets_the_same_400_and_nothing_reaches_the_error_store(
    backend: Backend,
) -> None:
    bodies = ('{"session_id": ', "", "[]", "5", [event()] * 501)
    for body in bodies:
        refused = call(request(body, "/events"))
        before = written(backend)
        validated = call(request(body))
        assert validated[0] == 400 and validated == refused, body
        assert written(backend) == before, body
    # POST /events sent each refusal towards the error store; the dry run sent none
    assert written(backend)[0]["messages"] == len(bodies)


def test_every_event_invalid_is_a_200_report_where_post_events_is_a_400(backend: Backend) -> None:
    status, answer = call(request([7, {"x": 1}]))
    assert status == 200 and (answer["valid"], answer["invalid"]) == (0, 2)
    assert [r["event_id"] for r in answer["results"]] == [None, None]
    assert call(request([7, {"x": 1}], "/events"))[0] == 400


def test_an_oversized_body_is_413_as_for_post_events(backend: Backend) -> None:
    huge = "x" * (MAX_BODY_BYTES + 1)
    assert call(request(huge)) == call(request(huge, "/events"))
    status, answer = call(request(huge))
    assert status == 413 and answer["error"]["code"] == "payload_too_large"
    assert written(backend) == NOTHING


def test_a_base64_body_is_decoded_as_for_post_events(backend: Backend) -> None:
    event_ = request([event()])
    event_["body"] = base64.b64encode(event_["body"].encode()).decode()
    event_["isBase64Encoded"] = True
    status, answer = call(event_)
    assert (status, answer["valid"]) == (200, 1)


def test_keys_are_checked_as_for_post_events(backend: Backend) -> None:
    query_key, record = new_api_key("analysts", ["query"])
    backend.keys().put(record)
    status, answer = call(request([event()], key=None))
    assert (status, answer["error"]["code"]) == (401, "unauthorized")
    assert call(request([event()], key="eye_wrong-key-000000000000000000000000"))[0] == 401
    status, answer = call(request([event()], key=query_key))
    assert (status, answer["error"]["code"]) == (403, "forbidden")
    # the beacon form (?key= with a text/plain body) works as on POST /events
    status, answer = call(request(event(), query_key=True))
    assert (status, answer["valid"]) == (200, 1)
    assert written(backend) == NOTHING


def test_the_schemas_are_loaded_on_the_first_dry_run_not_for_post_events(backend: Backend) -> None:
    loads: list[int] = []
    deps = handler.dependencies()
    real = deps.load_validation

    def counting() -> Any:
        loads.append(1)
        return real()

    deps.load_validation = counting
    assert call(request([event()], "/events"))[0] == 202
    assert loads == []
    assert call(request([event()]))[0] == 200
    assert call(request([event()]))[0] == 200
    assert loads == [1]


def test_importing_the_ingest_function_does_not_import_the_schema_libraries() -> None:
    # A fresh interpreter, as a Lambda container starts: POST /events' cold start
    probe = (
        "import sys, ingest.handler; "
        "print(sorted(m for m in ('theeye.schemas', 'fastjsonschema', 'jsonschema') if m in sys.modules))"
    )
    environment = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "functions"),
        "POWERTOOLS_METRICS_NAMESPACE": "TheEye",
    }
    found = subprocess.run(
        [sys.executable, "-c", probe], env=environment, capture_output=True, text=True, check=True
    )
    assert found.stdout.strip() == "[]"
