from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from processor.logic import Processor, Rules, commit, process_message
from theeye.errors import RetryableStoreError
from theeye.events import Event, validate_event
from theeye.messages import Origin, QueuedEvent, QueueMessage, Rejection
from theeye.schemas import SchemaRegistry
from theeye_local.memory import MemoryCounters, MemoryErrorStore, MemoryEventStore

SCHEMAS = SchemaRegistry.from_directory(Path(__file__).parents[2] / "schemas")
RECEIVED = "2026-11-23T10:00:00.000000Z"
HOST = {"host": "www.example.com", "path": "/"}


def processor(events: MemoryEventStore | None = None, **rules: Any) -> Processor:
    return Processor(
        events=events or MemoryEventStore(),
        errors=MemoryErrorStore(),
        ledger=MemoryCounters(),
        schemas=SCHEMAS,
        rules=Rules(**rules),
    )


def ev(name: str = "pageview", category: str = "page interaction", **changes: Any) -> Event:
    raw: dict[str, Any] = {
        "session_id": "s-1",
        "category": category,
        "name": name,
        "data": dict(HOST),
        "timestamp": "2026-11-23T09:59:00Z",
    }
    raw.update(changes)
    outcome = validate_event(raw, "app-1")
    assert isinstance(outcome, Event), outcome
    return outcome


def message(*events: Event, request_id: str = "req-1", rejections: tuple[Rejection, ...] = ()) -> str:
    origin = Origin("app-1", "key-1", RECEIVED, request_id)
    queued = [QueuedEvent(i, e) for i, e in enumerate(events)]
    return QueueMessage(origin, queued, list(rejections)).to_body()


def errors_of(p: Processor) -> list[Any]:
    assert isinstance(p.errors, MemoryErrorStore)
    return sorted(p.errors.errors.values(), key=lambda e: (e.type, e.event_id or ""))


def test_the_three_briefing_types_are_stored() -> None:
    p = processor()
    outcome = process_message(
        message(
            ev(),
            ev("cta click", data={**HOST, "element": "chat bubble"}),
            ev("submit", "form interaction", data={**HOST, "form": {"first_name": "John"}}),
        ),
        p,
    )
    assert (outcome.stored, outcome.duplicates, dict(outcome.invalid)) == (3, 0, {})
    assert errors_of(p) == []


def test_schema_violations_name_every_broken_field_and_are_not_stored() -> None:
    p = processor()
    outcome = process_message(
        message(
            ev("cta click"),
            ev("submit", "form interaction", data={**HOST, "form": {"first_name": 1, "last_name": None}}),
        ),
        p,
    )
    assert outcome.stored == 0 and outcome.invalid == {"schema_violation": 2}
    cta, form = errors_of(p)
    assert [d["field"] for d in cta.details] == ["data.element"]
    assert sorted(d["field"] for d in form.details) == ["data.form.first_name", "data.form.last_name"]
    assert "string" in form.details[0]["message"]
    assert isinstance(p.events, MemoryEventStore) and p.events.items == {}


def test_a_timestamp_beyond_the_allowed_skew_is_a_future_timestamp_error() -> None:
    p = processor(max_clock_skew=timedelta(seconds=60))
    outcome = process_message(
        message(ev(timestamp="2026-11-23T10:01:00Z", event_id="ok"), ev(timestamp="2026-11-23T10:01:01Z")),
        p,
    )
    assert (outcome.stored, outcome.invalid) == (1, {"future_timestamp": 1})
    (error,) = errors_of(p)
    assert error.details[0]["field"] == "timestamp"


def test_unknown_types_are_stored_or_rejected_as_configured() -> None:
    assert process_message(message(ev("hover")), processor()).stored == 1
    p = processor(unknown_event_types="reject")
    assert process_message(message(ev("hover")), p).invalid == {"unknown_event_type": 1}


def test_a_redelivered_message_stores_and_records_nothing_twice() -> None:
    p = processor()
    body = message(ev(), ev("cta click"), rejections=(Rejection(2, "invalid_envelope", [], {"x": 1}),))
    first = process_message(body, p)
    again = process_message(body, p)
    assert (first.stored, first.invalid) == (1, {"schema_violation": 1, "invalid_envelope": 1})
    # the same delivery again is recognised as our own earlier write, not as a client duplicate
    assert (again.stored, again.duplicates) == (1, 0)
    assert isinstance(p.events, MemoryEventStore) and len(p.events.items) == 1
    assert len(errors_of(p)) == 2


def test_the_same_event_sent_twice_is_a_silent_duplicate() -> None:
    p = processor()
    process_message(message(ev(event_id="e-1"), request_id="r-1"), p)
    outcome = process_message(message(ev(event_id="e-1"), request_id="r-2"), p)
    assert (outcome.stored, outcome.duplicates, outcome.invalid) == (0, 1, {})
    assert errors_of(p) == []


def test_a_duplicate_inside_one_request_is_stored_once() -> None:
    outcome = process_message(message(ev(event_id="e-1"), ev(event_id="e-1")), processor())
    assert (outcome.stored, outcome.duplicates) == (1, 1)


def test_a_reused_id_with_other_content_is_a_conflict_and_the_first_version_stays() -> None:
    p = processor()
    process_message(message(ev(event_id="e-1"), request_id="r-1"), p)
    outcome = process_message(
        message(ev(event_id="e-1", data={**HOST, "path": "/other"}), request_id="r-2"), p
    )
    assert outcome.invalid == {"event_id_conflict": 1}
    assert isinstance(p.events, MemoryEventStore)
    (kept,) = p.events.items.values()
    assert kept.event.data["path"] == "/"
    (error,) = errors_of(p)
    assert error.type == "event_id_conflict" and error.event_id == "e-1"


def test_a_failed_write_fails_the_message_and_a_retry_completes_it_exactly_once() -> None:
    # Given a store that throttles the second event once
    throttled: set[str] = set()

    def once(record: Any) -> bool:
        if record.event.event_id == "b" and "b" not in throttled:
            throttled.add("b")
            return True
        return False

    store = MemoryEventStore(fail=once)
    p = processor(store)
    body = message(ev(event_id="a"), ev(event_id="b"), ev(event_id="c"))
    # When the message is processed, it fails as a whole (SQS will redeliver it)
    with pytest.raises(RetryableStoreError):
        process_message(body, p)
    # Then the redelivery stores the rest, and each event exactly once
    outcome = process_message(body, p)
    assert (outcome.stored, outcome.duplicates) == (3, 0)
    assert len(store.items) == 3


@pytest.mark.parametrize("body", ["not json", "{}", '{"v": 2}', '{"v": 1}', "[]"])
def test_an_unreadable_message_raises_so_it_ends_in_the_dlq(body: str) -> None:
    with pytest.raises((ValueError, KeyError, TypeError)):
        process_message(body, processor())


def test_ingest_rejections_become_error_records_with_the_payload() -> None:
    p = processor()
    rejection = Rejection(None, "invalid_json", [{"field": "body", "message": "bad"}], "{nope")
    outcome = process_message(message(rejections=(rejection,)), p)
    assert outcome.invalid == {"invalid_json": 1}
    (error,) = errors_of(p)
    assert (error.source, error.payload, error.event_id) == ("ingest", "{nope", None)


def test_categories_are_registered_per_day_of_their_events() -> None:
    p = processor()
    late = ev("submit", "form interaction", timestamp="2026-11-22T23:00:00Z", data={**HOST, "form": {}})
    process_message(message(ev(), late), p)
    assert isinstance(p.ledger, MemoryCounters)
    assert p.ledger.days == {"2026-11-23": {"page interaction"}, "2026-11-22": {"form interaction"}}


def test_each_message_is_counted_once_however_often_it_is_delivered() -> None:
    p = processor()
    body = message(ev(), ev("cta click"), rejections=(Rejection(2, "invalid_envelope", [], {}),))
    commit(p, [process_message(body, p)])
    commit(p, [process_message(body, p)])
    assert isinstance(p.ledger, MemoryCounters)
    (tally,) = p.ledger.committed.values()
    # ingest rejections were counted by ingest; the processor counts what it decided
    assert (tally.stored, tally.duplicates, dict(tally.invalid)) == (1, 0, {"schema_violation": 1})
    assert dict(tally.stored_by_minute) == {("page interaction", "2026-11-23T09:59"): 1}


def test_error_payloads_keep_the_timestamp_as_the_client_wrote_it() -> None:
    p = processor()
    event = ev("cta click", timestamp="2026-11-23T10:59:00.5+01:00")
    origin = Origin("app-1", "key-1", RECEIVED, "req-9")
    body = QueueMessage(origin, [QueuedEvent(0, event, "2026-11-23T10:59:00.5+01:00")]).to_body()
    process_message(body, p)
    (error,) = errors_of(p)
    assert error.payload["timestamp"] == "2026-11-23T10:59:00.5+01:00"
