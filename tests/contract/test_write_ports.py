"""Contract of the write side: EventStore, ErrorStore, EventQueue/QueueDepth, KeyStore."""

from __future__ import annotations

import pytest

from theeye.errors import InvalidRequest, NotFound, QueueUnavailable
from theeye.events import Event
from theeye.keys import new_api_key
from theeye.messages import Origin, QueuedEvent, QueueMessage, Rejection
from theeye.ports import Backend, Window
from theeye.records import ErrorRecord, EventRecord, WriteOutcome

RECEIVED = "2026-11-23T10:00:00.000000Z"


def record(
    event_id: str = "ev-1", *, origin: str = "req-1#0", data: dict[str, object] | None = None
) -> EventRecord:
    event = Event(
        event_id=event_id,
        session_id="s-1",
        category="page interaction",
        name="pageview",
        data=data if data is not None else {"path": "/"},
        timestamp="2026-11-23T09:59:00.000000Z",
    )
    return EventRecord(event, "app-1", RECEIVED, origin, event.content_hash())


# -- EventStore -------------------------------------------------------------------------------


def test_an_event_is_stored_once_and_readable_by_its_id(backend: Backend) -> None:
    assert backend.event_store().put(record()) is WriteOutcome.STORED
    view = backend.event_reader().get("ev-1")
    assert view is not None
    assert (view["session_id"], view["data"], view["application_id"]) == ("s-1", {"path": "/"}, "app-1")


def test_the_same_event_from_another_delivery_is_a_duplicate(backend: Backend) -> None:
    store = backend.event_store()
    store.put(record())
    assert store.put(record(origin="req-2#0")) is WriteOutcome.DUPLICATE


def test_other_content_under_a_used_id_is_a_conflict_and_the_first_version_is_kept(backend: Backend) -> None:
    store = backend.event_store()
    store.put(record())
    assert store.put(record(data={"path": "/other"})) is WriteOutcome.CONFLICT
    view = backend.event_reader().get("ev-1")
    assert view is not None and view["data"] == {"path": "/"}


def test_our_own_earlier_attempt_is_finished_not_counted_as_a_duplicate(backend: Backend) -> None:
    store = backend.event_store()
    assert store.put(record()) is WriteOutcome.STORED
    assert store.put(record()) is WriteOutcome.STORED  # same origin: a redelivery of one delivery
    page = backend.event_reader().by_session(
        "s-1", Window(None, None, False, None), category=None, name=None, limit=10
    )
    assert [v["event_id"] for v in page.items] == ["ev-1"]


def test_an_unknown_event_id_reads_as_none(backend: Backend) -> None:
    assert backend.event_reader().get("ev-missing") is None


# -- ErrorStore -------------------------------------------------------------------------------


def error(error_id: str = "err-1", payload: object = None) -> ErrorRecord:
    return ErrorRecord(
        error_id=error_id,
        type="schema_violation",
        source="processor",
        application_id="app-1",
        received_at=RECEIVED,
        event_id="ev-1",
        details=[{"field": "data.path", "message": "is required"}],
        payload=payload if payload is not None else {"name": "pageview"},
        key_id="key-1",
        request_id="req-1",
        session_id="s-1",
    )


def test_put_all_gives_every_outcome_in_order_as_put_would(backend: Backend) -> None:
    store = backend.event_store()
    store.put(record("ev-old"))
    outcomes = store.put_all(
        [
            record("ev-a"),
            record("ev-old", origin="req-2#0"),  # duplicate
            record("ev-old", data={"path": "/other"}),  # conflict
            record("ev-b"),
        ]
    )
    assert outcomes == [
        WriteOutcome.STORED,
        WriteOutcome.DUPLICATE,
        WriteOutcome.CONFLICT,
        WriteOutcome.STORED,
    ]
    assert store.put_all([]) == []
    page = backend.event_reader().by_session(
        "s-1", Window(None, None, False, None), category=None, name=None, limit=10
    )
    assert sorted(v["event_id"] for v in page.items) == ["ev-a", "ev-b", "ev-old"]


def test_errors_put_all_records_each_once_in_order(backend: Backend) -> None:
    store = backend.error_store()
    store.put(error("err-1"))
    assert store.put_all([error("err-2"), error("err-1"), error("err-3")]) == [True, False, True]
    assert store.put_all([]) == []
    assert backend.error_reader().get("err-3") is not None


def test_an_error_is_recorded_once(backend: Backend) -> None:
    store = backend.error_store()
    assert store.put(error()) is True
    assert store.put(error()) is False
    view = backend.error_reader().get("err-1")
    assert view == {
        "error_id": "err-1",
        "type": "schema_violation",
        "source": "processor",
        "application_id": "app-1",
        "received_at": RECEIVED,
        "event_id": "ev-1",
        "session_id": "s-1",
        "details": [{"field": "data.path", "message": "is required"}],
        "payload": {"name": "pageview"},
        "erased": False,
        "replayed": None,
        "key_id": "key-1",
        "request_id": "req-1",
        "context": None,
    }


def test_a_large_error_payload_is_kept_as_its_first_32_kib_of_text(backend: Backend) -> None:
    backend.error_store().put(error(payload={"blob": "x" * 40_000}))
    view = backend.error_reader().get("err-1")
    assert view is not None
    assert isinstance(view["payload"], str) and len(view["payload"].encode()) == 32 * 1024
    assert view["payload"].startswith('{"blob":"xxx')


def test_an_unknown_error_id_reads_as_none(backend: Backend) -> None:
    assert backend.error_reader().get("err-missing") is None


# -- EventQueue and QueueDepth ----------------------------------------------------------------


def message(n: int) -> QueueMessage:
    origin = Origin(application_id="app-1", key_id="key-1", received_at=RECEIVED, request_id=f"req-{n}")
    return QueueMessage(origin, [QueuedEvent(0, record(f"ev-{n}").event)], [])


def test_sent_messages_wait_in_the_queue(backend: Backend) -> None:
    queue = backend.queue()
    assert queue.depth() == {"messages": 0, "in_flight": 0}
    queue.send([])
    queue.send([message(1), message(2)])
    assert queue.depth() == {"messages": 2, "in_flight": 0}
    assert backend.dead_letter_queue().depth() == {"messages": 0, "in_flight": 0}


def test_intake_queues_the_messages_and_counts_what_they_carry(backend: Backend) -> None:
    with_rejection = QueueMessage(
        message(3).origin,
        [QueuedEvent(0, record("ev-3").event), QueuedEvent(1, record("ev-4").event)],
        [Rejection(2, "invalid_envelope", [{"field": "name", "message": "missing"}], {})],
    )
    intake = backend.intake()

    intake.accept([])
    intake.accept([message(1)])
    intake.accept([with_rejection, message(2)])

    assert backend.queue().depth() == {"messages": 3, "in_flight": 0}
    totals = backend.counters().totals()
    assert totals["accepted"] == 4
    assert totals.get("rejected_invalid_envelope") == 1
    assert not totals.get("rejected_invalid_json")


def test_queue_unavailable_names_the_messages_that_were_taken() -> None:
    error = QueueUnavailable([message(1)])
    assert error.status == 503 and [m.origin.request_id for m in error.delivered] == ["req-1"]


# -- KeyStore ---------------------------------------------------------------------------------


def test_a_key_is_stored_by_its_hash_listed_and_revoked(backend: Backend) -> None:
    keys = backend.keys()
    raw, first = new_api_key("app-1", ["ingest"], description="first")
    _raw2, second = new_api_key("app-2", ["query", "ingest"])
    keys.put(first)
    keys.put(second)
    assert keys.get(first.key_hash) == first
    assert keys.get("0" * 64) is None
    assert raw not in repr(keys.list())
    assert {k.key_id for k in keys.list()} == {first.key_id, second.key_id}
    assert [k.created_at for k in keys.list()] == sorted(k.created_at for k in keys.list())
    revoked = keys.revoke(first.key_id)
    assert revoked.revoked_at is not None and not revoked.active
    again = keys.revoke(first.key_id)
    assert again.revoked_at == revoked.revoked_at
    stored = keys.get(first.key_hash)
    assert stored is not None and stored.revoked_at == revoked.revoked_at
    assert stored.scopes == frozenset({"ingest"})


def test_a_key_hash_cannot_be_stored_twice(backend: Backend) -> None:
    _raw, key = new_api_key("app-1", ["ingest"])
    backend.keys().put(key)
    with pytest.raises(InvalidRequest):
        backend.keys().put(key)


def test_revoking_an_unknown_key_is_not_found(backend: Backend) -> None:
    with pytest.raises(NotFound):
        backend.keys().revoke("key-0000000000000000")


def test_a_keys_last_use_is_kept_and_only_moves_forward(backend: Backend) -> None:
    keys = backend.keys()
    _raw, key = new_api_key("app-1", ["ingest"])
    keys.put(key)
    assert keys.get(key.key_hash) == key and key.last_used_at is None

    keys.record_use(key.key_hash, "2026-11-23T09:01:00.000000Z")
    keys.record_use(key.key_hash, "2026-11-23T09:00:00.000000Z")  # a container that was slower to write
    stored = keys.get(key.key_hash)
    assert stored is not None and stored.last_used_at == "2026-11-23T09:01:00.000000Z"
    assert [k.last_used_at for k in keys.list()] == ["2026-11-23T09:01:00.000000Z"]

    keys.record_use(key.key_hash, "2026-11-23T09:02:00.000000Z")
    revoked = keys.revoke(key.key_id)
    assert revoked.last_used_at == "2026-11-23T09:02:00.000000Z"
    after = keys.get(key.key_hash)
    assert after is not None and (after.scopes, after.revoked_at) == (key.scopes, revoked.revoked_at)


def test_recording_the_use_of_an_unknown_key_stores_nothing(backend: Backend) -> None:
    backend.keys().record_use("0" * 64, "2026-11-23T09:00:00.000000Z")
    assert backend.keys().get("0" * 64) is None
    assert backend.keys().list() == []
