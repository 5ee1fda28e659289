"""The briefing, end to end through `make run`'s stack: ingest over HTTP, the real SQS poll
loop and processor, then the query API. Each test uses its own session ids."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from tests.e2e.ledger import settled
from tests.e2e.local_stack import BACKENDS, LocalStackHandle
from tests.support import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("local_stack", BACKENDS, indirect=True)]
BRIEFING = json.loads((Path(__file__).parents[2] / "events" / "briefing_events.json").read_text())


def post(stack: LocalStackHandle, events: Any) -> dict[str, Any]:
    answer = stack.request(
        "POST", "/events", body=events, headers={"Authorization": f"Bearer {stack.ingest_key}"}
    )
    assert answer.status == 202, answer.body
    return dict(answer.json())


def get(stack: LocalStackHandle, path: str, **params: Any) -> Any:
    query = f"?{urlencode(params)}" if params else ""
    answer = stack.request("GET", path + query, headers={"Authorization": f"Bearer {stack.query_key}"})
    assert answer.status == 200, answer.body
    return answer.json()


def session_events(
    stack: LocalStackHandle, session: str, expected: int, limit: int = 100
) -> list[dict[str, Any]]:
    def found() -> list[dict[str, Any]] | None:
        items: list[dict[str, Any]] = get(stack, f"/sessions/{quote(session)}/events", limit=limit)["items"]
        return items if len(items) >= expected else None

    return eventually(f"{expected} stored events of session {session}", found)


def errors_for(stack: LocalStackHandle, event_ids: set[str], expected: int) -> list[dict[str, Any]]:
    def found() -> list[dict[str, Any]] | None:
        items = get(stack, "/errors", limit=1000)["items"]
        mine = [e for e in items if e["event_id"] in event_ids]
        return mine if len(mine) >= expected else None

    return eventually(f"{expected} errors of the events {sorted(event_ids)}", found)


def test_the_briefing_events_are_stored_and_queryable(local_stack: LocalStackHandle) -> None:
    session = f"briefing-{uuid.uuid4()}"
    events = [{**e, "session_id": session} for e in BRIEFING]
    ids = post(local_stack, events)["event_ids"]
    stored = session_events(local_stack, session, 3)
    assert sorted(e["event_id"] for e in stored) == sorted(ids)
    assert [e["timestamp"] for e in stored] == ["2021-01-01T09:15:27.243860Z"] * 3
    by_category = get(
        local_stack, "/events", category="form interaction", **{"from": "2021-01-01", "to": "2021-01-02"}
    )
    assert ids[2] in [e["event_id"] for e in by_category["items"]]
    one = get(local_stack, f"/events/{ids[1]}")
    assert one["data"] == {"host": "www.example.com", "path": "/", "element": "chat bubble"}


def test_invalid_payloads_future_timestamps_and_conflicts_become_errors_not_events(
    local_stack: LocalStackHandle,
) -> None:
    session = f"invalid-{uuid.uuid4()}"
    pageview, cta, submit = ({**e, "session_id": session} for e in BRIEFING)
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    first = {**pageview, "event_id": f"{session}-reused"}
    sent = {
        "cta": {**cta, "event_id": f"{session}-cta", "data": {"host": "www.example.com", "path": "/"}},
        "form": {
            **submit,
            "event_id": f"{session}-form",
            "data": {"host": "www.example.com", "path": "/", "form": {"first_name": 7, "last_name": "Doe"}},
        },
        "future": {**pageview, "event_id": f"{session}-future", "timestamp": tomorrow},
    }
    post(local_stack, [first, *sent.values()])
    assert [e["event_id"] for e in session_events(local_stack, session, 1)] == [first["event_id"]]
    post(local_stack, {**first, "data": {"host": "www.example.com", "path": "/elsewhere"}})

    errors = errors_for(local_stack, {e["event_id"] for e in sent.values()} | {first["event_id"]}, 4)
    by_event = {e["event_id"]: e for e in errors}
    assert by_event[sent["cta"]["event_id"]]["type"] == "schema_violation"
    assert by_event[sent["cta"]["event_id"]]["details"] == [
        {"field": "data.element", "message": "is required"}
    ]
    form_error = by_event[sent["form"]["event_id"]]
    assert form_error["type"] == "schema_violation"
    assert [d["field"] for d in form_error["details"]] == ["data.form.first_name"]
    assert by_event[sent["future"]["event_id"]]["type"] == "future_timestamp"
    assert by_event[first["event_id"]]["type"] == "event_id_conflict"
    # the first version of the reused id stays; none of the invalid events is stored
    stored = get(local_stack, f"/sessions/{quote(session)}/events")["items"]
    assert [(e["event_id"], e["data"]["path"]) for e in stored] == [(first["event_id"], "/")]


def test_the_query_api_answers_every_question_about_the_briefing(local_stack: LocalStackHandle) -> None:
    session = f"queries-{uuid.uuid4()}"
    # A day of its own, so the category and time-range answers hold only this test's events
    day = datetime(2020, 2, 29, tzinfo=UTC) - timedelta(days=uuid.uuid4().int % 3000)
    stamp = day.replace(hour=9, minute=15, second=27, microsecond=243860).isoformat()
    window = {"from": day.date().isoformat(), "to": (day + timedelta(days=1)).date().isoformat()}
    ids = post(local_stack, [{**e, "session_id": session, "timestamp": stamp} for e in BRIEFING])["event_ids"]
    in_order = sorted(ids)  # one shared timestamp: ties are ordered by event id
    assert [e["event_id"] for e in session_events(local_stack, session, 3)] == in_order

    def ids_of(path: str, **params: Any) -> list[str]:
        return [e["event_id"] for e in get(local_stack, path, **params)["items"]]

    assert ids_of("/events", session_id=session) == in_order
    assert ids_of("/events", session_id=session, order="desc") == in_order[::-1]
    assert sorted(ids_of("/events", category="page interaction", **window)) == sorted(ids[:2])
    assert ids_of("/events", category="page interaction", name="cta click", **window) == [ids[1]]
    assert ids_of("/events", **window) == in_order
    assert ids_of("/events", **{**window, "from": stamp.replace("27.243860", "27.243861")}) == []

    seen: list[str] = []
    cursor: str | None = None
    for _ in range(5):
        page = get(
            local_stack, "/events", session_id=session, limit=1, **({"cursor": cursor} if cursor else {})
        )
        seen += [e["event_id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == in_order and cursor is None

    assert get(local_stack, f"/events/{ids[0]}")["name"] == "pageview"
    missing = local_stack.request("GET", "/events/nope", headers={"X-Api-Key": local_stack.query_key})
    assert missing.status == 404 and missing.json()["error"]["code"] == "not_found"
    bad = local_stack.request("GET", "/events?limit=0", headers={"X-Api-Key": local_stack.query_key})
    assert bad.status == 400 and bad.json()["error"]["details"]


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_sent_at_removes_the_senders_clock_offset_and_keeps_what_it_wrote(
    local_stack: LocalStackHandle,
) -> None:
    """A sender whose clock runs an hour ahead: its event is stored at our time, not in the
    future, with what it wrote kept as client_timestamp; a retry with a later sent_at is the
    same event (same derived id), stored once."""
    session = f"skew-{uuid.uuid4()}"
    ahead = timedelta(hours=1)
    wrote = datetime.now(UTC) + ahead - timedelta(seconds=5)  # 5 s before it was sent, by its clock
    event = {"session_id": session, "category": "skew", "name": "e", "data": {}, "timestamp": iso(wrote)}
    before = datetime.now(UTC)
    first = post(local_stack, {**event, "sent_at": iso(wrote + timedelta(seconds=5))})["event_ids"]
    retry = post(local_stack, {**event, "sent_at": iso(wrote + timedelta(seconds=9))})["event_ids"]
    assert retry == first  # sent_at takes no part in the derived id
    [stored] = session_events(local_stack, session, 1)
    assert stored["client_timestamp"] == iso(wrote)
    corrected = datetime.fromisoformat(stored["timestamp"])
    # received minus 5 s (the first) or minus 9 s (the retry, when it was processed first)
    assert before - timedelta(seconds=9) <= corrected <= datetime.now(UTC) - timedelta(seconds=5)
    settled(local_stack)  # the retry's outcome (a duplicate) is in: nothing more was stored
    assert len(get(local_stack, f"/sessions/{quote(session)}/events")["items"]) == 1
    assert get(local_stack, f"/events/{first[0]}")["client_timestamp"] == iso(wrote)


def test_the_future_rule_judges_the_corrected_timestamp(local_stack: LocalStackHandle) -> None:
    """Written an hour ahead and sent at once: stored. Without sent_at the same time is future."""
    session = f"skew-future-{uuid.uuid4()}"
    wrote = datetime.now(UTC) + timedelta(hours=1)
    event = {"session_id": session, "category": "skew", "name": "e", "data": {}, "timestamp": iso(wrote)}
    corrected = post(local_stack, {**event, "sent_at": iso(wrote)})["event_ids"]
    future = post(local_stack, {**event, "name": "no-sent-at"})["event_ids"]
    stored = session_events(local_stack, session, 1)
    assert [e["event_id"] for e in stored] == corrected
    [error] = errors_for(local_stack, set(future), 1)
    assert error["type"] == "future_timestamp"
    assert "sent_at" not in error["payload"]


def test_an_event_without_sent_at_reads_back_with_client_timestamp_equal(
    local_stack: LocalStackHandle,
) -> None:
    session = f"no-skew-{uuid.uuid4()}"
    event = {"session_id": session, "category": "skew", "name": "e", "data": {}}
    post(local_stack, {**event, "timestamp": "2021-01-01 09:15:27.243860"})
    [stored] = session_events(local_stack, session, 1)
    assert stored["timestamp"] == stored["client_timestamp"] == "2021-01-01T09:15:27.243860Z"
