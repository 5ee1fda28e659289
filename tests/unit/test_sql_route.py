"""``POST /sql`` and ``GET /sql/{query_id}`` through the real query handler: the contract's
answer, its 400s (``invalid_sql``, ``query_too_expensive``, a malformed body), the 404 of an
unknown id, the query scope, and the engine chosen by ``LAKE_DIRECTORY``."""

# ruff: noqa: S608 - statements are written here on purpose, hostile ones included

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from query import handler
from query.handler import lambda_handler as query_handler
from tests.sql_lake import event, lake
from tests.support import LambdaContext
from theeye import wiring
from theeye.analytics import engine
from theeye.analytics.duckdb_engine import DuckDbEngine
from theeye.config import get_settings
from theeye.keys import new_api_key
from theeye_local.memory import MemoryBackend

ROOT = Path(__file__).parents[2]
QUERY_KEY = "eye_sample-query-key-for-the-sql-route-tests-0001"
INGEST_KEY = "eye_sample-ingest-key-for-the-sql-route-tests-001"


@pytest.fixture
def lake_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DuckDbEngine]:
    monkeypatch.setenv("SCHEMAS_DIR", str(ROOT / "schemas"))
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "TheEye")
    backend = MemoryBackend()
    backend.keys().put(new_api_key("analysts", ["query"], raw_key=QUERY_KEY)[1])
    backend.keys().put(new_api_key("web", ["ingest"], raw_key=INGEST_KEY)[1])
    wiring.install(backend)
    get_settings.cache_clear()
    handler.dependencies.cache_clear()
    snapshot = lake(tmp_path / "lake", [event(n) for n in range(5)])
    chosen = DuckDbEngine(lambda: snapshot)
    engine.install(chosen)
    yield chosen
    engine.install(None)
    engine.reset()
    wiring.install(None)
    get_settings.cache_clear()
    handler.dependencies.cache_clear()


def call(method: str, path: str, body: Any = None, key: str | None = QUERY_KEY) -> tuple[int, Any]:
    request: dict[str, Any] = json.loads((ROOT / "events" / "apigw_get_health.json").read_text())
    request["rawPath"] = request["requestContext"]["http"]["path"] = path
    request["requestContext"]["http"]["method"] = method
    request["routeKey"] = request["requestContext"]["routeKey"] = "$default"
    if key:
        request["headers"]["authorization"] = f"Bearer {key}"
    if body is not None:
        request["headers"]["content-type"] = "application/json"
        request["body"] = body if isinstance(body, str) else json.dumps(body)
    answer = query_handler(request, LambdaContext())
    return answer["statusCode"], json.loads(answer["body"])


def test_a_select_answers_the_contracts_result(lake_engine: DuckDbEngine) -> None:
    status, body = call(
        "POST", "/sql", {"sql": "SELECT category, count(*) AS n FROM events GROUP BY 1 ORDER BY 2 DESC"}
    )
    assert status == 200, body
    assert body["columns"] == [{"name": "category", "type": "varchar"}, {"name": "n", "type": "bigint"}]
    assert body["rows"] == [["page interaction", 3], ["form interaction", 2]]
    assert body["truncated"] is False and body["engine"] == "duckdb"
    assert body["as_of"] == "2026-12-06T18:00:00.000000Z" and isinstance(body["elapsed_ms"], int)


def test_max_rows_defaults_to_a_thousand_and_cuts(lake_engine: DuckDbEngine) -> None:
    status, body = call("POST", "/sql", {"sql": "SELECT event_id FROM events ORDER BY 1", "max_rows": 2})
    assert (status, body["rows"], body["truncated"]) == (200, [["ev-0000"], ["ev-0001"]], True)


@pytest.mark.parametrize("max_rows", [0, 10_001, "ten"])
def test_max_rows_out_of_range_is_a_400(lake_engine: DuckDbEngine, max_rows: Any) -> None:
    status, body = call("POST", "/sql", {"sql": "SELECT 1", "max_rows": max_rows})
    assert status == 400 and body["error"]["code"] == "invalid_parameter"
    assert body["error"]["details"][0]["field"] == "max_rows"


@pytest.mark.parametrize("body", ["not json", {"statement": "SELECT 1"}, {"sql": ""}, [], {"sql": 1}])
def test_a_malformed_body_is_a_400(lake_engine: DuckDbEngine, body: Any) -> None:
    status, answer = call("POST", "/sql", body)
    assert status == 400 and answer["error"]["code"] == "invalid_parameter"


@pytest.mark.parametrize(
    ("statement", "named"),
    [
        ("DROP VIEW events", "not DROP"),
        ("SELECT * FROM read_csv('/etc/passwd')", "only the table events"),
        ("SELECT 1; SELECT 2", "only one statement"),
        ("SELECT nope FROM events", 'Referenced column "nope" not found'),
        ("SELECT FROM", "syntax error"),
    ],
)
def test_refused_statements_are_invalid_sql(lake_engine: DuckDbEngine, statement: str, named: str) -> None:
    status, body = call("POST", "/sql", {"sql": statement})
    assert status == 400 and body["error"]["code"] == "invalid_sql"
    assert named in body["error"]["message"] and body["error"]["details"] == []


def test_a_statement_over_the_time_limit_is_query_too_expensive(lake_engine: DuckDbEngine) -> None:
    lake_engine.time_limit_seconds = 0.05
    joined = ", ".join(f"events t{n}" for n in range(8))
    concatenated = " || ".join(f"t{n}.event_id" for n in range(8))
    status, body = call("POST", "/sql", {"sql": f"SELECT max({concatenated}) AS m FROM {joined}"})
    assert status == 400 and body["error"]["code"] == "query_too_expensive"


def test_an_unknown_query_id_is_a_404(lake_engine: DuckDbEngine) -> None:
    status, body = call("GET", "/sql/q-0123")
    assert status == 404
    assert body == {
        "error": {
            "code": "not_found",
            "message": "no query with id 'q-0123': local statements answer at once, none is kept",
            "details": [],
        }
    }


@pytest.mark.parametrize(("key", "status"), [(None, 401), ("eye_unknown", 401), (INGEST_KEY, 403)])
def test_sql_needs_the_query_scope(lake_engine: DuckDbEngine, key: str | None, status: int) -> None:
    assert call("POST", "/sql", {"sql": "SELECT 1"}, key=key)[0] == status
    assert call("GET", "/sql/q-1", key=key)[0] == status


def test_without_a_lake_directory_the_route_still_checks_then_answers_503(
    lake_engine: DuckDbEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine.install(None)
    monkeypatch.delenv("LAKE_DIRECTORY", raising=False)
    get_settings.cache_clear()
    engine.reset()
    assert call("POST", "/sql", {"sql": "DROP VIEW events"})[1]["error"]["code"] == "invalid_sql"
    status, body = call("POST", "/sql", {"sql": "SELECT 1"})
    assert status == 503 and body["error"]["code"] == "service_unavailable"


def test_lake_directory_chooses_duckdb_over_the_local_lake(
    lake_engine: DuckDbEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("theeye.analytics.local_lake")
    engine.install(None)
    monkeypatch.setenv("LAKE_DIRECTORY", str(tmp_path / "empty-lake"))
    get_settings.cache_clear()
    engine.reset()
    assert isinstance(engine.sql_engine(), DuckDbEngine)
    status, body = call("POST", "/sql", {"sql": "SELECT count(*) AS n FROM events"})
    assert (status, body["rows"], body["engine"]) == (200, [[0]], "duckdb")
