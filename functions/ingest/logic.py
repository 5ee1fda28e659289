"""The ingest use cases: turn one HTTP request into queued events and recorded rejections
(``ingest_request``, for ``POST /events`` and the Segment-compatible ``/v1/*`` routes); and its dry
run (``validate_request``, for ``POST /events/validate``), which reads the body the same way and
writes nothing.

Nothing here knows about Lambda or HTTP frameworks: a request is a plain ``Request`` and
collaborators are passed in. ``ingest`` and ``validate`` are the same use cases on a body that is
already bytes (the tools and the tests call them so).
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from theeye import segment, strict_json
from theeye.checks import DryRun, Rules, dry_run
from theeye.clock import Clock, format_timestamp, parse_timestamp
from theeye.config import Settings
from theeye.context import enrich, redact_addresses, without_address
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
from theeye.keys import ApiKey, Authenticator, presented_key
from theeye.messages import Origin, QueuedEvent, Rejection, cut_payload, pack
from theeye.observability import logger, metrics
from theeye.ports import Intake
from theeye.segment import Envelope

if TYPE_CHECKING:  # loaded by the handler on the first dry run only (see ingest.handler)
    from theeye.schemas import SchemaRegistry


@dataclass(frozen=True)
class Request:
    """An ingest request as the gateway delivered it: the body (text, or base64 of the bytes),
    the headers (names lower-cased), the query string, the request's id and the address it came
    from (never logged, queued or stored: see ``Visit``)."""

    body: str | None
    is_base64: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    request_id: str = ""
    source_ip: str = field(default="", repr=False)

    def visit(self, settings: Settings) -> Visit:
        return Visit(self.headers.get("user-agent"), self.source_ip or None, settings)


@dataclass(frozen=True)
class Visit:
    """What a request says about the end user besides its events (its ``User-Agent`` and
    source address) and how the stored context is built from it (``IP_ANONYMIZATION``,
    ``GEOIP_DATABASE``). The raw address stays here: it reaches the queue only anonymised,
    inside an event's context, and is redacted from whatever the error store keeps."""

    user_agent: str | None = None
    address: str | None = field(default=None, repr=False)
    settings: Settings = field(default_factory=Settings)

    def context(self, sent: Any, campaign: Any = None) -> dict[str, Any]:
        """The stored context of an event that sent ``sent`` (checked) as its ``context``."""
        if not sent and not campaign:
            return self.request_context
        return enrich(sent, self.user_agent, self.address, self.settings, campaign=campaign)

    @cached_property
    def request_context(self) -> dict[str, Any]:
        """The context of an event that sent none: the request's alone, built once per request
        and shared by its events (which never change it)."""
        return enrich(None, self.user_agent, self.address, self.settings)

    def redact(self, text: str) -> str:
        """A body kept as text, without any end user's address."""
        return redact_addresses(text, self.address)


@dataclass(frozen=True)
class Body:
    """A request body as read: its bytes (decoded and decompressed) and the JSON value they hold."""

    raw: bytes
    value: Any

    def text(self) -> str:
        return self.raw.decode("utf-8", errors="replace")


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


@dataclass(frozen=True)
class Dialect:
    """How a route reads its request: ``POST /events`` takes event objects as they are and a key
    in the headers; the ``/v1/*`` routes take Segment messages (``theeye.segment``) and a key as
    HTTP Basic or in the body too. Everything after the reading (envelope rules, limits,
    queueing, rejections, ledger) is shared."""

    envelopes: Callable[[Any, str], list[Envelope]]  # parsed body, received_at -> one per item
    redact: Callable[[str], str] = str  # a body kept as text for the error store, secrets removed
    basic_auth: bool = False  # the key may come as HTTP Basic user name too
    body_key: Callable[[Any], str | None] | None = None  # where a body carries the key, if it may


def _events(body: Any, received_at: str) -> list[Envelope]:
    return [Envelope(item, item) for item in _split(body)]


EVENTS = Dialect(_events)


def segment_dialect(kind: str | None) -> Dialect:
    """The dialect of ``/v1/<kind>`` (``kind`` None: ``/v1/batch``)."""
    return Dialect(
        partial(segment.envelopes, kind=kind),
        segment.redact_text,
        basic_auth=True,
        body_key=segment.write_key,
    )


@dataclass(frozen=True)
class Validation:
    """What a dry run judges by besides the request: the schemas of the event types, the rules."""

    schemas: SchemaRegistry
    rules: Rules


def ingest_request(
    request: Request,
    dialect: Dialect,
    *,
    authenticator: Authenticator,
    intake: Intake,
    clock: Clock,
    settings: Settings,
) -> IngestResult:
    """``POST /events`` and ``/v1/*``: the caller's key checked (scope ``ingest``), the body read,
    its valid events queued with their context and its rejections recorded (see ``ingest``);
    counted and logged."""
    caller, body = _caller(request, dialect, authenticator)
    origin = Origin(
        application_id=caller.application_id,
        key_id=caller.key_id,
        received_at=format_timestamp(clock()),
        request_id=request.request_id,
    )
    logger.append_keys(application_id=caller.application_id, key_id=caller.key_id)
    visit = request.visit(settings)
    rejections = Rejections(intake, origin, _redaction(dialect, visit))
    try:
        result = _accept(body or read_request(request, rejections), rejections, dialect, visit)
    except InvalidRequest as exc:
        metrics.add_metric(name="RequestsRejected", unit=MetricUnit.Count, value=1)
        logger.info("request rejected", extra={"code": exc.code})
        raise
    metrics.add_metric(name="EventsAccepted", unit=MetricUnit.Count, value=len(result.events))
    if result.rejections:
        metrics.add_metric(name="EventsRejected", unit=MetricUnit.Count, value=len(result.rejections))
    logger.info("events queued", extra={"accepted": len(result.events), "rejected": len(result.rejections)})
    return result


def validate_request(
    request: Request,
    *,
    authenticator: Authenticator,
    validation: Callable[[], Validation],
    clock: Clock,
) -> DryRun:
    """``POST /events/validate``: the key checked and the body read as for ``POST /events`` (the
    same 401, 403, 400 and 413), then ``validate``; ``validation`` is asked for only then."""
    received_at = format_timestamp(clock())
    caller, _ = _caller(request, EVENTS, authenticator)
    logger.append_keys(application_id=caller.application_id, key_id=caller.key_id)
    body = read_request(request)
    report = _dry_run(body, caller.application_id, received_at, validation())
    metrics.add_metric(name="EventsValidated", unit=MetricUnit.Count, value=len(report.results))
    logger.info("events validated", extra={"valid": report.valid, "invalid": report.invalid})
    return report


def ingest(
    raw: bytes,
    *,
    origin: Origin,
    intake: Intake,
    dialect: Dialect = EVENTS,
    visit: Visit | None = None,
) -> IngestResult:
    """Validate a request body, queue the valid events (each with the context built from what
    it sent and from ``visit``) and the rejections, say what happened.

    Raises ``InvalidRequest`` (400) when nothing can be accepted; the rejection still reaches
    the error store through the queue. Raises ``ServiceUnavailable`` (503) when the queue does
    not take the events: then nothing was accepted and the client retries.
    """
    visit = visit or Visit()
    rejections = Rejections(intake, origin, _redaction(dialect, visit))
    return _accept(read_body(raw, rejections), rejections, dialect, visit)


def validate(raw: bytes, *, application_id: str, received_at: str, validation: Validation) -> DryRun:
    """The dry run: the body read as ``POST /events`` reads it (the same 400s), then every event
    judged by every check of the pipeline as if received at ``received_at``.

    It takes no ``Intake`` on purpose: nothing is queued, counted or recorded, not even the
    rejections that ``ingest`` sends to the error store.
    """
    return _dry_run(read_body(raw), application_id, received_at, validation)


def _redaction(dialect: Dialect, visit: Visit) -> Callable[[str], str]:
    """What a body kept as text loses before the error store sees it: the dialect's secrets and
    every end user's address."""
    return lambda text: visit.redact(dialect.redact(text))


def _accept(body: Body, rejections: Rejections, dialect: Dialect, visit: Visit) -> IngestResult:
    origin = rejections.origin
    try:
        items = dialect.envelopes(body.value, origin.received_at)
    except InvalidRequest as exc:
        rejections.whole("invalid_envelope", exc, body.text())
        raise

    result = IngestResult()
    received = parse_timestamp(origin.received_at)
    for index, item in enumerate(items):
        outcome = list(item.errors) or validate_event(item.event, origin.application_id, received)
        if isinstance(outcome, Event):
            sent, sent_at = item.event.get("timestamp"), item.event.get("sent_at")
            event = replace(outcome, context=visit.context(item.event.get("context"), item.campaign))
            result.events.append(
                QueuedEvent(index, event, sent if sent != outcome.client_timestamp else None, sent_at)
            )
        else:
            errors = [item.blame(e).to_dict() for e in outcome]
            result.rejections.append(
                Rejection(
                    index,
                    "invalid_envelope",
                    errors,
                    cut_payload(without_address(item.payload)),
                    session_id=item.session_id,
                    event_id=item.event_id,
                )
            )

    if not result.events:
        rejections.send(*result.rejections)
        raise InvalidRequest(
            "no event in the request was accepted",
            code="invalid_events",
            details=[{"index": r.index, "errors": r.errors} for r in result.rejections],
        )
    rejections.intake.accept(list(pack(origin, result.events, result.rejections)))
    return result


def _dry_run(body: Body, application_id: str, received_at: str, validation: Validation) -> DryRun:
    return dry_run(
        _split(body.value),
        application_id=application_id,
        received_at=received_at,
        schemas=validation.schemas,
        rules=validation.rules,
    )


def _caller(request: Request, dialect: Dialect, authenticator: Authenticator) -> tuple[ApiKey, Body | None]:
    """The key of ``request``, with scope ``ingest``: from the headers (or ``?key=`` for beacons),
    or where the dialect allows, HTTP Basic or the body. The body is returned too when it had to
    be read for the key."""
    key = presented_key(request.headers, request.query, basic=dialect.basic_auth)
    body = None
    if not key and dialect.body_key is not None:
        try:
            body = read_request(request)
            key = dialect.body_key(body.value)
        except (InvalidRequest, PayloadTooLarge):  # an unreadable body has no key: a 401, as none
            body = None
    return authenticator.authenticate(key, "ingest"), body


def read_request(request: Request, rejections: Rejections | None = None) -> Body:
    """The body of ``request``: base64 decoded, gzip decompressed, at most 1 MiB
    (``PayloadTooLarge``), strict JSON (``InvalidRequest``).

    With ``rejections``, a body that cannot be read is recorded as an ``invalid_json``
    rejection of the whole request: as received when it cannot be decoded (bad base64 or gzip),
    as text when it is not JSON.
    """
    try:
        raw = decode_body(request.body, request.is_base64, request.headers.get("content-encoding"))
    except InvalidRequest as exc:
        if rejections is not None:
            rejections.whole("invalid_json", exc, request.body or "")
        raise
    return read_body(raw, rejections)


def read_body(raw: bytes, rejections: Rejections | None = None) -> Body:
    """``raw`` parsed as strict JSON; with ``rejections``, recorded when it is not JSON."""
    try:
        return Body(raw, parse_body(raw))
    except InvalidRequest as exc:
        if rejections is not None:
            rejections.whole("invalid_json", exc, raw.decode("utf-8", errors="replace"))
        raise


@dataclass(frozen=True)
class Rejections:
    """Where one request's rejections go: to the error store, through the intake. A queue failure
    is logged and never changes the request's 400."""

    intake: Intake
    origin: Origin
    redact: Callable[[str], str] = str

    def whole(self, kind: str, exc: InvalidRequest, text: str) -> None:
        """The request refused as a whole; its payload is ``text``, secrets removed, cut short."""
        self.send(Rejection(None, kind, _field_errors(exc), cut_payload(self.redact(text))))

    def send(self, *rejections: Rejection) -> None:
        try:
            self.intake.accept(list(pack(self.origin, [], rejections)))
        except QueueUnavailable:
            logger.warning("could not queue rejections for the error store", extra={"count": len(rejections)})


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
