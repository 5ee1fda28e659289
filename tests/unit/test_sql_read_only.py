"""Read-only SQL: anything but one SELECT over ``events`` is ``400 invalid_sql`` naming the
problem, and nothing runs: the lake is not even looked at, no file is read, none is written.
Behind the parse, DuckDB's own walls hold for a statement that got past it."""

# ruff: noqa: S608 - statements are written here on purpose, hostile ones included

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.sql_lake import event, lake
from theeye.analytics.duckdb_engine import DuckDbEngine
from theeye.analytics.sql import Statement, check
from theeye.analytics.table import Snapshot
from theeye.errors import InvalidSql, QueryTooExpensive

SECRET = "sentinel-4f1c9e-never-to-be-read"

# {sentinel}: a file holding SECRET; {dir}: its directory; {out}: a file no statement may create.
HOSTILE = [
    # file and URL readers
    "SELECT * FROM read_csv('{sentinel}')",
    "SELECT * FROM read_csv_auto('{sentinel}')",
    "SELECT * FROM read_parquet('{sentinel}')",
    "SELECT * FROM read_json('{sentinel}')",
    "SELECT * FROM read_text('{sentinel}')",
    "SELECT * FROM read_blob('{sentinel}')",
    "SELECT * FROM parquet_scan('{sentinel}')",
    "SELECT * FROM sniff_csv('{sentinel}')",
    "SELECT * FROM iceberg_scan('{dir}')",
    "SELECT * FROM glob('{dir}/*')",
    "SELECT * FROM '{sentinel}'",
    'SELECT * FROM "{sentinel}"',
    "SELECT * FROM read_csv('https://example.com/events.csv')",
    "SELECT * FROM query('SELECT * FROM read_csv(''{sentinel}'')')",
    "SELECT * FROM TABLE(read_csv('{sentinel}'))",
    # reading a file from inside an allowed query
    "SELECT count(*) FROM events WHERE name IN (SELECT column0 FROM read_csv('{sentinel}'))",
    "SELECT (SELECT content FROM read_text('{sentinel}')) AS x FROM events",
    "SELECT * FROM events, LATERAL (SELECT * FROM read_csv('{sentinel}'))",
    "SELECT * FROM events e JOIN read_csv('{sentinel}') f ON true",
    "SELECT 1 AS a UNION ALL SELECT * FROM read_csv('{sentinel}')",
    # CTE tricks
    "WITH events AS (SELECT * FROM read_csv('{sentinel}')) SELECT * FROM events",
    "WITH x AS (SELECT * FROM information_schema.tables) SELECT * FROM events, x",
    "WITH a AS (SELECT 1) SELECT * FROM b",
    # the engine's settings, environment and catalogs
    "SELECT current_setting('allowed_paths')",
    "SELECT getenv('HOME')",
    "SELECT getvariable('x')",
    "SELECT * FROM duckdb_settings()",
    "SELECT * FROM duckdb_tables()",
    "SELECT * FROM duckdb_extensions()",
    "SELECT * FROM pragma_database_list()",
    "SELECT * FROM information_schema.tables",
    "SELECT * FROM pg_catalog.pg_tables",
    "SELECT * FROM system.runtime.queries",
    "SELECT * FROM sqlite_master",
    # events qualified with a catalog or schema, or spelled to look like it
    "SELECT * FROM awsdatacatalog.theeye.events",
    "SELECT * FROM main.events",
    'SELECT * FROM "memory"."main"."events"',
    "SELECT * FROM \uff45vents",
    'SELECT * FROM "events\u200b"',
    'SELECT * FROM "events "',
    # other statements
    "COPY (SELECT * FROM events) TO '{out}'",
    "COPY events TO '{out}' (FORMAT csv)",
    "EXPORT DATABASE '{dir}/export'",
    "ATTACH '{out}' AS other",
    "DETACH other",
    "USE other",
    "PRAGMA database_list",
    "SET enable_external_access = true",
    "RESET lock_configuration",
    "INSTALL httpfs",
    "LOAD httpfs",
    "CALL pragma_version()",
    "CREATE TABLE copy AS SELECT * FROM events",
    "CREATE VIEW other AS SELECT 1",
    "CREATE MACRO m() AS 1",
    "CREATE SECRET s (TYPE s3)",
    "DROP VIEW events",
    "ALTER VIEW events RENAME TO gone",
    "INSERT INTO events SELECT * FROM events",
    "DELETE FROM events",
    "UPDATE events SET name = 'x'",
    "TRUNCATE events",
    "VACUUM",
    "CHECKPOINT",
    "PREPARE p AS SELECT 1",
    "EXPLAIN ANALYZE SELECT * FROM events",
    "DESCRIBE events",
    "SHOW TABLES",
    "SELECT * INTO copy FROM events",
    # a second statement, plain or hidden behind comments and quotes
    "SELECT 1; SELECT * FROM read_csv('{sentinel}')",
    "SELECT 1 /* ; */ ; COPY (SELECT 1) TO '{out}'",
    "SELECT ';' AS a; DROP VIEW events",
    "SELECT 1 -- a comment\n; ATTACH '{out}' AS x",
    "SELECT $$;$$; COPY (SELECT 1) TO '{out}'",
    "SELECT 'it''s'; COPY (SELECT 1) TO '{out}'",
    "/* SELECT */ COPY (SELECT 1) TO '{out}'",
]


@dataclass
class Lake:
    snapshot: Snapshot
    sentinel: Path
    out: Path
    looked: int = 0

    def take(self) -> Snapshot:
        self.looked += 1
        return self.snapshot

    def statement(self, template: str) -> str:
        return template.format(sentinel=self.sentinel, dir=self.sentinel.parent, out=self.out)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Lake:
    monkeypatch.chdir(tmp_path)  # a relative path a statement names would land here too
    snapshot = lake(tmp_path / "lake", [event(n) for n in range(12)])
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    sentinel = secrets / "sentinel.csv"
    sentinel.write_text(f"column0\n{SECRET}\n")
    return Lake(snapshot, sentinel, tmp_path / "written.csv")


def files_under(directory: Path) -> set[Path]:
    return set(directory.rglob("*"))


@pytest.mark.parametrize("template", HOSTILE)
def test_every_hostile_statement_is_refused_before_anything_runs(
    template: str, world: Lake, tmp_path: Path
) -> None:
    # Given an engine over a lake, beside a file it must never read
    engine = DuckDbEngine(world.take)
    before = files_under(tmp_path)
    # When a statement that is not one read-only SELECT over events is sent
    with pytest.raises(InvalidSql) as refused:
        engine.run(world.statement(template), 100)
    # Then it is invalid_sql with a message, the lake was not even looked at, nothing was written
    assert refused.value.code == "invalid_sql" and refused.value.status == 400
    assert refused.value.message and SECRET not in refused.value.message
    assert world.looked == 0
    assert files_under(tmp_path) == before


def test_there_are_at_least_thirty_hostile_statements() -> None:
    assert len(HOSTILE) >= 30


@pytest.mark.parametrize(
    ("statement", "named"),
    [
        ("DROP VIEW events", "not DROP"),
        ("SELECT 1; SELECT 2", "only one statement"),
        ("SELECT * FROM read_csv('x')", "READ_CSV"),
        ("SELECT current_setting('memory_limit')", "current_setting"),
        ("SELECT * FROM information_schema.tables", "information_schema.tables"),
        ("SELECT * FROM events, LATERAL (SELECT 1)", "LATERAL"),
        ("SELECT FROM WHERE", "syntax error"),
        ("", "empty"),
        ("-- nothing but a comment", "empty"),
    ],
)
def test_the_message_names_the_problem(statement: str, named: str) -> None:
    with pytest.raises(InvalidSql) as refused:
        check(statement)
    assert named in refused.value.message


def test_a_statement_nested_too_deeply_is_refused_not_crashed() -> None:
    with pytest.raises(InvalidSql, match="nested too deeply"):
        check("SELECT " + "(" * 5000 + "1" + ")" * 5000 + " FROM events")


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT count(*) FROM events",
        "select * from EVENTS",
        'SELECT * FROM "events"',
        "WITH recent AS (SELECT * FROM events WHERE bot = false) SELECT count(*) FROM recent",
        "SELECT name FROM events UNION SELECT category FROM events",
        "SELECT e.name FROM events e JOIN events f ON e.session_id = f.session_id LIMIT 1",
        "SELECT * FROM (SELECT name FROM events) AS t",
        "SELECT 1 -- a trailing comment; DROP VIEW events",
        "SELECT 'a; DROP VIEW events' AS text FROM events",
        "(SELECT name FROM events)",
        "SELECT 1 FROM events; ",
    ],
)
def test_read_only_queries_over_events_pass(statement: str) -> None:
    assert isinstance(check(statement), Statement)


def test_what_runs_is_generated_from_the_checked_tree_without_comments() -> None:
    checked = check("SELECT name /* ; COPY events TO 'x' */ FROM events -- ; DROP VIEW events")
    assert checked.duckdb == "SELECT name FROM events"
    assert checked.athena == "SELECT name FROM events"


# -- the second wall: DuckDB itself -----------------------------------------------------------------


@dataclass(frozen=True)
class Unchecked:
    """A statement that got past the parse (as if the check had a hole): only DuckDB's walls remain."""

    duckdb: str


@pytest.mark.parametrize(
    "template",
    [
        "SELECT * FROM read_csv('{sentinel}')",
        "SELECT * FROM read_text('{sentinel}')",
        "SELECT * FROM glob('{dir}/*')",
        "COPY (SELECT 1 AS a) TO '{out}'",
        "ATTACH '{out}' AS other",
        "SET enable_external_access = true",
        "SET allowed_paths = ['{sentinel}']",
        "SET lock_configuration = false",
        "INSTALL httpfs",
        "SELECT * FROM read_csv('https://example.com/events.csv')",
    ],
)
def test_duckdb_refuses_files_settings_and_extensions_even_past_the_parse(
    template: str, world: Lake, tmp_path: Path
) -> None:
    engine = DuckDbEngine(world.take)
    before = files_under(tmp_path)
    with pytest.raises(InvalidSql) as refused:
        engine.execute(Unchecked(world.statement(template)), 10)  # type: ignore[arg-type]
    assert SECRET not in refused.value.message
    assert files_under(tmp_path) == before


def test_past_the_parse_only_the_lakes_own_files_can_be_read(world: Lake) -> None:
    engine = DuckDbEngine(world.take)
    lake_file = world.snapshot.files[0]
    answer = engine.execute(Unchecked(f"SELECT count(*) AS n FROM read_parquet('{lake_file}')"), 10)  # type: ignore[arg-type]
    assert answer.rows == [[12]]


def test_a_statement_over_the_time_limit_is_too_expensive(world: Lake) -> None:
    # Given a time limit far below what a six-way cross join of the table can ever take
    engine = DuckDbEngine(world.take, time_limit_seconds=0.05)
    joined = ", ".join(f"events t{n}" for n in range(6))
    text = "SELECT max(" + " || ".join(f"t{n}.event_id" for n in range(6)) + f") AS m FROM {joined}"
    # When it runs, Then it is interrupted and refused as too expensive
    with pytest.raises(QueryTooExpensive) as refused:
        engine.run(text, 10)
    assert refused.value.code == "query_too_expensive" and refused.value.status == 400
    assert "time limit" in refused.value.message


# -- fuzzing: refused, or answered without reading or writing anything else ---------------------------

FRAGMENTS = [
    "SELECT", "*", "count(*)", "name", "FROM", "events", "WHERE", "bot", "=", "true", ";", "--", "/*", "*/",
    "'", '"', "read_csv('{sentinel}')", "'{sentinel}'", "COPY", "TO", "'{out}'", "ATTACH", "PRAGMA", "SET",
    "INSTALL", "LOAD", "CALL", "WITH", "x", "AS", "(", ")", ",", "UNION", "ALL", "information_schema.tables",
    "main.events", "current_setting('allowed_paths')", "glob('{dir}/*')", "LATERAL", "JOIN", "ON", "LIMIT", "1",
    "json_extract_scalar(data, '$.path')", "GROUP BY", "ORDER BY", "DROP", "VIEW", "CREATE", "TABLE", "$$",
    "\n", "\u200b", "\uff45vents", "E'\\x3b'", "query('SELECT 1')", "getenv('HOME')", "INTO",
]  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=14))
def test_any_statement_is_refused_or_answered_read_only(
    world: Lake, tmp_path: Path, parts: list[str]
) -> None:
    engine = DuckDbEngine(world.take, time_limit_seconds=5)
    text = world.statement(" ".join(parts))
    before = files_under(tmp_path)
    try:
        said = repr(engine.run(text, 50))
    except (InvalidSql, QueryTooExpensive) as refused:
        said = refused.message
    assert SECRET not in said
    assert files_under(tmp_path) == before
