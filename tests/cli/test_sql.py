"""``theeye sql``: a statement sent to ``POST /sql`` of a service (here the real query handler
behind a small HTTP server on 127.0.0.1, over DuckDB and a lake of Parquet files), printed as a
table, JSON or CSV; refusals exit 1 with the service's message."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from query import handler
from query.handler import lambda_handler as query_handler
from tests.cli.conftest import make_embedded_stack
from tests.sql_lake import event, lake
from tests.support import LambdaContext
from theeye import wiring
from theeye.analytics import engine
from theeye.analytics.duckdb_engine import DuckDbEngine
from theeye.analytics.engine import SqlAnswer, SqlResult, SqlRunning
from theeye.config import get_settings
from theeye.keys import new_api_key
from theeye_cli import sql
from theeye_cli.__main__ import main
from theeye_local.memory import MemoryBackend

ROOT = Path(__file__).parents[2]
KEY = "eye_sample-query-key-for-the-sql-command-tests-01"


class _Bridge(BaseHTTPRequestHandler):
    """One HTTP request as API Gateway hands it to the query function (path and query string
    apart), and its answer back."""

    def _invoke(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        request: dict[str, Any] = json.loads((ROOT / "events" / "apigw_get_health.json").read_text())
        path, _, query = self.path.partition("?")
        request["rawPath"] = request["requestContext"]["http"]["path"] = path
        request["rawQueryString"] = query
        # API Gateway joins a repeated parameter's values with commas
        request["queryStringParameters"] = {k: ",".join(v) for k, v in parse_qs(query).items()} or None
        request["requestContext"]["http"]["method"] = self.command
        request["routeKey"] = request["requestContext"]["routeKey"] = "$default"
        request["headers"] = {k.lower(): v for k, v in self.headers.items()}
        if length:
            request["body"] = self.rfile.read(length).decode("utf-8")
        answer = query_handler(request, LambdaContext())
        body = answer["body"].encode("utf-8")
        self.send_response(answer["statusCode"])
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _invoke

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("SCHEMAS_DIR", str(ROOT / "schemas"))
    monkeypatch.setenv("THEEYE_STATE_FILE", str(tmp_path / "absent.json"))
    monkeypatch.delenv("THEEYE_QUERY_KEY", raising=False)
    backend = MemoryBackend()
    backend.keys().put(new_api_key("analysts", ["query"], raw_key=KEY)[1])
    wiring.install(backend)
    get_settings.cache_clear()
    handler.dependencies.cache_clear()
    snapshot = lake(tmp_path / "lake", [event(n) for n in range(5)])
    engine.install(DuckDbEngine(lambda: snapshot))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Bridge)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    engine.install(None)
    wiring.install(None)
    get_settings.cache_clear()
    handler.dependencies.cache_clear()


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


STATEMENT = "SELECT category, count(*) AS n FROM events GROUP BY 1 ORDER BY 2 DESC"


def test_the_result_prints_as_a_table(service: str) -> None:
    code, out, err = run("sql", STATEMENT, "--url", service, "--key", KEY)
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "category          n",
        "----------------  -",
        "page interaction  3",
        "form interaction  2",
        "(2 rows; as of 2026-12-06T18:00:00.000000Z, duckdb, " + out.split("duckdb, ")[1].split()[0] + " ms)",
    ]


def test_json_is_the_routes_answer_and_csv_is_for_spreadsheets(service: str) -> None:
    code, out, _ = run("sql", STATEMENT, "--url", service, "--key", KEY, "--json")
    answer = json.loads(out)
    assert code == 0 and answer["rows"] == [["page interaction", 3], ["form interaction", 2]]
    code, out, _ = run("sql", "SELECT event_id, bot FROM events ORDER BY 1", "--url", service, "--key", KEY,
                       "--csv", "--max-rows", "2")  # fmt: skip
    assert (code, out) == (0, "event_id,bot\nev-0000,true\nev-0001,false\n")


def test_a_statement_can_come_from_a_file(service: str, tmp_path: Path) -> None:
    path = tmp_path / "q.sql"
    path.write_text("-- the busiest category\n" + STATEMENT + "\nLIMIT 1\n")
    code, out, _ = run("sql", "-f", str(path), "--url", service, "--key", KEY, "--json")
    assert code == 0 and json.loads(out)["rows"] == [["page interaction", 3]]


def test_a_refused_statement_exits_1_with_the_services_message(service: str) -> None:
    code, out, err = run("sql", "DROP VIEW events", "--url", service, "--key", KEY)
    assert (code, out) == (1, "")
    assert err == "theeye: invalid_sql: only a SELECT (or WITH … SELECT) over events may be run, not DROP\n"
    assert "unauthorized" in run("sql", "SELECT 1", "--url", service, "--key", "eye_wrong")[2]


def test_usage_errors_exit_2(service: str, tmp_path: Path) -> None:
    assert run("sql", "--url", service, "--key", KEY)[0] == 2
    assert run("sql", "SELECT 1", "-f", str(tmp_path / "q.sql"), "--url", service, "--key", KEY)[0] == 2
    assert run("sql", "SELECT 1", "--url", service)[0] == 2  # no key
    assert run("sql", "SELECT 1", "--key", KEY)[0] == 2  # nowhere to send it


def test_the_local_stack_is_reached_with_its_own_url_and_query_key(service: str, tmp_path: Path) -> None:
    state_file, backend = make_embedded_stack(tmp_path, api_url=service, query_key=KEY)
    try:
        code, out, err = run("--local", "--state", str(state_file), "sql", STATEMENT, "--json")
        assert (code, err) == (0, ""), err
        assert json.loads(out)["engine"] == "duckdb"
    finally:
        backend.db.close()


@dataclass
class SlowEngine:
    """Running for the first two asks, as Athena can be; then the result."""

    done: SqlResult
    asks: list[str] = field(default_factory=list)

    def run(self, sql: str, max_rows: int) -> SqlAnswer:
        self.asks.append("run")
        return SqlRunning("q-42")

    def result(self, query_id: str) -> SqlAnswer:
        self.asks.append(query_id)
        return self.done if len(self.asks) > 2 else SqlRunning(query_id)


def test_a_running_statement_is_waited_for(service: str, monkeypatch: pytest.MonkeyPatch) -> None:
    finished = engine.sql_engine().run(STATEMENT, 10)
    assert isinstance(finished, SqlResult)
    slow = SlowEngine(finished)
    engine.install(slow)
    monkeypatch.setattr(sql, "POLL_SECONDS", 0)
    code, out, _ = run("sql", STATEMENT, "--url", service, "--key", KEY, "--json")
    assert code == 0 and json.loads(out)["rows"] == finished.rows
    assert slow.asks == ["run", "q-42", "q-42"]
