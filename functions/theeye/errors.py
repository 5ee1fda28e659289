"""Domain exceptions. Logic raises these; ``theeye.http`` turns them into HTTP answers."""

from __future__ import annotations

from collections.abc import Sequence
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


class InvalidSql(InvalidRequest):
    """A statement that is not one read-only query over ``events``, or that the engine refused
    (a syntax error, an unknown column): the message names the problem; nothing ran."""

    code = "invalid_sql"


class QueryTooExpensive(InvalidRequest):
    """A statement that went over the engine's time limit (or, on AWS, bytes-scanned cap)."""

    code = "query_too_expensive"


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


class LakeDeliveryFailed(RetryableStoreError):
    """The lake did not take ``failed`` (changes, after retrying them); sending them again is safe."""

    def __init__(self, detail: str, failed: Sequence[object]) -> None:
        super().__init__(f"the lake's delivery stream did not take {len(failed)} changes ({detail})")
        self.detail = detail
        self.failed = list(failed)


class QueueUnavailable(ServiceUnavailable):
    """The queue did not take every message; ``delivered`` lists those it did take."""

    def __init__(self, delivered: list[QueueMessage]) -> None:
        super().__init__("the event queue cannot take events right now; retry shortly", retry_after_seconds=2)
        self.delivered = delivered


class InvalidInsight(InvalidRequest):
    """An insight request (``POST /insights``) that cannot be answered as asked; ``details``
    name each field in error."""

    code = "invalid_insight"
