"""The ingest use case: turn one HTTP body into queued events and recorded rejections; and
its dry run (``validate``), which reads the body the same way and writes nothing.

Nothing here knows about Lambda or HTTP frameworks; collaborators are passed in.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from theeye import segment, strict_json
from theeye.checks import DryRun, Rules, dry_run
from theeye.clock import parse_timestamp
from theeye.errors import InvalidRequest, PayloadTooLarge, QueueUnavailable
from theeye.events import (
    CONTENT_ENCODINGS,
    MAX_BODY_BYTES,
    MAX_COMPRESSED_BODY_BYTES,
    Event,
    FieldError,
    counted_items,
    validate_event,
)
from theeye.messages import Origin, QueuedEvent, Rejection, cut_payload, pack
from theeye.observability import logger
from theeye.ports import Intake
from theeye.segment import Envelope

if TYPE_CHECKING:  # loaded by the handler on the first dry run only (see ingest.handler)
    from theeye.schemas import SchemaRegistry


@dataclass
class IngestResult:
    events: list[QueuedEvent] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)

    def to_response(self) -> dict[str, Any]:
        return {
            "accepted": len(self.events),
            "event_ids": [e.event.event_id for e in self.events],
            "rejected": [{"index": r.index, "errors": r.errors} for r in self.rejections],
        }


def decode_body(body: str | None, is_base64: bool, content_encoding: str | None = None) -> bytes:
    """The request body as bytes, decompressed when it says ``Content-Encoding: gzip``,
    refusing anything over the 1 MiB limit (of the decompressed body) before parsing it."""
    if body is None:
        return b""
    encoding = _encoding(content_encoding)
    wire_limit = MAX_COMPRESSED_BODY_BYTES if encoding else MAX_BODY_BYTES
    if is_base64:
        if len(body) > (wire_limit * 4) // 3 + 4:
            raise _too_large()
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidRequest("the request body is not valid base64", code="invalid_json") from None
    else:
        if len(body) > wire_limit:  # characters <= bytes, so this is a cheap early check
            raise _too_large()
        raw = body.encode("utf-8", errors="surrogatepass")
    if len(raw) > wire_limit:
        raise _too_large()
    return gunzip(raw) if encoding else raw


def _encoding(header: str | None) -> str | None:
    """``gzip`` for a gzip body, None for an identity one; ``InvalidRequest`` for another coding."""
    codings = [c.strip().lower() for c in (header or "").split(",") if c.strip()]
    codings = [c for c in codings if c != "identity"]
    if not codings:
        return None
    if codings in ([c] for c in CONTENT_ENCODINGS):
        return "gzip"
    raise InvalidRequest(
        f"Content-Encoding {header!r} is not supported; send gzip or an uncompressed body",
        code="unsupported_content_encoding",
        details=[{"field": "Content-Encoding", "message": "only gzip is accepted"}],
    )


def gunzip(raw: bytes) -> bytes:
    """A gzip body (one or more members) decompressed, never beyond ``MAX_BODY_BYTES``: a body
    that inflates past it (a decompression bomb) is refused as soon as it does, having held at
    most that much in memory."""
    out = bytearray()
    rest = raw
    while True:
        inflater = zlib.decompressobj(wbits=31)  # 31: a gzip header and trailer
        try:
            out += inflater.decompress(rest, MAX_BODY_BYTES + 1 - len(out))
        except zlib.error as exc:
            raise _not_gzip(str(exc)) from None
        if len(out) > MAX_BODY_BYTES or inflater.unconsumed_tail:
            raise _too_large(decompressed=True)
        if not inflater.eof:
            raise _not_gzip("the compressed data ends early")
        rest = inflater.unused_data
        if not rest:
            return bytes(out)


def _not_gzip(reason: str) -> InvalidRequest:
    return InvalidRequest(
        "the request body says Content-Encoding: gzip but is not valid gzip",
        code="invalid_json",
        details=[{"field": "body", "message": reason[:200]}],
    )


def _too_large(*, decompressed: bool = False) -> PayloadTooLarge:
    what = "decompressed request body" if decompressed else "request body"
    return PayloadTooLarge(f"the {what} is larger than {MAX_BODY_BYTES} bytes (1 MiB); send fewer events")


def parse_body(raw: bytes) -> Any:
    """Parse JSON strictly (no NaN/Infinity); raise ``InvalidRequest`` with where it broke."""
    if not raw.strip():
        raise InvalidRequest(
            "the request body is empty; send an event object or an array of them", code="empty_body"
        )
    try:
        return strict_json.loads(raw.decode("utf-8"))
    except strict_json.UnpairedSurrogate as exc:
        raise InvalidRequest(
            "the request body is not valid JSON: a string holds half of a UTF-16 surrogate pair",
            code="invalid_json",
            details=[{"field": "body", "message": str(exc)}],
        ) from None
    except UnicodeDecodeError:
        raise InvalidRequest(
            "the request body is not UTF-8 text",
            code="invalid_json",
            details=[{"field": "body", "message": "not UTF-8"}],
        ) from None
    except (ValueError, RecursionError) as exc:
        raise InvalidRequest(
            "the request body is not valid JSON",
            code="invalid_json",
            details=[{"field": "body", "message": str(exc)[:200] or "nested too deeply"}],
        ) from None


@dataclass(frozen=True)
class Dialect:
    """How a route reads its body as events: ``POST /events`` takes event objects as they are,
    the ``/v1/*`` routes take Segment messages (``theeye.segment``). Everything after the
    reading (envelope rules, limits, queueing, rejections, ledger) is shared."""

    envelopes: Callable[[Any, str], list[Envelope]]  # parsed body, received_at -> one per item
    redact: Callable[[str], str] = str  # a body kept as text for the error store, secrets removed


def _events(body: Any, received_at: str) -> list[Envelope]:
    return [Envelope(item, item) for item in _split(body)]


EVENTS = Dialect(_events)


def segment_dialect(kind: str | None) -> Dialect:
    """The dialect of ``/v1/<kind>`` (``kind`` None: ``/v1/batch``)."""
    return Dialect(partial(segment.envelopes, kind=kind), segment.redact_text)


def ingest(
    raw: bytes,
    *,
    origin: Origin,
    intake: Intake,
    dialect: Dialect = EVENTS,
) -> IngestResult:
    """Validate a request body, queue the valid events and the rejections, say what happened.

    Raises ``InvalidRequest`` (400) when nothing can be accepted; the rejection still reaches
    the error store through the queue. Raises ``ServiceUnavailable`` (503) when the queue does
    not take the events: then nothing was accepted and the client retries.
    """
    try:
        items = dialect.envelopes(parse_body(raw), origin.received_at)
    except InvalidRequest as exc:
        kind = "invalid_json" if exc.code in ("invalid_json", "empty_body") else "invalid_envelope"
        payload = dialect.redact(raw.decode("utf-8", errors="replace"))
        _record_quietly(intake, origin, Rejection(None, kind, _field_errors(exc), cut_payload(payload)))
        raise

    result = IngestResult()
    received = parse_timestamp(origin.received_at)
    for index, item in enumerate(items):
        outcome = list(item.errors) or validate_event(item.event, origin.application_id, received)
        if isinstance(outcome, Event):
            sent, sent_at = item.event.get("timestamp"), item.event.get("sent_at")
            result.events.append(
                QueuedEvent(index, outcome, sent if sent != outcome.client_timestamp else None, sent_at)
            )
        else:
            errors = [item.blame(e).to_dict() for e in outcome]
            result.rejections.append(
                Rejection(
                    index,
                    "invalid_envelope",
                    errors,
                    cut_payload(item.payload),
                    session_id=item.session_id,
                    event_id=item.event_id,
                )
            )

    if not result.events:
        _record_quietly(intake, origin, *result.rejections)
        raise InvalidRequest(
            "no event in the request was accepted",
            code="invalid_events",
            details=[{"index": r.index, "errors": r.errors} for r in result.rejections],
        )
    intake.accept(list(pack(origin, result.events, result.rejections)))
    return result


def _split(body: Any) -> list[Any]:
    if isinstance(body, dict):
        return [body]
    if isinstance(body, list):
        return counted_items(
            body,
            empty="the request body is an empty array",
            container="the request",
            noun="events",
            field="body",
        )
    raise InvalidRequest(
        "the request body must be an event object or an array of event objects",
        code="invalid_body",
        details=[{"field": "body", "message": f"got {type(body).__name__}"}],
    )


def _field_errors(exc: InvalidRequest) -> list[dict[str, str]]:
    fields = [d for d in exc.details if isinstance(d, dict) and "field" in d]
    return fields or [FieldError("body", exc.message).to_dict()]


def record_unreadable(
    intake: Intake, origin: Origin, exc: InvalidRequest, body: str | None, dialect: Dialect = EVENTS
) -> None:
    """Record a body that could not even be decoded (bad base64 or gzip) in the error store, as
    an ``invalid_json`` rejection of the whole request whose payload is the body as received."""
    payload = cut_payload(dialect.redact(body or ""))
    _record_quietly(intake, origin, Rejection(None, "invalid_json", _field_errors(exc), payload))


def _record_quietly(intake: Intake, origin: Origin, *rejections: Rejection) -> None:
    """Send rejections to the error store through the queue; a queue failure does not change the 400."""
    try:
        intake.accept(list(pack(origin, [], rejections)))
    except QueueUnavailable:
        logger.warning("could not queue rejections for the error store", extra={"count": len(rejections)})


@dataclass(frozen=True)
class Validation:
    """What a dry run judges by besides the request: the schemas of the event types, the rules."""

    schemas: SchemaRegistry
    rules: Rules


def validate(raw: bytes, *, application_id: str, received_at: str, validation: Validation) -> DryRun:
    """``POST /events/validate``: the body read as ``POST /events`` reads it (the same 400s), then
    every event judged by every check of the pipeline as if received at ``received_at``.

    It takes no ``Intake`` on purpose: nothing is queued, counted or recorded, not even the
    rejections that ``ingest`` sends to the error store.
    """
    items = _split(parse_body(raw))
    return dry_run(
        items,
        application_id=application_id,
        received_at=received_at,
        schemas=validation.schemas,
        rules=validation.rules,
    )
