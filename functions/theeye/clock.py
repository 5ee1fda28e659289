"""Time as the domain sees it: UTC, microsecond precision, one text form."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]

MAX_TIME_TEXT_LENGTH = 40  # characters of ISO-8601 text, leading and trailing spaces aside


def utc_now() -> datetime:
    return datetime.now(UTC)


def format_timestamp(moment: datetime) -> str:
    """``2021-01-01T09:15:27.243860Z``: the one form times are stored and returned in."""
    text = moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")
    return f"{text}Z"


def parse_timestamp(text: str) -> datetime:
    """Parse ISO-8601; a time without a zone is UTC, offsets are converted to UTC.

    Accepts ``2021-01-01 09:15:27.243860`` (space, no zone), ``...T...Z``, ``+02:00`` offsets
    and plain dates. Raises ``ValueError`` with a readable message otherwise.
    """
    if not isinstance(text, str):
        raise ValueError("must be an ISO-8601 string")
    candidate = text.strip()
    if not candidate or len(candidate) > MAX_TIME_TEXT_LENGTH:
        raise ValueError("must be an ISO-8601 timestamp such as 2021-01-01T09:15:27.243860Z")
    try:
        moment = datetime.fromisoformat(candidate)
    except ValueError:
        raise ValueError(
            f"{text[:40]!r} is not an ISO-8601 timestamp (expected e.g. 2021-01-01T09:15:27.243860Z)"
        ) from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{text[:40]!r} is outside the supported range of years") from None
