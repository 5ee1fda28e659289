"""``POST /insights`` and ``GET /insights/{query_id}`` through the real query handler: each kind
answered by the SQL engine of ``POST /sql`` (DuckDB over lake files) exactly as the use case
answers it over the same events, ``400 invalid_insight`` naming the field, the query scope, and
on Athena (botocore's Stubber) the ``202`` of an insight still running after 20 s, then its
answer under the same id; a forged or edited id is ``404``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from query import handler
from query.handler import lambda_handler as query_handler
from tests.insights import EventsTable, event
from tests.sql_lake import lake
from tests.support import LambdaContext
from theeye import wiring
from theeye.analytics import engine
from theeye.analytics.duckdb_engine import DuckDbEngine
from theeye.analytics.insights import answer_insight, insight_sql, parse_insight
from theeye.analytics.insights.query_ids import MAX_QUERY_ID_LENGTH, InsightQueryIds
from theeye.analytics.sql import check
from theeye.aws.athena import AthenaEngine
from theeye.config import get_settings
from theeye.keys import new_api_key
from theeye_local.memory import MemoryBackend

ROOT = Path(__file__).parents[2]
QUERY_KEY = "eye_sample-query-key-for-the-insight-route-tests-1"
INGEST_KEY = "eye_sample-ingest-key-for-the-insight-route-test-1"
DAY = {"from": "2026-12-01T00:00:00Z", "to": "2026-12-02T00:00:00Z"}
NOW = datetime(2026, 12, 8, tzinfo=UTC)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, 1, hour, minute, tzinfo=UTC)


EVENTS = [
    event("s1", "page", "view", at(9), context={"page": {"path": "/pricing"}}),
    event("s1", "form", "submit", at(9, 5), data={"plan": "pro"}),
    event("s2", "page", "view", at(10), context={"page": {"path": "/"}}),
    event("s2", "page", "view", at(10, 1), context={"page": {"path": "/pricing"}}),
    event("s3", "page", "view", at(13), context={"page": {"path": "/pricing"}, "bot": True}),
    event("s4", "page", "view", at(23, 59), context={"page": {"path": "/docs"}}),
    event("s4", "form", "submit", at(23, 59), data={"plan": "free"}),
]
BODIES = [
    {"kind": "trends", "interval": "hour", "breakdown": "page_path", "limit": 1, **DAY},
    {
        "kind": "trends",
        "measure": "sessions",
        "where": [{"field": "category", "op": "eq", "value": "page"}],
        **DAY,
    },
    {
        "kind": "funnel",
        "steps": [{"category": "page", "name": "view"}, {"category": "form", "name": "submit"}],
        **DAY,
    },
    {"kind": "top", "field": "page_path", "measure": "sessions", "include_bots": True, **DAY},
    {"kind": "top", "field": "data.plan", **DAY},
    {"kind": "sessions", "interval": "hour", **DAY},
]


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("SCHEMAS_DIR", str(ROOT / "schemas"))
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "TheEye")
    backend = MemoryBackend()
    backend.keys().put(new_api_key("analysts", ["query"], raw_key=QUERY_KEY)[1])
    backend.keys().put(new_api_key("web", ["ingest"], raw_key=INGEST_KEY)[1])
    wiring.install(backend)
    get_settings.cache_clear()
    handler.dependencies.cache_clear()
    snapshot = lake(tmp_path / "lake", EVENTS[:3], EVENTS[3:])
    engine.install(DuckDbEngine(lambda: snapshot))
    yield
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
        request["headers"]["content-type"] = "text/plain;charset=UTF-8"  # a browser's fetch
        request["body"] = body if isinstance(body, str) else json.dumps(body)
    answer = query_handler(request, LambdaContext())
    return answer["statusCode"], json.loads(answer["body"])


@pytest.mark.parametrize("body", BODIES, ids=lambda body: str(body["kind"]))
def test_each_kind_answers_as_the_use_case_over_the_same_events(stack: None, body: dict[str, Any]) -> None:
    status, answer = call("POST", "/insights", body)
    assert status == 200, answer
    assert answer == answer_insight(body, EventsTable(EVENTS), NOW)
    assert answer["kind"] == body["kind"]


def test_a_trend_through_the_route(stack: None) -> None:
    status, answer = call("POST", "/insights", BODIES[0])
    assert status == 200
    assert [(s["breakdown"], s["total"]) for s in answer["series"]] == [("/pricing", 2), ("$other", 4)]
    assert len(answer["series"][0]["points"]) == 24


@pytest.mark.parametrize("body", BODIES, ids=lambda body: str(body["kind"]))
def test_every_insight_statement_passes_the_sql_check_unchanged_in_meaning(body: dict[str, Any]) -> None:
    """The engines run the checked tree, not the text: the generated statement must survive it."""
    statement = check(insight_sql(parse_insight(body, NOW)))
    assert statement.duckdb and statement.athena


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("not json", "body"),
        ([], "body"),
        ({}, "kind"),
        ({"kind": "cohorts"}, "kind"),
        ({"kind": "top", **DAY}, "field"),
        ({"kind": "funnel", "steps": [{"category": "a", "name": "b"}, {"name": "c"}]}, "steps[1].category"),
        ({"kind": "trends", "where": [{"field": "nope", "op": "exists"}]}, "where[0].field"),
        ({"kind": "trends", "interval": "hour", "breakdown": "page_path", "limit": 100}, "limit"),
    ],
)
def test_a_malformed_request_is_invalid_insight_naming_the_field(stack: None, body: Any, field: str) -> None:
    status, answer = call("POST", "/insights", body)
    assert status == 400 and answer["error"]["code"] == "invalid_insight"
    assert answer["error"]["details"][0]["field"] == field


def test_no_body_is_invalid_insight(stack: None) -> None:
    status, answer = call("POST", "/insights")
    assert (status, answer["error"]["details"][0]["field"]) == (400, "body")


@pytest.mark.parametrize(("key", "status"), [(None, 401), ("eye_unknown", 401), (INGEST_KEY, 403)])
def test_insights_need_the_query_scope(stack: None, key: str | None, status: int) -> None:
    assert call("POST", "/insights", BODIES[0], key=key)[0] == status
    assert call("GET", "/insights/q.a.b", key=key)[0] == status


def test_locally_no_insight_is_ever_running_so_an_id_is_not_found(stack: None) -> None:
    status, answer = call("GET", "/insights/c0ffee00-0000-4000-8000-000000000001.10.abc.def")
    assert (status, answer["error"]["code"]) == (404, "not_found")


# ---- Athena: 202, then the answer -----------------------------------------------------------

EXECUTION = "c0ffee00-0000-4000-8000-000000000001"
TOP = {"kind": "top", "field": "page_path", "limit": 2, **DAY}


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def execution(state: str) -> dict[str, Any]:
    return {
        "QueryExecution": {
            "QueryExecutionId": EXECUTION,
            "Query": "SELECT 1",
            "WorkGroup": "theeye-analytics",
            "Status": {"State": state, "SubmissionDateTime": datetime(2026, 12, 8, tzinfo=UTC)},
            "Statistics": {"TotalExecutionTimeInMillis": 25_000},
        }
    }


def results(rows: list[list[str | None]]) -> dict[str, Any]:
    names = [("place", "bigint"), ("value", "varchar"), ("events", "bigint"), ("sessions", "bigint")]
    header = [{"Data": [{"VarCharValue": name} for name, _ in names]}]
    data = [{"Data": [{} if v is None else {"VarCharValue": v} for v in row]} for row in rows]
    return {
        "ResultSet": {
            "Rows": header + data,
            "ResultSetMetadata": {
                "ColumnInfo": [{"Name": name, "Type": kind, "CatalogName": "hive"} for name, kind in names]
            },
        }
    }


@pytest.fixture
def athena(stack: None) -> Iterator[Stubber]:
    client = boto3.session.Session(
        aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1"
    ).client("athena")
    clock = FakeClock()
    with Stubber(client) as stubber:
        engine.install(
            AthenaEngine(
                "theeye-analytics", "theeye", timedelta(seconds=300), client, clock=clock, sleep=clock.sleep
            )
        )
        yield stubber
        stubber.assert_no_pending_responses()


def test_an_insight_still_running_after_20_s_is_a_202_then_its_answer(athena: Stubber) -> None:
    statement = check(insight_sql(parse_insight(TOP, NOW))).athena
    athena.add_response(
        "start_query_execution",
        {"QueryExecutionId": EXECUTION},
        {"QueryString": statement, "WorkGroup": "theeye-analytics", "QueryExecutionContext": ANY},
    )
    for _ in range(14):  # 0.2 + 0.4 + 0.8 + 1.6 + 2 + 2 … until 20 s have passed
        athena.add_response("get_query_execution", execution("RUNNING"), {"QueryExecutionId": EXECUTION})
    status, running = call("POST", "/insights", TOP)
    assert status == 202 and running["status"] == "running"
    query_id = running["query_id"]
    assert query_id.startswith(f"{EXECUTION}.") and len(query_id) <= MAX_QUERY_ID_LENGTH

    athena.add_response("get_query_execution", execution("RUNNING"), {"QueryExecutionId": EXECUTION})
    assert call("GET", f"/insights/{query_id}") == (202, {"query_id": query_id, "status": "running"})

    athena.add_response("get_query_execution", execution("SUCCEEDED"), {"QueryExecutionId": EXECUTION})
    athena.add_response(
        "get_query_results",
        results([["1", "/pricing", "2", "2"], ["2", "/", "1", "1"], [None, None, "1", "1"]]),
        {"QueryExecutionId": EXECUTION, "MaxResults": 5},
    )
    status, answer = call("GET", f"/insights/{query_id}")
    assert status == 200, answer
    assert answer == {
        "kind": "top",
        "field": "page_path",
        "items": [
            {"value": "/pricing", "events": 2, "sessions": 2},
            {"value": "/", "events": 1, "sessions": 1},
        ],
        "other": {"events": 1, "sessions": 1},
    }


def test_a_forged_or_edited_insight_id_is_not_found(athena: Stubber) -> None:
    real = handler.dependencies().insights.ids
    issued = real.make(f"{EXECUTION}.3", parse_insight(TOP, NOW))
    engine_id, _, signature = issued.rsplit(".", 2)
    _, other_request, _ = real.make(f"{EXECUTION}.3", parse_insight({**TOP, "limit": 1}, NOW)).rsplit(".", 2)
    forged = InsightQueryIds(b"another secret").make(f"{EXECUTION}.3", parse_insight(TOP, NOW))
    edited = f"{engine_id}.{other_request}.{signature}"
    for query_id in (forged, edited, f"{EXECUTION}.3", f"{EXECUTION}.3.x.y"):
        status, answer = call("GET", f"/insights/{query_id}")
        assert (status, answer["error"]["code"]) == (404, "not_found")


def test_an_id_reads_back_the_same_insight() -> None:
    ids = InsightQueryIds(b"secret")
    insight = parse_insight(
        {**BODIES[2], "where": [{"field": "country", "op": "in", "value": ["NL", "DE"]}]}, NOW
    )
    query_id = ids.make(f"{EXECUTION}.1", insight)
    engine_id, again = ids.read(query_id, NOW + timedelta(days=3))
    assert (engine_id, again.body(), insight_sql(again)) == (
        f"{EXECUTION}.1",
        insight.body(),
        insight_sql(insight),
    )
