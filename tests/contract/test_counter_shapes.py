"""Dashboard counts equal what was stored, whatever the shape of the batches that stored it.

A property test: random batches (1 to 8 messages, each 0 to 300 events over up to three days,
one or two categories, some messages delivered twice) are committed to every counters
implementation, and every bucket of every interval must hold exactly the events stored in it.
"""

from __future__ import annotations

import itertools
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from theeye.buckets import BUCKET_CHARS, Interval
from theeye.ledger import MessageTally, message_key
from theeye.ports import Backend

_names = itertools.count()
START, END = "2026-11-22T00:00:00.000000Z", "2026-11-26T00:00:00.000000Z"
INTERVALS: tuple[Interval, ...] = ("minute", "hour", "day")

minutes = st.builds(
    lambda day, minute: f"2026-11-{23 + day}T{minute // 60:02d}:{minute % 60:02d}",
    st.integers(0, 2),
    st.integers(0, 1439),
)
message = st.lists(st.tuples(st.sampled_from("ab"), minutes), max_size=300)
batches = st.lists(
    st.lists(st.tuples(message, st.booleans()), min_size=1, max_size=8), min_size=1, max_size=3
)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches)
def test_every_bucket_holds_what_was_stored(
    backend: Backend, shapes: list[list[tuple[list[tuple[str, str]], bool]]]
) -> None:
    counters = backend.counters()
    prefix = f"shape {next(_names)}"
    expected: Counter[tuple[str, str]] = Counter()
    for batch in shapes:
        entries = []
        for events, twice in batch:
            by_minute = Counter((f"{prefix} {c}", minute) for c, minute in events)
            key = message_key(f"{prefix} {len(entries)} {sorted(by_minute.items())} {id(events)}")
            entry = (key, MessageTally(len(events), 0, {}, by_minute))
            entries += [entry, entry] if twice else [entry]
            expected.update(by_minute)
        counters.commit_batch(entries)
    for category in (f"{prefix} a", f"{prefix} b"):
        for interval in INTERVALS:
            want: Counter[str] = Counter()
            for (c, minute), n in expected.items():
                if c == category:
                    want[minute[: BUCKET_CHARS[interval]]] += n
            assert counters.buckets(interval, category, START, END) == +want, (category, interval)
