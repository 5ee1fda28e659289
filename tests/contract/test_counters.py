"""Contract of the counters: the ledger (exactly once per message), stats buckets, categories."""

from __future__ import annotations

from datetime import UTC, datetime

from theeye.ledger import IntakeTally, MessageTally, message_key
from theeye.ports import Backend


def tally(
    stored: int = 2, minute: str = "2026-11-23T09:59", category: str = "page interaction"
) -> MessageTally:
    return MessageTally(
        stored=stored,
        duplicates=1,
        invalid={"schema_violation": 1},
        stored_by_minute={(category, minute): stored} if stored else {},
    )


def test_intake_is_counted_once_per_message_whoever_counts_it(backend: Backend) -> None:
    counters = backend.counters()
    a = IntakeTally(message_key("body-a"), 3, {"invalid_envelope": 1, "invalid_json": 0})
    b = IntakeTally(message_key("body-b"), 2, {})
    counters.count_intake([a])  # ingest
    counters.count_intake([a, b], read_first=True)  # the processor's safety net: only b is new
    counters.count_intake([b, b])  # a late ingest worker, and a copy
    totals = counters.totals()
    assert (totals["accepted"], totals["rejected_invalid_envelope"], totals["rejected_invalid_json"]) == (
        5,
        1,
        0,
    )


def test_intake_of_many_messages_is_counted_in_parts(backend: Backend) -> None:
    counters = backend.counters()
    tallies = [IntakeTally(message_key(f"body {i}"), 1, {}) for i in range(150)]
    counters.count_intake(tallies[:40])
    counters.count_intake(tallies, read_first=True)
    counters.count_intake(tallies)
    assert counters.totals()["accepted"] == 150


def test_each_message_is_counted_once_however_often_it_is_committed(backend: Backend) -> None:
    counters = backend.counters()
    a, b = message_key("body-a"), message_key("body-b")
    counters.commit_batch([(a, tally())])
    counters.commit_batch([(a, tally()), (b, tally(stored=1))])
    counters.commit_batch([(b, tally(stored=1)), (b, tally(stored=1))])
    totals = counters.totals()
    assert (totals["stored"], totals["duplicates"], totals["invalid_schema_violation"]) == (3, 2, 2)


def test_a_dead_letter_is_counted_once_and_undone_once(backend: Backend) -> None:
    counters = backend.counters()
    key = message_key("body-dead")
    assert counters.count_dead_letter(key, 4) is True
    assert counters.count_dead_letter(key, 4) is False
    assert (counters.totals()["dead_lettered"], counters.totals()["dead_lettered_messages"]) == (4, 1)
    assert counters.undo_dead_letter(key, 4) is True
    assert counters.undo_dead_letter(key, 4) is False
    assert (counters.totals()["dead_lettered"], counters.totals()["dead_lettered_messages"]) == (0, 0)


def test_stored_events_are_counted_per_category_and_bucket(backend: Backend) -> None:
    counters = backend.counters()
    counters.commit_batch(
        [
            (message_key("m1"), tally(2, "2026-11-23T09:59")),
            (message_key("m2"), tally(3, "2026-11-23T10:01")),
            (message_key("m3"), tally(5, "2026-11-23T10:01", "form interaction")),
            (message_key("m4"), tally(7, "2026-11-24T00:00")),
        ]
    )
    start, end = "2026-11-23T00:00:00.000000Z", "2026-11-25T00:00:00.000000Z"
    assert counters.buckets("minute", "page interaction", start, end) == {
        "2026-11-23T09:59": 2,
        "2026-11-23T10:01": 3,
        "2026-11-24T00:00": 7,
    }
    assert counters.buckets("hour", "page interaction", start, end) == {
        "2026-11-23T09": 2,
        "2026-11-23T10": 3,
        "2026-11-24T00": 7,
    }
    assert counters.buckets("day", "page interaction", start, end) == {"2026-11-23": 5, "2026-11-24": 7}
    assert counters.buckets("day", "form interaction", start, end) == {"2026-11-23": 5}
    # [start, end): a bucket counts when it starts inside the range
    assert counters.buckets(
        "hour", "page interaction", "2026-11-23T10:00:00.000000Z", "2026-11-24T00:00:00.000000Z"
    ) == {"2026-11-23T10": 3}


def test_categories_are_found_by_the_days_a_range_touches(backend: Backend) -> None:
    counters = backend.counters()
    counters.register({"2026-11-23": {"page interaction"}, "2026-11-24": {"form interaction"}})
    counters.register({"2026-11-23": {"page interaction", "cart"}})
    day = datetime(2026, 11, 23, tzinfo=UTC)
    assert counters.categories_between(day, day.replace(hour=23)) == {"page interaction", "cart"}
    assert counters.categories_between(day, day.replace(day=24, hour=1)) == {
        "page interaction",
        "cart",
        "form interaction",
    }
    assert counters.categories_between(day.replace(day=25), day.replace(day=26)) == set()
