"""Exceptions: what the API answered, what the network did, and what happened to queued events.

* :class:`ApiError` and its subclasses carry an error answer of the API: ``status`` and the
  contract's body ``{"error": {"code", "message", "details"}}``. ``QueryClient`` raises them.
* :class:`TransportError`: no answer at all (connection refused or dropped, timeout).
* :class:`DeliveryError` and its subclasses are never raised by ``Client.track``: they are
  what ``on_error(exc, events)`` receives when queued events could not be delivered.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any


class TheEyeError(Exception):
    """Base of every exception this package raises or reports."""


class TransportError(TheEyeError):
    """The request got no HTTP answer: refused or dropped connection, timeout, TLS failure."""


class ApiError(TheEyeError):
    """The API answered with an error status; ``code``, ``message`` and ``details`` are its body's."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Sequence[Any] = (),
        *,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details: list[Any] = list(details)
        self.retry_after = retry_after


class BadRequest(ApiError):
    """400: a malformed body, filter, cursor or limit, or every event of a batch refused."""


class Unauthorized(ApiError):
    """401: the key is missing, unknown or revoked."""


class Forbidden(ApiError):
    """403: the key lacks the route's scope (``ingest`` or ``query``)."""


class NotFound(ApiError):
    """404: no such event, error or route."""


class PayloadTooLarge(ApiError):
    """413: the request body is over 1 MiB."""


class RateLimited(ApiError):
    """429: too many requests; ``retry_after`` says when to try again, if the server said."""


class ServerError(ApiError):
    """5xx: the server failed or cannot take the request now."""


class ServiceUnavailable(ServerError):
    """503: nothing was accepted; retry after ``retry_after`` seconds."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    413: PayloadTooLarge,
    429: RateLimited,
    503: ServiceUnavailable,
}


def api_error(status: int, body: bytes, retry_after: float | None = None) -> ApiError:
    """The typed exception for an error answer; tolerant of bodies not in the contract's shape."""
    code, message, details = f"http_{status}", "", []
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = None
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if isinstance(error, dict):
        code = str(error.get("code") or code)
        message = str(error.get("message") or "")
        raw_details = error.get("details")
        details = list(raw_details) if isinstance(raw_details, list) else []
    if not message:
        message = body[:200].decode("utf-8", errors="replace").strip() or f"HTTP {status}"
    kind = _BY_STATUS.get(status) or (ServerError if status >= 500 else ApiError)
    return kind(status, code, message, details, retry_after=retry_after)


class Rejection:
    """One event the API refused for good, with its per-field reasons when the API gave them."""

    __slots__ = ("errors", "event")

    def __init__(self, event: Mapping[str, Any], errors: Sequence[Mapping[str, Any]] = ()) -> None:
        self.event: dict[str, Any] = dict(event)
        self.errors: list[dict[str, Any]] = [dict(e) for e in errors]

    @property
    def event_id(self) -> str:
        return str(self.event.get("event_id", ""))

    def __repr__(self) -> str:
        return f"Rejection(event_id={self.event_id!r}, errors={self.errors!r})"


class DeliveryError(TheEyeError):
    """Base of what ``on_error(exc, events)`` receives; ``events`` are the events concerned."""

    #: True when sending the same events again cannot succeed.
    permanent = True


class EventsRejected(DeliveryError):
    """The API refused these events; they were not retried.

    ``status`` is 202 when the API accepted the rest of the batch and named these in its
    ``rejected`` list, 400 when it refused every event of the request (``code`` ``invalid_events``
    and one detail per event) or the request itself, 401/403 for the key, 413 for the size.
    ``rejections`` has one entry per event, with the API's per-field ``errors`` when it gave them.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        rejections: Sequence[Rejection],
        details: Sequence[Any] = (),
        cause: ApiError | None = None,
    ) -> None:
        super().__init__(f"{len(rejections)} event(s) rejected: {status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.rejections = list(rejections)
        self.details = list(details)
        self.cause = cause


class DeliveryFailed(DeliveryError):
    """The client gave up on these events: ``max_retries`` ran out, or the client was closed
    before they could be delivered. ``cause`` is the last error (``TransportError`` or
    ``ApiError``) or ``None``; ``attempts`` is how many requests carried them."""

    permanent = False

    def __init__(self, message: str, cause: TheEyeError | None, attempts: int) -> None:
        super().__init__(message)
        self.cause = cause
        self.attempts = attempts


class EventsDropped(DeliveryError):
    """These events were never queued: ``reason`` is ``"queue_full"`` (``max_queue_size``
    events were already waiting) or ``"closed"`` (``track`` after ``close``)."""

    permanent = False

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
