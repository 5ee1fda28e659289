"""The answer of ``POST /events/validate`` (``Client.validate``), as typed, immutable values.

The shape is the API's (``{"valid", "invalid", "results": [{"index", "event_id", "valid",
"errors": [{"type", "field", "message"}]}]}``); the client may not import the server, so
tests/client/test_validate.py ties these fields and error types to the server's models.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, cast

from .errors import ApiError

#: What the pipeline would record an event as: ingest's envelope check, then the processor's.
ValidationErrorType = Literal[
    "invalid_envelope", "future_timestamp", "unknown_event_type", "schema_violation"
]


@dataclass(frozen=True)
class ValidationProblem:
    type: ValidationErrorType
    field: str  #: ``timestamp``, or a dotted path into the payload such as ``data.form.first_name``
    message: str


@dataclass(frozen=True)
class EventVerdict:
    """What the pipeline would make of one event of the request."""

    index: int  #: position in the request (0-based)
    event_id: str | None  #: the id it would get (given or derived); None when its envelope is invalid
    valid: bool
    errors: tuple[ValidationProblem, ...]


@dataclass(frozen=True)
class ValidationReport:
    """Every event judged; nothing was queued, stored, counted or recorded."""

    valid: int
    invalid: int
    results: tuple[EventVerdict, ...]

    @property
    def ok(self) -> bool:
        """True when every event would be stored."""
        return self.invalid == 0

    def failures(self) -> list[EventVerdict]:
        """The invalid events' verdicts, in request order."""
        return [result for result in self.results if not result.valid]

    @classmethod
    def from_json(cls, value: Any) -> ValidationReport:
        """The report from a decoded answer; ``ApiError`` (``invalid_response``) for another shape."""
        try:
            results = tuple(
                EventVerdict(
                    index=_int(r["index"]),
                    event_id=_text_or_none(r["event_id"]),
                    valid=_bool(r["valid"]),
                    errors=tuple(
                        ValidationProblem(
                            type=cast(ValidationErrorType, _text(e["type"])),
                            field=_text(e["field"]),
                            message=_text(e["message"]),
                        )
                        for e in r["errors"]
                    ),
                )
                for r in value["results"]
            )
            return cls(valid=_int(value["valid"]), invalid=_int(value["invalid"]), results=results)
        except (KeyError, TypeError, ValueError):
            raise ApiError(
                200, "invalid_response", "POST /events/validate answered with an unexpected body"
            ) from None


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(value)
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(value)
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(value)
    return value


def _text_or_none(value: Any) -> str | None:
    return None if value is None else _text(value)
