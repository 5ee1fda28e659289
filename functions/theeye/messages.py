"""The queue's message format, shared by the ingest function (writer) and the processor (reader).

One message carries many events of one request (packed up to ``MAX_MESSAGE_BYTES`` and
``MAX_ITEMS_PER_MESSAGE``) and the request's rejected events, so the ingest path makes one SQS call for a typical request and the
error store hears of every rejection through the same queue.

    {"v": 1, "application_id": "...", "key_id": "...", "received_at": "...Z", "request_id": "...",
     "replay": true (only in a replay's messages: recorded errors' events entering again),
     "events": [{index, event_id, session_id, category, name, data, timestamp,
                 client_timestamp?, sent_timestamp?, sent_at?}, ...],
     "rejections": [{"index": 3 | null, "type": "invalid_envelope" | "invalid_json",
                     "errors": [{"field", "message"}], "payload": <JSON value or text>}]}
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from theeye.events import Event, compact_json

FORMAT_VERSION = 1
# SQS bills per 64 KiB chunk and accepts larger messages, but a processor batch of 10 messages
# must stay under Lambda's 6 MB invocation payload: 10 x 250 KiB does, with room to spare.
MAX_MESSAGE_BYTES = 250 * 1024
MAX_ERROR_PAYLOAD_BYTES = 32 * 1024
# What bounds a processor invocation's work: a batch is at most ProcessorBatchSize messages of
# at most this many events, each one or two writes, so no batch can outgrow the function's
# timeout however large the requests were (a message of 500 events ran past 30 s on moto).
MAX_ITEMS_PER_MESSAGE = 100


def cut_payload(payload: Any) -> Any:
    """The payload as sent, or its JSON text cut to 32 KiB when it is larger."""
    if isinstance(payload, str):
        encoded = payload.encode("utf-8")
        if len(encoded) <= MAX_ERROR_PAYLOAD_BYTES:
            return payload
        return encoded[:MAX_ERROR_PAYLOAD_BYTES].decode("utf-8", errors="ignore")
    text = compact_json(payload)
    if len(text.encode("utf-8")) <= MAX_ERROR_PAYLOAD_BYTES:
        return payload
    return cut_payload(text)


@dataclass(frozen=True, slots=True)
class Rejection:
    """An event (``index``) or a whole request (``index`` None) that ingest refused."""

    index: int | None
    type: str
    errors: list[dict[str, str]]
    payload: Any
    # what the error is filed under when the payload does not say it by the envelope's names
    # (a Segment message); None: read off the payload
    session_id: str | None = None
    event_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        filed = {k: v for k, v in (("session_id", self.session_id), ("event_id", self.event_id)) if v}
        return {
            "index": self.index,
            "type": self.type,
            "errors": self.errors,
            "payload": self.payload,
            **filed,
        }

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> Rejection:
        return cls(
            index=value.get("index"),
            type=str(value["type"]),
            errors=list(value.get("errors") or []),
            payload=value.get("payload"),
            session_id=value.get("session_id"),
            event_id=value.get("event_id"),
        )


@dataclass(frozen=True, slots=True)
class Origin:
    """Who sent a request and when it arrived; stamped once at ingest."""

    application_id: str
    key_id: str
    received_at: str
    request_id: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": FORMAT_VERSION,
            "application_id": self.application_id,
            "key_id": self.key_id,
            "received_at": self.received_at,
            "request_id": self.request_id,
        }


@dataclass(frozen=True, slots=True)
class QueuedEvent:
    """An accepted event and its position in the request (which tells two copies apart)."""

    index: int
    event: Event
    sent_timestamp: str | None = None  # the timestamp as the client wrote it, when not normalised already
    sent_at: str | None = None  # the request's sent_at as the client wrote it, when given

    def to_dict(self) -> dict[str, Any]:
        extra = {"sent_timestamp": self.sent_timestamp} if self.sent_timestamp is not None else {}
        if self.sent_at is not None:
            extra["sent_at"] = self.sent_at
        return {"index": self.index, **self.event.to_dict(), **extra}

    def as_sent(self) -> dict[str, Any]:
        """The event as the application sent it (for error records), its id included."""
        sent = {"event_id": self.event.event_id, **self.event.content()}
        if self.sent_timestamp is not None:
            sent["timestamp"] = self.sent_timestamp
        if self.sent_at is not None:
            sent["sent_at"] = self.sent_at
        return sent


@dataclass(slots=True)
class QueueMessage:
    origin: Origin
    events: list[QueuedEvent] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    # the events are recorded errors' events entering again (``POST /errors/replay``): the ledger
    # counts them as ``replayed``, not ``accepted``
    replay: bool = False
    # The body as ``pack`` wrote it, from the texts of the items it measured (a packed message is
    # complete: nothing is added to it); None: written from the items when asked.
    body: str | None = field(default=None, repr=False, compare=False)

    def to_body(self) -> str:
        if self.body is not None:
            return self.body
        return compact_json(
            {
                **self.origin.to_dict(),
                **({"replay": True} if self.replay else {}),
                "events": [e.to_dict() for e in self.events],
                "rejections": [r.to_dict() for r in self.rejections],
            }
        )

    @classmethod
    def from_body(cls, body: str) -> QueueMessage:
        """Parse a message body; raises ``ValueError`` (or ``KeyError``) when it is not one of ours."""
        value = json.loads(body)
        if not isinstance(value, dict) or value.get("v") != FORMAT_VERSION:
            raise ValueError("not a version-1 The Eye message")
        origin = Origin(
            application_id=str(value["application_id"]),
            key_id=str(value.get("key_id", "")),
            received_at=str(value["received_at"]),
            request_id=str(value.get("request_id", "")),
        )
        return cls(
            origin=origin,
            events=[
                QueuedEvent(int(e["index"]), Event.from_dict(e), e.get("sent_timestamp"), e.get("sent_at"))
                for e in value.get("events") or []
            ],
            rejections=[Rejection.from_dict(r) for r in value.get("rejections") or []],
            replay=value.get("replay") is True,
        )


def pack(
    origin: Origin, events: Iterable[QueuedEvent], rejections: Iterable[Rejection]
) -> Iterator[QueueMessage]:
    """Pack a request's events and rejections into as few messages as the limits allow. Each
    item is written as JSON once: the text measured is the text its message's body holds."""
    head = compact_json(origin.to_dict())
    budget = MAX_MESSAGE_BYTES - len(head) - 64
    current, texts = QueueMessage(origin), _Texts()
    used = 0
    items: list[QueuedEvent | Rejection] = [*events, *rejections]
    for item in items:
        text = compact_json(item.to_dict())
        size = len(text.encode("utf-8")) + 1
        full = len(current.events) + len(current.rejections) >= MAX_ITEMS_PER_MESSAGE
        if (full or used + size > budget) and (current.events or current.rejections):
            yield texts.seal(current, head)
            current, texts, used = QueueMessage(origin), _Texts(), 0
        if isinstance(item, QueuedEvent):
            current.events.append(item)
            texts.events.append(text)
        else:
            current.rejections.append(item)
            texts.rejections.append(text)
        used += size
    if current.events or current.rejections:
        yield texts.seal(current, head)


@dataclass(slots=True)
class _Texts:
    """The JSON texts of a message's events and rejections, as ``pack`` wrote them."""

    events: list[str] = field(default_factory=list)
    rejections: list[str] = field(default_factory=list)

    def seal(self, message: QueueMessage, head: str) -> QueueMessage:
        """``message`` with its body: what ``QueueMessage.to_body`` writes, from ``head`` (the
        origin's JSON object) and these texts."""
        message.body = (
            f'{head[:-1]},"events":[{",".join(self.events)}],"rejections":[{",".join(self.rejections)}]}}'
        )
        return message
