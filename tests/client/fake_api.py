"""A stand-in for The Eye's HTTP API on 127.0.0.1 (random port), with scripted faults.

``POST /events`` checks the key, applies the server's limits (those of ``theeye.events``: body size,
events per request, event size) and per-event rejections, and records every accepted copy of
every event, so a test can prove that nothing was lost and nothing was stored under two ids. Each POST first consumes
the next scripted fault, if any: an error status (with headers), a connection closed without an
answer, a slow answer, or a connection closed right after a good answer. ``GET`` requests are
answered by ``on_get`` (a test supplies it). ``POST /events/validate`` is answered by the server's
own dry run (``ingest.logic.validate``, the repository's schemas), after the same key check and
scripted faults, and delivers nothing. ``GET /sessions`` (never ``on_get``) is the server's code
too: every accepted event is judged as the processor judges it (``theeye.checks.findings``),
stored by the SQLite ``SqliteEventStore`` and counted as the processor counts (which keeps the
sessions' summaries), then listed by the
query use case (``query.logic.Listings``) with the server's cursors, for ``query_key``;
events are stored when ``/sessions`` is asked for, each with the time it was received.
"""

from __future__ import annotations

import base64
import json
import shutil
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ingest.logic import Validation, decode_body, validate
from query.logic import ErrorQueries, EventQueries, Listings, PageRequest, SessionFilter, SessionQueries
from tests.support import OUTCOME_DEADLINE_SECONDS
from theeye.checks import Rules, findings
from theeye.clock import format_timestamp, parse_timestamp, utc_now
from theeye.cursor import CursorCodec
from theeye.errors import InvalidRequest, TheEyeError
from theeye.events import MAX_BODY_BYTES, MAX_EVENT_BYTES, MAX_EVENTS_PER_REQUEST, Event, validate_event
from theeye.ledger import MessageTally, SessionTally, merge_sessions
from theeye.records import EventRecord
from theeye.schemas import SchemaRegistry
from theeye.sqlite.backend import SqliteBackend

KEY = "eye_test-ingest-key"
QUERY_KEY = "eye_test-query-key"
APPLICATION_ID = "fake-app"
SCHEMAS = SchemaRegistry.from_directory(Path(__file__).parents[2] / "schemas")


@dataclass(frozen=True)
class Status:
    """Answer ``status`` with the contract's error body (and ``headers``), accept nothing."""

    status: int
    code: str = "scripted"
    headers: tuple[tuple[str, str], ...] = ()
    details: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Drop:
    """Read the request, then close the connection without a word."""


@dataclass(frozen=True)
class Slow:
    """Wait ``seconds`` before handling the request normally (the client may have gone)."""

    seconds: float


@dataclass(frozen=True)
class Hold:
    """Handle the request normally only once ``release`` is set (the client may have gone)."""

    release: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class CloseAfter:
    """Answer normally, then close the kept-alive connection (as an idle timeout would)."""


Fault = Status | Drop | Slow | Hold | CloseAfter


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def events(self) -> list[dict[str, Any]]:
        parsed = json.loads(self.body)
        return parsed if isinstance(parsed, list) else [parsed]

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


def reject_marked(event: dict[str, Any]) -> list[dict[str, str]] | None:
    """The default per-event check: events whose data says ``"reject": true`` are refused."""
    data = event.get("data")
    if isinstance(data, dict) and data.get("reject"):
        return [{"field": "data.reject", "message": "refused by the test server"}]
    return None


Arrival = tuple[str, str, str, dict[str, Any]]  # application id, received_at, origin, the event


@dataclass
class FakeApi:
    key: str = KEY
    reject: Callable[[dict[str, Any]], list[dict[str, str]] | None] = reject_marked
    on_get: Callable[[Received], tuple[int, Any, dict[str, str]]] | None = None
    always: Fault | None = None  # applied to every POST when the script is empty
    faults: deque[Fault] = field(default_factory=deque)
    rules: Rules = field(default_factory=Rules)  # what POST /events/validate and GET /sessions judge by
    query_key: str = QUERY_KEY  # what GET /sessions takes
    application_id: str = APPLICATION_ID  # who the events POST /events accepts are from
    requests: list[Received] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)  # every accepted copy, in order
    lock: threading.Condition = field(default_factory=threading.Condition)
    _server: ThreadingHTTPServer | None = None
    # every accepted copy not yet stored (GET /sessions stores them)
    _arrivals: list[Arrival] = field(default_factory=list)
    _posts: int = 0
    answering: int = 0  # POSTs being handled now (a Slow or Hold one until it has answered)
    _store: _SessionStore | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeApi:
        api = self

        class Handler(_Handler):
            fake = api

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._store is not None:
            self._store.close()

    # ------------------------------------------------------------------ what the tests look at

    def posts(self) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.method == "POST"]

    def delivered_ids(self) -> Counter[str]:
        with self.lock:
            return Counter(e["event_id"] for e in self.deliveries)

    def ids_by_content(self) -> dict[str, set[str]]:
        """For each ``data["n"]`` the test put in its events, every id it arrived under."""
        found: dict[str, set[str]] = {}
        with self.lock:
            for event in self.deliveries:
                found.setdefault(json.dumps(event["data"], sort_keys=True), set()).add(event["event_id"])
        return found

    def wait_until(self, check: Callable[[], bool], timeout: float = OUTCOME_DEADLINE_SECONDS) -> bool:
        deadline = time.monotonic() + timeout
        with self.lock:
            while not check():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.lock.wait(remaining)
            return True

    # ------------------------------------------------------------------ what the server does

    def next_fault(self) -> Fault | None:
        with self.lock:
            return self.faults.popleft() if self.faults else self.always

    def ingest(self, request: Received) -> tuple[int, Any, dict[str, str]]:
        if request.headers.get("authorization") != f"Bearer {self.key}":
            return _error(401, "unauthorized", "missing or unknown API key")
        if len(request.body) > MAX_BODY_BYTES:
            return _error(413, "payload_too_large", "request bodies are limited to 1 MiB")
        try:
            events = request.events()
        except ValueError:
            return _error(400, "invalid_json", "the request body is not valid JSON")
        if not events or len(events) > MAX_EVENTS_PER_REQUEST:
            return _error(400, "too_many_events", f"{len(events)} events")
        accepted: list[dict[str, Any]] = []
        positions: list[int] = []  # where each accepted event was in the request
        rejected: list[dict[str, Any]] = []
        for index, event in enumerate(events):
            size = len(json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode())
            errors = (
                [{"field": "event", "message": f"{size} bytes"}]
                if size > MAX_EVENT_BYTES
                else self.reject(event)
            )
            if errors:
                rejected.append({"index": index, "errors": errors})
            else:
                accepted.append(event)
                positions.append(index)
        if not accepted:
            return _error(400, "invalid_events", "no event in the request was accepted", rejected)
        received_at = format_timestamp(utc_now())
        with self.lock:
            self._posts += 1
            self.deliveries.extend(accepted)
            origin = f"fake-request-{self._posts}"
            self._arrivals.extend(
                (self.application_id, received_at, f"{origin}#{index}", event)
                for index, event in zip(positions, accepted, strict=True)
            )
            self.lock.notify_all()
        body = {
            "accepted": len(accepted),
            "event_ids": [e["event_id"] for e in accepted],
            "rejected": rejected,
        }
        return 202, body, {}

    def validate(self, request: Received) -> tuple[int, Any, dict[str, str]]:
        """The server's dry run on the body, as the application ``fake-app``, judged now."""
        if request.headers.get("authorization") != f"Bearer {self.key}":
            return _error(401, "unauthorized", "missing or unknown API key")
        try:
            raw = decode_body(base64.b64encode(request.body).decode("ascii"), True)  # bytes as sent
            report = validate(
                raw,
                application_id="fake-app",
                received_at=format_timestamp(utc_now()),
                validation=Validation(SCHEMAS, self.rules),
            )
        except TheEyeError as exc:
            return _error(exc.status, exc.code, exc.message, exc.details)
        return 200, report.to_response(), {}

    def sessions(self, request: Received) -> tuple[int, Any, dict[str, str]]:
        """``GET /sessions`` as the query function answers it, on the events accepted so far."""
        if request.headers.get("authorization") != f"Bearer {self.query_key}":
            return _error(401, "unauthorized", "missing or unknown API key")
        with self.lock:
            if self._store is None:
                self._store = _SessionStore(self.rules)
            store = self._store
        try:
            return 200, store.page(self._take_arrivals, request), {}
        except TheEyeError as exc:
            return _error(exc.status, exc.code, exc.message, exc.details)

    def _take_arrivals(self) -> list[Arrival]:
        with self.lock:
            taken, self._arrivals = self._arrivals, []
            return taken


class _SessionStore:
    """The server's event store (SQLite, in a directory of its own) and session listing, used
    from one thread, so one connection does every statement."""

    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self.directory = tempfile.mkdtemp(prefix="fake-api-")
        self.backend = SqliteBackend(Path(self.directory) / "store.db")
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fake-api-store")
        self.folds = 0

    def page(self, arrivals: Callable[[], list[Arrival]], request: Received) -> dict[str, Any]:
        """One page of ``GET /sessions``, after storing the events that ``arrivals`` hands over."""
        return self.worker.submit(self._page, arrivals, request).result()

    def close(self) -> None:
        self.worker.submit(self.backend.db.close).result()
        self.worker.shutdown()
        shutil.rmtree(self.directory, ignore_errors=True)

    def _page(self, arrivals: Callable[[], list[Arrival]], request: Received) -> dict[str, Any]:
        self._fold(arrivals())
        query = {name: values[-1] for name, values in request.query.items()}
        order = query.get("order", "asc")
        if order not in ("asc", "desc"):
            raise _invalid_parameter("order", "must be 'asc' or 'desc'")
        try:
            limit = int(query.get("limit", "100"))
        except ValueError:
            raise _invalid_parameter("limit", "must be an integer") from None
        if not 1 <= limit <= 1000:
            raise _invalid_parameter("limit", "must be 1-1000")
        asked = PageRequest(
            "/sessions",
            SessionFilter(query.get("application_id")),
            query.get("from"),
            query.get("to"),
            "desc" if order == "desc" else "asc",
            limit,
            query.get("cursor"),
        )
        return self._listings().session_page(asked)

    def _listings(self) -> Listings:
        """The query function's listings on this store (built on the worker thread, which owns
        the connection)."""
        return Listings(
            events=EventQueries(self.backend.event_reader()),
            sessions=SessionQueries(self.backend.session_reader()),
            errors=ErrorQueries(self.backend.error_reader()),
            cursors=CursorCodec(self.backend.cursor_secret()),
        )

    def _fold(self, arrivals: list[Arrival]) -> None:
        """What the processor stores of them: valid envelopes that break no check."""
        records = []
        for application_id, received_at, origin, raw in arrivals:
            event = validate_event(raw, application_id, parse_timestamp(received_at))
            if isinstance(event, Event) and not findings(event, received_at, SCHEMAS, self.rules):
                records.append(EventRecord(event, application_id, received_at, origin, event.content_hash()))
        self.backend.event_store().put_all(records)
        # the processor's counting step keeps the session summaries that GET /sessions lists
        sessions: dict[str, SessionTally] = {}
        for record in records:
            tally = SessionTally.of_event(record.event.timestamp, record.application_id)
            merge_sessions(sessions, {record.event.session_id: tally})
        self.folds += 1
        message = MessageTally(len(records), 0, {}, {}, sessions)
        self.backend.counters().commit_batch([(f"fake-api-fold-{self.folds}", message)])


def _invalid_parameter(name: str, message: str) -> InvalidRequest:
    return InvalidRequest(
        "a query parameter is invalid",
        code="invalid_parameter",
        details=[{"field": name, "message": message}],
    )


def _error(
    status: int, code: str, message: str, details: list[Any] | None = None
) -> tuple[int, Any, dict[str, str]]:
    return status, {"error": {"code": code, "message": message, "details": details or []}}, {}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fake: FakeApi

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _received(self) -> Received:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        request = Received(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        with self.fake.lock:
            self.fake.requests.append(request)
            self.fake.lock.notify_all()
        return request

    def do_POST(self) -> None:
        with self.fake.lock:
            self.fake.answering += 1
        try:
            self._post()
        finally:
            with self.fake.lock:
                self.fake.answering -= 1
                self.fake.lock.notify_all()

    def _post(self) -> None:
        request = self._received()
        fault = self.fake.next_fault()
        if isinstance(fault, Drop):
            self.close_connection = True
            return
        if isinstance(fault, Slow):
            time.sleep(fault.seconds)
        if isinstance(fault, Hold):
            fault.release.wait(OUTCOME_DEADLINE_SECONDS)  # then answered anyway
        if isinstance(fault, Status):
            status, body, _ = _error(fault.status, fault.code, "scripted answer", list(fault.details))
            self._answer(status, body, dict(fault.headers))
            return
        if request.path == "/events/validate":
            self._answer(*self.fake.validate(request))
        else:
            self._answer(*self.fake.ingest(request))
        if isinstance(fault, CloseAfter):
            self.close_connection = True

    def do_GET(self) -> None:
        request = self._received()
        if request.path == "/sessions":
            self._answer(*self.fake.sessions(request))
            return
        if self.fake.on_get is None:
            self._answer(*_error(404, "not_found", f"no route for GET {request.path}"))
            return
        self._answer(*self.fake.on_get(request))

    def _answer(self, status: int, body: Any, headers: dict[str, str]) -> None:
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client gave up waiting (a Slow fault): nothing to answer to
            self.close_connection = True
