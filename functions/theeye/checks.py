"""The checks the pipeline makes of an event, in one place: the processor and the dry run share them.

An event whose envelope is valid (``theeye.events.validate_event``) is judged by three rules,
weighed in this order:

* ``future_timestamp``: its timestamp is later than its receipt plus the allowed clock skew;
* ``unknown_event_type``: no schema for its ``category`` + ``name``, when such types are rejected;
* ``schema_violation``: its ``data`` breaks the schema of its type, one detail per broken field.

:func:`findings` lists every rule an event breaks. The processor records the first as the
event's error (``processor.logic.check``); ``POST /events/validate`` and ``theeye validate``
report them all (:func:`dry_run`), judged at the time of the request instead of the receipt,
and write nothing anywhere: a dry run is a pure function of its input, the schemas and the rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

from theeye.clock import parse_timestamp
from theeye.events import Event, FieldError, validate_event

if TYPE_CHECKING:  # the registry (and fastjsonschema with it) is imported by whoever loads one
    from theeye.config import Settings
    from theeye.schemas import SchemaRegistry

UnknownEventTypes = Literal["accept", "reject"]
# The error types of the rules here (a part of theeye.records.ErrorType), and of a dry run's
# answers: those and the envelope's (ingest's rules).
FindingType = Literal["future_timestamp", "unknown_event_type", "schema_violation"]
CheckType = Literal["invalid_envelope", FindingType]  # one flat Literal of four


@dataclass(frozen=True)
class Rules:
    """How strict the checks are (``MAX_CLOCK_SKEW_SECONDS``, ``UNKNOWN_EVENT_TYPES``)."""

    max_clock_skew: timedelta = timedelta(seconds=60)
    unknown_event_types: UnknownEventTypes = "accept"

    @classmethod
    def from_settings(cls, settings: Settings) -> Rules:
        return cls(
            max_clock_skew=timedelta(seconds=settings.max_clock_skew_seconds),
            unknown_event_types=settings.unknown_event_types,
        )


@dataclass(frozen=True)
class Finding:
    """One rule an event breaks: the error type it is recorded as, and what is wrong."""

    type: FindingType
    errors: tuple[FieldError, ...]


def findings(event: Event, received_at: str, schemas: SchemaRegistry, rules: Rules) -> list[Finding]:
    """Every rule ``event`` breaks when received at ``received_at`` (ISO-8601), in the order the
    processor weighs them; empty when it may be stored."""
    found: list[Finding] = []
    received = parse_timestamp(received_at)
    if event.occurred_at > received + rules.max_clock_skew:
        limit = int(rules.max_clock_skew.total_seconds())
        message = f"is {event.timestamp}, later than its receipt ({received_at}) plus {limit} s of skew"
        found.append(Finding("future_timestamp", (FieldError("timestamp", message),)))
    event_type = (event.category, event.name)
    if not schemas.knows(event_type):
        if rules.unknown_event_types == "reject":
            message = f"no schema for category {event.category!r} and name {event.name!r}"
            found.append(Finding("unknown_event_type", (FieldError("category", message),)))
        return found
    broken = schemas.validate(event_type, event.data)
    if broken:
        found.append(Finding("schema_violation", tuple(broken)))
    return found


# -- the dry run: every check of the pipeline at once, nothing written -------------------------


@dataclass(frozen=True)
class Verdict:
    """What the pipeline would make of one event of a request."""

    index: int
    event_id: str | None  # the id it would get (given or derived); None when the envelope is invalid
    errors: list[dict[str, str]]  # {"type", "field", "message"}, envelope problems first

    @property
    def valid(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "event_id": self.event_id, "valid": self.valid, "errors": self.errors}


@dataclass
class DryRun:
    results: list[Verdict] = field(default_factory=list)

    @property
    def valid(self) -> int:
        return sum(1 for r in self.results if r.valid)

    @property
    def invalid(self) -> int:
        return len(self.results) - self.valid

    def to_response(self) -> dict[str, Any]:
        return {"valid": self.valid, "invalid": self.invalid, "results": [r.to_dict() for r in self.results]}


def dry_run(
    items: list[Any], *, application_id: str, received_at: str, schemas: SchemaRegistry, rules: Rules
) -> DryRun:
    """Judge each item as ingest and the processor would had it been received at ``received_at``:
    the envelope (with ``sent_at``'s clock-skew correction), then the processor's rules."""
    received = parse_timestamp(received_at)
    report = DryRun()
    for index, item in enumerate(items):
        outcome = validate_event(item, application_id, received)
        if not isinstance(outcome, Event):
            errors = [_problem("invalid_envelope", e) for e in outcome]
            report.results.append(Verdict(index, None, errors))
            continue
        errors = [
            _problem(finding.type, e)
            for finding in findings(outcome, received_at, schemas, rules)
            for e in finding.errors
        ]
        report.results.append(Verdict(index, outcome.event_id, errors))
    return report


def _problem(kind: CheckType, error: FieldError) -> dict[str, str]:
    return {"type": kind, **error.to_dict()}
