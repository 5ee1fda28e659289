"""How events and errors are laid out in DynamoDB keys (docs/DATA_MODEL.md explains why).

Writers (the processor) and readers (the query function) both derive keys here, so the two
can never disagree about the layout.
"""

from __future__ import annotations

import hashlib

from theeye.ports import error_position, event_position

SESSION_PREFIX = "S#"
GUARD_PREFIX = "E#"
GUARD_SORT_KEY = "#"
CATEGORY_INDEX = "ByCategory"
ERRORS_TIME_INDEX = "ByTime"
ERRORS_TYPE_INDEX = "ByType"
CATEGORY_REGISTRY_PK = "categories"
ERRORS_SESSION_INDEX = "BySession"
SESSION_START_INDEX = "BySessionStart"  # on the counters table: summaries by first event
SESSION_SUMMARY_SK = "#"
# 4 shards a day keep the index's writes spread while a day's listing merges 4 partitions.
# The index projects the whole summary, so every change to a summary (each batch that stored
# events of it) rewrites its index entry: docs/PERFORMANCE.md measures what that costs.
SESSION_START_SHARDS = 4
# Errors are far fewer than events: 4 shards keep a flood of one bad application (4,000 error
# writes/s) within partition limits while a 30-day listing reads at most 120 partitions.
ERROR_TIME_SHARDS = 4


def shard_of(identifier: str, shards: int) -> int:
    """A stable shard in ``[0, shards)`` for an id, spreading writes over index partitions."""
    return int(hashlib.sha256(identifier.encode("utf-8")).hexdigest()[:8], 16) % shards


def day_of(timestamp: str) -> str:
    """``YYYY-MM-DD`` of a normalised timestamp (``2021-01-01T09:15:27.243860Z``)."""
    return timestamp[:10]


def session_pk(session_id: str) -> str:
    return SESSION_PREFIX + session_id


def event_sk(timestamp: str, event_id: str) -> str:
    """Fixed-width UTC time first, so key order is time order; the id breaks ties."""
    return event_position(timestamp, event_id)


def guard_pk(event_id: str) -> str:
    return GUARD_PREFIX + event_id


def category_pk(category: str, day: str, shard: int) -> str:
    return f"{category}#{day}#{shard:02d}"


def error_time_pk(day: str, shard: int) -> str:
    return f"{day}#{shard:02d}"


def error_type_pk(error_type: str, day: str) -> str:
    return f"{error_type}#{day}"


def error_sk(received_at: str, error_id: str) -> str:
    return error_position(received_at, error_id)


def session_summary_pk(session_id: str) -> str:
    return "session#" + session_id


def session_start_partition(day: str, shard: int) -> str:
    return f"{day}#{shard:02d}"


def session_start_pk(first_seen: str, session_id: str) -> str:
    return session_start_partition(day_of(first_seen), shard_of(session_id, SESSION_START_SHARDS))
