"""The embedded backend across processes: concurrent writers, and ``kill -9`` mid-stream.

Each writer is a separate Python process on the same database file, as the local stack's
ingest workers and pollers are. A writer reports an event id only after ``put`` returned,
which is the moment the pipeline would acknowledge it; whatever was reported must be stored
exactly once, however the writers are killed and restarted, and no writer may see
``database is locked`` (it would surface as a ``RetryableStoreError``).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from theeye.sqlite.backend import SqliteBackend

FUNCTIONS = Path(__file__).parents[2] / "functions"
EVENTS = 3000  # more than a writer gets through before it is killed
WRITER = """
import sys
from theeye.events import Event
from theeye.ledger import MessageTally
from theeye.records import EventRecord
from theeye.sqlite.backend import SqliteBackend

path, first, last, origin = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
backend = SqliteBackend(path)
store, counters = backend.event_store(), backend.counters()
for n in range(first, last):
    event = Event(
        event_id=f"ev-{n:06d}",
        session_id=f"s-{n % 7}",
        category="page interaction",
        name="pageview",
        data={"n": n},
        timestamp=f"2026-11-23T10:{n % 60:02d}:00.000000Z",
    )
    outcome = store.put(EventRecord(event, "app-1", "2026-11-23T10:00:00.000000Z", f"{origin}#{n}", event.content_hash()))
    tally = MessageTally(1 if outcome.value == "stored" else 0, 1 if outcome.value == "duplicate" else 0, {}, {})
    counters.commit_batch([(f"message-{n:06d}", tally)])
    print(n, outcome.value, flush=True)
"""


def writer(path: Path, first: int, last: int, origin: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(FUNCTIONS)}
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), str(first), str(last), origin],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def rows_per_event(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as connection:
        return dict(connection.execute("SELECT event_id, COUNT(*) FROM events GROUP BY event_id").fetchall())


def test_three_processes_writing_the_same_events_store_each_once_and_never_see_a_lock(tmp_path: Path) -> None:
    path = tmp_path / "theeye.db"
    SqliteBackend(path).keys().list()  # the schema exists before the writers race
    writers = [writer(path, 0, 300, "req-same") for _ in range(3)]
    outputs = [w.communicate(timeout=120) for w in writers]
    for process, (_out, err) in zip(writers, outputs, strict=True):
        assert process.returncode == 0, err
        assert "locked" not in err and "RetryableStoreError" not in err, err
    outcomes = [line.split() for out, _err in outputs for line in out.splitlines()]
    assert len(outcomes) == 900
    assert rows_per_event(path) == {f"ev-{n:06d}": 1 for n in range(300)}
    # The same origin is our own retry: STORED each time, one row; each message counted once.
    assert {value for _n, value in outcomes} == {"stored"}
    assert SqliteBackend(path).counters().totals()["stored"] == 300


def test_writers_killed_with_sigkill_lose_nothing_they_reported_and_store_nothing_twice(
    tmp_path: Path,
) -> None:
    path = tmp_path / "theeye.db"
    SqliteBackend(path).keys().list()
    reported: set[int] = set()
    for round_number in range(3):
        victims = [writer(path, 0, EVENTS, f"req-{round_number}-{k}") for k in range(2)]
        assert victims[0].stdout is not None
        seen = 0
        deadline = time.monotonic() + 60
        while seen < 40 + 60 * round_number and time.monotonic() < deadline:
            line = victims[0].stdout.readline()
            if not line:
                break
            reported.add(int(line.split()[0]))
            seen += 1
        for victim in victims:
            victim.send_signal(signal.SIGKILL)
        for victim in victims:
            out, _err = victim.communicate(timeout=30)
            reported.update(int(line.split()[0]) for line in out.splitlines() if line.strip())
        assert victims[0].returncode == -signal.SIGKILL  # killed mid-stream, not finished
    # Everything a killed writer reported survived the kills, once.
    survived = rows_per_event(path)
    assert reported and reported <= {int(event_id[3:]) for event_id in survived}
    assert set(survived.values()) == {1}
    # A restart finishes the work: every id once, whichever process got there first.
    finisher = writer(path, 0, EVENTS, "req-restart")
    out, err = finisher.communicate(timeout=120)
    assert finisher.returncode == 0, err
    rows = rows_per_event(path)
    assert rows == {f"ev-{n:06d}": 1 for n in range(EVENTS)}
    totals = SqliteBackend(path).counters().totals()
    assert totals["stored"] + totals["duplicates"] == EVENTS  # one count per message key, never two
