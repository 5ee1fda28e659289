"""The query routes through the real handler against moto, on data the real pipeline stored."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import fastjsonschema
import pytest

from tests.integration.conftest import ROOT, Aws, clear_caches, sample
from tests.integration.functions import ingest_handler, processor_handler, query_handler
from tests.integration.test_delivery_guarantees import EventSource
from theeye.aws.keys import DynamoKeyStore
from theeye.config import ConfigurationError, get_settings
from theeye.keys import new_api_key
from theeye.schemas import SchemaFileError

SESSION = "e6fa79ca-d142-4046-a134-5134f16a0b5e"


@pytest.fixture
def query_key(aws: Aws) -> str:
    raw, record = new_api_key("analysts", ["query"])
    DynamoKeyStore(aws.refs["ApiKeysTable"], aws.client("dynamodb")).put(record)
    return raw


def get(path: str, context: Any, key: str | None, **params: Any) -> tuple[int, Any]:
    event = sample("apigw_get_health.json")
    query = {k: str(v) for k, v in params.items() if v is not None}
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["routeKey"] = event["requestContext"]["routeKey"] = "$default"
    event["rawQueryString"] = urlencode(query)
    if query:
        event["queryStringParameters"] = query
    if key:
        event["headers"]["authorization"] = f"Bearer {key}"
    response = query_handler(event, context)
    body = response["body"]
    is_json = response.get("headers", {}).get("Content-Type", "").startswith("application/json")
    return response["statusCode"], json.loads(body) if is_json else body


def ingest(events: list[dict[str, Any]], context: Any) -> list[str]:
    ids: list[str] = []
    for start in range(0, len(events), 500):
        request = sample("apigw_post_events_batch.json")
        request["body"] = json.dumps(events[start : start + 500])
        answer = json.loads(ingest_handler(request, context)["body"])
        ids.extend(answer["event_ids"])
    return ids


@pytest.fixture
def briefing(aws: Aws, ingest_key: str, lambda_context: Any) -> list[str]:
    ids = ingest(sample("briefing_events.json"), lambda_context)
    EventSource(aws, lambda_context).drain(processor_handler)
    return ids


def ids_of(body: dict[str, Any]) -> list[str]:
    return [i["event_id"] for i in body["items"]]


def walk(path: str, context: Any, key: str, **params: Any) -> tuple[list[str], int]:
    seen: list[str] = []
    pages = 0
    cursor = None
    while True:
        status, body = get(path, context, key, cursor=cursor, **params)
        assert status == 200, body
        pages += 1
        seen.extend(ids_of(body))
        cursor = body["next_cursor"]
        if cursor is None:
            return seen, pages
        assert pages < 1000


def test_the_briefing_events_come_back_by_session_in_order(
    briefing: list[str], query_key: str, lambda_context: Any
) -> None:
    expected = sorted(briefing)  # one shared timestamp: ties are broken by event id
    status, body = get("/events", lambda_context, query_key, session_id=SESSION)
    assert status == 200
    assert ids_of(body) == expected and body["next_cursor"] is None
    first = body["items"][0]
    assert set(first) == {
        "event_id",
        "application_id",
        "session_id",
        "category",
        "name",
        "data",
        "timestamp",
        "client_timestamp",
        "received_at",
        "context",
    }
    assert first["timestamp"] == first["client_timestamp"] == "2021-01-01T09:15:27.243860Z"
    # the request's source address anonymised and its user agent (curl, an automated client)
    assert {k: first["context"][k] for k in ("ip", "user_agent", "device", "bot")} == {
        "ip": "203.0.113.0",
        "user_agent": "curl/8.5.0",
        "device": "bot",
        "bot": True,
    }
    status, body = get(f"/sessions/{SESSION}/events", lambda_context, query_key)
    assert ids_of(body) == expected
    status, body = get(f"/sessions/{SESSION}/events", lambda_context, query_key, order="desc")
    assert ids_of(body) == list(reversed(expected))


def test_category_name_and_time_range_queries(
    briefing: list[str], query_key: str, lambda_context: Any
) -> None:
    day = {"from": "2021-01-01", "to": "2021-01-02"}
    _, body = get("/events", lambda_context, query_key, category="page interaction", **day)
    assert {i["name"] for i in body["items"]} == {"pageview", "cta click"}
    _, body = get("/events", lambda_context, query_key, category="page interaction", name="cta click", **day)
    assert [i["name"] for i in body["items"]] == ["cta click"]
    _, body = get("/events", lambda_context, query_key, **day)
    assert sorted(ids_of(body)) == sorted(briefing)
    _, body = get("/events", lambda_context, query_key, name="submit", **day)
    assert [i["category"] for i in body["items"]] == ["form interaction"]
    # outside the window, and the default 24 hours: nothing from 2021
    _, body = get(
        "/events", lambda_context, query_key, **{"from": "2021-01-01T09:15:27.243861Z", "to": "2021-01-02"}
    )
    assert body["items"] == []
    _, body = get("/events", lambda_context, query_key, category="page interaction")
    assert body["items"] == []


def test_paging_one_at_a_time_visits_every_event_once(
    briefing: list[str], query_key: str, lambda_context: Any
) -> None:
    seen, pages = walk("/events", lambda_context, query_key, session_id=SESSION, limit=1)
    assert seen == sorted(briefing) and pages == 3
    seen, _ = walk("/events", lambda_context, query_key, limit=1, order="desc", **{"from": "2021-01-01"})
    assert seen == sorted(briefing, reverse=True)


def test_single_event_and_unknown_ids(briefing: list[str], query_key: str, lambda_context: Any) -> None:
    status, body = get(f"/events/{briefing[1]}", lambda_context, query_key)
    assert status == 200 and body["event_id"] == briefing[1] and body["name"] == "cta click"
    status, body = get("/events/no-such-event", lambda_context, query_key)
    assert status == 404 and body["error"]["code"] == "not_found"
    status, body = get("/errors/err-nope", lambda_context, query_key)
    assert status == 404


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 1001},
        {"limit": "ten"},
        {"order": "sideways"},
        {"from": "yesterday"},
        {"from": "2021-01-02", "to": "2021-01-01"},
        {"cursor": "forged.cursor"},
        {"session_id": "x" * 129},
    ],
)
def test_malformed_parameters_are_400_with_the_error_shape(
    aws: Aws, query_key: str, lambda_context: Any, params: dict[str, Any]
) -> None:
    status, body = get("/events", lambda_context, query_key, **params)
    assert status == 400, body
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["details"]


def test_a_cursor_used_with_other_filters_is_400(
    briefing: list[str], query_key: str, lambda_context: Any
) -> None:
    _, body = get("/events", lambda_context, query_key, session_id=SESSION, limit=1)
    status, answer = get(
        "/events", lambda_context, query_key, session_id="other", limit=1, cursor=body["next_cursor"]
    )
    assert status == 400 and answer["error"]["code"] == "invalid_cursor"


def test_keys_and_scopes_are_enforced_before_parameters(
    aws: Aws, ingest_key: str, query_key: str, lambda_context: Any
) -> None:
    assert get("/events", lambda_context, None)[0] == 401
    assert get("/events", lambda_context, None, limit=0)[0] == 401
    assert get("/errors", lambda_context, "eye_unknown-00000000000000000000000")[0] == 401
    assert get("/events", lambda_context, ingest_key)[0] == 403
    assert get("/events", lambda_context, ingest_key, limit=0)[0] == 403


def test_public_routes_need_no_key(aws: Aws, lambda_context: Any) -> None:
    assert get("/health", lambda_context, None) == (200, {"status": "ok"})
    status, document = get("/openapi.json", lambda_context, None)
    assert status == 200 and document["openapi"].startswith("3.")
    status, page = get("/docs", lambda_context, None)
    assert status == 200 and "swagger" in page.lower()


def test_errors_are_listed_newest_first_filtered_and_fetched_by_id(
    aws: Aws, ingest_key: str, query_key: str, lambda_context: Any
) -> None:
    events = sample("briefing_events.json")
    ingest([{**events[1], "data": {"host": "h", "path": "/"}}], lambda_context)  # schema_violation
    ingest([{**events[0], "timestamp": "nope"}, events[0]], lambda_context)  # invalid_envelope
    EventSource(aws, lambda_context).drain(processor_handler)
    status, body = get("/errors", lambda_context, query_key)
    assert status == 200
    assert [e["type"] for e in body["items"]] == ["invalid_envelope", "schema_violation"]
    _, body = get("/errors", lambda_context, query_key, type="schema_violation")
    (violation,) = body["items"]
    assert violation["details"] == [{"field": "data.element", "message": "is required"}]
    assert violation["source"] == "processor" and violation["payload"]["name"] == "cta click"
    _, body = get("/errors", lambda_context, query_key, source="ingest", order="asc")
    assert [e["type"] for e in body["items"]] == ["invalid_envelope"]
    status, one = get(f"/errors/{quote(violation['error_id'])}", lambda_context, query_key)
    assert status == 200 and one == violation


def test_many_events_across_days_and_shards_page_completely_in_both_orders(
    aws: Aws, ingest_key: str, query_key: str, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INDEX_SHARDS", "4")  # fewer partitions, same merge: keeps the test quick
    clear_caches()
    # Given 260 events over three days, two categories, many sessions (so every shard has some)
    events: list[dict[str, Any]] = []
    for n in range(260):
        day = 1 + n % 3
        category, name = ("page interaction", "pageview") if n % 4 else ("form interaction", "submit")
        data = {"host": "h", "path": "/"} if n % 4 else {"host": "h", "path": "/", "form": {}}
        stamp = f"2021-03-0{day}T{n % 24:02d}:{n % 60:02d}:00.{n:06d}Z"
        events.append(
            {
                "session_id": f"s{n % 7}",
                "category": category,
                "name": name,
                "data": data,
                "timestamp": stamp,
                "event_id": f"ev-{n:03d}",
            }
        )
    ingest(events, lambda_context)
    EventSource(aws, lambda_context).drain(processor_handler)
    by_time = [e["event_id"] for e in sorted(events, key=lambda e: (e["timestamp"], e["event_id"]))]
    window = {"from": "2021-03-01", "to": "2021-03-04"}
    # When every page is walked, then each event comes once, in order, whatever the page size
    for limit in (7, 100):
        seen, pages = walk("/events", lambda_context, query_key, limit=limit, **window)
        assert seen == by_time and pages >= 260 // limit
        seen, _ = walk("/events", lambda_context, query_key, limit=limit, order="desc", **window)
        assert seen == list(reversed(by_time))
    pageviews = [i for i in by_time if int(i[3:]) % 4]
    seen, _ = walk("/events", lambda_context, query_key, limit=9, category="page interaction", **window)
    assert seen == pageviews
    seen, _ = walk(
        "/events", lambda_context, query_key, limit=9, category="page interaction", name="pageview", **window
    )
    assert seen == pageviews
    seen, _ = walk("/events", lambda_context, query_key, limit=11, name="submit", **window)
    assert seen == [i for i in by_time if not int(i[3:]) % 4]
    session = [
        e["event_id"]
        for e in sorted(events, key=lambda e: (e["timestamp"], e["event_id"]))
        if e["session_id"] == "s3"
    ]
    seen, _ = walk("/sessions/s3/events", lambda_context, query_key, limit=5)
    assert seen == session


def test_status_balances_after_a_mixed_load_and_stats_count_by_category(
    aws: Aws, ingest_key: str, query_key: str, lambda_context: Any
) -> None:
    events = sample("briefing_events.json")
    ingest(events, lambda_context)  # 3 stored
    ingest([{**events[1], "data": {"host": "h", "path": "/"}}], lambda_context)  # 1 schema_violation
    ingest([{**events[0], "timestamp": "nope"}, events[0]], lambda_context)  # 1 rejected, 1 duplicate
    status, before = get("/status", lambda_context, query_key)
    assert status == 200 and before["queued"] == 5 and before["balanced"] is True
    EventSource(aws, lambda_context).drain(processor_handler)
    _, ledger = get("/status", lambda_context, query_key)
    assert ledger["accepted"] == 5
    assert (ledger["stored"], ledger["duplicates"], ledger["queued"], ledger["dead_lettered"]) == (3, 1, 0, 0)
    assert ledger["invalid"]["schema_violation"] == 1 and ledger["rejected"]["invalid_envelope"] == 1
    assert ledger["balanced"] is True
    window = {"from": "2021-01-01T00:00:00Z", "to": "2021-01-02T00:00:00Z"}
    _, stats = get("/stats/events", lambda_context, query_key, interval="hour", **window)
    assert stats == {
        "interval": "hour",
        "series": [
            {"category": "form interaction", "points": [{"t": "2021-01-01T09:00:00Z", "count": 1}]},
            {"category": "page interaction", "points": [{"t": "2021-01-01T09:00:00Z", "count": 2}]},
        ],
    }
    _, by_minute = get(
        "/stats/events", lambda_context, query_key, interval="minute", category="page interaction", **window
    )
    assert by_minute["series"] == [
        {"category": "page interaction", "points": [{"t": "2021-01-01T09:15:00Z", "count": 2}]}
    ]
    _, by_day = get("/stats/events", lambda_context, query_key, interval="day", **window)
    assert [s["points"] for s in by_day["series"]] == [
        [{"t": "2021-01-01T00:00:00Z", "count": 1}],
        [{"t": "2021-01-01T00:00:00Z", "count": 2}],
    ]
    status, refused = get(
        "/stats/events",
        lambda_context,
        query_key,
        interval="minute",
        **{"from": "2021-01-01", "to": "2021-02-01"},
    )
    assert status == 400 and refused["error"]["details"][0]["field"] == "interval"


# -- GET /schemas: the processor's schema files, read-only ------------------------------------


def repository_schemas() -> list[dict[str, Any]]:
    """What GET /schemas must answer: every file of schemas/, by category then name."""
    files = [json.loads(p.read_text()) for p in (ROOT / "schemas").glob("*.json")]
    items = [
        {"category": s["x-event-type"]["category"], "name": s["x-event-type"]["name"], "schema": s}
        for s in files
    ]
    return sorted(items, key=lambda item: (item["category"], item["name"]))


def use_schemas(monkeypatch: pytest.MonkeyPatch, directory: Path) -> None:
    """Point the query function at another schema directory, as a new container would see it."""
    from query import handler

    monkeypatch.setenv("SCHEMAS_DIR", str(directory))
    get_settings.cache_clear()
    handler.dependencies.cache_clear()


def test_every_schema_of_the_repository_is_listed_by_category_then_name(
    aws: Aws, query_key: str, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the schemas the processor validates with (never compiled to be served)
    def no_compiling(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("GET /schemas compiled a schema")

    monkeypatch.setattr(fastjsonschema, "compile", no_compiling)
    # When they are listed
    status, body = get("/schemas", lambda_context, query_key)
    # Then every file is there, exactly as written
    assert status == 200, body
    assert body == {"items": repository_schemas()}
    assert [(i["category"], i["name"]) for i in body["items"]] == [
        ("form interaction", "submit"),
        ("page interaction", "cta click"),
        ("page interaction", "pageview"),
    ]


def test_one_schema_by_its_url_encoded_category_and_name(
    aws: Aws, query_key: str, lambda_context: Any
) -> None:
    expected = {(i["category"], i["name"]): i for i in repository_schemas()}
    status, body = get(
        f"/schemas/{quote('page interaction')}/{quote('cta click')}", lambda_context, query_key
    )
    assert status == 200, body
    assert body == expected[("page interaction", "cta click")]
    assert body["schema"]["required"] == ["host", "path", "element"]
    # as API Gateway sends it: the route's path parameters, already decoded, beside the raw path
    event = sample("apigw_get_health.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/schemas/form%20interaction/submit"
    event["routeKey"] = event["requestContext"]["routeKey"] = "GET /schemas/{category}/{name}"
    event["pathParameters"] = {"category": "form interaction", "name": "submit"}
    event["headers"]["authorization"] = f"Bearer {query_key}"
    answer = query_handler(event, lambda_context)
    assert answer["statusCode"] == 200
    assert json.loads(answer["body"]) == expected[("form interaction", "submit")]


@pytest.mark.parametrize(
    "path",
    [
        "/schemas/page%20interaction/nope",
        "/schemas/nope/pageview",
        "/schemas/form%20interaction/pageview",  # both exist, not as one type
        "/schemas/page%2520interaction/pageview",  # decoded once only
        "/schemas/page_interaction/pageview",  # the file's name is not the type
    ],
)
def test_a_type_without_a_schema_is_404_with_the_error_shape(
    aws: Aws, query_key: str, lambda_context: Any, path: str
) -> None:
    status, body = get(path, lambda_context, query_key)
    assert status == 404, body
    assert body["error"]["code"] == "not_found" and body["error"]["details"] == []
    assert "no schema for category" in body["error"]["message"]


def test_names_with_reserved_characters_round_trip_url_encoded(
    aws: Aws, query_key: str, lambda_context: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Given a type whose category and name need escaping (a slash, a percent sign, a question mark)
    category, name = "checkout/v2", "100% done? ü"
    schema = {"x-event-type": {"category": category, "name": name}, "type": "object"}
    (tmp_path / "odd.json").write_text(json.dumps(schema))
    use_schemas(monkeypatch, tmp_path)
    # When it is asked for with each segment URL-encoded
    path = f"/schemas/{quote(category, safe='')}/{quote(name, safe='')}"
    status, body = get(path, lambda_context, query_key)
    # Then it is found, and listed
    assert status == 200, body
    assert body == {"category": category, "name": name, "schema": schema}
    assert get("/schemas", lambda_context, query_key)[1] == {"items": [body]}


def test_the_schemas_are_read_once_per_container(
    aws: Aws, query_key: str, lambda_context: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "a.json").write_text(json.dumps({"x-event-type": {"category": "c", "name": "a"}}))
    use_schemas(monkeypatch, tmp_path)
    assert len(get("/schemas", lambda_context, query_key)[1]["items"]) == 1
    (tmp_path / "b.json").write_text(json.dumps({"x-event-type": {"category": "c", "name": "b"}}))
    assert len(get("/schemas", lambda_context, query_key)[1]["items"]) == 1  # same container
    use_schemas(monkeypatch, tmp_path)  # a new container reads the directory again
    assert [i["name"] for i in get("/schemas", lambda_context, query_key)[1]["items"]] == ["a", "b"]


@pytest.mark.parametrize(
    ("files", "error", "message"),
    [
        ({"broken.json": "{not json"}, SchemaFileError, "broken.json: not readable JSON"),
        ({"untyped.json": '{"type": "object"}'}, SchemaFileError, "untyped.json: needs x-event-type"),
        (
            {
                "one.json": '{"x-event-type": {"category": "c", "name": "n"}}',
                "two.json": '{"x-event-type": {"category": "c", "name": "n"}}',
            },
            SchemaFileError,
            "two.json: type ('c', 'n') is already defined",
        ),
        (None, ConfigurationError, "is not a directory"),
    ],
)
def test_an_invalid_schema_directory_fails_the_function_start(
    aws: Aws,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    files: dict[str, str] | None,
    error: type[Exception],
    message: str,
) -> None:
    from query import handler

    for file_name, text in (files or {}).items():
        (tmp_path / file_name).write_text(text)
    use_schemas(monkeypatch, tmp_path if files is not None else tmp_path / "missing")
    with pytest.raises(error, match=re.escape(message)):
        handler.dependencies()  # what Lambda's init runs (theeye.wiring.build_at_init)


@pytest.mark.parametrize("path", ["/schemas", "/schemas/page%20interaction/pageview", "/schemas/no/such"])
def test_schemas_need_a_key_with_the_query_scope(
    aws: Aws, ingest_key: str, lambda_context: Any, path: str
) -> None:
    status, body = get(path, lambda_context, None)
    assert status == 401 and body["error"]["code"] == "unauthorized"
    assert get(path, lambda_context, "eye_unknown-00000000000000000000000")[0] == 401
    status, body = get(path, lambda_context, ingest_key)
    assert status == 403 and body["error"]["code"] == "forbidden"
