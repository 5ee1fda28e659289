"""The local SQL engine's answers: the contract's examples, Athena's type names, JSON-ready
rows, ``max_rows`` and ``truncated``, the empty lake, the engine's own refusals, and every
allowed function running on DuckDB as sqlglot translates it."""

# ruff: noqa: S608 - statements are written here on purpose, hostile ones included

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sql_lake import AS_OF, event, lake
from theeye.analytics import sql
from theeye.analytics.duckdb_engine import DuckDbEngine
from theeye.analytics.engine import MAX_ROWS, SqlResult, cell
from theeye.analytics.table import COLUMNS, Snapshot
from theeye.errors import InvalidRequest, InvalidSql, NotFound


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> DuckDbEngine:
    events = [event(n) for n in range(10)]
    events.append(event(99, context={"bot": True, "page": {"path": "/pricing"}}, data={"path": "/pricing"}))
    snapshot = lake(tmp_path_factory.mktemp("lake"), events[:6], events[6:])
    return DuckDbEngine(lambda: snapshot)


def run(engine: DuckDbEngine, text: str, max_rows: int = 1000) -> SqlResult:
    answer = engine.run(text, max_rows)
    assert isinstance(answer, SqlResult)
    return answer


def test_the_contract_example_answers_in_its_shape(engine: DuckDbEngine) -> None:
    answer = run(engine, "SELECT category, count(*) AS n FROM events GROUP BY category ORDER BY n DESC")
    body = answer.body()
    assert body["columns"] == [{"name": "category", "type": "varchar"}, {"name": "n", "type": "bigint"}]
    assert body["rows"] == [["page interaction", 8], ["form interaction", 3]]
    assert body["truncated"] is False
    assert body["as_of"] == "2026-12-06T18:00:00.000000Z"
    assert body["engine"] == "duckdb"
    assert isinstance(body["elapsed_ms"], int) and body["elapsed_ms"] >= 0


def test_the_functions_the_contract_names_work(engine: DuckDbEngine) -> None:
    answer = run(
        engine,
        "SELECT json_extract_scalar(data, '$.path') AS path, date_trunc('hour', event_time) AS hour,"
        " approx_distinct(session_id) AS sessions FROM events"
        " WHERE event_time >= from_iso8601_timestamp('2026-12-01T09:05:00Z')"
        " GROUP BY 1, 2 ORDER BY 1",
    )
    assert [c.type for c in answer.columns] == ["varchar", "timestamp", "bigint"]
    assert answer.rows[0] == ["/p/0", "2026-12-01T09:00:00.000000Z", 1]
    assert [row[0] for row in answer.rows] == ["/p/0", "/p/1", "/p/2", "/p/3", "/p/4", "/pricing"]


def test_the_table_has_the_contracts_columns_and_types(engine: DuckDbEngine) -> None:
    answer = run(engine, "SELECT * FROM events WHERE event_id = 'ev-0099'")
    assert [(c.name, c.type) for c in answer.columns] == [(c.name, c.type) for c in COLUMNS]
    row = dict(zip((c.name for c in answer.columns), answer.rows[0], strict=True))
    assert row["event_time"] == "2026-12-01T09:39:27.243860Z"
    assert row["data"] == '{"path":"/pricing"}'
    assert row["bot"] is True and row["page_path"] == "/pricing" and row["country"] is None


def test_an_empty_lake_is_an_empty_table_of_the_same_columns() -> None:
    engine = DuckDbEngine(lambda: Snapshot((), AS_OF))
    answer = run(engine, "SELECT count(*) AS n, max(event_time) AS last FROM events")
    assert answer.rows == [[0, None]]
    assert [c.type for c in answer.columns] == ["bigint", "timestamp"]
    assert [c.name for c in run(engine, "SELECT * FROM events").columns] == [c.name for c in COLUMNS]


def test_max_rows_cuts_the_result_and_says_so(engine: DuckDbEngine) -> None:
    assert run(engine, "SELECT event_id FROM events ORDER BY 1", max_rows=3).rows == [
        ["ev-0000"],
        ["ev-0001"],
        ["ev-0002"],
    ]
    assert run(engine, "SELECT event_id FROM events", max_rows=3).truncated is True
    assert run(engine, "SELECT event_id FROM events", max_rows=11).truncated is False
    for wrong in (0, MAX_ROWS + 1):
        with pytest.raises(InvalidRequest, match="max_rows"):
            engine.run("SELECT 1", wrong)


def test_unnamed_columns_are_named_as_athena_names_them(engine: DuckDbEngine) -> None:
    answer = run(engine, "SELECT count(*), name, sum(1) FROM events GROUP BY name")
    assert [c.name for c in answer.columns] == ["_col0", "name", "_col2"]
    assert [c.type for c in answer.columns] == ["bigint", "varchar", "bigint"]


def test_values_become_json(engine: DuckDbEngine) -> None:
    answer = run(
        engine,
        "SELECT CAST('1.50' AS decimal(4,2)) AS d, CAST('NaN' AS double) AS nan, ARRAY[1, 2] AS a,"
        " date(event_time) AS day, from_iso8601_timestamp('2026-12-01T10:00:00+01:00') AS zoned,"
        " json_extract(data, '$') AS j FROM events LIMIT 1",
    )
    assert [c.type for c in answer.columns] == [
        "decimal(4,2)",
        "double",
        "array(integer)",
        "date",
        "timestamp with time zone",
        "json",
    ]
    d, nan, a, day, zoned, j = answer.rows[0]
    assert (d, nan, a, day, zoned) == (1.5, "NaN", [1, 2], "2026-12-01", "2026-12-01T09:00:00.000000Z")
    assert isinstance(j, str)
    assert cell(float("-inf")) == "-Infinity" and cell(b"\x01\xff") == "01ff"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("SELECT nope FROM events", 'Referenced column "nope" not found'),
        ("SELECT name FROM events GROUP BY category", "must appear in the GROUP BY clause"),
        ("SELECT CAST('x' AS bigint) FROM events", "Could not convert string 'x'"),
    ],
)
def test_the_engines_own_refusals_are_invalid_sql_with_its_message(
    engine: DuckDbEngine, text: str, message: str
) -> None:
    with pytest.raises(InvalidSql) as refused:
        engine.run(text, 10)
    assert message in refused.value.message
    assert "LINE 1" not in refused.value.message  # no excerpt of the translated text


def test_a_syntax_error_is_invalid_sql(engine: DuckDbEngine) -> None:
    with pytest.raises(InvalidSql, match="syntax error"):
        engine.run("SELECT name FROM events WHERE", 10)


def test_no_statement_is_kept_locally(engine: DuckDbEngine) -> None:
    with pytest.raises(NotFound, match="no query with id 'q-1'"):
        engine.result("q-1")


# One example per allowed function, in Athena's spelling: each is allowed and runs on DuckDB.
FUNCTION_EXAMPLES = [
    "count(*)", "count(DISTINCT session_id)", "count_if(bot)", "sum(1)", "avg(1)", "min(event_time)",
    "max(event_time)", "approx_distinct(session_id)", "approx_percentile(1.5, 0.5)", "arbitrary(name)",
    "any_value(name)", "array_agg(name)", "bool_and(bot)", "bool_or(bot)", "max_by(name, event_time)",
    "min_by(name, event_time)", "stddev(1.0)", "stddev_samp(1.0)", "stddev_pop(1.0)", "variance(1.0)",
    "var_samp(1.0)", "var_pop(1.0)", "corr(1.0, 2.0)",
    "row_number() OVER (ORDER BY event_time)", "rank() OVER (ORDER BY event_time)",
    "dense_rank() OVER (ORDER BY event_time)", "percent_rank() OVER (ORDER BY event_time)",
    "cume_dist() OVER (ORDER BY event_time)", "ntile(4) OVER (ORDER BY event_time)",
    "lag(name, 1) OVER (PARTITION BY session_id ORDER BY event_time)", "lead(name) OVER (ORDER BY event_time)",
    "first_value(name) OVER (ORDER BY event_time)", "last_value(name) OVER (ORDER BY event_time)",
    "nth_value(name, 1) OVER (ORDER BY event_time)",
    "lower(name)", "upper(name)", "length(name)", "substr(name, 1, 2)", "substring(name, 2)",
    "concat(name, 'x', category)", "name || 'x'", "trim(name)", "ltrim(name)", "rtrim(name)",
    "replace(name, 'a', 'o')", "reverse(name)", "strpos(name, 'a')", "position('a' IN name)",
    "split_part(category, ' ', 1)", "starts_with(name, 'pa')", "lpad(name, 12, '-')", "rpad(name, 12, '-')",
    "regexp_like(name, '^p')", "regexp_extract(data, '\"ms\":(\\d+)', 1)", "regexp_replace(name, 'a', 'o')",
    "split(category, ' ')", "chr(65)", "levenshtein_distance(name, 'page')",
    "json_extract_scalar(data, '$.path')", "json_extract(data, '$.path')", "json_format(json_extract(data, '$'))",
    "json_parse(data)", "json_array_length(json_extract(data, '$.list'))",
    "date_trunc('hour', event_time)", "date_trunc('week', event_time)", "date_add('day', 1, event_time)",
    "date_diff('second', client_time, received_at)", "from_iso8601_timestamp('2026-12-01T00:00:00Z')",
    "from_iso8601_date('2026-12-01')", "date_format(event_time, '%Y-%m-%d %H:%i')",
    "date_parse('2026-12-01 10:00', '%Y-%m-%d %H:%i')", "current_timestamp", "current_date", "now()",
    "year(event_time)", "month(event_time)", "day(event_time)", "day_of_week(event_time)", "dow(event_time)",
    "day_of_month(event_time)", "day_of_year(event_time)", "week(event_time)", "week_of_year(event_time)",
    "quarter(event_time)", "hour(event_time)", "minute(event_time)", "second(event_time)",
    "extract(hour FROM event_time)", "from_unixtime(0)", "to_unixtime(event_time)", "date(event_time)",
    "last_day_of_month(event_time)", "event_time AT TIME ZONE 'Europe/Paris'", "INTERVAL '1' DAY + event_time",
    "abs(-1)", "ceil(1.5)", "ceiling(1.5)", "floor(1.5)", "round(1.55, 1)", "truncate(1.5)", "sqrt(4)",
    "cbrt(8)", "power(2, 3)", "pow(2, 3)", "exp(1)", "ln(2)", "log2(8)", "log10(100)", "mod(7, 3)", "7 % 3",
    "sign(-2)", "greatest(1, 2)", "least(1, 2)", "pi()", "random()", "rand()",
    "coalesce(NULL, name)", "nullif(name, 'x')", "if(bot, 1, 0)", "CASE WHEN bot THEN 1 ELSE 0 END",
    "try_cast('x' AS bigint)", "CAST('1' AS bigint)", "CAST(1 AS varchar)", "CAST(1 AS double)",
    "cardinality(ARRAY[1, 2])", "contains(ARRAY[1, 2], 1)", "element_at(ARRAY[1, 2], 1)",
    "array_join(ARRAY['a', 'b'], ',')", "array_distinct(ARRAY[1, 1])", "array_sort(ARRAY[2, 1])",
    "array_max(ARRAY[2, 1])", "array_min(ARRAY[2, 1])", "array_position(ARRAY[2, 1], 1)",
    "slice(ARRAY[1, 2, 3], 1, 2)", "name LIKE 'pa%'", "bot IS NOT DISTINCT FROM true",
    "EXISTS (SELECT 1 FROM events)", "session_id IN (SELECT session_id FROM events)",
]  # fmt: skip


@pytest.mark.parametrize("expression", FUNCTION_EXAMPLES)
def test_every_allowed_function_runs_on_duckdb(engine: DuckDbEngine, expression: str) -> None:
    answer = run(engine, f"SELECT {expression} AS x FROM events", max_rows=1)
    assert len(answer.columns) == 1


@pytest.mark.parametrize(
    "expression", ["url_extract_host(page_url)", "format('%s', name)", "typeof(name)", "uuid()", "try(1 / 0)"]
)
def test_functions_whose_engines_disagree_are_refused(expression: str) -> None:
    with pytest.raises(InvalidSql, match="is not allowed"):
        sql.check(f"SELECT {expression} FROM events")


def test_a_statement_whose_files_were_replaced_meanwhile_reads_the_table_again(
    tmp_path: Path,
) -> None:
    """An erasure or a compaction replaces files: a statement that lost one reads the new snapshot."""
    events = [event(n) for n in range(4)]
    current = lake(tmp_path / "current", events[:2], events[2:])
    gone = Snapshot(files=(*current.files, str(tmp_path / "replaced.parquet")), as_of=current.as_of)
    snapshots = iter([gone, current])
    answer = DuckDbEngine(lambda: next(snapshots)).run("SELECT count(*) AS n FROM events", 10)
    assert isinstance(answer, SqlResult) and answer.rows == [[4]]


def test_a_statement_that_fails_on_files_that_are_all_there_is_not_tried_again(engine: DuckDbEngine) -> None:
    with pytest.raises(InvalidSql):
        engine.run("SELECT no_such_column FROM events", 10)
