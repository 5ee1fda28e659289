"""The lake's erasure sweep: the rows of sessions erased lately are deleted from the lake again.

The feeder sends each erased event's delete to Firehose, which does not keep the order of the
records it writes: an upsert sent before a delete can be committed after it and bring the row
back. The sweep runs every hour (template.yaml, LakeSweepFunction) over the sessions erased on
the last ``ERASURE_NOTE_DAYS`` days (``theeye.aws.erasure``), so such a row lives at most an hour.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Final, Protocol

from theeye.analytics.table import TABLE

SESSIONS_PER_STATEMENT: Final = 1000  # a statement's text stays far under Athena's 256 KiB


class ErasureLog(Protocol):
    def erased_since(self, now: datetime) -> list[str]: ...


class Statements(Protocol):
    def execute(self, sql: str, *, timeout_seconds: float) -> None: ...


def delete_statement(session_ids: Sequence[str]) -> str:
    """``DELETE FROM events WHERE session_id IN (...)``, each id a quoted SQL literal."""
    # The ids are the store's own (erased sessions); a quote inside one is doubled, Trino's rule
    # for a string literal, so each stays one literal whatever it holds.
    literals = ", ".join("'" + session_id.replace("'", "''") + "'" for session_id in session_ids)
    return f"DELETE FROM {TABLE} WHERE session_id IN ({literals})"  # noqa: S608


def sweep(log: ErasureLog, statements: Statements, now: datetime, time_left: Callable[[], float]) -> int:
    """Delete the lake rows of every session erased lately; the number of sessions swept."""
    sessions = log.erased_since(now)
    for first in range(0, len(sessions), SESSIONS_PER_STATEMENT):
        chunk = sessions[first : first + SESSIONS_PER_STATEMENT]
        statements.execute(delete_statement(chunk), timeout_seconds=max(time_left() - 10, 1))
    return len(sessions)
