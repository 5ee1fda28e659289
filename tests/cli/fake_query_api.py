"""A stand-in for the query routes of The Eye's API on 127.0.0.1 (random port).

* ``GET /schemas`` is the query function's own use case (``query.logic.SchemaQueries``) over a
  schemas directory, as the stack that runs it serves them;
* ``GET /errors`` is the query function's listing (``query.logic.Listings``: filters, range,
  signed cursors) over a SQLite store the test writes errors to with the store's own adapter;
* ``POST /sql`` answers as the contract says (``{"sql", "max_rows"}`` → ``{"columns", "rows",
  "truncated", ...}``) by running the statement on an in-memory SQLite table of the events the
  test adds (``event_time`` kept as the engines print a timestamp; ``TIMESTAMP '…'`` literals are
  read as text, which orders the same). ``sql=False`` makes it answer ``404`` as a stack without
  the route does.

Every request is kept (``requests``) so tests can see how the client paged. Requests are handled
one at a time on the server's thread, which owns the SQLite connections.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from query.logic import ErrorQueries, EventQueries, Listings, PageRequest, SchemaQueries, SessionQueries
from theeye.cursor import CursorCodec
from theeye.errors import TheEyeError
from theeye.ports import ErrorFilter
from theeye.schemas import SchemaRegistry
from theeye.sqlite.backend import SqliteBackend

QUERY_KEY = "eye_test-query-key"
_TIMESTAMP_LITERAL = re.compile(r"\bTIMESTAMP\s+'")


@dataclass
class Stored:
    event_id: str
    category: str
    name: str
    event_time: datetime
    data: Any


@dataclass
class FakeQueryApi:
    schemas_dir: Path
    database: Path
    sql: bool = True
    events: list[Stored] = field(default_factory=list)
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    _server: HTTPServer | None = None
    _thread: threading.Thread | None = None
    _backend: SqliteBackend | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeQueryApi:
        fake = self

        class Handler(_Handler):
            api = fake

        self._server = HTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._backend is not None:
            self._backend.db.close()

    def add(self, event_id: str, category: str, name: str, event_time: datetime, data: Any) -> None:
        self.events.append(Stored(event_id, category, name, event_time, data))

    def sql_requests(self) -> list[dict[str, Any]]:
        return [body for method, path, body in self.requests if (method, path) == ("POST", "/sql")]

    # -- the routes --------------------------------------------------------------------------

    def schemas(self) -> tuple[int, Any]:
        registry = SchemaRegistry.from_directory(self.schemas_dir)
        return 200, {"items": SchemaQueries(registry).list()}

    def errors(self, query: dict[str, str]) -> tuple[int, Any]:
        if self._backend is None:
            self._backend = SqliteBackend(self.database)
        listings = Listings(
            events=EventQueries(self._backend.event_reader()),
            sessions=SessionQueries(self._backend.session_reader()),
            errors=ErrorQueries(self._backend.error_reader()),
            cursors=CursorCodec(self._backend.cursor_secret()),
        )
        asked = PageRequest(
            "/errors",
            ErrorFilter(query.get("type"), query.get("source"), query.get("application_id")),
            query.get("from"),
            query.get("to"),
            query.get("order", "desc"),  # type: ignore[arg-type]
            int(query.get("limit", "100")),
            query.get("cursor"),
        )
        try:
            return 200, listings.error_page(asked)
        except TheEyeError as exc:
            return 400, {"error": {"code": exc.code, "message": exc.message}}

    def run_sql(self, body: dict[str, Any]) -> tuple[int, Any]:
        if not self.sql:
            return 404, {"error": {"code": "not_found", "message": "no route for POST /sql"}}
        max_rows = int(body.get("max_rows", 1000))
        table = sqlite3.connect(":memory:")
        table.execute("CREATE TABLE events (event_id, category, name, event_time, data)")
        table.executemany(
            "INSERT INTO events VALUES (?, ?, ?, ?, ?)",
            [
                (
                    e.event_id,
                    e.category,
                    e.name,
                    e.event_time.strftime("%Y-%m-%d %H:%M:%S.%f"),
                    json.dumps(e.data),
                )
                for e in self.events
            ],
        )
        try:
            cursor = table.execute(_TIMESTAMP_LITERAL.sub("'", body["sql"]))
        except sqlite3.Error as exc:
            return 400, {"error": {"code": "invalid_sql", "message": str(exc)}}
        rows = [list(row) for row in cursor.fetchmany(max_rows + 1)]
        columns = [{"name": d[0], "type": "varchar"} for d in cursor.description]
        return 200, {
            "columns": columns,
            "rows": rows[:max_rows],
            "truncated": len(rows) > max_rows,
            "as_of": "2026-12-06T18:00:00.000000Z",
            "engine": "fake",
            "elapsed_ms": 0,
        }


class _Handler(BaseHTTPRequestHandler):
    api: FakeQueryApi

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def _authorised(self) -> bool:
        if self.headers.get("Authorization") == f"Bearer {QUERY_KEY}":
            return True
        self._answer(401, {"error": {"code": "unauthorized", "message": "missing or unknown API key"}})
        return False

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        self.api.requests.append(("GET", parts.path, query))
        if not self._authorised():
            return
        if parts.path == "/schemas":
            self._answer(*self.api.schemas())
        elif parts.path == "/errors":
            self._answer(*self.api.errors(query))
        else:
            self._answer(404, {"error": {"code": "not_found", "message": f"no route for GET {parts.path}"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"null")
        path = urlsplit(self.path).path
        self.api.requests.append(("POST", path, body))
        if not self._authorised():
            return
        if path == "/sql":
            self._answer(*self.api.run_sql(body))
        else:
            self._answer(404, {"error": {"code": "not_found", "message": f"no route for POST {path}"}})

    def _answer(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
