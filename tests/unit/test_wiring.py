"""The handlers take every collaborator from ``theeye.wiring``: the whole pipeline runs on the
in-memory backend (installed) and on the embedded SQLite backend (chosen by the settings),
with no AWS and no network, and answers exactly as it does on DynamoDB."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ingest.handler import dependencies as ingest_dependencies
from ingest.handler import lambda_handler as ingest_handler
from processor.handler import dependencies as processor_dependencies
from processor.handler import lambda_handler as processor_handler
from query.handler import dependencies as query_dependencies
from query.handler import lambda_handler as query_handler
from tests.support import LambdaContext
from theeye import wiring
from theeye.config import get_settings
from theeye.keys import new_api_key
from theeye.ports import Backend
from theeye.sqlite.queue import SqliteQueue
from theeye_local.memory import MemoryBackend, MemoryQueue

ROOT = Path(__file__).parents[2]
SAMPLE_INGEST_KEY = "eye_sample-ingest-key-for-tests-and-sam-local-0001"


def _clear() -> None:
    get_settings.cache_clear()
    for factory in (ingest_dependencies, processor_dependencies, query_dependencies):
        factory.cache_clear()


@pytest.fixture(params=["memory", "sqlite"])
def backend(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Backend]:
    monkeypatch.setenv("SCHEMAS_DIR", str(ROOT / "schemas"))
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "TheEye")
    if request.param == "memory":
        wiring.install(MemoryBackend())
    else:
        monkeypatch.setenv("STORAGE_BACKEND", "sqlite")
        monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "theeye.db"))
    wiring.reset()
    _clear()
    yield wiring.backend()
    wiring.install(None)
    wiring.reset()
    _clear()


def queued(backend: Backend) -> list[tuple[str, str]]:
    """Every waiting message as (body, receipt), taken off the backend's queue."""
    queue = backend.queue()
    if isinstance(queue, MemoryQueue):
        taken = [(body, f"r-{n}") for n, body in enumerate(queue.bodies)]
        queue.bodies.clear()
        return taken
    assert isinstance(queue, SqliteQueue)
    return [(m.body, m.receipt) for m in queue.receive(10)]


def sample(name: str) -> dict[str, Any]:
    return json.loads((ROOT / "events" / name).read_text())


def test_the_briefing_goes_through_every_handler_on_each_local_backend(backend: Backend) -> None:
    # Given an ingest key and a query key in the memory backend's key store
    backend.keys().put(new_api_key("sample-app", ["ingest"], raw_key=SAMPLE_INGEST_KEY)[1])
    query_key, query_record = new_api_key("analysts", ["query"])
    backend.keys().put(query_record)

    # When the briefing is posted, its queued message processed, and the session queried
    request = sample("apigw_post_events_batch.json")
    request["body"] = json.dumps(sample("briefing_events.json"))
    accepted = ingest_handler(request, LambdaContext())
    assert accepted["statusCode"] == 202
    ids = json.loads(accepted["body"])["event_ids"]
    records = [
        {
            "messageId": f"m-{n}",
            "receiptHandle": receipt,
            "body": body,
            "attributes": {"ApproximateReceiveCount": "1"},
            "eventSource": "aws:sqs",
        }
        for n, (body, receipt) in enumerate(queued(backend))
    ]
    assert records
    assert processor_handler({"Records": records}, LambdaContext()) == {"batchItemFailures": []}

    query = sample("apigw_get_health.json")
    session = sample("briefing_events.json")[0]["session_id"]
    query["rawPath"] = query["requestContext"]["http"]["path"] = "/events"
    query["routeKey"] = query["requestContext"]["routeKey"] = "$default"
    query["rawQueryString"] = f"session_id={session}"
    query["queryStringParameters"] = {"session_id": session}
    query["headers"]["authorization"] = f"Bearer {query_key}"
    answer = query_handler(query, LambdaContext())

    # Then every event is stored once, in order, and the ledger balances
    assert answer["statusCode"] == 200, answer["body"]
    assert sorted(item["event_id"] for item in json.loads(answer["body"])["items"]) == sorted(ids)
    assert backend.counters().totals()["stored"] == len(ids)
    status = query | {"rawPath": "/status", "rawQueryString": "", "queryStringParameters": None}
    status["requestContext"] = {
        **query["requestContext"],
        "http": {**query["requestContext"]["http"], "path": "/status"},
    }
    ledger = json.loads(query_handler(status, LambdaContext())["body"])
    assert (ledger["accepted"], ledger["stored"], ledger["balanced"]) == (len(ids), len(ids), True)
