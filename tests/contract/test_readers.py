"""Contract of the read side: EventReader and ErrorReader page exactly like each other.

Pages may come back short (a filter that matches little spends a DynamoDB page's budget), so
the suite walks every page and compares the whole walk with the truth: the same items in the
same order, never one skipped or repeated, never more than ``limit`` on a page.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from theeye.clock import format_timestamp
from theeye.events import Event
from theeye.ports import Backend, ErrorFilter, Page, View, Window
from theeye.records import ErrorRecord, EventRecord

START = datetime(2026, 11, 22, 22, 0, tzinfo=UTC)
SESSIONS = ("s-a", "s-b", "s-c")
CATEGORIES = ("page interaction", "form interaction")
NAMES = ("pageview", "cta click", "submit")


# a stored context as ingest builds it (theeye.context.enrich)
CONTEXT = {
    "ip": "203.0.113.0",
    "user_agent": "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
    "browser": {"family": "Firefox", "version": "120.0"},
    "os": {"family": "Linux"},
    "device": "desktop",
    "bot": False,
    "page": {"url": "https://shop.example/p", "host": "shop.example", "path": "/p"},
    "campaign": {"source": "news"},
}


def seed_events(backend: Backend, count: int = 90) -> list[Event]:
    """Events over three UTC days, some sharing a timestamp, registered as the processor does."""
    rng = random.Random(7)
    events = []
    for n in range(count):
        at = START + timedelta(minutes=rng.randrange(0, 60 * 30))
        if n % 10 == 9:
            at = events[-1].occurred_at  # ties: ordered by event id
        events.append(
            Event(
                event_id=f"ev-{rng.randrange(16**8):08x}",
                session_id=rng.choice(SESSIONS),
                category=rng.choice(CATEGORIES),
                name=rng.choice(NAMES),
                data={"n": n},
                timestamp=format_timestamp(at),
                context=CONTEXT if n % 2 == 0 else {},
            )
        )
    counters, store = backend.counters(), backend.event_store()
    days: dict[str, set[str]] = {}
    for e in events:
        days.setdefault(e.timestamp[:10], set()).add(e.category)
    counters.register(days)
    for e in events:
        store.put(EventRecord(e, "app-1", format_timestamp(START), f"req#{e.event_id}", e.content_hash()))
    return events


def walk(read: Callable[[Window], Page], window: Window, limit: int) -> list[View]:
    seen: list[View] = []
    after = window.after
    for _ in range(500):
        page = read(Window(window.start, window.end, window.descending, after))
        assert len(page.items) <= limit
        seen += page.items
        if page.position is None:
            return seen
        after = page.position
    raise AssertionError("the pages never ended")


def ordered(events: list[Event], descending: bool) -> list[str]:
    return [e.event_id for e in sorted(events, key=lambda e: (e.timestamp, e.event_id), reverse=descending)]


@pytest.mark.parametrize("limit", [3, 11, 100])
@pytest.mark.parametrize("descending", [False, True])
def test_pages_by_session_category_name_and_range_are_the_ordered_truth(
    backend: Backend, limit: int, descending: bool
) -> None:
    events = seed_events(backend)
    reader = backend.event_reader()
    start, end = START + timedelta(hours=3), START + timedelta(hours=27)
    window = Window(start, end, descending, None)
    inside = [e for e in events if start <= e.occurred_at < end]

    got = walk(lambda w: reader.by_session("s-a", w, category=None, name=None, limit=limit), window, limit)
    assert [v["event_id"] for v in got] == ordered([e for e in inside if e.session_id == "s-a"], descending)

    got = walk(
        lambda w: reader.by_session("s-b", w, category="form interaction", name="submit", limit=limit),
        window,
        limit,
    )
    wanted = [
        e for e in inside if (e.session_id, e.category, e.name) == ("s-b", "form interaction", "submit")
    ]
    assert [v["event_id"] for v in got] == ordered(wanted, descending)

    got = walk(lambda w: reader.by_category("page interaction", w, name=None, limit=limit), window, limit)
    assert [v["event_id"] for v in got] == ordered(
        [e for e in inside if e.category == "page interaction"], descending
    )

    got = walk(
        lambda w: reader.by_category("page interaction", w, name="cta click", limit=limit), window, limit
    )
    wanted = [e for e in inside if (e.category, e.name) == ("page interaction", "cta click")]
    assert [v["event_id"] for v in got] == ordered(wanted, descending)

    got = walk(lambda w: reader.by_range(w, name=None, limit=limit), window, limit)
    assert [v["event_id"] for v in got] == ordered(inside, descending)

    got = walk(lambda w: reader.by_range(w, name="pageview", limit=limit), window, limit)
    assert [v["event_id"] for v in got] == ordered([e for e in inside if e.name == "pageview"], descending)


def test_a_session_without_bounds_is_read_over_all_time(backend: Backend) -> None:
    events = seed_events(backend, 40)
    got = walk(
        lambda w: backend.event_reader().by_session("s-c", w, category=None, name=None, limit=9),
        Window(None, None, False, None),
        9,
    )
    assert [v["event_id"] for v in got] == ordered([e for e in events if e.session_id == "s-c"], False)


def test_an_event_reads_back_as_the_api_shows_it(backend: Backend) -> None:
    event = seed_events(backend, 5)[0]
    assert backend.event_reader().get(event.event_id) == {
        "event_id": event.event_id,
        "application_id": "app-1",
        "session_id": event.session_id,
        "category": event.category,
        "name": event.name,
        "data": event.data,
        "timestamp": event.timestamp,
        "client_timestamp": event.timestamp,
        "received_at": format_timestamp(START),
        "context": CONTEXT,
    }


def test_an_event_without_a_context_reads_back_with_an_empty_one(backend: Backend) -> None:
    event = seed_events(backend, 5)[1]
    view = backend.event_reader().get(event.event_id)
    assert view is not None and view["context"] == {}


def test_the_end_of_a_window_is_exclusive_and_its_start_inclusive(backend: Backend) -> None:
    event = seed_events(backend, 5)[0]
    reader = backend.event_reader()
    at = event.occurred_at
    exact = reader.by_category(
        event.category, Window(at, at + timedelta(microseconds=1), False, None), name=None, limit=10
    )
    assert event.event_id in [v["event_id"] for v in exact.items]
    before = reader.by_category(
        event.category, Window(at - timedelta(hours=1), at, False, None), name=None, limit=100
    )
    assert event.event_id not in [v["event_id"] for v in before.items]


def seed_errors(backend: Backend, count: int = 60) -> list[ErrorRecord]:
    rng = random.Random(11)
    records = []
    for n in range(count):
        received = START + timedelta(minutes=rng.randrange(0, 60 * 50))
        records.append(
            ErrorRecord(
                error_id=f"err-{n:04d}{rng.randrange(16**6):06x}",
                type=rng.choice(("schema_violation", "future_timestamp", "invalid_envelope")),
                source=rng.choice(("ingest", "processor")),
                application_id=rng.choice(("app-1", "app-2")),
                received_at=format_timestamp(received),
                event_id=None,
                details=[{"field": "data", "message": str(n)}],
                payload={"n": n},
            )
        )
    for r in records:
        backend.error_store().put(r)
    return records


@pytest.mark.parametrize("limit", [1, 8, 100])
@pytest.mark.parametrize("descending", [True, False])
def test_error_pages_by_type_source_and_application_are_the_ordered_truth(
    backend: Backend, limit: int, descending: bool
) -> None:
    records = seed_errors(backend)
    reader = backend.error_reader()
    start, end = START + timedelta(hours=5), START + timedelta(hours=45)
    inside = [r for r in records if format_timestamp(start) <= r.received_at < format_timestamp(end)]

    def truth(keep: Callable[[ErrorRecord], bool]) -> list[str]:
        chosen = sorted(
            (r for r in inside if keep(r)), key=lambda r: (r.received_at, r.error_id), reverse=descending
        )
        return [r.error_id for r in chosen]

    window = Window(start, end, descending, None)
    for error_type, source, application in (
        (None, None, None),
        ("schema_violation", None, None),
        (None, "ingest", None),
        ("future_timestamp", "processor", "app-2"),
    ):
        where = ErrorFilter(error_type, source, application)
        got = walk(lambda w, f=where: reader.page(w, f, limit=limit), window, limit)
        wanted = truth(
            lambda r, t=error_type, s=source, a=application: (
                t in (None, r.type) and s in (None, r.source) and a in (None, r.application_id)
            )
        )
        assert [v["error_id"] for v in got] == wanted
