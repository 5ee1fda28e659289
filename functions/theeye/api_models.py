"""The API's shapes as pydantic models: they type the routes and generate ``/openapi.json``."""

from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired

from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, RootModel, StrictInt, with_config
from typing_extensions import TypedDict  # pydantic reads typing's TypedDict only from Python 3.12

from theeye.analytics.engine import DEFAULT_MAX_ROWS, MAX_ROWS, MAX_SQL_LENGTH
from theeye.checks import CheckType
from theeye.context import (
    CONTEXT_RULES,
    MAX_CONTEXT_BYTES,
    MAX_LABEL_LENGTH,
    MAX_USER_AGENT_LENGTH,
    PAGE_LIMITS,
    Device,
    Medium,
)
from theeye.events import (
    EVENT_ID_PATTERN,
    MAX_BODY_BYTES,
    MAX_EVENT_BYTES,
    MAX_EVENTS_PER_REQUEST,
    MAX_TEXT_LENGTH,
    MAX_TIME_TEXT_LENGTH,
    NOT_BLANK_PATTERN,
)
from theeye.ledger import BALANCE
from theeye.messages import MAX_ERROR_PAYLOAD_BYTES
from theeye.records import (
    REPLAY_DEFAULT_MAX,
    REPLAY_LISTED,
    REPLAY_MAX_ERRORS,
    ErrorSource,
    ErrorType,
    ProcessorErrorType,
)


def _size(size: int) -> str:
    """``1 MiB``, ``32 KiB`` or ``100 bytes``: a byte limit as the documents spell it."""
    for unit, scale in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if size % scale == 0:
            return f"{size // scale} {unit}"
    return f"{size} bytes"


# The envelope rules of theeye.events, as JSON Schema keywords; no limit is written down twice.
# Two rules have no keyword: the timestamp's ISO-8601 grammar (datetime.fromisoformat's, on the
# text without surrounding spaces, which is what its length limit counts too) and the event's
# size, a measure of the whole object. The descriptions state them.
_TEXT = Field(min_length=1, max_length=MAX_TEXT_LENGTH, pattern=NOT_BLANK_PATTERN)


def _address(text: str) -> str:
    """``context.ip`` by the envelope's own rule (an IPv4 or IPv6 address, as text)."""
    for error in CONTEXT_RULES["ip"]("ip", text):
        raise ValueError(error.message)
    return text


@with_config(ConfigDict(extra="forbid"))
class PageIn(TypedDict, total=False):
    """The page the event happened on, as the browser knows it."""

    url: Annotated[str, Field(max_length=PAGE_LIMITS["url"])]
    referrer: Annotated[str, Field(max_length=PAGE_LIMITS["referrer"])]
    title: Annotated[str, Field(max_length=PAGE_LIMITS["title"])]


@with_config(ConfigDict(extra="forbid"))
class ScreenIn(TypedDict, total=False):
    width: StrictInt
    height: StrictInt


@with_config(
    ConfigDict(
        extra="forbid",
        json_schema_extra={
            "description": "What only the sender knows about the end user's visit; at most "
            f"{_size(MAX_CONTEXT_BYTES)} as compact UTF-8 JSON. The stored context is built from it and "
            "from the request (its User-Agent and source address). `user_agent` and `ip` are the end "
            "user's, for a sender that is not the end user's browser; the address is stored only anonymised."
        },
    )
)
class ContextIn(TypedDict, total=False):
    """What only the sender knows about the end user's visit (docs/API.md, "Event context")."""

    page: PageIn
    user_agent: Annotated[str, Field(max_length=MAX_USER_AGENT_LENGTH)]
    ip: Annotated[str, AfterValidator(_address), Field(json_schema_extra={"format": "ip-address"})]
    locale: Annotated[str, Field(max_length=MAX_LABEL_LENGTH)]
    timezone: Annotated[str, Field(max_length=MAX_LABEL_LENGTH)]
    screen: ScreenIn


class EventIn(BaseModel):
    """One event as an application sends it; ``POST /events`` takes one, or an array of them."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "description": "One event as an application sends it (`POST /events` takes one, or an array "
            f"of them); at most {_size(MAX_EVENT_BYTES)} as compact UTF-8 JSON."
        },
    )

    session_id: Annotated[str, _TEXT] = Field(description="Chosen by the application; not blank.")
    category: Annotated[str, _TEXT] = Field(description="Not blank.", examples=["page interaction"])
    name: Annotated[str, _TEXT] = Field(description="Not blank.", examples=["pageview"])
    data: dict[str, Any] = Field(description="Free-form; validated later against the schema of its type.")
    timestamp: str = Field(
        description=f"ISO-8601 of at most {MAX_TIME_TEXT_LENGTH} characters (surrounding spaces aside); "
        "without a zone it is UTC; offsets are converted to UTC.",
        examples=["2021-01-01 09:15:27.243860"],
    )
    event_id: str | None = Field(
        default=None,
        pattern=f"^{EVENT_ID_PATTERN.pattern}$",
        description="Idempotency key. Absent: derived from the content, so a retried request stores nothing twice.",
    )
    sent_at: str | None = Field(
        default=None,
        description="The sender's clock when this request was sent (ISO-8601, as `timestamp`). Given, the "
        "stored timestamp is `received_at - (sent_at - timestamp)`, the sender's clock offset removed; "
        "it takes no part in the derived id nor in the duplicate comparison.",
        examples=["2021-01-01T09:15:28.001234Z"],
    )
    context: ContextIn | None = Field(
        default=None,
        description="What the sender knows about the end user's visit; it takes no part in the derived id "
        "nor in the duplicate comparison.",
    )


# The body of POST /events when it is an array (it may also be one EventIn).
EventBatch = Annotated[list[EventIn], Field(min_length=1, max_length=MAX_EVENTS_PER_REQUEST)]


class FieldProblem(BaseModel):
    field: str
    message: str


class Rejected(BaseModel):
    index: int | None
    errors: list[FieldProblem]


class Accepted(BaseModel):
    accepted: int
    event_ids: list[str] = Field(description="The accepted events' ids, in request order.")
    rejected: list[Rejected]


class ErrorDetail(BaseModel):
    code: str = Field(examples=["invalid_request"])
    message: str
    details: list[Any]


class ErrorBody(BaseModel):
    """The body of every 4xx and 5xx answer."""

    error: ErrorDetail


class Named(TypedDict):
    family: str  # "Chrome", "iOS"
    version: NotRequired[str]  # major.minor when known


class PageOut(TypedDict, total=False):
    url: str  # without its query string and fragment
    host: str
    path: str
    title: str
    referrer: str  # without its query string and fragment


class ReferrerOut(TypedDict, total=False):
    host: str
    medium: Medium
    source: str


class CampaignOut(TypedDict, total=False):
    source: str
    medium: str
    name: str
    term: str
    content: str


class ScreenOut(TypedDict, total=False):
    width: int
    height: int


class ContextOut(TypedDict, total=False):
    """The stored context (docs/API.md, "Event context and enrichment"); keys only when known."""

    ip: str  # anonymised: IPv4's last octet, IPv6's last 80 bits zero
    country: str  # ISO 3166-1 alpha-2
    user_agent: str
    browser: Named
    os: Named
    device: Device
    bot: bool
    page: PageOut
    referrer: ReferrerOut
    campaign: CampaignOut  # from the page's utm_* parameters (or a Segment message's context.campaign)
    locale: str
    timezone: str
    screen: ScreenOut


class EventOut(BaseModel):
    event_id: str
    application_id: str
    session_id: str
    category: str
    name: str
    data: dict[str, Any]
    timestamp: str = Field(
        description="When it occurred by the service's clock: `client_timestamp` with the sender's clock "
        "offset removed when the request carried `sent_at`.",
        examples=["2021-01-01T09:15:27.243860Z"],
    )
    client_timestamp: str = Field(
        description="The timestamp as the sender wrote it (UTC); equal to `timestamp` without `sent_at`.",
        examples=["2021-01-01T09:15:27.243860Z"],
    )
    received_at: str = Field(examples=["2021-01-01T09:15:28.001234Z"])
    context: ContextOut = Field(
        description="Built at ingest from the event's `context` and the request: the anonymised address and "
        "its country, the user agent parsed (browser, os, device, bot), the page without its query, the "
        "referrer's medium and source, the campaign of the page's utm_* parameters. Keys only when known."
    )


class EventPage(BaseModel):
    items: list[EventOut]
    next_cursor: str | None = Field(description="Pass as `cursor` with the same filters for the next page.")


class ReplayedOut(BaseModel):
    at: str = Field(examples=["2021-01-02T10:00:00.000000Z"])
    event_id: str


class ErrorOut(BaseModel):
    error_id: str
    type: ErrorType
    source: ErrorSource
    application_id: str
    received_at: str
    event_id: str | None
    session_id: str | None = Field(
        description="The event's session; null for a rejection that named no usable session."
    )
    details: list[FieldProblem]
    payload: Any = Field(
        description="What was sent (JSON, or the raw text when it was not JSON), cut to "
        f"{_size(MAX_ERROR_PAYLOAD_BYTES)}; null once its session was erased."
    )
    erased: bool = Field(description="Its session was erased: payload is null, detail messages redacted.")
    replayed: ReplayedOut | None = Field(
        description="When its event entered the pipeline again (POST /errors/replay); null when it did not."
    )


class SessionOut(BaseModel):
    session_id: str
    first_seen: str = Field(description="Its earliest stored event's timestamp.")
    last_seen: str = Field(description="Its latest stored event's timestamp.")
    events: int = Field(description="Its stored events.")
    application_ids: list[str] = Field(description="The applications that sent them, sorted.")


class SessionPage(BaseModel):
    items: list[SessionOut]
    next_cursor: str | None = Field(description="Pass as `cursor` with the same filters for the next page.")


class Erased(BaseModel):
    session_id: str
    events_erased: int = Field(description="Stored events deleted now (0 when repeated).")
    errors_redacted: int = Field(description="Recorded errors whose payload was replaced by null now.")


class ErrorPage(BaseModel):
    items: list[ErrorOut]
    next_cursor: str | None


class Point(BaseModel):
    t: str = Field(description="Start of the bucket (UTC).", examples=["2021-01-01T09:00:00Z"])
    count: int


class Series(BaseModel):
    category: str
    points: list[Point]


class EventStats(BaseModel):
    interval: Literal["minute", "hour", "day"]
    series: list[Series]


class QueueDepth(BaseModel):
    messages: int = Field(description="Visible and delayed messages (approximate).")
    in_flight: int = Field(description="Messages being processed now (approximate).")


class Status(BaseModel):
    """The ledger: where every accepted event is. Balanced when nothing is unaccounted for."""

    accepted: int = Field(description="Events accepted at ingest (202).")
    replayed: int = Field(
        description="Recorded errors' events that entered the pipeline again (POST /errors/replay); "
        "their errors stay counted in invalid."
    )
    stored: int
    duplicates: int = Field(description="Events whose id was already stored with the same content.")
    invalid: dict[str, int] = Field(description="Accepted events the processor refused, by error type.")
    queued: int = Field(description="Accepted events not yet processed.")
    dead_lettered: int = Field(description="Accepted events in the dead-letter queue.")
    erased: int = Field(description="Stored events since erased (they stay counted in stored).")
    balanced: bool = Field(
        description=f"{BALANCE}, with queued never negative and zero whenever the queue is empty."
    )
    rejected: dict[str, int] = Field(description="Events refused at ingest (never accepted), by error type.")
    queue: QueueDepth
    dead_letter_queue: QueueDepth


class Health(BaseModel):
    status: Literal["ok", "degraded"] = Field(
        description="`ok`: the store takes writes; `degraded`: it cannot now (answered with 503)."
    )
    reason: str | None = Field(
        default=None,
        description="Why the store cannot take writes, in plain words (only when degraded).",
        examples=["the disk holding the data directory is full (no room for 4 MiB more)"],
    )


HEALTH_RESPONSES: dict[int, OpenAPIResponse] = {
    200: {"description": "Ready: the store takes writes", "content": {"application/json": {"model": Health}}},
    503: {
        "description": "Degraded: the store cannot take writes now (a full disk, a read-only file system, "
        "a lock held too long); 200 again once it can",
        "content": {"application/json": {"model": Health}},
    },
}


class SchemaOut(BaseModel):
    """One event type's rules: the JSON Schema (draft-07) its `data` is validated against."""

    category: str = Field(examples=["page interaction"])
    name: str = Field(examples=["pageview"])
    # "schema" would shadow a BaseModel attribute: the field is named apart, the key is "schema".
    json_schema: dict[str, Any] = Field(
        alias="schema",
        description="The schema file of `schemas/` as the processor reads it, `x-event-type` included.",
    )


class SchemaList(BaseModel):
    items: list[SchemaOut] = Field(description="Every event type that has a schema, by category then name.")


class SqlIn(BaseModel):
    """One statement in Athena's SQL over the `events` table (docs/API.md, "SQL over every event")."""

    model_config = ConfigDict(extra="forbid")

    sql: str = Field(
        min_length=1,
        max_length=MAX_SQL_LENGTH,
        description="One SELECT (or WITH … SELECT) over `events`, in Athena's (Trino) dialect.",
        examples=["SELECT category, count(*) AS n FROM events GROUP BY 1 ORDER BY n DESC"],
    )
    max_rows: int = Field(
        default=DEFAULT_MAX_ROWS,
        ge=1,
        le=MAX_ROWS,
        description="Rows answered at most; `truncated` says more.",
    )


class SqlColumn(BaseModel):
    name: str
    type: str = Field(description="Athena's name of the type.", examples=["varchar", "bigint", "timestamp"])


class SqlResultOut(BaseModel):
    """A statement's result."""

    columns: list[SqlColumn]
    rows: list[list[Any]] = Field(
        description="Cells as JSON; times as ISO-8601 UTC with microseconds and `Z` (as everywhere in the "
        'API), dates `2026-12-01`, NaN and infinities as the texts `"NaN"`, `"Infinity"`, `"-Infinity"`.'
    )
    truncated: bool = Field(description="The result had more rows than `max_rows`.")
    as_of: str = Field(
        description="Every event stored before this instant is in the table the statement read.",
        examples=["2026-12-06T18:00:00.000000Z"],
    )
    engine: Literal["duckdb", "athena"]
    elapsed_ms: int


class SqlRunning(BaseModel):
    """Still running (Athena, after 20 s): ask `GET /sql/{query_id}`."""

    query_id: str
    status: Literal["running"]


def _sql_answers(missing: str | None) -> dict[int, OpenAPIResponse]:
    answers: dict[int, OpenAPIResponse] = {
        200: {"description": "The result", "content": {"application/json": {"model": SqlResultOut}}},
        202: {
            "description": "Still running (Athena only): ask `GET /sql/{query_id}`",
            "content": {"application/json": {"model": SqlRunning}},
        },
        400: _error(
            "`invalid_sql`: not one read-only SELECT over `events`, a syntax error or an unknown column "
            "(the message names it); `query_too_expensive`: over the time limit or bytes-scanned cap; "
            "`invalid_parameter`: a malformed body or `max_rows`"
        ),
        401: _error("Missing or unknown API key"),
        403: _error("The key lacks the query scope"),
        503: _error("No SQL engine can answer now; retry"),
    }
    if missing:
        answers[404] = _error(missing)
    return answers


def _error(description: str) -> OpenAPIResponse:
    return {"description": description, "content": {"application/json": {"model": ErrorBody}}}


SQL_RESPONSES = _sql_answers(None)
SQL_RESULT_RESPONSES = _sql_answers("No statement with this id (or its result is over 24 hours old)")


class TrendPoint(BaseModel):
    t: str = Field(description="The bucket's start.", examples=["2026-12-01T00:00:00Z"])
    value: int


class TrendSeries(BaseModel):
    breakdown: str | None = Field(
        description='The breakdown value; `null` without breakdown or for events without the field; `"$other"` '
        "for the values past `limit`.",
        examples=["/pricing"],
    )
    total: int
    points: list[TrendPoint] = Field(description="Every bucket of the range, zeros included.")


class TrendsOut(BaseModel):
    kind: Literal["trends"]
    interval: Literal["hour", "day", "week"]
    series: list[TrendSeries] = Field(description='By `total` descending, then `breakdown`; `"$other"` last.')


class FunnelStepOut(BaseModel):
    category: str
    name: str
    sessions: int
    conversion: float = Field(description="`sessions` over the first step's.")
    from_previous: float = Field(description="`sessions` over the step before's (1 for the first step).")


class FunnelOut(BaseModel):
    kind: Literal["funnel"]
    steps: list[FunnelStepOut]
    median_seconds_to_convert: float | None


class TopItem(BaseModel):
    value: str | None
    events: int
    sessions: int


class TopOther(BaseModel):
    events: int
    sessions: int


class TopOut(BaseModel):
    kind: Literal["top"]
    field: str
    items: list[TopItem] = Field(description="By the measure descending, then `value` ascending.")
    other: TopOther = Field(description="The values past `limit`.")


class SessionsPoint(BaseModel):
    t: str = Field(examples=["2026-12-01T00:00:00Z"])
    sessions: int
    bounce_rate: float | None
    median_duration_seconds: float | None
    median_events: float | None


class SessionsOut(BaseModel):
    kind: Literal["sessions"]
    points: list[SessionsPoint] = Field(
        description="Every bucket of the range; one without sessions has `null` rates."
    )


class InsightOut(RootModel[TrendsOut | FunnelOut | TopOut | SessionsOut]):
    """An insight's answer (docs/API.md, "POST /insights"), by its `kind`."""


class InsightRunning(BaseModel):
    """Still running (Athena, after 20 s): ask `GET /insights/{query_id}`."""

    query_id: str
    status: Literal["running"]


def _insight_answers(missing: str | None) -> dict[int, OpenAPIResponse]:
    answers: dict[int, OpenAPIResponse] = {
        200: {"description": "The answer", "content": {"application/json": {"model": InsightOut}}},
        202: {
            "description": "Still running (Athena only): ask `GET /insights/{query_id}`",
            "content": {"application/json": {"model": InsightRunning}},
        },
        400: _error(
            "`invalid_insight`: a malformed request (`details` name each field in error); "
            "`query_too_expensive`: over the engine's time limit or bytes-scanned cap"
        ),
        401: _error("Missing or unknown API key"),
        403: _error("The key lacks the query scope"),
        503: _error("No SQL engine can answer now; retry"),
    }
    if missing:
        answers[404] = _error(missing)
    return answers


INSIGHT_RESPONSES = _insight_answers(None)
INSIGHT_RESULT_RESPONSES = _insight_answers(
    "No insight query with this id (or its result is over 24 hours old)"
)


def responses(ok: type[BaseModel], *, missing: str | None = None) -> dict[int, OpenAPIResponse]:
    """A GET route's documented answers: the page or item, and every error it can give."""
    answers: dict[int, OpenAPIResponse] = {
        200: {"description": "Success", "content": {"application/json": {"model": ok}}},
        400: _error("A malformed filter, cursor or limit"),
        401: _error("Missing or unknown API key"),
        403: _error("The key lacks the query scope"),
    }
    if missing:
        answers[404] = _error(f"No such {missing}")
    return answers


# POST /events: the ingest route is declared with these, and the query function's document
# describes it from them (no function imports another). Only its error answers are listed: the
# route reads its body itself, so the body and the 202 are described with EventIn and Accepted.
INGEST_SUMMARY = f"Send one event or an array of 1-{MAX_EVENTS_PER_REQUEST} (scope ingest)"
INGEST_BODY_DESCRIPTION = (
    f"One event, or an array of 1-{MAX_EVENTS_PER_REQUEST}. At most {_size(MAX_BODY_BYTES)} "
    f"(decompressed, with `Content-Encoding: gzip`); one event at most {_size(MAX_EVENT_BYTES)}."
)
INGEST_OPERATION_ID = "post_events_events_post"
INGEST_RESPONSES: dict[int, OpenAPIResponse] = {
    400: _error(
        f"Not JSON (or not valid gzip), empty, over {MAX_EVENTS_PER_REQUEST} events, or every event rejected"
    ),
    401: _error("Missing or unknown API key"),
    403: _error("The key lacks the ingest scope"),
    413: _error(f"Body over {_size(MAX_BODY_BYTES)} (decompressed)"),
    503: _error("The queue cannot take events now; nothing was accepted, retry"),
}


# POST /events/validate: declared like POST /events (same body, read by the route itself), and
# described by the query function's document from these.
class ValidationProblem(BaseModel):
    type: CheckType = Field(description="The error type the pipeline would record the event as.")
    field: str = Field(examples=["data.form.first_name"])
    message: str


class ValidatedEvent(BaseModel):
    index: int = Field(description="Position in the request (0-based).")
    event_id: str | None = Field(
        description="The id the event would get (given or derived); null when its envelope is invalid."
    )
    valid: bool
    errors: list[ValidationProblem] = Field(
        description="Every problem: the envelope's (`invalid_envelope`, one per broken field), or else "
        "those the processor would find (`future_timestamp` judged at the time of this request, "
        "`unknown_event_type`, `schema_violation` one per broken field)."
    )


class ValidationReport(BaseModel):
    """What the pipeline would make of each event; nothing was queued, stored, counted or recorded."""

    valid: int
    invalid: int
    results: list[ValidatedEvent] = Field(description="One per event, in request order.")


VALIDATE_SUMMARY = (
    f"Dry run: check one event or an array of 1-{MAX_EVENTS_PER_REQUEST}, store nothing (scope ingest)"
)
VALIDATE_OPERATION_ID = "post_events_validate_events_validate_post"
VALIDATE_RESPONSES: dict[int, OpenAPIResponse] = {
    200: {
        "description": "Every event judged (also when none is valid); nothing was queued or recorded.",
        "content": {"application/json": {"model": ValidationReport}},
    },
    400: _error(f"Not JSON, empty, not an event or array, or over {MAX_EVENTS_PER_REQUEST} events"),
    401: _error("Missing or unknown API key"),
    403: _error("The key lacks the ingest scope"),
    413: _error(f"Body over {_size(MAX_BODY_BYTES)} (decompressed)"),
    503: _error("The key store cannot answer now; retry"),
}


# DELETE /sessions/{session_id}: the admin function's route, described by the query function's
# document from these (as POST /events is).
ERASE_SUMMARY = "Erase a session: its events, its summary, its errors' payloads (scope admin)"
ERASE_OPERATION_ID = "erase_session_sessions__session_id__delete"
ERASE_RESPONSES: dict[int, OpenAPIResponse] = {
    200: {
        "description": "Erased (zeros when there was nothing left)",
        "content": {"application/json": {"model": Erased}},
    },
    400: _error("A session id that is empty or over 128 characters"),
    401: _error("Missing or unknown API key"),
    403: _error("The key lacks the admin scope"),
    503: _error("The store cannot answer now; nothing or part was erased, repeat the call"),
}


# POST /errors/replay: the admin function's second route, described like the first.
class ReplayIn(BaseModel):
    """Which recorded errors to replay (see docs/API.md, "Error replay")."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    type: ProcessorErrorType = Field(description="One of the processor's error types.")
    start: str | None = Field(
        default=None,
        alias="from",
        max_length=40,
        description="On the error's received_at; default 7 days ago.",
    )
    end: str | None = Field(default=None, alias="to", max_length=40, description="Exclusive; default now.")
    category: str | None = Field(default=None, min_length=1, max_length=MAX_TEXT_LENGTH)
    name: str | None = Field(default=None, min_length=1, max_length=MAX_TEXT_LENGTH)
    dry_run: bool = Field(default=False, description="Check and count only; nothing is queued or marked.")
    max: int = Field(
        default=REPLAY_DEFAULT_MAX, ge=1, le=REPLAY_MAX_ERRORS, description="Errors taken at most."
    )
    cursor: str | None = Field(
        default=None, max_length=2048, description="`next` of the previous answer, with the same parameters."
    )


class StillInvalid(BaseModel):
    error_id: str
    errors: list[ValidationProblem]


class ReplayOut(BaseModel):
    matched: int = Field(description="Errors that hold an event of the filters, not erased, not replayed.")
    replayable: int = Field(description="Those whose event the current rules accept.")
    replayed: int = Field(description="Those queued again and marked now (0 on a dry run).")
    still_invalid: list[StillInvalid] = Field(
        description=f"Errors whose event the current rules still refuse, and why (at most {REPLAY_LISTED})."
    )
    next: str | None = Field(
        description="Set when this call stopped early (at most 1,000 errors or about 20 s per call): "
        "send the same body with it as `cursor` to continue; counts are per call."
    )


REPLAY_SUMMARY = "Replay recorded errors: check their events again and queue those now valid (scope admin)"
REPLAY_OPERATION_ID = "replay_errors_errors_replay_post"
REPLAY_RESPONSES: dict[int, OpenAPIResponse] = {
    200: {
        "description": "The errors examined by this call, counted (and replayed unless dry_run)",
        "content": {"application/json": {"model": ReplayOut}},
    },
    400: _error(
        "Not JSON, an unknown field, a type that is not the processor's, max out of range, a bad time"
    ),
    401: _error("Missing or unknown API key"),
    403: _error("The key lacks the admin scope"),
    503: _error("The store or the queue cannot answer now; repeat the call (nothing is replayed twice)"),
}


# The Segment-compatible routes (theeye.segment): declared on the ingest function with these,
# described by the query function's document from them and from the message models below.
class SegmentMessage(BaseModel):
    """One message of Segment's HTTP Tracking API; each becomes one event (see the mapping in
    docs/API.md). Fields not listed are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    type: Literal["track", "page", "screen", "identify", "group", "alias"] | None = Field(
        default=None, description="Required in a batch; a single-message route implies it."
    )
    messageId: str | None = Field(default=None, description="Becomes the event_id (the idempotency key).")
    anonymousId: str | None = None
    userId: str | None = None
    event: str | None = Field(default=None, description="track: the event name.")
    name: str | None = Field(default=None, description="page, screen: the name (default pageview, screen).")
    category: str | None = Field(default=None, description="page: the category, unless properties has one.")
    properties: dict[str, Any] | None = Field(default=None, description="track, page, screen: the data.")
    traits: dict[str, Any] | None = Field(default=None, description="identify, group: the data.")
    groupId: str | None = None
    previousId: str | None = None
    context: dict[str, Any] | None = None
    timestamp: str | None = Field(default=None, description="ISO-8601; else originalTimestamp, else receipt.")
    originalTimestamp: str | None = None
    sentAt: str | None = Field(default=None, description="The sender's clock when sent: corrects skew.")
    writeKey: str | None = Field(default=None, description="The ingest key, when no header carries one.")


class SegmentBatch(BaseModel):
    """``POST /v1/batch``: 1-500 messages; ``context`` and ``sentAt`` hold for each message that
    lacks its own."""

    model_config = ConfigDict(extra="allow")

    batch: list[SegmentMessage] = Field(min_length=1, max_length=MAX_EVENTS_PER_REQUEST)
    context: dict[str, Any] | None = None
    sentAt: str | None = None
    writeKey: str | None = None


class SegmentAnswer(BaseModel):
    """What Segment's libraries take for success (any other 2xx is a failure to them)."""

    success: Literal[True]


SEGMENT_SUCCESS = {"success": True}
SEGMENT_BODY_DESCRIPTION = (
    f"Segment HTTP Tracking API messages: at most {_size(MAX_BODY_BYTES)} (decompressed, with "
    f"`Content-Encoding: gzip`); each message, as the event it becomes, at most {_size(MAX_EVENT_BYTES)}."
)
SEGMENT_RESPONSES: dict[int, OpenAPIResponse] = {
    200: {
        "description": "At least one message was accepted and durably queued (rejected ones are recorded).",
        "content": {"application/json": {"model": SegmentAnswer}},
    },
    400: _error(
        f"Not JSON (or not valid gzip), not a message (or batch), over {MAX_EVENTS_PER_REQUEST} "
        "messages, or every message rejected"
    ),
    401: _error("Missing or unknown API key (Basic, Bearer, X-Api-Key or writeKey)"),
    403: _error("The key lacks the ingest scope"),
    413: _error(f"Body over {_size(MAX_BODY_BYTES)} (decompressed)"),
    503: _error("The queue cannot take events now; nothing was accepted, retry"),
}


def segment_summary(kind: str | None) -> str:
    if kind is None:
        return f"Segment-compatible: a batch of 1-{MAX_EVENTS_PER_REQUEST} messages (scope ingest)"
    return f"Segment-compatible: one {kind} message (scope ingest)"


def segment_operation_id(kind: str | None) -> str:
    return f"segment_{kind or 'batch'}"
