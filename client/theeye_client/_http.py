"""HTTP plumbing on ``http.client``: kept-alive connections, Retry-After, backoff with full jitter."""

from __future__ import annotations

import http.client
import json
import random
import socket
import threading
import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from .errors import TransportError

#: Statuses worth sending the same request again for.
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
MAX_IDLE_CONNECTIONS = 4
# The errors a kept-alive connection the server closed while idle shows on its next request.
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


def retryable(status: int) -> bool:
    return status in RETRYABLE_STATUSES or 500 <= status <= 599


class HttpResponse:
    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self.status = status
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class Transport:
    """Requests to one endpoint over a small pool of kept-alive connections; thread-safe.

    ``timeout`` bounds each socket operation (connecting, sending, each wait for data).
    A request that fails on a reused connection before any answer (the server closed it while it
    was idle) is sent once more on a new connection at once; any other failure is a
    :class:`TransportError` for the caller's retry policy.
    """

    def __init__(self, endpoint: str, *, timeout: float, headers: Mapping[str, str]) -> None:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"endpoint must be an http:// or https:// URL, not {endpoint!r}")
        if parts.query or parts.fragment:
            raise ValueError("endpoint must not have a query string or a fragment")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        self._timeout = timeout
        self._headers = dict(headers)
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def url(self, path: str) -> str:
        return self._prefix + path

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        target = self._prefix + path + (f"?{urlencode(params)}" if params else "")
        all_headers = {**self._headers, **(headers or {})}
        connection = self._checkout()
        reused = connection.sock is not None
        try:
            try:
                return self._exchange(connection, method, target, body, all_headers)
            except _STALE:
                if not reused:
                    raise
                connection.close()
                return self._exchange(connection, method, target, body, all_headers)
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            raise TransportError(f"{method} {self._prefix + path}: {_describe(exc)}") from exc
        except BaseException:
            connection.close()
            raise

    def _exchange(
        self,
        connection: http.client.HTTPConnection,
        method: str,
        target: str,
        body: bytes | None,
        headers: dict[str, str],
    ) -> HttpResponse:
        connection.request(method, target, body=body, headers=headers)
        answer = connection.getresponse()
        data = answer.read()
        response = HttpResponse(answer.status, dict(answer.getheaders()), data)
        if answer.will_close:
            connection.close()
        else:
            self._checkin(connection)
        return response

    def _checkout(self) -> http.client.HTTPConnection:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        if self._https:
            return http.client.HTTPSConnection(self._host, self._port, timeout=self._timeout)
        return http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)

    def _checkin(self, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            if len(self._idle) < MAX_IDLE_CONNECTIONS:
                self._idle.append(connection)
                return
        connection.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def forget_after_fork(self) -> None:
        """In a forked child: drop the parent's sockets unused (closing our copy is harmless)."""
        self._lock = threading.Lock()
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timed out"
    if isinstance(exc, http.client.RemoteDisconnected):
        return "the server closed the connection without answering"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def parse_retry_after(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delay-seconds or an HTTP date."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if moment is None:
            return None
        seconds = moment.timestamp() - now()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


class Backoff:
    """Exponential backoff with full jitter: retry ``n`` waits ``uniform(0, min(cap, base * 2**(n-1)))``.

    A ``Retry-After`` from the server is a floor (capped at ``max_retry_after`` so a broken
    header cannot stall the client for hours).
    """

    def __init__(
        self, base: float, cap: float, max_retry_after: float = 300.0, rng: random.Random | None = None
    ) -> None:
        if base <= 0 or cap <= 0:
            raise ValueError("backoff_base and backoff_max must be positive")
        self.base = base
        self.cap = cap
        self.max_retry_after = max_retry_after
        self.rng = rng or random.Random()

    def window(self, retry: int) -> float:
        return min(self.cap, self.base * 2.0 ** min(retry - 1, 60))

    def delay(self, retry: int, retry_after: float | None = None) -> float:
        jittered = self.rng.uniform(0.0, self.window(retry))
        if retry_after is None:
            return jittered
        return max(min(retry_after, self.max_retry_after), jittered)

    def reseed(self) -> None:
        self.rng = random.Random()
