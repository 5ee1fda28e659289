"""What the pipeline writes: a stored event's record and a recorded error, as the domain sees them.

Storage adapters map these to their own rows or items; nothing here knows a storage engine.
Error ids are derived from what the error is about (the request and position, or the event
id and content), so a redelivered message or a retried request records nothing twice.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from typing import Any, Literal, get_args

from theeye.events import Event

ErrorType = Literal[
    "invalid_json",
    "invalid_envelope",
    "schema_violation",
    "future_timestamp",
    "unknown_event_type",
    "event_id_conflict",
]
ErrorSource = Literal["ingest", "processor"]
# What the processor records (a replay takes these): the part of ErrorType it owns.
ProcessorErrorType = Literal[
    "schema_violation", "future_timestamp", "unknown_event_type", "event_id_conflict"
]
PROCESSOR_ERROR_TYPES: tuple[str, ...] = get_args(ProcessorErrorType)
ERROR_TYPES: tuple[str, ...] = get_args(ErrorType)
ERROR_SOURCES: tuple[str, ...] = get_args(ErrorSource)


class WriteOutcome(enum.Enum):
    STORED = "stored"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"


@dataclass(frozen=True, slots=True)
class EventRecord:
    """An accepted, valid event with what the pipeline knows of its delivery."""

    event: Event
    application_id: str
    received_at: str
    origin: str  # request id and position: the same for every redelivery of one request's event
    content_hash: str
    expires_at: int | None = None


def derive_error_id(*parts: str) -> str:
    return "err-" + hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class ErrorRecord:
    error_id: str
    type: str
    source: str
    application_id: str
    received_at: str
    event_id: str | None
    details: list[dict[str, str]]
    payload: Any
    key_id: str = ""
    request_id: str = ""
    session_id: str | None = None  # the event's session, so erasure finds its errors
    # the event's stored context, as ingest built it (the address already anonymised, never the
    # raw one), so a replay stores the event as it would have been stored; None: none or unknown
    context: dict[str, Any] | None = None


# A replay (POST /errors/replay): how many errors it may take (``max``: at most, by default), and
# how many of those still invalid one answer lists.
REPLAY_MAX_ERRORS = 100_000
REPLAY_DEFAULT_MAX = 10_000
REPLAY_LISTED = 100


@dataclass(frozen=True, slots=True)
class Replayed:
    """When an error's event entered the pipeline again (``POST /errors/replay``), and its id."""

    at: str
    event_id: str

    def to_dict(self) -> dict[str, str]:
        return {"at": self.at, "event_id": self.event_id}


# What erasure leaves of an error's details: the fields that were wrong, not what was in them
# (a schema's message can quote the value that broke it).
ERASED_MESSAGE = "erased with its session"


def redacted_details(details: Any) -> list[dict[str, str]]:
    """Stored details (a list of ``{"field", "message"}``; anything else holds no field names)."""
    listed = details if isinstance(details, list) else []
    return [
        {"field": str(d.get("field", "")), "message": ERASED_MESSAGE} for d in listed if isinstance(d, dict)
    ]
