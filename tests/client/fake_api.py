"""A stand-in for The Eye's HTTP API on 127.0.0.1 (random port), with scripted faults.

``POST /events`` checks the key, applies the server's limits (those of ``theeye.events``: body size,
events per request, event size) and per-event rejections, and records every accepted copy of
every event, so a test can prove that nothing was lost and nothing was stored under two ids. Each POST first consumes
the next scripted fault, if any: an error status (with headers), a connection closed without an
answer, a slow answer, or a connection closed right after a good answer. ``GET`` requests are
answered by ``on_get`` (a test supplies it).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from theeye.events import MAX_BODY_BYTES, MAX_EVENT_BYTES, MAX_EVENTS_PER_REQUEST

KEY = "eye_test-ingest-key"


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
class CloseAfter:
    """Answer normally, then close the kept-alive connection (as an idle timeout would)."""


Fault = Status | Drop | Slow | CloseAfter


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


@dataclass
class FakeApi:
    key: str = KEY
    reject: Callable[[dict[str, Any]], list[dict[str, str]] | None] = reject_marked
    on_get: Callable[[Received], tuple[int, Any, dict[str, str]]] | None = None
    always: Fault | None = None  # applied to every POST when the script is empty
    faults: deque[Fault] = field(default_factory=deque)
    requests: list[Received] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)  # every accepted copy, in order
    lock: threading.Condition = field(default_factory=threading.Condition)
    _server: ThreadingHTTPServer | None = None

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

    def wait_until(self, check: Callable[[], bool], timeout: float = 5.0) -> bool:
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
        if not accepted:
            return _error(400, "invalid_events", "no event in the request was accepted", rejected)
        with self.lock:
            self.deliveries.extend(accepted)
            self.lock.notify_all()
        body = {
            "accepted": len(accepted),
            "event_ids": [e["event_id"] for e in accepted],
            "rejected": rejected,
        }
        return 202, body, {}


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
        request = self._received()
        fault = self.fake.next_fault()
        if isinstance(fault, Drop):
            self.close_connection = True
            return
        if isinstance(fault, Slow):
            time.sleep(fault.seconds)
        if isinstance(fault, Status):
            status, body, _ = _error(fault.status, fault.code, "scripted answer", list(fault.details))
            self._answer(status, body, dict(fault.headers))
            return
        self._answer(*self.fake.ingest(request))
        if isinstance(fault, CloseAfter):
            self.close_connection = True

    def do_GET(self) -> None:
        request = self._received()
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
