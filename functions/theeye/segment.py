"""Segment's HTTP Tracking API read as The Eye's envelope: the dialect of the ``/v1/*`` routes.

One Segment message (``track``, ``page``, ``screen``, ``identify``, ``group``, ``alias``) becomes
one event object of ``POST /events``; from there the same envelope rules, limits, rejections,
error store and ledger apply (``ingest.logic.ingest``). The mapping is the contract's table
(docs/API.md, "Segment-compatible tracking API"); it is pure: no clock (the receipt time is
passed in), no I/O.

Where a rejected event's problem came from a field of the message, the error names that field
(``event`` for a track without a name, ``anonymousId`` for a message with no session, ...), so a
Segment user reads the error in the vocabulary of their own calls.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from theeye.errors import InvalidRequest
from theeye.events import (
    EVENT_ID_PATTERN,
    FieldError,
    canonical_json,
    counted_items,
    usable_session_id,
)
from theeye.json_types import described

MESSAGE_TYPES = ("track", "page", "screen", "identify", "group", "alias")
BATCH_ROUTE = "/v1/batch"
# route -> the type of its one message; /v1/batch's messages say their own type
ROUTES: dict[str, str | None] = {f"/v1/{kind}": kind for kind in MESSAGE_TYPES} | {BATCH_ROUTE: None}
ROUTE_PREFIX = "/v1/"  # where HTTP Basic authentication is accepted besides Bearer and X-Api-Key

WRITE_KEY = "writeKey"  # the key in the body, as browsers' analytics.js sends it
WRITE_KEY_TEXT = re.compile(r'("writeKey"\s*:\s*")((?:[^"\\]|\\.)*)(")')  # in a body that is not JSON
REDACTED = "[redacted]"
# the batch's fields that hold for each of its messages (a message's own value wins)
BATCH_DEFAULTS = ("context", "sentAt")

WITH_PROPERTIES = ("track", "page", "screen")  # their data is `properties`
WITH_TRAITS = ("identify", "group")  # their data is `traits`; an alias has no data
DEFAULT_NAMES = {"page": "pageview", "screen": "screen"}
# kept under data.segment, those the message has
SEGMENT_FIELDS = ("type", "userId", "anonymousId", "context", "groupId", "previousId")
SEGMENT_KEY = "segment"
# where the session comes from, in order: the first that is set
SESSION_SOURCES = ("properties.session_id", "context.session_id", "anonymousId", "userId")
# key of the event's context <- key of the message's context (docs/API.md, "Event context")
CONTEXT_SOURCES = {
    "ip": "ip",
    "user_agent": "userAgent",
    "page": "page",
    "locale": "locale",
    "timezone": "timezone",
    "screen": "screen",
}
# the members of context.page and context.screen the event's context takes (Segment's page also
# has path and search, read off the url; its screen has density)
PAGE_KEYS = ("url", "referrer", "title")
SCREEN_KEYS = ("width", "height")
CAMPAIGN_SOURCE = "campaign"  # the message's context.campaign: stated apart from the page's utm_*
ADDRESS_KEY = "ip"  # not kept under data.segment.context: the event's context has it anonymised
TIMESTAMP_SOURCES = ("timestamp", "originalTimestamp")  # else the time received
MESSAGE_ID_PREFIX = "sm1-"  # an event_id derived from a messageId that does not fit the rule


@dataclass(frozen=True, slots=True)
class Envelope:
    """One item of a request as an event object: what ``validate_event`` judges, what a
    rejection records, and how to name a problem in the sender's terms.

    ``errors`` set: the item cannot even be read as an event (not an object, no known type).
    ``sources`` maps an envelope field to the sender's field it was taken from; ``session_id``
    and ``event_id`` are what the error record is filed under (None: read off the payload).
    ``campaign`` is one the sender stated apart from the page (a message's ``context.campaign``).
    """

    event: Any
    payload: Any
    errors: tuple[FieldError, ...] = ()
    sources: Mapping[str, str] = field(default_factory=dict)
    session_id: str | None = None
    event_id: str | None = None
    campaign: Any = None

    def blame(self, error: FieldError) -> FieldError:
        """The problem, named by the field the sender wrote."""
        source = self.sources.get(error.field)
        if source is None:
            return error
        if error.field == "session_id" and source == "anonymousId" and error.message == "is required":
            return FieldError(source, f"is required: send anonymousId or userId (or {SESSION_SOURCES[0]})")
        return FieldError(source, error.message)


def envelopes(body: Any, received_at: str, kind: str | None) -> list[Envelope]:
    """The messages of a ``/v1/<kind>`` body (``kind`` None: ``/v1/batch``) as event objects.

    Raises ``InvalidRequest`` when the body as a whole is not what the route takes.
    """
    if kind is not None:
        if not isinstance(body, dict):
            raise _invalid_body(f"the body of /v1/{kind} must be one message object", body)
        return [to_envelope(body, kind, received_at)]
    if not isinstance(body, dict) or not isinstance(body.get("batch"), list):
        got = body.get("batch") if isinstance(body, dict) else body
        raise _invalid_body('the body of /v1/batch must be an object {"batch": [messages]}', got)
    messages = counted_items(
        body["batch"], empty="the batch is empty", container="the batch", noun="messages", field="batch"
    )
    defaults = {name: body[name] for name in BATCH_DEFAULTS if body.get(name) is not None}
    return [to_envelope(message, None, received_at, defaults) for message in messages]


def to_envelope(
    message: Any, kind: str | None, received_at: str, defaults: Mapping[str, Any] | None = None
) -> Envelope:
    """One Segment message as the event object of ``POST /events`` (the contract's table).

    ``kind`` is the route's type (None in a batch: the message's ``type``); ``defaults`` are the
    batch's ``context`` and ``sentAt``; ``received_at`` is the timestamp of a message without one.
    """
    if not isinstance(message, dict):
        return Envelope(
            None, message, (FieldError("message", f"must be a JSON object, not {described(message)}"),)
        )
    message = without_write_key(message)
    kind = kind or message.get("type")
    if kind not in MESSAGE_TYPES:
        problem = FieldError("type", f"must be one of {', '.join(MESSAGE_TYPES)}, not {_shown(kind)}")
        return Envelope(None, message, (problem,))
    defaults = defaults or {}
    context = _context(message.get("context"), defaults.get("context"))
    body_field = "properties" if kind in WITH_PROPERTIES else "traits" if kind in WITH_TRAITS else None
    body = message.get(body_field) if body_field else None
    properties = body if kind in WITH_PROPERTIES and isinstance(body, dict) else {}

    sources: dict[str, str] = {}
    event: dict[str, Any] = {}
    session, sources["session_id"] = _session(properties, context, message)
    if session is not None:
        event["session_id"] = session
    event["category"], sources["category"] = _category(kind, properties, message)
    name, sources["name"] = _name(kind, message)
    if name is not None:
        event["name"] = name

    visit = event_context(context)
    if visit is not None:
        event["context"] = visit
        sources.update({f"context.{key}": f"context.{CONTEXT_SOURCES[key]}" for key in visit})

    segment = {key: message[key] for key in SEGMENT_FIELDS if message.get(key) is not None}
    segment["type"] = kind
    if isinstance(context, dict) and ADDRESS_KEY in context:
        segment["context"] = {key: value for key, value in context.items() if key != ADDRESS_KEY}
    elif context is not None:
        segment["context"] = context
    if body is None:
        event["data"] = {SEGMENT_KEY: segment}
    elif isinstance(body, dict):
        event["data"] = {**body, SEGMENT_KEY: segment}
    else:
        event["data"] = body  # not an object: refused by the envelope rule, named as sent
    if body_field:
        sources["data"] = body_field

    for source in TIMESTAMP_SOURCES:
        if message.get(source) is not None:
            event["timestamp"], sources["timestamp"] = message[source], source
            sent_at = message.get("sentAt", defaults.get("sentAt"))
            if sent_at is not None:  # corrects the sender's clock, so only the sender's times
                event["sent_at"], sources["sent_at"] = sent_at, "sentAt"
            break
    else:
        event["timestamp"] = received_at

    event_id = message_event_id(message.get("messageId"))
    if event_id is not None:
        event["event_id"], sources["event_id"] = event_id, "messageId"
    return Envelope(
        event,
        message,
        sources=sources,
        session_id=usable_session_id(event),
        event_id=event_id,
        campaign=context.get(CAMPAIGN_SOURCE) if isinstance(context, dict) else None,
    )


def event_context(context: Any) -> dict[str, Any] | None:
    """The event's ``context`` from a message's (the contract's table): its address, user
    agent, page (url, referrer, title), locale, timezone and screen (width, height), those it
    has; None when it has none. Values other than empty strings are taken as sent: the
    envelope's rules judge them."""
    if not isinstance(context, dict):
        return None
    found: dict[str, Any] = {}
    for key, source in CONTEXT_SOURCES.items():
        value = context.get(source)
        if value is None or value == "":  # as the session's sources: an empty value is none
            continue
        members = PAGE_KEYS if key == "page" else SCREEN_KEYS if key == "screen" else None
        if members is not None and isinstance(value, dict):
            value = {member: value[member] for member in members if value.get(member) is not None}
            if not value:
                continue
        found[key] = value
    return found or None


def message_event_id(message_id: Any) -> str | None:
    """The ``event_id`` of a message: its ``messageId`` when that fits the rule, else one
    derived from it (the same for every retry); None without a ``messageId``."""
    if message_id is None:
        return None
    if isinstance(message_id, str) and EVENT_ID_PATTERN.fullmatch(message_id):
        return message_id
    digest = hashlib.sha256(canonical_json(message_id).encode("utf-8")).hexdigest()
    return MESSAGE_ID_PREFIX + digest[:40]


def without_write_key(value: dict[str, Any]) -> dict[str, Any]:
    """The object without its ``writeKey``: a key is never queued, stored or recorded."""
    return {k: v for k, v in value.items() if k != WRITE_KEY} if WRITE_KEY in value else value


def redact_text(text: str) -> str:
    """A body that could not be read as JSON, its ``writeKey`` values replaced."""
    return WRITE_KEY_TEXT.sub(lambda m: m.group(1) + REDACTED + m.group(3), text)


def write_key(body: Any) -> str | None:
    """The key a body carries: ``writeKey`` of the body, else of its first message that has one."""
    if not isinstance(body, dict):
        return None
    batch = body.get("batch")
    candidates = [body, *(m for m in batch if isinstance(m, dict))] if isinstance(batch, list) else [body]
    for candidate in candidates:
        key = candidate.get(WRITE_KEY)
        if isinstance(key, str) and key.strip():
            return key.strip()
    return None


def _context(own: Any, batch: Any) -> Any:
    """The message's context over the batch's, key by key (either alone when the other is not an object)."""
    if isinstance(own, dict) and isinstance(batch, dict):
        return {**batch, **own}
    return own if own is not None else batch


def _session(properties: dict[str, Any], context: Any, message: dict[str, Any]) -> tuple[Any, str]:
    values = (
        properties.get("session_id"),
        context.get("session_id") if isinstance(context, dict) else None,
        message.get("anonymousId"),
        message.get("userId"),
    )
    for source, value in zip(SESSION_SOURCES, values, strict=True):
        if value is None or value == "":
            continue
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value), source  # numeric ids (an epoch-millisecond session) as their digits
        return value, source
    return None, "anonymousId"


def _category(kind: str, properties: dict[str, Any], message: dict[str, Any]) -> tuple[str, str]:
    if isinstance(properties.get("category"), str):
        return properties["category"], "properties.category"
    if kind == "page" and isinstance(message.get("category"), str):
        return message["category"], "category"
    return kind, "type"


def _name(kind: str, message: dict[str, Any]) -> tuple[Any, str]:
    if kind == "track":
        return message.get("event"), "event"
    if kind in DEFAULT_NAMES:
        name = message.get("name")
        return (DEFAULT_NAMES[kind] if name is None else name), "name"
    return kind, "type"


def _shown(value: Any) -> str:
    return repr(value) if isinstance(value, str) else described(value)


def _invalid_body(message: str, got: Any) -> InvalidRequest:
    return InvalidRequest(
        message, code="invalid_body", details=[{"field": "body", "message": f"got {described(got)}"}]
    )
