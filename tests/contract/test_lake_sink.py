"""The contract of ``theeye.ports.LakeSink``, the change -> lake step, for every implementation.

``local`` is ``theeye.analytics.local_lake.LocalLake`` (the embedded and moto local stacks).
``firehose`` is ``theeye.aws.lake.FirehoseLakeSink`` in front of :class:`IcebergFirehose`, a
fake of the delivery stream that decodes each record as the Iceberg destination does (JSON, the
stream's JSONQuery: a null ``received_at`` is a delete, anything else an upsert, keyed by
``event_id``; timestamps in microseconds) and applies it to rows. That checks what the sink
owns: every column of a row makes the trip with its type, an upsert redelivered stays one row,
a delete by event id removes it, batches of any size arrive. It holds only the guarantees AWS's
path gives at the sink (``FIREHOSE``): the feeder deletes one event per change (a ``REMOVE``
stream record), Firehose does not order an upsert against a later delete (the lake's sweep
deletes erased sessions again, docs/ANALYTICS.md "Delays"), and erased bytes leave Iceberg's
files by compaction days later; those tests do not run for it.

An implementation joins by adding a name to ``SINKS`` and a branch to the ``lake`` fixture that
yields a :class:`LakeUnderTest`: the sink, how to read its rows back, every file it keeps data in
(to look for the bytes of an erased payload) and which of the optional guarantees it gives.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from theeye.analytics.local_lake import COMPACT_FILES, LocalLake
from theeye.analytics.table import COLUMN_NAMES, COLUMNS, Row, Snapshot
from theeye.aws.lake import DELETE_MARKER, FirehoseLakeSink
from theeye.ports import LakeDelete, LakeSink, LakeUpsert

SINKS = ("local", "firehose")
# Guarantees beyond the core (one row per event, deletes by event id, in order):
SESSION_DELETES = "a delete names a session and several events"
LATE_UPSERTS_HIDDEN = "a delete hides an older upsert that arrives after it"
BYTES_ERASED = "a delete removes the payload's bytes from every file at once"
EVERY_GUARANTEE = frozenset({SESSION_DELETES, LATE_UPSERTS_HIDDEN, BYTES_ERASED})
FIREHOSE: frozenset[str] = frozenset()
EPOCH = datetime(1970, 1, 1)


@dataclass
class LakeUnderTest:
    sink: LakeSink
    rows: Callable[[], list[Row]]  # every row of the table now, in event_id order
    files: Callable[[], list[Path]]  # every file the sink keeps anything in
    # applies of one small batch each that make the sink compact (or merge) what it holds
    burst: int
    guarantees: frozenset[str] = EVERY_GUARANTEE

    def needs(self, guarantee: str) -> None:
        if guarantee not in self.guarantees:
            pytest.skip(f"not this sink's guarantee: {guarantee} (see the module's docstring)")


@dataclass
class IcebergFirehose:
    """``PutRecordBatch`` of a delivery stream whose Iceberg destination has ``UniqueKeys: [event_id]``."""

    rows: dict[str, Row] = field(default_factory=dict)
    calls: int = 0

    def put_record_batch(self, DeliveryStreamName: str, Records: list[dict[str, bytes]]) -> dict[str, Any]:
        self.calls += 1
        assert len(Records) <= 500
        for record in Records:
            values = json.loads(record["Data"])
            assert list(values) == list(COLUMN_NAMES), "every record names every column, in order"
            if values[DELETE_MARKER] is None:
                self.rows.pop(values["event_id"], None)
                continue
            self.rows[values["event_id"]] = {
                column.name: EPOCH + timedelta(microseconds=values[column.name])
                if column.type == "timestamp" and values[column.name] is not None
                else values[column.name]
                for column in COLUMNS
            }
        return {"FailedPutCount": 0, "RequestResponses": [{"RecordId": str(n)} for n in range(len(Records))]}


def local_rows(lake: LocalLake) -> list[Row]:
    def read(snapshot: Snapshot) -> list[Row]:
        if not snapshot.files:
            return []
        cursor = duckdb.connect().execute(
            "SELECT * FROM read_parquet(?) ORDER BY event_id", [list(snapshot.files)]
        )
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]

    return lake.read(read)


@pytest.fixture(params=SINKS)
def lake(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LakeUnderTest]:
    if request.param == "firehose":
        firehose = IcebergFirehose()
        yield LakeUnderTest(
            FirehoseLakeSink("theeye-lake", client=firehose),
            rows=lambda: [firehose.rows[key] for key in sorted(firehose.rows)],
            files=list,
            burst=3,
            guarantees=FIREHOSE,
        )
        return
    local = LocalLake(tmp_path / "lake")
    yield LakeUnderTest(
        local,
        rows=lambda: local_rows(local),
        files=lambda: [path for path in tmp_path.rglob("*") if path.is_file()],
        burst=COMPACT_FILES + 3,
    )
    local.close()


def row(event_id: str, session_id: str = "s-1", *, day: int = 1, data: str = '{"path":"/"}') -> Row:
    moment = datetime(2026, 12, day, 9, 15, 27, 243860)
    values: dict[str, Any] = {column.name: None for column in COLUMNS}
    values.update(
        event_id=event_id,
        session_id=session_id,
        application_id="app-1",
        category="page interaction",
        name="pageview",
        event_time=moment,
        client_time=moment - timedelta(seconds=2),
        received_at=moment + timedelta(seconds=1),
        data=data,
        browser="Firefox",
        bot=False,
        page_path="/pricing",
    )
    return values


def ids(rows: list[Row]) -> list[str]:
    return [r["event_id"] for r in rows]


def test_an_upserted_event_is_one_row_with_every_column(lake: LakeUnderTest) -> None:
    lake.sink.apply([LakeUpsert(1, row("ev-1")), LakeUpsert(2, row("ev-2", day=2))])

    rows = lake.rows()
    assert rows == [row("ev-1"), row("ev-2", day=2)]
    assert list(rows[0]) == list(COLUMN_NAMES)


def test_a_redelivered_upsert_never_makes_a_second_row(lake: LakeUnderTest) -> None:
    lake.sink.apply([LakeUpsert(1, row("ev-1")), LakeUpsert(1, row("ev-1"))])
    lake.sink.apply([LakeUpsert(1, row("ev-1")), LakeUpsert(2, row("ev-2"))])
    lake.sink.apply([LakeUpsert(2, row("ev-2"))])

    assert ids(lake.rows()) == ["ev-1", "ev-2"]


def test_a_delete_by_event_id_removes_that_row(lake: LakeUnderTest) -> None:
    lake.sink.apply([LakeUpsert(1, row("ev-1")), LakeUpsert(2, row("ev-2"))])

    lake.sink.apply([LakeDelete(3, None, ("ev-1",))])  # an erased event, or retention

    assert ids(lake.rows()) == ["ev-2"]
    lake.sink.apply([LakeDelete(3, None, ("ev-1",))])  # redelivered: nothing more
    assert ids(lake.rows()) == ["ev-2"]


def test_a_delete_removes_the_rows_of_its_session_and_its_event_ids(lake: LakeUnderTest) -> None:
    lake.needs(SESSION_DELETES)
    lake.sink.apply(
        [
            LakeUpsert(1, row("ev-1", "s-gone")),
            LakeUpsert(2, row("ev-2", "s-gone", day=3)),
            LakeUpsert(3, row("ev-3", "s-kept")),
            LakeUpsert(4, row("ev-4", "s-kept")),
        ]
    )

    lake.sink.apply([LakeDelete(5, "s-gone", ("ev-1", "ev-2"))])
    assert ids(lake.rows()) == ["ev-3", "ev-4"]

    lake.sink.apply([LakeDelete(6, None, ("ev-4",))])  # retention: ids alone
    assert ids(lake.rows()) == ["ev-3"]


def test_a_delete_hides_an_older_upsert_delivered_after_it(lake: LakeUnderTest) -> None:
    lake.needs(LATE_UPSERTS_HIDDEN)
    lake.sink.apply([LakeDelete(10, "s-1", ("ev-1",))])
    lake.sink.apply([LakeUpsert(4, row("ev-1")), LakeUpsert(5, row("ev-2"))])  # ev-2: known by session only
    assert lake.rows() == []

    # Sent again after the erasure, the same event is new data.
    lake.sink.apply([LakeUpsert(11, row("ev-1"))])
    assert ids(lake.rows()) == ["ev-1"]


def test_within_one_batch_changes_apply_in_order(lake: LakeUnderTest) -> None:
    lake.needs(SESSION_DELETES)
    lake.sink.apply(
        [
            LakeUpsert(1, row("ev-1")),
            LakeDelete(2, "s-1", ("ev-1",)),
            LakeUpsert(1, row("ev-1")),  # redelivered late: stays deleted
            LakeUpsert(3, row("ev-1")),  # sent again after the erasure
        ]
    )

    assert ids(lake.rows()) == ["ev-1"]


def test_many_small_batches_keep_every_row_once(lake: LakeUnderTest) -> None:
    expected: list[str] = []
    for batch in range(lake.burst):
        upserts = [LakeUpsert(batch, row(f"ev-{batch:02d}-{n}", day=1 + n % 2)) for n in range(3)]
        lake.sink.apply(upserts + upserts[:1])  # and a redelivery in each
        expected += [u.row["event_id"] for u in upserts]
    lake.sink.apply([LakeUpsert(0, row("ev-00-0", day=1))])

    assert ids(lake.rows()) == sorted(expected)


def test_erased_payloads_leave_no_byte_in_any_file(lake: LakeUnderTest) -> None:
    lake.needs(BYTES_ERASED)
    secret = "erase-me-" + secrets.token_hex(16)
    for batch in range(lake.burst):  # spread over many files, some of them compacted
        lake.sink.apply(
            [
                LakeUpsert(batch, row(f"ev-gone-{batch}", "s-gone", data=f'{{"note":"{secret}"}}')),
                LakeUpsert(batch, row(f"ev-kept-{batch}", "s-kept")),
            ]
        )
    assert any(secret.encode() in path.read_bytes() for path in lake.files())  # the search can see it

    lake.sink.apply([LakeDelete(lake.burst, "s-gone", tuple(f"ev-gone-{n}" for n in range(lake.burst)))])

    assert [r["session_id"] for r in lake.rows()] == ["s-kept"] * lake.burst
    assert [path for path in lake.files() if secret.encode() in path.read_bytes()] == []


def test_a_burst_larger_than_one_call_arrives_whole(lake: LakeUnderTest) -> None:
    upserts = [LakeUpsert(n, row(f"ev-{n:04d}", day=1 + n % 3)) for n in range(1203)]

    lake.sink.apply(upserts)

    assert ids(lake.rows()) == [u.row["event_id"] for u in upserts]
