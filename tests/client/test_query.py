"""QueryClient against the fake API: routes, parameters, lazy paging, typed errors, retries."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

import pytest
from theeye_client import (
    ApiError,
    BadRequest,
    Client,
    NotFound,
    QueryClient,
    ServiceUnavailable,
    TransportError,
    Unauthorized,
)

from tests.client.conftest import Sleeps
from tests.client.fake_api import QUERY_KEY, FakeApi, Received
from theeye.api_models import SessionOut


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
        lambda q: q.sessions(page_size=0),
        lambda q: q.sessions(order="newest"),
        lambda q: q.sessions(application_id=""),
        lambda q: q.sessions(end="yesterday"),
        lambda q: q.stats(None, None, "week"),
        lambda q: q.event(""),
        lambda q: q.schema("", "pageview"),
        lambda q: q.schema("page interaction", " "),
        lambda q: q.schema("page interaction", "x" * 129),
    ],
)
def test_bad_arguments_fail_before_any_request(api: FakeApi, query: QueryClient, call: Any) -> None:
    with pytest.raises(ValueError):
        call(query)
    assert api.requests == []


SCHEMAS: list[dict[str, Any]] = [
    {"category": "form interaction", "name": "submit", "schema": {"type": "object", "required": ["form"]}},
    {"category": "page/interaction", "name": "100% click?", "schema": {"type": "object"}},
]


def schema_routes(request: Received) -> tuple[int, Any, dict[str, str]]:
    """The fake's ``GET /schemas`` and ``GET /schemas/{category}/{name}`` (segments still encoded)."""
    if request.path == "/schemas":
        return 200, {"items": SCHEMAS}, {}
    by_path = {f"/schemas/{quote(s['category'], safe='')}/{quote(s['name'], safe='')}": s for s in SCHEMAS}
    if request.path in by_path:
        return 200, by_path[request.path], {}
    body = {"error": {"code": "not_found", "message": "no schema for that type", "details": []}}
    return 404, body, {}


def test_schemas_lists_every_event_type_in_one_request(api: FakeApi, query: QueryClient) -> None:
    api.on_get = schema_routes
    found = query.schemas()
    assert found == SCHEMAS
    assert [s["schema"]["type"] for s in found] == ["object", "object"]
    [request] = api.requests
    assert (request.path, request.query) == ("/schemas", {})
    assert request.headers["authorization"] == f"Bearer {QUERY_KEY}"


def test_schema_escapes_category_and_name_into_one_segment_each(api: FakeApi, query: QueryClient) -> None:
    api.on_get = schema_routes
    one = query.schema("page/interaction", "100% click?")
    assert one == SCHEMAS[1]
    assert api.requests[0].path == "/schemas/page%2Finteraction/100%25%20click%3F"
    with pytest.raises(NotFound) as raised:
        query.schema("form interaction", "pageview")
    assert raised.value.code == "not_found"
    assert len(api.requests) == 2  # a 404 is not retried


def test_a_schema_list_without_items_is_an_invalid_response(api: FakeApi, query: QueryClient) -> None:
    api.on_get = lambda request: (200, [{"category": "c"}], {})
    with pytest.raises(ApiError, match="items"):
        query.schemas()


# ------------------------------------------------------------------ sessions (the fake serves them
# with the server's own store and query code)


def send(make_client: Callable[..., Client], events: list[tuple[str, datetime]], **track: Any) -> None:
    """Send ``(session, timestamp)`` events with the client, and wait until all are accepted."""
    with make_client() as eye:
        for session, moment in events:
            eye.track(session, "client test", "tick", {"session": session}, timestamp=moment, **track)
        stats = eye.flush(timeout=10)
    assert (stats.sent, stats.pending) == (len(events), 0)


def near(found: str, expected: datetime) -> bool:
    """The API corrects each timestamp by the request's ``sent_at``: off by the request's latency."""
    return abs(datetime.fromisoformat(found.replace("Z", "+00:00")) - expected) < timedelta(seconds=5)


def test_sessions_are_listed_newest_first_page_by_page(
    api: FakeApi, query: QueryClient, make_client: Callable[..., Client]
) -> None:
    # Given five sessions whose first events are an hour apart, sent out of order
    now = datetime.now(UTC).replace(microsecond=0)
    first = {f"s{n}": now - timedelta(hours=10 - n) for n in range(5)}
    events = [(s, t + timedelta(minutes=m)) for s, t in reversed(first.items()) for m in range(int(s[1]) + 1)]
    send(make_client, events)
    # When they are listed newest first, two per page
    found = list(query.sessions(order="desc", page_size=2))
    # Then every session comes once, by its first event, with its count and time span
    assert [s["session_id"] for s in found] == ["s4", "s3", "s2", "s1", "s0"]
    for summary in found:
        n = int(summary["session_id"][1])
        assert summary["events"] == n + 1
        assert near(summary["first_seen"], first[summary["session_id"]])
        assert near(summary["last_seen"], first[summary["session_id"]] + timedelta(minutes=n))
        assert summary["application_ids"] == ["fake-app"]
        assert set(summary) == set(SessionOut.model_fields)
    gets = [r for r in api.requests if r.method == "GET"]
    assert [r.path for r in gets] == ["/sessions"] * 3
    assert [r.query.get("cursor") is None for r in gets] == [True, False, False]
    assert all(r.query["order"] == ["desc"] and r.query["limit"] == ["2"] for r in gets)
    assert [s["session_id"] for s in query.sessions()] == ["s0", "s1", "s2", "s3", "s4"]  # ascending


def test_sessions_take_a_time_range_and_an_application(
    api: FakeApi, query: QueryClient, make_client: Callable[..., Client]
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    api.application_id = "shop"
    send(make_client, [("old", now - timedelta(hours=30)), ("both", now - timedelta(hours=2))])
    api.application_id = "blog"
    send(make_client, [("both", now - timedelta(hours=1)), ("blog-only", now - timedelta(minutes=30))])
    # Without a start: the last 24 hours, by the first event (a later event does not move it)
    assert [s["session_id"] for s in query.sessions()] == ["both", "blog-only"]
    both = next(s for s in query.sessions() if s["session_id"] == "both")
    assert (both["events"], both["application_ids"]) == (2, ["blog", "shop"])
    # A range: from inclusive, to exclusive
    window = list(query.sessions(start=now - timedelta(days=2), end=now - timedelta(hours=2)))
    assert [s["session_id"] for s in window] == ["old"]
    # An application: the sessions it sent any event of
    assert [s["session_id"] for s in query.sessions(application_id="shop")] == ["both"]
    assert [s["session_id"] for s in query.sessions(application_id="blog", order="desc")] == [
        "blog-only",
        "both",
    ]
    assert list(query.sessions(application_id="nobody")) == []
    last = api.requests[-1]
    assert (last.path, last.query) == ("/sessions", {"application_id": ["nobody"]})


def test_a_session_counts_its_stored_events_not_every_copy(
    api: FakeApi, query: QueryClient, make_client: Callable[..., Client]
) -> None:
    moment = datetime.now(UTC) - timedelta(minutes=5)
    send(make_client, [("again", moment)], event_id="the-same-event")
    send(make_client, [("again", moment)], event_id="the-same-event")  # a duplicate: stored once
    assert len(api.deliveries) == 2
    [summary] = query.sessions()
    assert (summary["session_id"], summary["events"]) == ("again", 1)


def test_sessions_need_a_query_key(api: FakeApi, sleeps: Sleeps) -> None:
    with QueryClient("eye_not-the-query-key", api.url, sleep=sleeps) as wrong, pytest.raises(Unauthorized):
        list(wrong.sessions())
