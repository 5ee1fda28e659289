"""Events: the envelope applications send, its validation, and the domain event.

The envelope rules are the public contract's (docs/API.md, "POST /events"). Validation reports one
entry per broken field, so an application can fix every problem in one round trip.

The constants below are the one statement of those rules. ``theeye.api_models.EventIn`` (and so
docs/openapi.json) is derived from them; tests/client/test_envelope_agreement.py ties the Python
client's copy (which may not import the server) and ``EventIn`` to them, value by value and input
by input.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from theeye.clock import MAX_TIME_TEXT_LENGTH as MAX_TIME_TEXT_LENGTH  # the timestamp's limit
from theeye.clock import format_timestamp, parse_timestamp
from theeye.errors import InvalidRequest
from theeye.json_types import described

MAX_BODY_BYTES = 1024 * 1024  # one request, as received or, when compressed, decompressed
# A gzip body may be a little larger than what it holds when that does not compress (gzip adds
# 5 bytes per 64 KiB stored block and a header of about 20): this much is read off the wire.
MAX_COMPRESSED_BODY_BYTES = MAX_BODY_BYTES + 16 * 1024
CONTENT_ENCODINGS = ("gzip", "x-gzip")  # accepted on every ingest route (identity aside)
MAX_EVENT_BYTES = 32 * 1024  # one event, as compact UTF-8 JSON
MAX_EVENTS_PER_REQUEST = 500
MAX_TEXT_LENGTH = 128  # characters (code points) of session_id, category and name
# What str.isspace() calls space, as a regex class spelled out: Python, Rust (pydantic) and
# ECMA-262 (OpenAPI readers) each mean something else by \s, and the schema must say what we do.
WHITESPACE_CLASS = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# Not empty or blank: some character that is not space. Anchored at the start, so it means the
# same whether a dialect searches (JSON Schema) or matches (re.match) a pattern.
NOT_BLANK_PATTERN = f"^[{WHITESPACE_CLASS}]*[^{WHITESPACE_CLASS}]"
EVENT_ID_CHARACTERS = "A-Za-z0-9._:-"  # a regex class body
MAX_EVENT_ID_LENGTH = 64
EVENT_ID_PATTERN = re.compile(f"[{EVENT_ID_CHARACTERS}]{{1,{MAX_EVENT_ID_LENGTH}}}")  # fullmatch
DERIVED_ID_PREFIX = "dv1-"

TEXT_FIELDS = ("session_id", "category", "name")
REQUIRED_FIELDS = (*TEXT_FIELDS, "data", "timestamp")
# event_id absent or null: derived from the content; sent_at absent or null: no skew correction;
# context absent or null: nothing sent about the visit (theeye.context holds its rules)
OPTIONAL_FIELDS = ("event_id", "sent_at", "context")
ENVELOPE_FIELDS = REQUIRED_FIELDS + OPTIONAL_FIELDS  # no other top-level field is allowed

_NOT_BLANK = re.compile(NOT_BLANK_PATTERN)


def canonical_json(value: Any) -> str:
    """One spelling of a JSON value: sorted keys, no spaces. Hashes are taken over this."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


@dataclass(frozen=True, slots=True)
class Event:
    """An event whose envelope is valid; times are normalised to UTC text.

    ``timestamp`` is when the event occurred by our clock: the sender's ``client_timestamp``
    with the sender's clock offset removed when the request said when it was sent
    (``corrected_timestamp``); without ``sent_at`` the two are equal.

    ``context`` is the stored context built at ingest (``theeye.context.enrich``). Like
    ``sent_at`` it is no part of the ``content``: a resend from another browser or address is
    the same event.
    """

    event_id: str
    session_id: str
    category: str
    name: str
    data: dict[str, Any]
    timestamp: str
    client_timestamp: str = ""  # empty: equal to timestamp
    context: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.client_timestamp:
            object.__setattr__(self, "client_timestamp", self.timestamp)

    def content(self) -> dict[str, Any]:
        """What makes two deliveries of one ``event_id`` the same event: what the sender wrote,
        so a retry whose ``sent_at`` (and so whose corrected time) moved is the same event."""
        return {
            "session_id": self.session_id,
            "category": self.category,
            "name": self.name,
            "data": self.data,
            "timestamp": self.client_timestamp,
        }

    def content_hash(self) -> str:
        return hashlib.sha256(canonical_json(self.content()).encode("utf-8")).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        corrected: dict[str, Any] = (
            {} if self.timestamp == self.client_timestamp else {"client_timestamp": self.client_timestamp}
        )
        if self.context:
            corrected["context"] = self.context
        return {"event_id": self.event_id, **self.content(), "timestamp": self.timestamp, **corrected}

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> Event:
        return cls(
            event_id=value["event_id"],
            session_id=value["session_id"],
            category=value["category"],
            name=value["name"],
            data=value["data"],
            timestamp=value["timestamp"],
            client_timestamp=value.get("client_timestamp") or "",
            context=value.get("context") or {},
        )

    @property
    def occurred_at(self) -> datetime:
        return parse_timestamp(self.timestamp)


def derive_event_id(application_id: str, content: dict[str, Any]) -> str:
    """A stable id from the sender and the content, so a retried request stores nothing twice."""
    digest = hashlib.sha256(canonical_json([application_id, content]).encode("utf-8")).hexdigest()
    return DERIVED_ID_PREFIX + digest[:40]


def corrected_timestamp(timestamp: datetime, sent_at: datetime, received_at: datetime) -> datetime:
    """``received_at - (sent_at - timestamp)``: the time the event occurred by our clock, the
    sender's clock offset (its ``sent_at`` against our receipt) removed."""
    return received_at - (sent_at - timestamp)


def validate_event(
    raw: Any, application_id: str, received_at: datetime | None = None
) -> Event | list[FieldError]:
    """Check one event object against the envelope rules; return the event or every problem.

    ``received_at`` is when the request arrived; an event with ``sent_at`` has its timestamp
    corrected by it (without a receipt time, ``sent_at`` is checked and not applied).
    """
    if not isinstance(raw, dict):
        return [FieldError("event", f"must be a JSON object, not {described(raw)}")]
    errors: list[FieldError] = []
    size = len(compact_json(raw).encode("utf-8"))
    if size > MAX_EVENT_BYTES:
        errors.append(FieldError("event", f"is {size} bytes; one event may be at most {MAX_EVENT_BYTES}"))
    for field in TEXT_FIELDS:
        errors.extend(_check_text(raw, field))
    data = raw.get("data")
    if "data" not in raw:
        errors.append(FieldError("data", "is required (send {} when there is nothing to say)"))
    elif not isinstance(data, dict):
        errors.append(FieldError("data", f"must be a JSON object, not {described(data)}"))
    timestamp: Any = raw.get("timestamp")
    occurred: datetime | None = None
    if "timestamp" not in raw:
        errors.append(FieldError("timestamp", "is required (ISO-8601, e.g. 2021-01-01T09:15:27.243860Z)"))
    else:
        try:
            occurred = parse_timestamp(timestamp)  # non-strings raise ValueError
        except ValueError as exc:
            errors.append(FieldError("timestamp", str(exc)))
    sent_at: datetime | None = None
    if raw.get("sent_at") is not None:
        try:
            sent_at = parse_timestamp(raw["sent_at"])
        except ValueError as exc:
            errors.append(FieldError("sent_at", str(exc)))
    corrected = occurred
    if occurred is not None and sent_at is not None and received_at is not None:
        try:
            corrected = corrected_timestamp(occurred, sent_at, received_at)
            format_timestamp(corrected)
        except (OverflowError, ValueError):
            errors.append(FieldError("sent_at", "puts the corrected timestamp outside the supported years"))
    if raw.get("context") is not None:
        from theeye.context import check_context  # imports theeye.events: loaded once one is sent

        errors.extend(check_context(raw["context"], within_bytes=size))
    event_id = raw.get("event_id")
    if event_id is not None and (not isinstance(event_id, str) or not EVENT_ID_PATTERN.fullmatch(event_id)):
        errors.append(
            FieldError("event_id", f"must be 1-{MAX_EVENT_ID_LENGTH} characters of A-Z a-z 0-9 . _ : -")
        )
    errors.extend(
        FieldError(
            key if isinstance(key, str) else "event",
            "is not an envelope field (put application data under data)",
        )
        for key in raw
        if key not in ENVELOPE_FIELDS
    )
    if errors or occurred is None or corrected is None:  # no errors: both times were parsed
        return errors
    content = {
        "session_id": raw["session_id"],
        "category": raw["category"],
        "name": raw["name"],
        "data": data,
        "timestamp": format_timestamp(occurred),
    }
    return Event(
        event_id=event_id or derive_event_id(application_id, content),
        **{**content, "timestamp": format_timestamp(corrected)},
        client_timestamp=content["timestamp"],
    )


def _check_text(raw: dict[str, Any], field: str) -> list[FieldError]:
    if field not in raw:
        return [FieldError(field, "is required")]
    value = raw[field]
    if not isinstance(value, str):
        return [FieldError(field, f"must be a string, not {described(value)}")]
    if not _NOT_BLANK.match(value):
        return [FieldError(field, "must not be empty or blank")]
    if len(value) > MAX_TEXT_LENGTH:
        return [FieldError(field, f"is {len(value)} characters; at most {MAX_TEXT_LENGTH} are allowed")]
    return []


def usable_session_id(payload: Any) -> str | None:
    """The session a rejected payload names, when it names one by the envelope's rule (so
    erasure finds the error); None otherwise."""
    if isinstance(payload, dict) and "session_id" in payload and not _check_text(payload, "session_id"):
        return str(payload["session_id"])
    return None


def counted_items(items: list[Any], *, empty: str, container: str, noun: str, field: str) -> list[Any]:
    """``items`` when a request may carry that many (1 to ``MAX_EVENTS_PER_REQUEST``), else the
    ``400``: ``empty`` says what was sent without any, ``container`` what held them ("the
    request", "the batch"), ``noun`` what they are, ``field`` where the error points."""
    if not items:
        raise InvalidRequest(f"{empty}; send 1-{MAX_EVENTS_PER_REQUEST} {noun}", code="empty_batch")
    if len(items) > MAX_EVENTS_PER_REQUEST:
        raise InvalidRequest(
            f"{container} holds {len(items)} {noun}; at most {MAX_EVENTS_PER_REQUEST} are allowed",
            code="too_many_events",
            details=[{"field": field, "message": f"{len(items)} > {MAX_EVENTS_PER_REQUEST} {noun}"}],
        )
    return items
