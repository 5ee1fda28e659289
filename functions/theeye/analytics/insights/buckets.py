"""The time buckets of insights: hours, days and weeks (starting on Monday), UTC, each named by
the instant it starts; every bucket of a range is listed, empty or not."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final, Literal

Interval = Literal["hour", "day", "week"]
LENGTH: Final[dict[Interval, timedelta]] = {
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "week": timedelta(weeks=1),
}


def bucket_start(interval: Interval, moment: datetime) -> datetime:
    """The start of the bucket holding ``moment`` (naive UTC)."""
    if interval == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return day if interval == "day" else day - timedelta(days=day.weekday())


def bucket_starts(interval: Interval, start: datetime, end: datetime) -> list[datetime]:
    """Every bucket from the one holding ``start`` to the one holding the last instant before
    ``end``."""
    first, last = bucket_start(interval, start), bucket_start(interval, end - timedelta(microseconds=1))
    step = LENGTH[interval]
    return [first + step * index for index in range((last - first) // step + 1)]


def bucket_count(interval: Interval, start: datetime, end: datetime) -> int:
    first, last = bucket_start(interval, start), bucket_start(interval, end - timedelta(microseconds=1))
    return (last - first) // LENGTH[interval] + 1


def bucket_text(moment: datetime) -> str:
    """``2026-12-01T00:00:00Z``: a bucket as answers name it."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
