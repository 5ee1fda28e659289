"""The Eye's Python client.

``Client`` sends events (``track`` never waits for the network; a background thread batches,
retries and reports what cannot be delivered); ``QueryClient`` reads them back, page by page.
``Client.validate`` is a dry run: every check of the pipeline on some events, nothing stored.

    from theeye_client import Client, QueryClient

    eye = Client(api_key="...", endpoint="http://127.0.0.1:3000")
    event_id = eye.track("session-1", "page interaction", "pageview", {"host": "example.com", "path": "/"})
    eye.flush(timeout=10)
"""

from ._version import __version__
from .client import DEFAULT_ENDPOINT, Client, DeliveryStats, OnError
from .errors import (
    ApiError,
    BadRequest,
    DeliveryError,
    DeliveryFailed,
    EventsDropped,
    EventsRejected,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    Rejection,
    ServerError,
    ServiceUnavailable,
    TheEyeError,
    TransportError,
    Unauthorized,
)
from .query import (
    ErrorRecord,
    EventSchema,
    EventStats,
    Health,
    QueryClient,
    SessionSummary,
    Status,
    StoredEvent,
)
from .validation import EventVerdict, ValidationErrorType, ValidationProblem, ValidationReport

__all__ = [
    "DEFAULT_ENDPOINT",
    "ApiError",
    "BadRequest",
    "Client",
    "DeliveryError",
    "DeliveryFailed",
    "DeliveryStats",
    "ErrorRecord",
    "EventSchema",
    "EventStats",
    "EventVerdict",
    "EventsDropped",
    "EventsRejected",
    "Forbidden",
    "Health",
    "NotFound",
    "OnError",
    "PayloadTooLarge",
    "QueryClient",
    "RateLimited",
    "Rejection",
    "ServerError",
    "ServiceUnavailable",
    "SessionSummary",
    "Status",
    "StoredEvent",
    "TheEyeError",
    "TransportError",
    "Unauthorized",
    "ValidationErrorType",
    "ValidationProblem",
    "ValidationReport",
    "__version__",
]
