"""A database file written by an older version opens with the current schema and its rows read
back as the API shows them (``theeye.sqlite.db.MIGRATIONS``)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from theeye.ports import Window
from theeye.sqlite.backend import SqliteBackend
from theeye.sqlite.db import SCHEMA, SCHEMA_VERSION

TS = "2026-11-23T09:00:00.000000Z"


def version_2_file(path: Path) -> None:
    connection = sqlite3.connect(path, isolation_level=None)
    for statement in SCHEMA:
        connection.execute(statement)
    connection.execute(
        "INSERT INTO events (position, event_id, application_id, session_id, category, name, data,"
        " timestamp, received_at, stored_at) VALUES (?, 'ev-1', 'app', 's-1', 'c', 'n', '{}', ?, ?, ?)",
        (f"{TS}#ev-1", TS, TS, TS),
    )
    connection.execute(
        "INSERT INTO event_guards (event_id, content_hash, origin, position) VALUES ('ev-1', 'h', 'o', ?)",
        (f"{TS}#ev-1",),
    )
    connection.execute(
        "INSERT INTO errors (error_id, position, type, source, application_id, received_at, event_id,"
        " details, payload, key_id, request_id) VALUES ('err-1', ?, 'schema_violation', 'processor', 'app',"
        " ?, 'ev-1', '[]', '{}', '', '')",
        (f"{TS}#err-1", TS),
    )
    connection.execute("PRAGMA user_version = 2")
    connection.close()


def test_a_version_2_file_is_migrated_and_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "theeye.db"
    version_2_file(path)
    backend = SqliteBackend(path)
    event = backend.event_reader().get("ev-1")
    assert event is not None and event["client_timestamp"] == event["timestamp"] == TS
    error = backend.error_reader().get("err-1")
    assert error is not None and (error["session_id"], error["erased"]) == (None, False)
    window = Window(None, None, False, None)
    assert backend.session_reader().page(window, application_id=None, limit=10).items == []
    assert backend.eraser().erase("s-1").events_erased == 1  # the new tables and columns exist
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_new_file_and_a_migrated_one_have_the_same_tables(tmp_path: Path) -> None:
    old, new = tmp_path / "old.db", tmp_path / "new.db"
    version_2_file(old)
    SqliteBackend(old).event_reader().get("x")
    SqliteBackend(new).event_reader().get("x")

    def shape(path: Path) -> list[tuple[str, str]]:
        connection = sqlite3.connect(path)
        tables = [
            r[0]
            for r in connection.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'index') ORDER BY name"
            )
        ]
        return [(t, str(connection.execute(f"PRAGMA table_info('{t}')").fetchall())) for t in tables]

    assert shape(old) == shape(new)
