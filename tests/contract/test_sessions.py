"""Contract of the session summaries (``SessionReader``) and of erasure (``Eraser``), on every
backend, driven through the processor's own use case (``process_message`` then ``commit``):
the counting step keeps the summaries on every backend, and the reads must agree."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from processor.logic import Processor, Rules, commit, process_message
from tests.contract.test_readers import walk as walk_pages
from theeye.clock import format_timestamp
from theeye.events import Event
from theeye.ledger import ledger_status
from theeye.messages import Origin, QueuedEvent, QueueMessage, Rejection
from theeye.ports import Backend, ErrorFilter, View, Window
from theeye.records import ERASED_MESSAGE
from theeye.schemas import SchemaRegistry

SCHEMAS = SchemaRegistry.from_directory(Path(__file__).parents[2] / "schemas")
START = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)
EMPTY = {"messages": 0, "in_flight": 0}


def processor(backend: Backend) -> Processor:
    return Processor(backend.event_store(), backend.error_store(), backend.counters(), SCHEMAS, Rules())


def at(minutes: float) -> str:
    return format_timestamp(START + timedelta(minutes=minutes))


def event(session: str, minutes: float, n: int, name: str = "e") -> Event:
    return Event(f"ev-{session}-{n}", session, "shop", name, {"n": n}, at(minutes))


def body(
    *events: Event, app: str = "app-1", request: str = "req-1", rejections: list[Rejection] | None = None
) -> str:
    origin = Origin(app, "key-1", at(60 * 24 * 3), request)
    queued = [QueuedEvent(i, e) for i, e in enumerate(events)]
    return QueueMessage(origin, queued, rejections or []).to_body()


def process(backend: Backend, *bodies: str) -> None:
    p = processor(backend)
    commit(p, [process_message(b, p) for b in bodies])


def walk(backend: Backend, window: Window, limit: int, application_id: str | None = None) -> list[View]:
    reader = backend.session_reader()
    return walk_pages(lambda w: reader.page(w, application_id=application_id, limit=limit), window, limit)


WHOLE = Window(START - timedelta(days=2), START + timedelta(days=4), False, None)


def test_a_session_summary_counts_spans_and_names_its_applications(backend: Backend) -> None:
    process(
        backend,
        body(event("s-1", 5, 1), event("s-1", 2, 2)),
        body(event("s-1", 9, 3), app="app-2", request="r2"),
    )
    [summary] = walk(backend, WHOLE, 10)
    assert summary == {
        "session_id": "s-1",
        "first_seen": at(2),
        "last_seen": at(9),
        "events": 3,
        "application_ids": ["app-1", "app-2"],
    }


def test_a_late_event_moves_the_first_event_and_the_order(backend: Backend) -> None:
    process(backend, body(event("s-a", 10, 1)), body(event("s-b", 20, 1), request="r2"))
    assert [s["session_id"] for s in walk(backend, WHOLE, 10)] == ["s-a", "s-b"]
    process(backend, body(event("s-b", -90, 2), request="r3"))  # late, and on the day before
    sessions = walk(backend, WHOLE, 10)
    assert [s["session_id"] for s in sessions] == ["s-b", "s-a"]
    assert sessions[0]["first_seen"] == at(-90) and sessions[0]["last_seen"] == at(20)
    descending = walk(backend, Window(WHOLE.start, WHOLE.end, True, None), 1)
    assert [s["session_id"] for s in descending] == ["s-a", "s-b"]
    # the window is on the first event: s-b started before START, s-a after it
    later = walk(backend, Window(START, WHOLE.end, False, None), 10)
    assert [s["session_id"] for s in later] == ["s-a"]


@pytest.mark.parametrize("limit", [1, 4, 100])
def test_pages_walk_every_session_once_in_order(backend: Backend, limit: int) -> None:
    bodies = [body(event(f"s-{n:02d}", n * 37 % 2900, n), request=f"r{n}") for n in range(23)]
    process(backend, *bodies)
    truth = sorted((n * 37 % 2900, f"s-{n:02d}") for n in range(23))
    for descending in (False, True):
        seen = walk(backend, Window(WHOLE.start, WHOLE.end, descending, None), limit)
        expected = [s for _t, s in (reversed(truth) if descending else truth)]
        assert [s["session_id"] for s in seen] == expected


def test_only_sessions_of_an_application_when_asked(backend: Backend) -> None:
    process(
        backend, body(event("s-x", 1, 1), app="app-x"), body(event("s-y", 2, 1), app="app-yy", request="r2")
    )
    assert [s["session_id"] for s in walk(backend, WHOLE, 10, "app-x")] == ["s-x"]
    assert walk(backend, WHOLE, 10, "app-y") == []  # a member, not a substring


def test_a_redelivered_message_and_duplicates_count_nothing_twice(backend: Backend) -> None:
    message = body(event("s-d", 1, 1), event("s-d", 2, 2))
    process(backend, message)
    process(backend, message)  # the same message again
    process(backend, body(event("s-d", 1, 1), request="other"))  # the same event in another request
    [summary] = walk(backend, WHOLE, 10)
    assert summary["events"] == 2


def test_erasure_removes_events_summary_and_error_payloads_and_is_counted_once(backend: Backend) -> None:
    bad = Rejection(
        3,
        "invalid_envelope",
        [{"field": "name", "message": "is required"}],
        {"session_id": "s-e", "x": "secret"},
    )
    nameless = Rejection(4, "invalid_envelope", [{"field": "session_id", "message": "is required"}], {"x": 1})
    invalid = Event("ev-bad", "s-e", "page interaction", "pageview", {"host": 7}, at(3))  # breaks its schema
    process(backend, body(event("s-e", 1, 1), event("s-e", 2, 2), invalid, rejections=[bad, nameless]))
    process(backend, body(event("s-keep", 1, 1), request="r2"))
    errors = backend.error_reader().page(WHOLE_ERRORS, ErrorFilter(), limit=100).items
    assert sorted((e["session_id"] or "") for e in errors) == ["", "s-e", "s-e"]

    erasure = backend.eraser().erase("s-e")
    assert (erasure.events_erased, erasure.errors_redacted) == (2, 2)
    reader = backend.event_reader()
    assert (
        reader.by_session("s-e", Window(None, None, False, None), category=None, name=None, limit=10).items
        == []
    )
    assert reader.get("ev-s-e-1") is None
    assert [s["session_id"] for s in walk(backend, WHOLE, 10)] == ["s-keep"]
    for error in backend.error_reader().page(WHOLE_ERRORS, ErrorFilter(), limit=100).items:
        if error["session_id"] == "s-e":
            assert error["payload"] is None and error["erased"] is True
            assert {d["message"] for d in error["details"]} == {ERASED_MESSAGE}
            assert backend.error_reader().get(error["error_id"])["payload"] is None
        else:
            assert error["payload"] == {"x": 1} and error["erased"] is False
    status = ledger_status(backend.counters().totals(), EMPTY, EMPTY)
    assert (status["stored"], status["erased"], status["balanced"]) == (3, 2, True)

    again = backend.eraser().erase("s-e")
    assert (again.events_erased, again.errors_redacted) == (0, 0)
    assert backend.counters().totals()["erased"] == 2


def test_events_of_an_erased_session_that_arrive_later_are_new_data(backend: Backend) -> None:
    message = body(event("s-n", 1, 1))
    process(backend, message)
    backend.eraser().erase("s-n")
    process(backend, body(event("s-n", 1, 1), request="sent-again"))  # the same event id, sent again
    stored = backend.event_reader().by_session(
        "s-n", Window(None, None, False, None), category=None, name=None, limit=10
    )
    assert [e["event_id"] for e in stored.items] == ["ev-s-n-1"]
    [summary] = walk(backend, WHOLE, 10)
    assert summary["events"] == 1


WHOLE_ERRORS = Window(START, START + timedelta(days=4), True, None)
