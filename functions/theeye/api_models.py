"""The API's shapes as pydantic models: they type the routes and generate ``/openapi.json``."""

from __future__ import annotations

from typing import Any, Literal

from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel, ConfigDict, Field

from theeye.records import ErrorSource, ErrorType


class EventIn(BaseModel):
    """One event as an application sends it (``POST /events`` takes one, or an array of 1-500)."""

    model_config = ConfigDict(extra="forbid")

    session_id: str = Field(min_length=1, max_length=128, description="Chosen by the application.")
    category: str = Field(min_length=1, max_length=128, examples=["page interaction"])
    name: str = Field(min_length=1, max_length=128, examples=["pageview"])
    data: dict[str, Any] = Field(description="Free-form; validated later against the schema of its type.")
    timestamp: str = Field(
        description="ISO-8601; without a zone it is UTC; offsets are converted to UTC.",
        examples=["2021-01-01 09:15:27.243860"],
    )
    event_id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9._:-]{1,64}$",
        description="Idempotency key. Absent: derived from the content, so a retried request stores nothing twice.",
    )


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


class EventOut(BaseModel):
    event_id: str
    application_id: str
    session_id: str
    category: str
    name: str
    data: dict[str, Any]
    timestamp: str = Field(examples=["2021-01-01T09:15:27.243860Z"])
    received_at: str = Field(examples=["2021-01-01T09:15:28.001234Z"])


class EventPage(BaseModel):
    items: list[EventOut]
    next_cursor: str | None = Field(description="Pass as `cursor` with the same filters for the next page.")


class ErrorOut(BaseModel):
    error_id: str
    type: ErrorType
    source: ErrorSource
    application_id: str
    received_at: str
    event_id: str | None
    details: list[FieldProblem]
    payload: Any = Field(
        description="What was sent (JSON, or the raw text when it was not JSON), cut to 32 KiB."
    )


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
    stored: int
    duplicates: int = Field(description="Events whose id was already stored with the same content.")
    invalid: dict[str, int] = Field(description="Accepted events the processor refused, by error type.")
    queued: int = Field(description="Accepted events not yet processed.")
    dead_lettered: int = Field(description="Accepted events in the dead-letter queue.")
    balanced: bool = Field(
        description="accepted = stored + duplicates + invalid + queued + dead_lettered, with queued "
        "never negative and zero whenever the queue is empty."
    )
    rejected: dict[str, int] = Field(description="Events refused at ingest (never accepted), by error type.")
    queue: QueueDepth
    dead_letter_queue: QueueDepth


class Health(BaseModel):
    status: Literal["ok"]


def _error(description: str) -> OpenAPIResponse:
    return {"description": description, "content": {"application/json": {"model": ErrorBody}}}


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
INGEST_SUMMARY = "Send one event or an array of 1-500 (scope ingest)"
INGEST_OPERATION_ID = "post_events_events_post"
INGEST_RESPONSES: dict[int, OpenAPIResponse] = {
    400: _error("Not JSON, empty, over 500 events, or every event rejected"),
    401: _error("Missing or unknown API key"),
    403: _error("The key lacks the ingest scope"),
    413: _error("Body over 1 MiB"),
    503: _error("The queue cannot take events now; nothing was accepted, retry"),
}
