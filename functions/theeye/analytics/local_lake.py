"""The local lake: the ``events`` table (``theeye.analytics.table``) as Parquet files on one
machine, written with DuckDB and read by it (docs/ANALYTICS.md, "Local lake").

Layout of the lake directory::

    manifest.json                              the current files, the checkpoint, ``as_of``
    data/<YYYY-MM-DD>/<generation>-<id>.parquet  rows whose event_time falls on that UTC day
    tombstones/<generation>-<id>.parquet       deleted event ids and sessions, with their delete's sequence
    .lock                                      held by a writer for a whole ``apply``

A reader gets the current files from :meth:`LocalLake.snapshot` (which reads ``manifest.json``,
replaced atomically by each write) and nowhere else. Files are never changed: a write adds new
ones and publishes a manifest without the ones it replaced. Files replaced by an erasure are
unlinked as soon as the new manifest is published (their bytes must go); files replaced by
compaction are kept ``RETIRE_SECONDS`` for the readers still using them, and unlinked at once
too when an erasure comes. A reader caught between its snapshot and an unlink runs again on a
new snapshot: :meth:`LocalLake.read`.

Writers (the local feeder; the feeder function of the moto stack, in several processes) take
``.lock`` for each ``apply``, so writes are serialized; readers take no lock.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Final, TypeVar

from theeye.analytics.table import COLUMN_NAMES, COLUMNS, KEY_COLUMN, PARTITION_COLUMN, Snapshot
from theeye.clock import format_timestamp, parse_timestamp
from theeye.config import Settings
from theeye.ports import LakeChange, LakeDelete, LakeUpsert

LAKE_FOLDER: Final = "lake"  # beside the embedded store's file, unless LAKE_DIRECTORY says otherwise
MANIFEST: Final = "manifest.json"
DATA: Final = "data"
TOMBSTONES: Final = "tombstones"
LOCK: Final = ".lock"
FORMAT: Final = 1
# Compaction: when a day has more than COMPACT_FILES files of fewer than COMPACT_ROWS rows, they
# are merged into one (a burst writes one small file per day per batch).
COMPACT_FILES: Final = 8
COMPACT_ROWS: Final = 250_000
# How long a file replaced by compaction stays for readers that still use it (beyond the 30 s
# a local SQL statement may run).
RETIRE_SECONDS: Final = 60.0
# How long a delete is remembered against late upserts: far beyond any redelivery (a queue's or
# a stream's retention is a day or so), so that retention's deletes do not pile up for ever.
TOMBSTONE_SECONDS: Final = 7 * 86400.0
# How often a reader runs again on a new snapshot when files of its snapshot were unlinked.
READ_ATTEMPTS: Final = 3
NEVER: Final = datetime(1970, 1, 1, tzinfo=UTC)  # the as_of of a lake nothing was fed to

_SQL_TYPES: Final = {"varchar": "VARCHAR", "timestamp": "TIMESTAMP", "boolean": "BOOLEAN"}
_COLUMNS_SQL: Final = ", ".join(f"{column.name} {_SQL_TYPES[column.type]}" for column in COLUMNS)
_SELECT_COLUMNS: Final = ", ".join(COLUMN_NAMES)
_UNNEST: Final = ", ".join(f"unnest(?::{_SQL_TYPES[column.type]}[])" for column in COLUMNS)
_ORDER: Final = f"ORDER BY {PARTITION_COLUMN}, {KEY_COLUMN}"


def _sql(*parts: str) -> str:
    """A statement put together from this module's constant fragments (the table's column
    names, fixed clauses), never from input: values are always ``?`` parameters."""
    return " ".join(parts)


_GONE: Final = _sql("session_id = ANY(?::VARCHAR[]) OR", KEY_COLUMN, "= ANY(?::VARCHAR[])")
_FILES_HOLDING: Final = _sql("SELECT DISTINCT filename FROM read_parquet(?, filename = true) WHERE", _GONE)
_WITHOUT: Final = _sql("SELECT", _SELECT_COLUMNS, "FROM read_parquet(?) WHERE NOT (", _GONE, ")", _ORDER)
_IN_DAY: Final = _sql("CAST(", PARTITION_COLUMN, "AS DATE) = CAST(? AS DATE)")
_NEW_INCOMING: Final = _sql("CREATE OR REPLACE TEMP TABLE incoming (", _COLUMNS_SQL, ")")
_FILL_INCOMING: Final = _sql("INSERT INTO incoming SELECT", _UNNEST)
_DROP_PRESENT: Final = _sql(
    "DELETE FROM incoming WHERE",
    _IN_DAY,
    "AND",
    KEY_COLUMN,
    "IN (SELECT",
    KEY_COLUMN,
    "FROM read_parquet(?))",
)
_INCOMING_OF_DAY: Final = _sql("SELECT", _SELECT_COLUMNS, "FROM incoming WHERE", _IN_DAY, _ORDER)
_MERGED: Final = _sql("SELECT", _SELECT_COLUMNS, "FROM read_parquet(?)", _ORDER)
_NEW_MARKS: Final = (
    "CREATE OR REPLACE TEMP TABLE marks (kind VARCHAR, key VARCHAR, sequence VARCHAR, applied DOUBLE)"
)
_FILL_MARKS: Final = "INSERT INTO marks SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::DOUBLE[])"
_READ_MARKS: Final = "SELECT kind, key, sequence, applied FROM read_parquet(?)"

T = TypeVar("T")


@dataclass(frozen=True)
class LakeFile:
    path: str  # relative to the lake directory
    day: str
    rows: int


@dataclass(frozen=True)
class Retired:
    path: str
    since: float  # epoch seconds


@dataclass(frozen=True)
class Manifest:
    generation: int = 0
    files: tuple[LakeFile, ...] = ()
    tombstones: str | None = None
    retired: tuple[Retired, ...] = ()
    checkpoint: Mapping[str, Any] = field(default_factory=dict)
    as_of: datetime = NEVER

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "generation": self.generation,
            "as_of": format_timestamp(self.as_of),
            "checkpoint": dict(self.checkpoint),
            "files": [{"path": f.path, "day": f.day, "rows": f.rows} for f in self.files],
            "tombstones": self.tombstones,
            "retired": [{"path": r.path, "since": r.since} for r in self.retired],
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Manifest:
        if value.get("format") != FORMAT:
            raise ValueError(f"lake manifest format {value.get('format')!r} is not {FORMAT}")
        return cls(
            generation=int(value["generation"]),
            files=tuple(LakeFile(f["path"], f["day"], int(f["rows"])) for f in value["files"]),
            tombstones=value.get("tombstones"),
            retired=tuple(Retired(r["path"], float(r["since"])) for r in value.get("retired", [])),
            checkpoint=dict(value.get("checkpoint") or {}),
            as_of=parse_timestamp(value["as_of"]),
        )


@dataclass
class Tombstones:
    """Per event id and per session: the newest delete's sequence, and when it was applied."""

    marks: dict[tuple[str, str], tuple[int, float]] = field(default_factory=dict)

    def hides(self, change: LakeUpsert) -> bool:
        row = change.row
        newest = max(
            self.marks.get(("event", row[KEY_COLUMN]), (-1, 0.0))[0],
            self.marks.get(("session", row["session_id"]), (-1, 0.0))[0],
        )
        return change.sequence <= newest

    def add(self, change: LakeDelete, now: float) -> None:
        keys = [("event", event_id) for event_id in change.event_ids]
        keys += [("session", change.session_id)] if change.session_id is not None else []
        for key in keys:
            self.marks[key] = (max(self.marks.get(key, (change.sequence, now))[0], change.sequence), now)

    def forget(self, before: float) -> bool:
        """Drop the marks applied before ``before``; whether any went."""
        old = [key for key, (_, applied) in self.marks.items() if applied < before]
        for key in old:
            del self.marks[key]
        return bool(old)


class LocalLake:
    """The lake in ``directory``: the ``LakeSink`` of the local stacks and the files SQL reads."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self._mutex = threading.Lock()
        self._connection: Any = None
        self._tombstones: tuple[str | None, Tombstones] = (None, Tombstones())
        self._swept = False

    # -- readers ------------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """The files that hold the table now, and the instant they cover (no files: empty table)."""
        manifest = self.manifest()
        return Snapshot(tuple(str(self.directory / f.path) for f in manifest.files), manifest.as_of)

    def read(self, run: Callable[[Snapshot], T], attempts: int = READ_ATTEMPTS) -> T:
        """``run(snapshot)``; when it fails and files of its snapshot are gone (an erasure or a
        compaction replaced them meanwhile), run again on a new snapshot, ``attempts`` in all."""
        for attempt in range(1, attempts + 1):
            snapshot = self.snapshot()
            try:
                return run(snapshot)
            except Exception:
                if attempt == attempts or all(os.path.exists(path) for path in snapshot.files):
                    raise
        raise AssertionError("unreachable")

    def manifest(self) -> Manifest:
        try:
            text = (self.directory / MANIFEST).read_text(encoding="utf-8")
        except FileNotFoundError:
            return Manifest()
        return Manifest.from_json(json.loads(text))

    def checkpoint(self) -> Mapping[str, Any]:
        """What the writer stored with the last ``apply`` (the local feeder: its change-log position)."""
        return self.manifest().checkpoint

    # -- the writer ---------------------------------------------------------------------------

    def apply(
        self,
        changes: Sequence[LakeChange],
        *,
        checkpoint: Mapping[str, Any] | None = None,
        as_of: datetime | None = None,
        tidy: bool = False,
    ) -> None:
        """Apply ``changes`` in order and publish them in one new manifest, with ``checkpoint``
        (kept as it is) and ``as_of`` (kept from the last manifest when not given). ``tidy``
        also merges the small files of every day that has more than one (see ``untidy``).

        An upsert of an event already in the lake, or hidden by a delete at least as new, adds
        nothing; a delete removes its rows from every file (rewriting those files) and is
        remembered as tombstones."""
        with self._writing() as old:
            now = time.time()
            tombstones = self._load_tombstones(old.tombstones)
            marks_changed = tombstones.forget(now - TOMBSTONE_SECONDS)
            incoming: dict[str, LakeUpsert] = {}
            gone_sessions: set[str] = set()
            gone_events: set[str] = set()
            for change in changes:
                if isinstance(change, LakeDelete):
                    tombstones.add(change, now)
                    gone_events.update(change.event_ids)
                    if change.session_id is not None:
                        gone_sessions.add(change.session_id)
                    incoming = {key: up for key, up in incoming.items() if not tombstones.hides(up)}
                elif change.row[KEY_COLUMN] not in incoming and not tombstones.hides(change):
                    incoming[change.row[KEY_COLUMN]] = change
            generation = old.generation + 1
            files = list(old.files)
            unlink: list[str] = []
            retired = list(old.retired)
            deleting = bool(gone_sessions or gone_events)
            if deleting:
                files, replaced = self._delete(files, generation, gone_sessions, gone_events)
                unlink += replaced + [r.path for r in retired]
                retired = []
            files += self._add(files, generation, [up.row for up in incoming.values()])
            days = {f.day for f in files} if tidy else {_day(up.row) for up in incoming.values()}
            files, compacted = self._compact(files, generation, days, 1 if tidy else COMPACT_FILES)
            fresh = f"{generation:010d}-"  # written by this apply: no reader has seen them
            unlink += [path for path in compacted if Path(path).name.startswith(fresh)]
            retired += [Retired(path, now) for path in compacted if not Path(path).name.startswith(fresh)]
            unlink += [r.path for r in retired if now - r.since >= RETIRE_SECONDS]
            retired = [r for r in retired if now - r.since < RETIRE_SECONDS]
            tombstone_file = old.tombstones
            if deleting or marks_changed:
                tombstone_file = self._write_tombstones(generation, tombstones)
                if old.tombstones:
                    unlink.append(old.tombstones)
            new = Manifest(
                generation=generation,
                files=tuple(files),
                tombstones=tombstone_file,
                retired=tuple(retired),
                checkpoint=dict(checkpoint if checkpoint is not None else old.checkpoint),
                as_of=as_of or old.as_of,
            )
            self._publish(new)
            self._tombstones = (tombstone_file, tombstones)
            for path in unlink:
                (self.directory / path).unlink(missing_ok=True)
            if deleting:
                self._sweep_orphans(new)

    def reset(self) -> None:
        """Empty the lake: a manifest with no files, no tombstones and no checkpoint, and every
        file gone (the lake is rebuilt from its source)."""
        with self._writing() as old:
            self._publish(Manifest(generation=old.generation + 1))
            self._tombstones = (None, Tombstones())
            self._sweep_orphans(Manifest())

    # -- steps of a write -----------------------------------------------------------------------

    @contextmanager
    def _writing(self) -> Iterator[Manifest]:
        self.directory.mkdir(parents=True, exist_ok=True)
        with self._mutex, (self.directory / LOCK).open("ab") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            manifest = self.manifest()
            if not self._swept:  # files a writer left behind when it died mid-way
                self._sweep_orphans(manifest)
                self._swept = True
            yield manifest

    def _delete(
        self, files: list[LakeFile], generation: int, sessions: set[str], events: set[str]
    ) -> tuple[list[LakeFile], list[str]]:
        """``files`` without the rows of ``sessions`` and ``events`` (the files holding some
        rewritten without them), and the paths of the files replaced."""
        if not files:
            return files, []
        db = self._db()
        params = [sorted(sessions), sorted(events)]
        hit = {
            os.path.relpath(name, self.directory)
            for (name,) in db.execute(
                _FILES_HOLDING,
                [[str(self.directory / f.path) for f in files], *params],
            ).fetchall()
        }
        kept: list[LakeFile] = []
        for lake_file in files:
            if lake_file.path not in hit:
                kept.append(lake_file)
                continue
            source = str(self.directory / lake_file.path)
            rewritten = self._write(lake_file.day, generation, _WITHOUT, [source, *params])
            if rewritten is not None:
                kept.append(rewritten)
        return kept, sorted(hit)

    def _add(self, files: list[LakeFile], generation: int, rows: list[Mapping[str, Any]]) -> list[LakeFile]:
        """New files (one per day) for the ``rows`` whose event id no file of their day holds."""
        if not rows:
            return []
        db = self._db()
        db.execute(_NEW_INCOMING)
        db.execute(_FILL_INCOMING, [[row.get(name) for row in rows] for name in COLUMN_NAMES])
        added: list[LakeFile] = []
        for day in sorted({_day(row) for row in rows}):
            present = [str(self.directory / f.path) for f in files if f.day == day]
            if present:
                db.execute(_DROP_PRESENT, [day, present])
            written = self._write(day, generation, _INCOMING_OF_DAY, [day])
            if written is not None:
                added.append(written)
        db.execute("DROP TABLE incoming")
        return added

    def untidy(self) -> bool:
        """Whether a day of the lake has more than one small file: a lake at rest is read fastest
        with one file per day, so the feeder tidies it (``apply(..., tidy=True)``) when idle."""
        days = [f.day for f in self.manifest().files if f.rows < COMPACT_ROWS]
        return len(days) != len(set(days))

    def _compact(
        self, files: list[LakeFile], generation: int, days: set[str], most: int = COMPACT_FILES
    ) -> tuple[list[LakeFile], list[str]]:
        """Each of ``days`` with more than ``most`` small files gets them merged into one."""
        replaced: list[str] = []
        for day in sorted(days):
            small = [f for f in files if f.day == day and f.rows < COMPACT_ROWS]
            if len(small) <= most:
                continue
            merged = self._write(day, generation, _MERGED, [[str(self.directory / f.path) for f in small]])
            files = [f for f in files if f not in small] + ([merged] if merged else [])
            replaced += [f.path for f in small]
        return files, replaced

    def _write(self, day: str, generation: int, query: str, params: list[Any]) -> LakeFile | None:
        """The rows of ``query`` as a new file of ``day`` (synced to disk); None when there are none."""
        db = self._db()
        db.execute(_sql("CREATE OR REPLACE TEMP TABLE chunk AS", query), params)
        (rows,) = db.execute("SELECT count(*) FROM chunk").fetchone()
        relative = f"{DATA}/{day}/{generation:010d}-{uuid.uuid4().hex[:12]}.parquet"
        if rows:
            (self.directory / relative).parent.mkdir(parents=True, exist_ok=True)
            db.execute(_sql("COPY chunk TO", _literal(self.directory / relative), "(FORMAT parquet)"))
            _sync(self.directory / relative)
        db.execute("DROP TABLE chunk")
        return LakeFile(relative, day, int(rows)) if rows else None

    def _load_tombstones(self, path: str | None) -> Tombstones:
        cached_path, cached = self._tombstones
        if path == cached_path:
            return Tombstones(dict(cached.marks))
        tombstones = Tombstones()
        if path is not None:
            for kind, key, sequence, applied in (
                self._db().execute(_READ_MARKS, [str(self.directory / path)]).fetchall()
            ):
                tombstones.marks[(kind, key)] = (int(sequence), float(applied))
        return tombstones

    def _write_tombstones(self, generation: int, tombstones: Tombstones) -> str:
        """The tombstones as a new file (sequences as decimal text: a stream's are 40 digits)."""
        entries = [
            (kind, key, str(sequence), applied)
            for (kind, key), (sequence, applied) in tombstones.marks.items()
        ]
        relative = f"{TOMBSTONES}/{generation:010d}-{uuid.uuid4().hex[:12]}.parquet"
        (self.directory / relative).parent.mkdir(parents=True, exist_ok=True)
        db = self._db()
        db.execute(_NEW_MARKS)
        db.execute(
            _FILL_MARKS, [list(column) for column in zip(*entries, strict=True)] if entries else [[]] * 4
        )
        db.execute(_sql("COPY marks TO", _literal(self.directory / relative), "(FORMAT parquet)"))
        db.execute("DROP TABLE marks")
        _sync(self.directory / relative)
        return relative

    def _publish(self, manifest: Manifest) -> None:
        """Replace ``manifest.json`` atomically (write beside it, sync, rename, sync the directory)."""
        target = self.directory / MANIFEST
        temporary = target.with_name(f".{MANIFEST}.{uuid.uuid4().hex}")
        with temporary.open("w", encoding="utf-8") as out:
            json.dump(manifest.to_json(), out, separators=(",", ":"))
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
        _sync_directory(self.directory)

    def _sweep_orphans(self, manifest: Manifest) -> None:
        """Unlink every lake file the manifest does not name (left by a writer that died, or replaced)."""
        named = {f.path for f in manifest.files} | {r.path for r in manifest.retired}
        if manifest.tombstones:
            named.add(manifest.tombstones)
        for folder in (DATA, TOMBSTONES):
            for path in (self.directory / folder).rglob("*"):
                if path.is_file() and path.relative_to(self.directory).as_posix() not in named:
                    path.unlink(missing_ok=True)
        for stale in self.directory.glob(f".{MANIFEST}.*"):
            stale.unlink(missing_ok=True)
        data = self.directory / DATA
        if data.is_dir():
            for day in data.iterdir():
                if day.is_dir() and not any(day.iterdir()):
                    day.rmdir()

    def _db(self) -> Any:
        if self._connection is None:
            import duckdb  # local and test environments only (requirements-dev.txt)

            self._connection = duckdb.connect(config={"temp_directory": ""})
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def lake_directory(settings: Settings) -> str:
    """Where this function's local lake is: ``LAKE_DIRECTORY``, else (embedded backend) the
    ``lake`` folder beside ``DATABASE_PATH``; empty when there is none (AWS)."""
    if settings.lake_directory:
        return settings.lake_directory
    if settings.storage_backend == "sqlite" and settings.database_path:
        return str(Path(settings.database_path).with_name(LAKE_FOLDER))
    return ""


def _day(row: Mapping[str, Any]) -> str:
    moment = row[PARTITION_COLUMN]
    return (
        moment.date() if isinstance(moment, datetime) else date.fromisoformat(str(moment)[:10])
    ).isoformat()


def _literal(path: Path) -> str:
    """A path as an SQL string literal (COPY ... TO takes no parameter)."""
    return "'" + str(path).replace("'", "''") + "'"


def _sync(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def _sync_directory(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
