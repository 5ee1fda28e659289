"""The replay use case (``admin.replay``) on the in-memory backend, with the real processor:
errors recorded under a too-strict schema, replayed under a relaxed one."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from admin.replay import Replay, ReplayRequest, held_event
from processor import logic
from theeye.checks import Rules
from theeye.cursor import CursorCodec
from theeye.errors import InvalidRequest, QueueUnavailable
from theeye.events import Event
from theeye.ledger import ledger_status
from theeye.messages import Origin, QueuedEvent, QueueMessage
from theeye.ports import ErrorFilter, Window
from theeye.schemas import SchemaRegistry
from theeye_local.memory import MemoryBackend, MemoryQueue

RECEIVED = "2021-01-01T09:15:28.001234Z"
NOW = datetime(2021, 1, 3, tzinfo=UTC)
CONTEXT = {"ip": "203.0.113.0", "country": "AU"}
TYPE = ("page interaction", "pageview")


def registry(required: list[str]) -> SchemaRegistry:
    schema = {"type": "object", "required": required, "x-event-type": {"category": TYPE[0], "name": TYPE[1]}}
    return SchemaRegistry({TYPE: schema})


STRICT, RELAXED = registry(["host", "path", "plan"]), registry(["host", "path"])


def event(n: int, **data: Any) -> Event:
    return Event(
        event_id=f"ev-{n}",
        session_id="s-1",
        category=TYPE[0],
        name=TYPE[1],
        data={"host": "h", "path": "/", **data},
        timestamp="2021-01-01T09:15:27.000000Z",
        context=CONTEXT,
    )


def process(backend: MemoryBackend, schemas: SchemaRegistry) -> None:
    """Every waiting message through the real processor, then counted."""
    processor = logic.Processor(
        backend.event_store(), backend.error_store(), backend.counters(), schemas, logic.Rules()
    )
    bodies = list(backend.events_queue.bodies)
    backend.events_queue.bodies.clear()
    logic.commit(processor, [logic.process_message(body, processor) for body in bodies])


@pytest.fixture
def backend() -> MemoryBackend:
    """Five events recorded as schema violations (one of them, ev-4, still invalid when relaxed)."""
    chosen = MemoryBackend()
    origin = Origin("app-1", "key-1", RECEIVED, "req-1")
    events = [QueuedEvent(n, event(n)) for n in range(4)] + [QueuedEvent(4, event(4, path=7))]
    chosen.intake().accept([QueueMessage(origin, events)])
    RELAXED.schemas[TYPE]["properties"] = {"path": {"type": "string"}}
    process(chosen, STRICT)
    return chosen


def replay(backend: MemoryBackend, schemas: SchemaRegistry = RELAXED, **settings: Any) -> Replay:
    return Replay(
        reader=backend.error_reader(),
        errors=backend.error_store(),
        intake=backend.intake(),
        schemas=schemas,
        rules=Rules(),
        cursors=CursorCodec(backend.cursor_secret()),
        clock=lambda: NOW,
        **settings,
    )


def asked(**given: Any) -> ReplayRequest:
    return ReplayRequest(**{"type": "schema_violation", "start": "2021-01-01", "end": "2021-01-02", **given})


def status(backend: MemoryBackend) -> dict[str, Any]:
    return ledger_status(
        backend.counters().totals(), backend.queue().depth(), {"messages": 0, "in_flight": 0}
    )


def test_errors_keep_the_events_context_and_hold_the_event_as_the_processor_had_it(
    backend: MemoryBackend,
) -> None:
    views = backend.error_reader().page(
        Window(None, NOW, False, None), ErrorFilter(type="schema_violation"), limit=10
    )
    assert len(views.items) == 5
    for item in views.items:
        assert item["context"] == CONTEXT
        held = held_event(item)
        assert held is not None and held.event.context == CONTEXT and held.event.event_id == item["event_id"]


def test_a_dry_run_counts_and_lists_and_changes_nothing(backend: MemoryBackend) -> None:
    answer = replay(backend).run(asked(dry_run=True))
    assert (answer.matched, answer.replayable, answer.replayed, answer.next) == (5, 4, 0, None)
    assert [s["errors"][0]["type"] for s in answer.still_invalid] == ["schema_violation"]
    assert backend.events_queue.bodies == [] and not backend.error_store().replayed


def test_a_replay_stores_each_event_once_with_its_original_id_receipt_and_context(
    backend: MemoryBackend,
) -> None:
    answer = replay(backend).run(asked())
    assert (answer.matched, answer.replayable, answer.replayed) == (5, 4, 4)
    assert status(backend)["replayed"] == 4
    process(backend, RELAXED)
    for n in range(4):
        stored = backend.event_reader().get(f"ev-{n}")
        assert stored is not None
        assert (stored["received_at"], stored["context"]) == (RECEIVED, CONTEXT)
    ledger = status(backend)
    assert (ledger["accepted"], ledger["replayed"], ledger["stored"]) == (5, 4, 4)
    assert ledger["invalid"]["schema_violation"] == 5 and ledger["balanced"] and ledger["queued"] == 0
    replayed = list(
        backend.error_reader()
        .page(Window(None, NOW, False, None), ErrorFilter(replayed=True), limit=10)
        .items
    )
    assert sorted(v["replayed"]["event_id"] for v in replayed) == [f"ev-{n}" for n in range(4)]
    assert {v["replayed"]["at"] for v in replayed} == {"2021-01-03T00:00:00.000000Z"}

    # a second replay finds nothing; the application sending an event again is a duplicate
    again = replay(backend).run(asked())
    assert (again.matched, again.replayable, again.replayed) == (1, 0, 0)
    origin = Origin("app-1", "key-1", "2021-01-01T10:00:00.000000Z", "req-2")
    backend.intake().accept([QueueMessage(origin, [QueuedEvent(0, event(0))])])
    process(backend, RELAXED)
    ledger = status(backend)
    assert (ledger["stored"], ledger["duplicates"], ledger["balanced"]) == (4, 1, True)


def test_concurrent_replays_queue_each_event_once(backend: MemoryBackend) -> None:
    answers: list[int] = []
    lock = threading.Lock()

    def run() -> None:
        done = replay(backend).run(asked()).replayed
        with lock:
            answers.append(done)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(answers) == 4 and len(backend.events_queue.bodies) == 4
    process(backend, RELAXED)
    ledger = status(backend)
    assert (ledger["stored"], ledger["duplicates"], ledger["replayed"], ledger["balanced"]) == (4, 0, 4, True)


def test_a_replay_is_paged_and_the_cursor_continues_it(backend: MemoryBackend) -> None:
    paged = replay(backend, call_errors=2)
    dry = paged.run(asked(dry_run=True))
    assert dry.next is not None and dry.matched == 2
    with pytest.raises(InvalidRequest):  # a cursor continues only the replay that made it
        paged.run(asked(dry_run=True, category="other", cursor=dry.next))
    with pytest.raises(InvalidRequest):
        paged.run(asked(cursor=dry.next))
    totals = [0, 0]
    answer = paged.run(asked())
    calls = 1
    while True:
        totals[0] += answer.matched
        totals[1] += answer.replayed
        if answer.next is None:
            break
        answer = paged.run(asked(cursor=answer.next))
        calls += 1
    assert totals == [5, 4] and calls == 3


def test_max_filters_and_erasure_limit_what_is_taken(backend: MemoryBackend) -> None:
    assert replay(backend).run(asked(dry_run=True, max=2)).matched == 2
    assert replay(backend).run(asked(dry_run=True, name="other")).matched == 0
    assert replay(backend).run(asked(dry_run=True, type="future_timestamp")).matched == 0
    backend.eraser().erase("s-1")
    assert replay(backend).run(asked()).matched == 0


@pytest.mark.parametrize(
    "given",
    [{"type": "invalid_json"}, {"max": 0}, {"max": 100_001}, {"start": "yesterday"}, {"start": "2021-01-02"}],
)
def test_bad_parameters_are_refused(backend: MemoryBackend, given: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequest):
        replay(backend).run(asked(**given))


def test_claims_are_given_back_when_the_queue_refuses(backend: MemoryBackend) -> None:
    backend.events_queue = MemoryQueue(fail_after=2)
    with pytest.raises(QueueUnavailable):
        replay(backend).run(asked())
    assert len(backend.error_store().replayed) == 2  # the two queued keep their mark
    backend.events_queue.fail_after = None
    assert replay(backend).run(asked()).replayed == 2
    process(backend, RELAXED)
    assert status(backend)["stored"] == 4 and status(backend)["balanced"]


def test_the_future_timestamp_rule_is_judged_against_the_original_receipt() -> None:
    backend = MemoryBackend()
    origin = Origin("app-1", "key-1", RECEIVED, "req-1")
    late = Event("ev-late", "s-1", TYPE[0], TYPE[1], {}, "2021-01-01T09:30:00.000000Z")
    backend.intake().accept([QueueMessage(origin, [QueuedEvent(0, late)])])
    process(backend, RELAXED)
    answer = replay(backend).run(asked(type="future_timestamp", dry_run=True))
    assert (answer.matched, answer.replayable) == (
        1,
        0,
    )  # a day later it is still in the future of its receipt
    assert answer.still_invalid[0]["errors"][0]["type"] == "future_timestamp"
    assert NOW - datetime(2021, 1, 1, tzinfo=UTC) > timedelta(hours=1)
