"""The local feeder (``theeye_local.lake_feeder``): the embedded store's change log -> the local
lake, exactly once, in batches, rebuilt when the lake does not continue the store."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from tests.support import eventually
from theeye.analytics.local_lake import COMPACT_FILES, LocalLake
from theeye.analytics.table import Snapshot
from theeye.clock import utc_now
from theeye.events import Event
from theeye.records import EventRecord
from theeye.sqlite.backend import SqliteBackend
from theeye.sqlite.changes import SqliteChangeLog
from theeye_local.lake_feeder import TIDY_AFTER_SECONDS, LakeFeeder


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def backend(data_dir: Path) -> Iterator[SqliteBackend]:
    backend = SqliteBackend(data_dir / "theeye.db")
    yield backend
    backend.db.close()


@pytest.fixture
def feeder(backend: SqliteBackend, data_dir: Path) -> Iterator[LakeFeeder]:
    feeder = LakeFeeder(SqliteChangeLog(backend.db), LocalLake(data_dir / "lake"), batch=1000)
    yield feeder
    feeder.lake.close()


def store(
    backend: SqliteBackend, count: int, session_id: str = "s-1", *, data: str = "/", day: int = 1
) -> None:
    records = []
    for n in range(count):
        event = Event(
            event_id=f"ev-{session_id}-{day}-{n}",
            session_id=session_id,
            category="page interaction",
            name="pageview",
            data={"path": data},
            timestamp=f"2026-12-{day:02d}T09:{n // 60 % 60:02d}:{n % 60:02d}.000000Z",
        )
        records.append(
            EventRecord(event, "app-1", "2026-12-01T10:00:00.000000Z", "req#0", event.content_hash())
        )
    for start in range(0, len(records), 500):
        backend.event_store().put_all(records[start : start + 500])


def drain(feeder: LakeFeeder) -> int:
    """Steps until the feeder has nothing more to do; how many."""
    steps = 1
    while feeder.step():
        steps += 1
    return steps


def lake_ids(lake: LocalLake) -> list[str]:
    def read(snapshot: Snapshot) -> list[str]:
        if not snapshot.files:
            return []
        query = "SELECT event_id FROM read_parquet(?) ORDER BY 1"
        return [r[0] for r in duckdb.connect().execute(query, [list(snapshot.files)]).fetchall()]

    return lake.read(read)  # the feeder may replace files while this reads


def store_ids(backend: SqliteBackend) -> list[str]:
    return [
        r[0]
        for r in backend.db.connection().execute("SELECT event_id FROM events ORDER BY event_id").fetchall()
    ]


def test_stored_events_reach_the_lake_once_and_the_log_is_pruned(
    backend: SqliteBackend, feeder: LakeFeeder
) -> None:
    store(backend, 30)
    before = utc_now()
    drain(feeder)
    store(backend, 30)  # the same events again: nothing new
    drain(feeder)

    assert lake_ids(feeder.lake) == store_ids(backend) and len(store_ids(backend)) == 30
    assert feeder.lake.checkpoint()["position"] == feeder.log.last() == 30
    assert feeder.log.first() is None
    assert feeder.lake.snapshot().as_of >= before


def test_a_burst_is_applied_in_batches_and_compacted(backend: SqliteBackend, feeder: LakeFeeder) -> None:
    drain(feeder)  # a new lake: rebuilt (from nothing) once, then fed from the log
    for day in range(1, 4):
        store(backend, 1500, day=day)

    assert drain(feeder) >= 5  # 4500 changes, 1000 a batch

    assert len(lake_ids(feeder.lake)) == 4500
    for small_batches in range(COMPACT_FILES + 2):  # one small file per batch on day 4
        store(backend, 1, session_id=f"s-{small_batches}", day=4)
        drain(feeder)
    files = feeder.lake.manifest().files
    assert len([f for f in files if f.day == "2026-12-04"]) <= COMPACT_FILES
    assert lake_ids(feeder.lake) == store_ids(backend)


def test_an_erased_session_leaves_no_byte_in_the_data_directory(
    backend: SqliteBackend, feeder: LakeFeeder, data_dir: Path
) -> None:
    secret = "erase-me-" + secrets.token_hex(16)
    store(backend, 20, "s-gone", data=secret)
    store(backend, 20, "s-kept")
    drain(feeder)

    def holding() -> list[Path]:
        return [p for p in data_dir.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]

    assert any(p.suffix == ".parquet" for p in holding())  # the search can see it, in the lake too

    backend.eraser().erase("s-gone")
    drain(feeder)

    assert lake_ids(feeder.lake) == store_ids(backend) and len(store_ids(backend)) == 20
    assert holding() == []


def test_a_crash_before_the_log_was_pruned_applies_nothing_twice(
    backend: SqliteBackend, feeder: LakeFeeder
) -> None:
    store(backend, 10)
    batch = feeder.log.after(0, 100)
    feeder.lake.apply(batch.changes, checkpoint={"source": feeder.log.source(), "position": batch.reached})
    # ... and the feeder died here, before pruning: the next one starts after the checkpoint.
    store(backend, 5, "s-2")
    drain(feeder)

    assert lake_ids(feeder.lake) == store_ids(backend) and len(store_ids(backend)) == 15


def test_a_deleted_lake_is_rebuilt_from_the_store(
    backend: SqliteBackend, feeder: LakeFeeder, data_dir: Path
) -> None:
    store(backend, 10)
    store(backend, 3, "s-gone")
    drain(feeder)
    backend.eraser().erase("s-gone")
    drain(feeder)
    feeder.lake.reset()  # as good as deleting the folder: no checkpoint

    drain(feeder)

    assert lake_ids(feeder.lake) == store_ids(backend) and len(store_ids(backend)) == 10


def test_a_lake_fed_from_another_store_starts_over(
    backend: SqliteBackend, feeder: LakeFeeder, tmp_path: Path
) -> None:
    store(backend, 10)
    drain(feeder)
    other = SqliteBackend(tmp_path / "other.db")
    store(other, 2, "s-other")

    again = LakeFeeder(SqliteChangeLog(other.db), feeder.lake)
    drain(again)

    assert lake_ids(feeder.lake) == store_ids(other) and len(store_ids(other)) == 2
    other.db.close()


def test_the_running_feeder_keeps_up(backend: SqliteBackend, data_dir: Path) -> None:
    feeder = LakeFeeder(SqliteChangeLog(backend.db), LocalLake(data_dir / "lake"), idle_seconds=0.05)
    feeder.start()
    try:
        store(backend, 50)
        eventually("the stored events are in the lake", lambda: len(lake_ids(feeder.lake)) == 50)
        backend.eraser().erase("s-1")
        eventually("the erased events are gone from it", lambda: lake_ids(feeder.lake) == [])
    finally:
        feeder.stop()


def test_a_lake_at_rest_is_tidied_to_one_file_per_day(backend: SqliteBackend, data_dir: Path) -> None:
    """A burst leaves small files; once nothing was fed for a while, each day is one file."""
    now = [0.0]
    feeder = LakeFeeder(
        SqliteChangeLog(backend.db), LocalLake(data_dir / "lake"), batch=100, clock=lambda: now[0]
    )
    drain(feeder)
    for batch in range(4):
        store(backend, 1, session_id=f"tidy-{batch}", day=5)
        drain(feeder)
    assert len([f for f in feeder.lake.manifest().files if f.day == "2026-12-05"]) == 4

    now[0] += TIDY_AFTER_SECONDS - 1  # not yet at rest
    drain(feeder)
    assert len([f for f in feeder.lake.manifest().files if f.day == "2026-12-05"]) == 4

    now[0] += 1
    drain(feeder)
    assert [f.rows for f in feeder.lake.manifest().files if f.day == "2026-12-05"] == [4]
    assert not feeder.lake.untidy() and lake_ids(feeder.lake) == store_ids(backend)
