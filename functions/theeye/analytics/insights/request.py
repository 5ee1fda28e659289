"""An insight request (docs/API.md, "Insights"): its JSON read into typed models, every problem a
``400 invalid_insight`` naming the field (``steps[1].category``, ``where[0].value``), and the
time range resolved (default: the last 7 days)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from theeye.analytics.engine import MAX_ROWS
from theeye.analytics.insights import fields
from theeye.analytics.insights.buckets import Interval, bucket_count
from theeye.clock import format_timestamp, parse_timestamp
from theeye.errors import InvalidInsight

DEFAULT_RANGE: Final = timedelta(days=7)
MAX_BUCKETS: Final = 10_000  # points of one series
# Rows an insight's statement may answer (each series' buckets and total): the cap of POST /sql.
MAX_ANSWER_ROWS: Final = MAX_ROWS
MAX_CONDITIONS: Final = 20  # conditions of one `where`
MAX_VALUES: Final = 100  # values of one `in` / `not_in`
MAX_VALUE_LENGTH: Final = 2048  # characters of one value
MIN_STEPS: Final = 2
MAX_STEPS: Final = 10
DEFAULT_WINDOW_SECONDS: Final = 1800
MAX_WINDOW_SECONDS: Final = 366 * 24 * 3600
DEFAULT_LIMIT: Final = 10
MAX_LIMIT: Final = 100

Op = Literal["eq", "neq", "in", "not_in", "contains", "exists"]
Measure = Literal["events", "sessions"]
Scalar = str | int | float | bool


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _field(text: str) -> fields.Field:
    return fields.parse_field(text)


class Condition(_Strict):
    """One condition of a `where`: ``{"field", "op", "value"}``."""

    field: str = Field(examples=["page_path"])
    op: Op
    value: Any = Field(default=None, validate_default=True, examples=["/pricing"])

    @field_validator("field")
    @classmethod
    def _known(cls, text: str) -> str:
        _field(text)
        return text

    @field_validator("value")
    @classmethod
    def _fits(cls, value: Any, info: ValidationInfo) -> Any:
        if "field" not in info.data or "op" not in info.data:
            return value  # reported on its own
        field, op = _field(info.data["field"]), info.data["op"]
        if op == "exists":
            if value is not None and not isinstance(value, bool):
                raise ValueError("for 'exists', true, false or absent (true)")
            return value
        if op in ("in", "not_in"):
            if not isinstance(value, list) or not 1 <= len(value) <= MAX_VALUES:
                raise ValueError(f"for '{op}', a list of 1 to {MAX_VALUES} values")
            for item in value:
                _check_scalar(item, field)
            return value
        if op == "contains":
            if field.type == "boolean":
                raise ValueError(f"'contains' takes no boolean field such as '{field.text}'")
            if not isinstance(value, str) or not value:
                raise ValueError("for 'contains', a non-empty string")
        _check_scalar(value, field)
        return value

    def target(self) -> fields.Field:
        return _field(self.field)


def _check_scalar(value: Any, field: fields.Field) -> None:
    if field.type == "boolean":
        if not isinstance(value, bool):
            raise ValueError(f"'{field.text}' is true or false")
        return
    if field.is_data:
        if not isinstance(value, str | int | float):  # bool is an int
            raise ValueError("a string, number or boolean")
    elif not isinstance(value, str):
        raise ValueError(f"'{field.text}' takes strings")
    if isinstance(value, str) and len(value) > MAX_VALUE_LENGTH:
        raise ValueError(f"at most {MAX_VALUE_LENGTH} characters")


Where = Annotated[list[Condition], Field(max_length=MAX_CONDITIONS)]
FieldName = Annotated[str, Field(examples=["page_path"])]


class _Common(_Strict):
    start: str | None = Field(default=None, alias="from", examples=["2026-12-01T00:00:00Z"])
    end: str | None = Field(default=None, alias="to", examples=["2026-12-08T00:00:00Z"])
    where: Where = []
    include_bots: bool = False

    @field_validator("start", "end")
    @classmethod
    def _time(cls, text: str | None) -> str | None:
        if text is not None:
            parse_timestamp(text)
        return text


class TrendsRequest(_Common):
    kind: Literal["trends"]
    interval: Interval = "day"
    measure: Measure = "events"
    breakdown: FieldName | None = None
    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT

    @field_validator("breakdown")
    @classmethod
    def _known(cls, text: str | None) -> str | None:
        if text is not None:
            _field(text)
        return text


class Step(_Strict):
    category: Annotated[str, Field(min_length=1, max_length=MAX_VALUE_LENGTH)]
    name: Annotated[str, Field(min_length=1, max_length=MAX_VALUE_LENGTH)]
    where: Where = []


class FunnelRequest(_Common):
    kind: Literal["funnel"]
    steps: Annotated[list[Step], Field(min_length=MIN_STEPS, max_length=MAX_STEPS)]
    window_seconds: Annotated[int, Field(ge=1, le=MAX_WINDOW_SECONDS)] = DEFAULT_WINDOW_SECONDS


class TopRequest(_Common):
    kind: Literal["top"]
    field: FieldName
    measure: Measure = "events"
    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT

    @field_validator("field")
    @classmethod
    def _known(cls, text: str) -> str:
        _field(text)
        return text


class SessionsRequest(_Common):
    kind: Literal["sessions"]
    interval: Interval = "day"


InsightRequest = Annotated[
    TrendsRequest | FunnelRequest | TopRequest | SessionsRequest, Field(discriminator="kind")
]
_READER: Final = TypeAdapter(InsightRequest)
KINDS: Final = ("trends", "funnel", "top", "sessions")


@dataclass(frozen=True)
class Insight:
    """A checked request and the range it covers: ``[start, end)``, naive UTC like the table."""

    request: TrendsRequest | FunnelRequest | TopRequest | SessionsRequest
    start: datetime
    end: datetime

    @property
    def max_rows(self) -> int:
        """The most rows its statement can answer (``theeye.analytics.insights.queries``):
        trends one per series and bucket plus each series' total, sessions one per bucket,
        top ``limit`` items and the rest, funnels one."""
        request = self.request
        if isinstance(request, TrendsRequest):
            series = 1 if request.breakdown is None else request.limit + 1
            return series * (bucket_count(request.interval, self.start, self.end) + 1)
        if isinstance(request, SessionsRequest):
            return bucket_count(request.interval, self.start, self.end)
        if isinstance(request, TopRequest):
            return request.limit + 1
        return 1

    def body(self) -> dict[str, Any]:
        """The request with its range made explicit: parsed again at any time, it is this
        insight (for shaping a result that arrives later, such as a long query's)."""
        return {
            **self.request.model_dump(by_alias=True, exclude_none=True),
            "from": format_timestamp(self.start.replace(tzinfo=UTC)),
            "to": format_timestamp(self.end.replace(tzinfo=UTC)),
        }


def parse_insight(body: Any, now: datetime) -> Insight:
    """The insight ``body`` asks for; ``InvalidInsight`` naming every field in error."""
    try:
        request = _READER.validate_python(body)
    except ValidationError as exc:
        details = [
            {"field": _field_name(error["loc"], error["type"]), "message": _message(error)}
            for error in exc.errors()
        ]
        raise InvalidInsight(
            f"'{details[0]['field']}' is invalid: {details[0]['message']}", details=details
        ) from None
    end = _utc(request.end) if request.end is not None else now.astimezone(UTC).replace(tzinfo=None)
    start = _utc(request.start) if request.start is not None else end - DEFAULT_RANGE
    if start >= end:
        raise _invalid(
            "from",
            "must be before 'to'" if request.end else "must be before 'to', which is now when not given",
        )
    interval = getattr(request, "interval", None)
    if interval is not None and bucket_count(interval, start, end) > MAX_BUCKETS:
        raise _invalid(
            "interval", f"the range holds more than {MAX_BUCKETS} {interval}s; take a longer interval"
        )
    insight = Insight(request, start, end)
    if insight.max_rows > MAX_ANSWER_ROWS:
        field = "limit" if getattr(request, "breakdown", None) is not None else "interval"
        raise _invalid(
            field,
            f"the answer could hold {insight.max_rows} rows of points (each series' buckets and total);"
            f" at most {MAX_ANSWER_ROWS}: take a longer interval, a shorter range or a smaller limit",
        )
    return insight


def _utc(text: str) -> datetime:
    return parse_timestamp(text).replace(tzinfo=None)


def _invalid(field: str, message: str) -> InvalidInsight:
    return InvalidInsight(f"'{field}' is invalid: {message}", details=[{"field": field, "message": message}])


def _field_name(loc: tuple[int | str, ...], error_type: str) -> str:
    """``('funnel', 'steps', 1, 'category')`` -> ``steps[1].category``; a missing or unknown
    kind names ``kind``, a body that is no object ``body``."""
    if not loc:
        return "kind" if error_type.startswith("union_tag") else "body"
    name = ""
    for part in loc[1:] if loc[0] in KINDS else loc:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or "body"


def _message(error: Any) -> str:
    if error["type"] in ("union_tag_not_found", "union_tag_invalid"):
        return f"one of {', '.join(KINDS)}"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")
