"""The HTTP front: API Gateway's HTTP API on 127.0.0.1, in front of the function pools.

The socket is bound first thing so that ``GET /health`` can say ``503 starting`` while the
rest of the stack comes up (and so a busy port fails the start at once). Once the gateway is
attached and marked ready, every request is routed, turned into a payload-format-2.0 event,
run by the route's function and mapped back, with CORS handled as API Gateway does.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final

from theeye_local.apigw import (
    MAX_REQUEST_BYTES,
    CorsPolicy,
    HttpRequest,
    HttpResponse,
    IntegrationError,
    build_event,
    error_response,
    new_request_id,
    to_http_response,
)
from theeye_local.pool import Outcome
from theeye_local.routes import RouteTable

LOG = logging.getLogger("theeye_local")

HOST: Final = "127.0.0.1"
_HOP_BY_HOP: Final = frozenset({"connection", "content-length", "transfer-encoding", "keep-alive"})

# (function logical id, event, seconds to wait for a free worker) -> outcome
Invoker = Callable[[str, dict[str, Any], float], Outcome]


class _TooLarge(Exception):
    pass


@dataclass
class Gateway:
    """Routing, event building, invocation and response mapping for one HTTP API."""

    routes: RouteTable
    invoke: Invoker
    api_id: str
    account_id: str
    cors: CorsPolicy | None = None

    def handle(self, request: HttpRequest, request_id: str) -> HttpResponse:
        if self.cors is not None and CorsPolicy.is_preflight(request):
            return self.cors.preflight(request)
        response = self._route(request, request_id)
        return self.cors.decorate(request, response) if self.cors is not None else response

    def _route(self, request: HttpRequest, request_id: str) -> HttpResponse:
        match = self.routes.match(request.method, request.raw_path)
        if match is None:
            return error_response(404, "not_found", f"no route for {request.method} {request.raw_path}")
        route = match.route
        event = build_event(
            request, match, api_id=self.api_id, account_id=self.account_id, request_id=request_id
        )
        outcome = self.invoke(route.function_id, event, route.integration_timeout_seconds)
        if outcome.throttled:
            LOG.warning(
                "%s: no free worker within %.0f s", route.function_id, route.integration_timeout_seconds
            )
            return error_response(
                503, "service_unavailable", "the function is busy; retry shortly", [("Retry-After", "1")]
            )
        if not outcome.ok:
            LOG.error("%s failed on %s: %s", route.function_id, route.route_key, outcome.describe())
            return error_response(
                500, "internal_error", f"the function failed (request {outcome.request_id})"
            )
        try:
            return to_http_response(outcome.payload or "")
        except IntegrationError as exc:
            LOG.error("%s answered %s with an invalid response: %s", route.function_id, route.route_key, exc)
            return error_response(500, "internal_error", "the function returned an invalid response")


@dataclass
class ApiFront:
    """The listening socket and its lifecycle: starting -> ready -> stopping."""

    port: int
    gateway: Gateway | None = None
    _stopping: bool = False
    _in_flight: int = 0
    _state: threading.Condition = field(default_factory=threading.Condition)  # guards the three above
    _server: _Server | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        """Bind (raises ``OSError`` if the port is taken) and serve in a background thread."""
        try:
            server = _Server((HOST, self.port), _Handler)
        except OSError as exc:
            raise OSError(f"cannot listen on {HOST}:{self.port} ({exc.strerror}); set THEEYE_PORT") from None
        server.front = self
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="http-front", daemon=True
        )
        self._thread.start()

    def mark_ready(self, gateway: Gateway) -> None:
        with self._state:
            self.gateway = gateway

    def stop(self, drain_seconds: float) -> None:
        """Refuse new requests, let in-flight ones finish (bounded), close the socket."""
        with self._state:
            self._stopping = True
        if self._server is None:
            return
        self._server.shutdown()
        deadline = time.monotonic() + drain_seconds
        with self._state:
            while self._in_flight and time.monotonic() < deadline:
                self._state.wait(deadline - time.monotonic())
        self._server.server_close()

    def respond(self, request: HttpRequest, request_id: str) -> HttpResponse:
        with self._state:
            gateway = self.gateway
            if self._stopping:
                return error_response(
                    503, "stopping", "the local stack is stopping", [("Connection", "close")]
                )
            if gateway is None:
                return error_response(
                    503, "starting", "the local stack is starting; retry shortly", [("Retry-After", "1")]
                )
            self._in_flight += 1
        try:
            return gateway.handle(request, request_id)
        finally:
            with self._state:
                self._in_flight -= 1
                self._state.notify_all()


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # idle keep-alive connections must not hold the process open
    request_queue_size = 128
    front: ApiFront

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up mid-answer is not worth a traceback."""
        LOG.debug("connection from %s:%s failed", *client_address[:2], exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "theeye-local"
    # Headers and body are separate writes; with Nagle's algorithm on, the body would wait for
    # the client's delayed ACK (40 ms) on every keep-alive request.
    disable_nagle_algorithm = True
    server: _Server

    def version_string(self) -> str:
        return self.server_version

    def handle_expect_100(self) -> bool:
        """Refuse an oversized body before the client sends it (no ``100 Continue``)."""
        if self._declared_length() > MAX_REQUEST_BYTES:
            self._send(self._payload_too_large(), new_request_id(), close=True)
            return False
        return super().handle_expect_100()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Protocol errors (malformed request, unknown method) in the contract's error shape."""
        status_code = "not_implemented" if code == 501 else "bad_request"
        self._send(error_response(code, status_code, message or "bad request"), new_request_id(), close=True)

    def log_message(self, format: str, *args: Any) -> None:
        LOG.debug("http: " + format, *args)

    def _dispatch(self) -> None:
        started = time.perf_counter()
        request_id = new_request_id()
        try:
            body = self._read_body()
        except _TooLarge:
            self._send(self._payload_too_large(), request_id, close=True)
            return
        except ValueError as exc:
            self._send(error_response(400, "bad_request", str(exc)), request_id, close=True)
            return
        request = HttpRequest(
            method=self.command,
            target=self.path,
            headers=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
            source_port=self.client_address[1],
            server_port=self.server.server_address[1],
            protocol=self.request_version,
        )
        try:
            response = self.server.front.respond(request, request_id)
        except Exception:
            LOG.exception("%s %s: the local gateway failed", request.method, request.raw_path)
            response = error_response(500, "internal_error", "the local gateway failed; see its log")
        close = any(k.lower() == "connection" and v.lower() == "close" for k, v in response.headers)
        self._send(response, request_id, close=close)
        LOG.info(
            "%s %s -> %d (%.1f ms)",
            request.method,
            request.raw_path,  # never the query string: it may carry ?key=
            response.status,
            (time.perf_counter() - started) * 1000,
        )

    # Every method goes through the gateway, as with API Gateway (no route: 404 there).
    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _dispatch

    def __getattr__(self, name: str) -> Any:
        # Any other method (TRACE, CONNECT, PROPFIND...) is routed like API Gateway does:
        # no route matches it, so it gets the contract's 404 rather than the library's 501.
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def _declared_length(self) -> int:
        try:
            return int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return 0

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        raw_length = self.headers.get("Content-Length")
        if raw_length is None:
            return b""
        if not raw_length.strip().isdigit():
            raise ValueError("Content-Length is not a number")
        length = int(raw_length)
        if length > MAX_REQUEST_BYTES:
            raise _TooLarge
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            size_line = self.rfile.readline(65537).split(b";", 1)[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                raise ValueError("malformed chunked body") from None
            if size == 0:
                while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            total += size
            if total > MAX_REQUEST_BYTES:
                raise _TooLarge
            chunks.append(self.rfile.read(size))
            self.rfile.readline(3)  # the CRLF after the chunk

    @staticmethod
    def _payload_too_large() -> HttpResponse:
        limit = MAX_REQUEST_BYTES // (1024 * 1024)
        return error_response(413, "payload_too_large", f"request bodies are limited to {limit} MiB")

    def _send(self, response: HttpResponse, request_id: str, *, close: bool = False) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Apigw-Requestid", request_id)
        bodiless = response.status in (204, 304) or response.status < 200
        if not bodiless:
            self.send_header("Content-Length", str(len(response.body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if not bodiless and self.command != "HEAD":
            self.wfile.write(response.body)
