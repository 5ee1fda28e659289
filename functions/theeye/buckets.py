"""Time buckets of the dashboard counts: minute, hour and day, by event timestamp (UTC).

A bucket is a prefix of a normalised timestamp (``2021-01-01T09`` is the hour from 09:00),
so bucketing is slicing and bucket order is string order.
"""

from __future__ import annotations

from typing import Literal

Interval = Literal["minute", "hour", "day"]
BUCKET_CHARS: dict[Interval, int] = {"minute": 16, "hour": 13, "day": 10}
# What makes a bucket a timestamp again in API answers ("2021-01-01T09" + ":00:00Z").
BUCKET_SUFFIX: dict[Interval, str] = {"minute": ":00Z", "hour": ":00:00Z", "day": "T00:00:00Z"}


def bucket_of(interval: Interval, timestamp: str) -> str:
    return timestamp[: BUCKET_CHARS[interval]]


def bucket_start(bucket: str) -> str:
    """The timestamp a bucket starts at: ``2021-01-01T09`` -> ``2021-01-01T09:00:00.000000Z``."""
    return bucket + "0000-01-01T00:00:00.000000Z"[len(bucket) :]
