"""The event envelope: the checks the API would make, done before an event is queued.

Everything the ingest endpoint refuses per event (docs/API.md, "POST /events") is refused here with
``ValueError``, so a queued event can only be turned down by the server for reasons the client
cannot know (a revoked key, a server whose limits changed).

The limits are a copy of the server's (``theeye.events``), which the client may not import;
tests/client/test_envelope_agreement.py fails when the two differ in a value or in a verdict.
"""

from __future__ import annotations

import ipaddress
import json
import re
import sys
import uuid
from collections.abc import Mapping
from datetime import date, datetime, time, timezone
from typing import Any, Union

MAX_EVENT_BYTES = 32 * 1024
MAX_BODY_BYTES = 1024 * 1024
MAX_EVENTS_PER_REQUEST = 500
MAX_TEXT_LENGTH = 128
MAX_TIME_TEXT_LENGTH = 40
EVENT_ID_CHARACTERS = "A-Za-z0-9._:-"
MAX_EVENT_ID_LENGTH = 64
EVENT_ID_PATTERN = re.compile(f"[{EVENT_ID_CHARACTERS}]{{1,{MAX_EVENT_ID_LENGTH}}}")
# the event's optional context (what the sender knows about the end user's visit)
MAX_CONTEXT_BYTES = 4 * 1024
MAX_USER_AGENT_LENGTH = 512
MAX_LABEL_LENGTH = 64  # locale, timezone
PAGE_LIMITS = {"url": 2048, "referrer": 2048, "title": 512}
SCREEN_FIELDS = ("width", "height")
CONTEXT_FIELDS = ("page", "user_agent", "ip", "locale", "timezone", "screen")
UTC = timezone.utc  # noqa: UP017 - datetime.UTC does not exist before Python 3.11

TimeLike = Union[datetime, date, str]  # noqa: UP007 - an alias evaluated at run time on Python 3.9


def format_time(moment: datetime) -> str:
    """``2026-11-23T10:00:00.123456Z``; a datetime without a zone is taken as UTC (as the API does)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{moment!r} is outside the supported range of years") from None
    return utc.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_time(text: str) -> datetime:
    """Parse ISO-8601 the way the API does; a time without a zone is UTC."""
    candidate = text.strip()
    if not candidate or len(candidate) > MAX_TIME_TEXT_LENGTH:
        raise ValueError(f"{text[:40]!r} is not an ISO-8601 time such as 2026-11-23T10:00:00.123456Z")
    if sys.version_info < (3, 11) and candidate[-1] in "zZ":  # older fromisoformat knows no Z
        candidate = candidate[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(candidate)
    except ValueError:
        raise ValueError(
            f"{text[:40]!r} is not an ISO-8601 time such as 2026-11-23T10:00:00.123456Z"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def to_time_text(value: TimeLike, field: str) -> str:
    """A datetime, a date (midnight UTC) or ISO-8601 text, as the API's UTC text form."""
    try:
        if isinstance(value, datetime):
            return format_time(value)
        if isinstance(value, date):
            return format_time(datetime.combine(value, time(0), tzinfo=UTC))
        if isinstance(value, str):
            return format_time(parse_time(value))
    except ValueError as exc:
        raise ValueError(f"{field}: {exc}") from None
    raise ValueError(f"{field} must be a datetime, a date or an ISO-8601 string, not {type(value).__name__}")


# Each attempt adds ``"sent_at"`` (the client's clock then) to every event, so the server can
# remove this machine's clock offset. Events are measured and batched with room for it.
SENT_AT_FIELD = "sent_at"
SENT_AT_BYTES = len(f',"{SENT_AT_FIELD}":""') + len("2026-01-01T00:00:00.000000Z")


def with_sent_at(body: bytes, sent_at: str) -> bytes:
    """An encoded event (a JSON object, never empty) with ``sent_at`` added as its last member."""
    return body[:-1] + f',"{SENT_AT_FIELD}":"{sent_at}"}}'.encode("ascii")


def new_event_id() -> str:
    """32 hex characters from a random UUID: unique without coordination, safe across fork."""
    return uuid.uuid4().hex


def check_text(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{field} must be a string, not {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{field} must not be empty or blank")
    if len(value) > MAX_TEXT_LENGTH:
        raise ValueError(f"{field} is {len(value)} characters; at most {MAX_TEXT_LENGTH} are allowed")
    return value


def check_event_id(value: object) -> str:
    if not isinstance(value, str) or not EVENT_ID_PATTERN.fullmatch(value):
        raise ValueError(f"event_id must be 1-{MAX_EVENT_ID_LENGTH} characters of A-Z a-z 0-9 . _ : -")
    return value


def check_context(value: object) -> dict[str, Any]:
    """The event's ``context`` as the API takes it: only its keys, each of its type and length,
    at most ``MAX_CONTEXT_BYTES`` as compact JSON; ``ValueError`` naming ``context.<key>``."""
    members = _members(value, "context", CONTEXT_FIELDS)
    for key, item in members.items():
        field = f"context.{key}"
        if key == "page":
            for name, text in _members(item, field, tuple(PAGE_LIMITS)).items():
                _check_length(text, f"{field}.{name}", PAGE_LIMITS[name])
        elif key == "screen":
            for name, number in _members(item, field, SCREEN_FIELDS).items():
                if not isinstance(number, int) or isinstance(number, bool):
                    raise ValueError(f"{field}.{name} must be an integer, not {type(number).__name__}")
        elif key == "ip":
            try:
                ipaddress.ip_address(item if isinstance(item, str) else "")
            except ValueError:
                raise ValueError(f"{field} must be an IPv4 or IPv6 address") from None
        else:
            _check_length(item, field, MAX_USER_AGENT_LENGTH if key == "user_agent" else MAX_LABEL_LENGTH)
    size = len(encode(members))
    if size > MAX_CONTEXT_BYTES:
        raise ValueError(f"context is {size} bytes; at most {MAX_CONTEXT_BYTES} are allowed")
    return members


def _members(value: object, field: str, keys: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{field} must be a dict (a JSON object), not {type(value).__name__}")
    for key in value:
        if key not in keys:
            raise ValueError(f"{field}.{key} is not a field of {field} (one of {', '.join(keys)})")
    return dict(value)


def _check_length(value: object, field: str, limit: int) -> None:
    if not isinstance(value, str):
        raise ValueError(f"{field} must be a string, not {type(value).__name__}")
    if len(value) > limit:
        raise ValueError(f"{field} is {len(value)} characters; at most {limit} are allowed")


def encode(value: Any) -> bytes:
    """Compact UTF-8 JSON, the spelling the API measures events in; strict about NaN/Infinity."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def build_event(
    session_id: str,
    category: str,
    name: str,
    data: Mapping[str, Any] | None,
    timestamp: datetime | str | None,
    event_id: str | None,
    now: datetime,
    context: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], bytes]:
    """The event as it will be sent and its encoded form, without the ``sent_at`` each attempt
    adds (``with_sent_at``); ``ValueError`` for what the API would refuse once it is added."""
    check_text(session_id, "session_id")
    check_text(category, "category")
    check_text(name, "name")
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ValueError(f"data must be a dict (a JSON object), not {type(data).__name__}")
    if timestamp is None:
        stamped = format_time(now)
    elif isinstance(timestamp, (datetime, str)):
        stamped = to_time_text(timestamp, "timestamp")
    else:
        raise ValueError(
            f"timestamp must be a datetime or an ISO-8601 string, not {type(timestamp).__name__}"
        )
    event = {
        "event_id": new_event_id() if event_id is None else check_event_id(event_id),
        "session_id": session_id,
        "category": category,
        "name": name,
        "data": dict(data),
        "timestamp": stamped,
    }
    if context is not None:
        try:
            event["context"] = check_context(context)
        except (TypeError, RecursionError) as exc:
            raise ValueError(f"context is not JSON-serialisable: {_reason(exc)}") from None
    try:
        body = encode(event)
    except (TypeError, ValueError, RecursionError) as exc:
        raise ValueError(f"data is not JSON-serialisable: {_reason(exc)}") from None
    if len(body) + SENT_AT_BYTES > MAX_EVENT_BYTES:
        raise ValueError(
            f"the event is {len(body) + SENT_AT_BYTES} bytes as compact JSON with its sent_at; one event"
            f" may be at most {MAX_EVENT_BYTES}"
        )
    return event, body


def _reason(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "it is nested too deeply (or refers to itself)"
    text = str(exc)
    if "Out of range float values" in text:
        return "NaN and Infinity are not JSON"
    return text
