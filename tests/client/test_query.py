"""QueryClient against the fake API: routes, parameters, lazy paging, typed errors, retries."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from theeye_client import (
    ApiError,
    BadRequest,
    NotFound,
    QueryClient,
    ServiceUnavailable,
    TransportError,
    Unauthorized,
)

from tests.client.conftest import Sleeps
from tests.client.fake_api import FakeApi, Received

QUERY_KEY = "eye_test-query-key"


@pytest.fixture
def query(api: FakeApi, sleeps: Sleeps) -> Iterator[QueryClient]:
    client = QueryClient(QUERY_KEY, api.url + "/", sleep=sleeps, max_retries=2)
    yield client
    client.close()


def paged(pages: list[list[int]]) -> Any:
    """An ``on_get`` serving ``pages`` of events, chained by cursors ``c1``, ``c2``, ..."""

    def answer(request: Received) -> tuple[int, Any, dict[str, str]]:
        cursor = request.param("cursor")
        number = 0 if cursor is None else int(cursor[1:])
        items = [{"event_id": f"e{n}", "n": n} for n in pages[number]]
        next_cursor = f"c{number + 1}" if number + 1 < len(pages) else None
        return 200, {"items": items, "next_cursor": next_cursor}, {}

    return answer


def test_events_walks_every_page_lazily_with_the_same_filters(api: FakeApi, query: QueryClient) -> None:
    api.on_get = paged([[1, 2], [3], [], [4, 5]])
    found = query.events(
        session_id="s/1",
        category="page interaction",
        name="pageview",
        start=datetime(2021, 1, 1, 2, tzinfo=timezone(timedelta(hours=2))),
        end="2021-01-02",
        order="desc",
        page_size=2,
    )
    assert api.requests == []  # nothing fetched before the first item is asked for
    assert next(found)["event_id"] == "e1"
    assert len(api.requests) == 1
    assert [e["event_id"] for e in found] == ["e2", "e3", "e4", "e5"]
    assert len(api.requests) == 4
    filters = {
        "session_id": ["s/1"],
        "category": ["page interaction"],
        "name": ["pageview"],
        "from": ["2021-01-01T00:00:00.000000Z"],
        "to": ["2021-01-02T00:00:00.000000Z"],
        "order": ["desc"],
        "limit": ["2"],
    }
    assert [r.query for r in api.requests] == [
        filters,
        {**filters, "cursor": ["c1"]},
        {**filters, "cursor": ["c2"]},
        {**filters, "cursor": ["c3"]},
    ]
    assert {r.path for r in api.requests} == {"/events"}
    assert all(r.headers["authorization"] == f"Bearer {QUERY_KEY}" for r in api.requests)


def test_session_events_escape_the_session_id_into_one_path_segment(api: FakeApi, query: QueryClient) -> None:
    api.on_get = paged([[1]])
    assert len(list(query.session_events("a/b c?", start=date(2021, 1, 1)))) == 1
    [request] = api.requests
    assert request.path == "/sessions/a%2Fb%20c%3F/events"
    assert request.query == {"from": ["2021-01-01T00:00:00.000000Z"]}


def test_errors_send_their_filters(api: FakeApi, query: QueryClient) -> None:
    api.on_get = paged([[7]])
    list(query.errors(type="schema_violation", source="processor", application_id="app", order="asc"))
    assert api.requests[0].path == "/errors"
    assert api.requests[0].query == {
        "type": ["schema_violation"],
        "source": ["processor"],
        "application_id": ["app"],
        "order": ["asc"],
    }


def test_single_items_stats_status_and_health(api: FakeApi, query: QueryClient) -> None:
    answers = {
        "/events/ev-1": {"event_id": "ev-1"},
        "/errors/er-1": {"error_id": "er-1"},
        "/stats/events": {"interval": "day", "series": []},
        "/status": {"accepted": 1, "stored": 1, "balanced": True},
        "/health": {"status": "ok"},
        "/openapi.json": {"openapi": "3.1.0", "paths": {}},
    }
    api.on_get = lambda request: (200, answers[request.path], {})
    assert query.event("ev-1")["event_id"] == "ev-1"
    assert query.error("er-1")["error_id"] == "er-1"
    assert query.stats("2021-01-01", datetime(2021, 1, 2), "day", category="page interaction")["series"] == []
    assert query.status()["balanced"] is True
    assert query.health() == {"status": "ok"}
    assert query.openapi()["openapi"] == "3.1.0"
    stats_request = api.requests[2]
    assert stats_request.query == {
        "from": ["2021-01-01T00:00:00.000000Z"],
        "to": ["2021-01-02T00:00:00.000000Z"],
        "category": ["page interaction"],
        "interval": ["day"],
    }


@pytest.mark.parametrize(
    ("status", "kind"), [(400, BadRequest), (401, Unauthorized), (404, NotFound), (422, ApiError)]
)
def test_error_answers_raise_typed_exceptions_with_the_body(
    api: FakeApi, query: QueryClient, status: int, kind: type[ApiError]
) -> None:
    details = [{"field": "limit", "message": "too big"}]
    body = {"error": {"code": "some_code", "message": "what went wrong", "details": details}}
    api.on_get = lambda request: (status, body, {})
    with pytest.raises(kind) as raised:
        query.event("missing")
    error = raised.value
    assert (error.status, error.code, error.message, error.details) == (
        status,
        "some_code",
        "what went wrong",
        details,
    )
    assert len(api.requests) == 1  # not retried


def test_an_error_body_outside_the_contract_still_raises(api: FakeApi, query: QueryClient) -> None:
    api.on_get = lambda request: (404, ["not", "the", "shape"], {})
    with pytest.raises(NotFound) as raised:
        query.error("x")
    assert raised.value.code == "http_404"


def test_gets_are_retried_on_503_then_give_up(api: FakeApi, query: QueryClient, sleeps: Sleeps) -> None:
    body = {"error": {"code": "service_unavailable", "message": "busy", "details": []}}
    api.on_get = lambda request: (503, body, {"Retry-After": "3"})
    with pytest.raises(ServiceUnavailable) as raised:
        query.status()
    assert raised.value.retry_after == 3.0
    assert len(api.requests) == 3 and len(sleeps.delays) == 2 and min(sleeps.delays) >= 3.0

    calls: list[int] = []

    def flaky(request: Received) -> tuple[int, Any, dict[str, str]]:
        calls.append(1)
        return (503, body, {}) if len(calls) == 1 else (200, {"status": "ok"}, {})

    api.on_get = flaky
    assert query.health() == {"status": "ok"}


def test_an_unreachable_api_raises_transport_error(sleeps: Sleeps) -> None:
    query = QueryClient(QUERY_KEY, "http://127.0.0.1:9", max_retries=1, sleep=sleeps)
    with pytest.raises(TransportError):
        query.health()
    assert len(sleeps.delays) == 1


def test_a_cursor_given_twice_stops_the_walk(api: FakeApi, query: QueryClient) -> None:
    api.on_get = lambda request: (200, {"items": [{"event_id": "x"}], "next_cursor": "same"}, {})
    with pytest.raises(ApiError, match="cursor"):
        list(query.events(session_id="s"))


@pytest.mark.parametrize(
    "call",
    [
        lambda q: q.events(page_size=0),
        lambda q: q.events(page_size=1001),
        lambda q: q.events(order="up"),
        lambda q: q.events(session_id=""),
        lambda q: q.events(start="last tuesday"),
        lambda q: q.session_events(""),
        lambda q: q.stats(None, None, "week"),
        lambda q: q.event(""),
    ],
)
def test_bad_arguments_fail_before_any_request(api: FakeApi, query: QueryClient, call: Any) -> None:
    with pytest.raises(ValueError):
        call(query)
    assert api.requests == []
