"""Domain exceptions. Logic raises these; ``theeye.http`` turns them into HTTP answers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from theeye.messages import QueueMessage


class TheEyeError(Exception):
    """Base of every error the domain raises on purpose."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, details: list[Any] | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: list[Any] = details or []
        if code is not None:
            self.code = code


class InvalidRequest(TheEyeError):
    status = 400
    code = "invalid_request"


class AuthenticationFailed(TheEyeError):
    status = 401
    code = "unauthorized"


class PermissionDenied(TheEyeError):
    status = 403
    code = "forbidden"


class NotFound(TheEyeError):
    status = 404
    code = "not_found"


class PayloadTooLarge(TheEyeError):
    status = 413
    code = "payload_too_large"


class ServiceUnavailable(TheEyeError):
    """A dependency cannot take the request now; nothing was accepted, the client retries."""

    status = 503
    code = "service_unavailable"

    def __init__(self, message: str, *, retry_after_seconds: int = 1, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after_seconds = retry_after_seconds


class RetryableStoreError(TheEyeError):
    """A store throttled or timed out; the work must be retried later (never dropped)."""

    code = "store_unavailable"


class QueueUnavailable(ServiceUnavailable):
    """The queue did not take every message; ``delivered`` lists those it did take."""

    def __init__(self, delivered: list[QueueMessage]) -> None:
        super().__init__("the event queue cannot take events right now; retry shortly", retry_after_seconds=2)
        self.delivered = delivered


class InvalidInsight(InvalidRequest):
    """An insight request (``POST /insights``) that cannot be answered as asked; ``details``
    name each field in error."""

    code = "invalid_insight"
