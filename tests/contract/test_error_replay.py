"""What a replay needs of the error store and reader, the same on every backend: the event's
context kept with its error, the claim (``mark_replayed``) taken once, refused for an erased
error and given back only by its owner, and ``replayed`` shown and filtered on."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from theeye.ports import Backend, ErrorFilter, Window
from theeye.records import ErrorRecord, Replayed

RECEIVED = "2021-01-01T09:15:28.001234Z"
CONTEXT = {"ip": "203.0.113.0", "country": "AU", "locale": "en-AU"}
EVERYTHING = Window(datetime(2021, 1, 1, tzinfo=UTC), datetime(2021, 1, 2, tzinfo=UTC), False, None)


def an_error(error_id: str, session_id: str = "s-1", context: dict[str, str] | None = CONTEXT) -> ErrorRecord:
    return ErrorRecord(
        error_id=error_id,
        type="schema_violation",
        source="processor",
        application_id="app-1",
        received_at=RECEIVED,
        event_id=f"ev-{error_id}",
        details=[{"field": "data.path", "message": "is required"}],
        payload={"event_id": f"ev-{error_id}", "name": "pageview"},
        key_id="key-1",
        request_id="req-1",
        session_id=session_id,
        context=context,
    )


def test_an_error_keeps_its_events_context_and_is_not_replayed_at_first(backend: Backend) -> None:
    backend.error_store().put_all([an_error("err-1"), an_error("err-2", context=None)])
    reader = backend.error_reader()
    first, second = reader.get("err-1"), reader.get("err-2")
    assert first is not None and second is not None
    assert first["context"] == CONTEXT and second["context"] is None
    assert first["replayed"] is None


def test_an_error_is_claimed_for_a_replay_once(backend: Backend) -> None:
    store = backend.error_store()
    store.put(an_error("err-1"))
    mark = Replayed("2021-01-03T10:00:00.000000Z", "ev-err-1")
    assert store.mark_replayed("err-1", mark)
    assert not store.mark_replayed("err-1", Replayed("2021-01-03T10:00:01.000000Z", "ev-err-1"))
    assert not store.mark_replayed("err-unknown", mark)
    view = backend.error_reader().get("err-1")
    assert view is not None and view["replayed"] == {"at": mark.at, "event_id": "ev-err-1"}


def test_concurrent_claims_of_one_error_let_exactly_one_win(backend: Backend) -> None:
    store = backend.error_store()
    store.put(an_error("err-1"))
    wins: list[bool] = []
    lock = threading.Lock()

    def claim(n: int) -> None:
        won = store.mark_replayed("err-1", Replayed(f"2021-01-03T10:00:0{n}.000000Z", "ev-err-1"))
        with lock:
            wins.append(won)

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(wins) == [False] * 5 + [True]


def test_a_claim_is_given_back_only_by_its_owner(backend: Backend) -> None:
    store = backend.error_store()
    store.put(an_error("err-1"))
    mine = Replayed("2021-01-03T10:00:00.000000Z", "ev-err-1")
    assert store.mark_replayed("err-1", mine)
    assert not store.unmark_replayed("err-1", Replayed("2021-01-03T10:00:09.000000Z", "ev-err-1"))
    assert store.unmark_replayed("err-1", mine)
    assert not store.unmark_replayed("err-1", mine)
    view = backend.error_reader().get("err-1")
    assert view is not None and view["replayed"] is None
    assert store.mark_replayed("err-1", mine)  # free to claim again


def test_an_erased_error_is_never_claimed_and_loses_its_context(backend: Backend) -> None:
    store = backend.error_store()
    store.put(an_error("err-1", session_id="s-erased"))
    backend.eraser().erase("s-erased")
    assert not store.mark_replayed("err-1", Replayed("2021-01-03T10:00:00.000000Z", "ev-err-1"))
    view = backend.error_reader().get("err-1")
    assert view is not None and view["erased"] and view["context"] is None and view["replayed"] is None


def test_errors_are_read_replayed_or_not(backend: Backend) -> None:
    store = backend.error_store()
    store.put_all([an_error(f"err-{n}") for n in range(5)])
    for n in (1, 3):
        assert store.mark_replayed(f"err-{n}", Replayed("2021-01-03T10:00:00.000000Z", f"ev-err-{n}"))
    reader = backend.error_reader()

    def ids(replayed: bool | None, error_type: str | None = None) -> list[str]:
        where = ErrorFilter(type=error_type, replayed=replayed)
        return [v["error_id"] for v in reader.page(EVERYTHING, where, limit=100).items]

    for error_type in (None, "schema_violation"):
        assert ids(True, error_type) == ["err-1", "err-3"]
        assert ids(False, error_type) == ["err-0", "err-2", "err-4"]
        assert ids(None, error_type) == [f"err-{n}" for n in range(5)]
