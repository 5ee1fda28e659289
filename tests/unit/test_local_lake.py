"""What the local lake promises beyond the ``LakeSink`` contract (tests/contract/test_lake_sink.py):
its files and types, its manifest, and readers that never break while writers replace files."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from tests.contract.test_lake_sink import local_rows, row
from theeye.analytics import local_lake
from theeye.analytics.local_lake import COMPACT_FILES, NEVER, LocalLake
from theeye.analytics.table import COLUMNS, Snapshot
from theeye.config import Settings
from theeye.ports import LakeDelete, LakeUpsert

SQL_TYPES = {"varchar": "VARCHAR", "timestamp": "TIMESTAMP", "boolean": "BOOLEAN"}


@pytest.fixture
def lake(tmp_path: Path) -> LocalLake:
    return LocalLake(tmp_path / "lake")


def test_a_lake_nothing_was_fed_to_is_an_empty_table(lake: LocalLake) -> None:
    assert lake.snapshot() == Snapshot((), NEVER)
    assert lake.checkpoint() == {}


def test_files_have_exactly_the_columns_of_the_table_one_day_each(lake: LocalLake) -> None:
    lake.apply([LakeUpsert(1, row("ev-1", day=1)), LakeUpsert(2, row("ev-2", day=2))])

    files = lake.snapshot().files
    assert sorted(Path(f).parent.name for f in files) == ["2026-12-01", "2026-12-02"]
    assert all("=" not in f for f in files)  # DuckDB would read a hive partition column from it
    described = duckdb.connect().execute("DESCRIBE SELECT * FROM read_parquet(?)", [list(files)]).fetchall()
    assert [(name, kind) for name, kind, *_ in described] == [(c.name, SQL_TYPES[c.type]) for c in COLUMNS]


def test_the_manifest_keeps_the_checkpoint_and_as_of_until_given_new_ones(lake: LocalLake) -> None:
    moment = datetime(2026, 12, 6, 18, tzinfo=UTC)
    lake.apply([LakeUpsert(1, row("ev-1"))], checkpoint={"position": 1}, as_of=moment)
    lake.apply([LakeUpsert(2, row("ev-2"))])

    assert lake.checkpoint() == {"position": 1}
    assert lake.snapshot().as_of == moment
    assert not list(lake.directory.glob(".manifest.json.*"))  # replaced by a rename, nothing left


def test_a_snapshot_taken_before_a_compaction_stays_readable(lake: LocalLake) -> None:
    lake.apply([LakeUpsert(0, row("ev-0"))])
    before = lake.snapshot()
    for n in range(1, COMPACT_FILES + 1):  # one file more than a day may have
        lake.apply([LakeUpsert(n, row(f"ev-{n}"))])

    assert len(lake.snapshot().files) == 1  # compacted
    assert all(Path(f).exists() for f in before.files)  # kept for readers a while
    lake.apply([LakeDelete(99, "s-other")])
    assert not any(Path(f).exists() for f in before.files)  # an erasure takes them at once


def test_a_reader_whose_files_an_erasure_unlinked_reads_again(lake: LocalLake) -> None:
    lake.apply([LakeUpsert(1, row("ev-1", "s-gone")), LakeUpsert(2, row("ev-2", "s-kept"))])
    attempts: list[Snapshot] = []

    def run(snapshot: Snapshot) -> int:
        attempts.append(snapshot)
        if len(attempts) == 1:
            lake.apply([LakeDelete(3, "s-gone")])  # meanwhile
        found = (
            duckdb.connect()
            .execute("SELECT count(*) FROM read_parquet(?)", [list(snapshot.files)])
            .fetchone()
        )
        return int(found[0]) if found else 0

    assert lake.read(run) == 1
    assert len(attempts) == 2


def test_files_a_dead_writer_left_are_swept(lake: LocalLake, tmp_path: Path) -> None:
    lake.apply([LakeUpsert(1, row("ev-1"))])
    orphan = lake.directory / local_lake.DATA / "2026-12-01" / "0000000009-dead.parquet"
    orphan.write_bytes(b"half written")

    LocalLake(lake.directory).apply([LakeUpsert(2, row("ev-2"))])

    assert not orphan.exists()
    assert [r["event_id"] for r in local_rows(lake)] == ["ev-1", "ev-2"]


def test_writers_in_parallel_are_serialized(lake: LocalLake) -> None:
    def write(writer: int) -> None:
        sink = LocalLake(lake.directory)
        for n in range(5):
            sink.apply([LakeUpsert(n, row(f"ev-{writer}-{n}")), LakeUpsert(n, row("ev-shared"))])
        sink.close()

    threads = [threading.Thread(target=write, args=(w,)) for w in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(r["event_id"] for r in local_rows(lake)) == sorted(
        ["ev-shared"] + [f"ev-{w}-{n}" for w in range(3) for n in range(5)]
    )


def test_the_lake_of_a_function_is_named_or_beside_its_database() -> None:
    assert local_lake.lake_directory(Settings(lake_directory="/data/lake")) == "/data/lake"
    embedded = Settings(storage_backend="sqlite", database_path="/data/theeye.db")
    assert local_lake.lake_directory(embedded) == "/data/lake"
    assert local_lake.lake_directory(Settings()) == ""


def test_a_delete_is_remembered_a_week(lake: LocalLake, monkeypatch: pytest.MonkeyPatch) -> None:
    lake.apply([LakeDelete(10, "s-1", ("ev-1",))])
    lake.apply([LakeUpsert(4, row("ev-1"))])
    assert local_rows(lake) == []

    later = time.time() + local_lake.TOMBSTONE_SECONDS + 1
    monkeypatch.setattr(local_lake.time, "time", lambda: later)
    lake.apply([LakeUpsert(4, row("ev-1"))])
    assert [r["event_id"] for r in local_rows(lake)] == ["ev-1"]
