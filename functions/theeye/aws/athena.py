"""Athena: the SQL engine of ``POST /sql`` on AWS, and the statements the lake's sweep runs.

:class:`AthenaEngine` takes a statement already checked and written in Athena's dialect
(``theeye.analytics.sql``) and runs it in the analysts' work group, whose bytes-scanned cutoff
(template.yaml, ``LakeBytesScannedCutoff``) caps what it may cost:

* ``run(sql, max_rows)`` starts it (StartQueryExecution) and polls GetQueryExecution for up to
  ``wait_seconds`` (20 s, docs/API.md); finished, it answers the :class:`SqlResult`, else
  :class:`SqlRunning` with a ``query_id`` for ``result(query_id)`` (``GET /sql/{query_id}``),
  which answers the same way without waiting. Results stay in the work group's results bucket
  for 24 hours (its lifecycle rule); Athena keeps a query's history 45 days, so an older
  ``query_id`` finds a query whose result file is gone and is answered ``not_found``.
* Rows come from GetQueryResults, page by page, up to ``max_rows + 1`` (the first row of a
  SELECT's first page is its header): one more than asked for says ``truncated``. Column names
  and types come from ``ResultSetMetadata``; values, text in Athena's answer, are given back as
  JSON numbers for integer and floating-point types, booleans for ``boolean``, timestamps in the
  API's one form (``2026-12-06T18:00:00.000000Z``, as DuckDB's answers), otherwise as Athena's
  text (``decimal`` stays exact text).
* ``as_of`` is the query's submission time minus the lake's delivery delay (``LAKE_DELAY_SECONDS``):
  an event stored before that instant had reached the table when the query started.
* Failures: a query the work group's cutoff cancelled is ``400 query_too_expensive`` (so is one
  Athena stopped for its own time limit); one Athena rejects as the user's (its error category 2,
  USER: syntax, an unknown column or function, a type mismatch) is ``400 invalid_sql`` with
  Athena's message; anything else is Athena's trouble, ``503``. The error categories and types
  are AWS's "Athena error catalog" (https://docs.aws.amazon.com/athena/latest/ug/error-reference.html).

The query id the API hands out is Athena's execution id followed by ``.`` and ``max_rows``, so
``GET /sql/{query_id}`` returns as many rows as the ``POST`` asked for.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from theeye import aws
from theeye.analytics.engine import ResultColumn, SqlAnswer, SqlResult, SqlRunning, cell
from theeye.clock import parse_timestamp
from theeye.errors import InvalidSql, NotFound, QueryTooExpensive, ServiceUnavailable

ENGINE: Final = "athena"
WAIT_SECONDS: Final = 20.0  # docs/API.md: then 202 {"query_id", "status": "running"}
PAGE_ROWS: Final = 1000  # GetQueryResults' largest page
FIRST_POLL_SECONDS: Final = 0.2
LONGEST_POLL_SECONDS: Final = 2.0
USER_ERROR_CATEGORY: Final = 2  # Athena error catalog: 1 SYSTEM, 2 USER, 3 OTHER
TIMED_OUT_ERROR_TYPES: Final = frozenset({206, 210})  # Athena error catalog: "Query timeout"
_BYTES_CUTOFF = re.compile(r"bytes scanned limit", re.IGNORECASE)
_QUERY_ID = re.compile(r"^(?P<execution>[0-9a-fA-F-]{36})\.(?P<max_rows>[1-9][0-9]{0,5})$")
_INTEGER_TYPES: Final = frozenset({"tinyint", "smallint", "integer", "int", "bigint"})
_FLOAT_TYPES: Final = frozenset({"double", "float", "real"})
_FINISHED: Final = frozenset({"SUCCEEDED", "FAILED", "CANCELLED"})


def query_id_of(execution_id: str, max_rows: int) -> str:
    return f"{execution_id}.{max_rows}"


def parse_query_id(query_id: str) -> tuple[str, int]:
    """(Athena's execution id, max_rows) of a query id this engine handed out; else not_found."""
    match = _QUERY_ID.match(query_id)
    if match is None:
        raise NotFound(f"no query {query_id!r}")
    return match["execution"], int(match["max_rows"])


@dataclass
class AthenaEngine:
    """The SQL engine port on Athena (see the module's docstring)."""

    workgroup: str
    database: str
    lake_delay: timedelta
    client: Any = field(default_factory=lambda: aws.client("athena"))
    wait_seconds: float = WAIT_SECONDS
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def run(self, sql: str, max_rows: int) -> SqlAnswer:
        from theeye.analytics.sql import check

        statement = check(sql)  # refused before anything runs
        started = self.clock()
        execution_id = start_query(self.client, statement.athena, self.workgroup, self.database)
        pause = FIRST_POLL_SECONDS
        while True:
            execution = query_execution(self.client, execution_id)
            if execution["Status"]["State"] in _FINISHED:
                return self._answer(execution, max_rows)
            left = self.wait_seconds - (self.clock() - started)
            if left <= 0:
                return SqlRunning(query_id_of(execution_id, max_rows))
            self.sleep(min(pause, left))
            pause = min(pause * 2, LONGEST_POLL_SECONDS)

    def result(self, query_id: str) -> SqlAnswer:
        execution_id, max_rows = parse_query_id(query_id)
        execution = query_execution(self.client, execution_id)
        if execution.get("WorkGroup") not in (None, self.workgroup):
            raise NotFound(f"no query {query_id!r}")
        if execution["Status"]["State"] not in _FINISHED:
            return SqlRunning(query_id)
        return self._answer(execution, max_rows)

    def _answer(self, execution: Mapping[str, Any], max_rows: int) -> SqlResult:
        status = execution["Status"]
        state = status["State"]
        if state != "SUCCEEDED":
            raise _failure(state, status)
        columns, rows = self._rows(str(execution["QueryExecutionId"]), max_rows + 1)
        submitted: datetime = status["SubmissionDateTime"]
        return SqlResult(
            columns=tuple(columns),
            rows=rows[:max_rows],
            truncated=len(rows) > max_rows,
            as_of=submitted.astimezone(UTC) - self.lake_delay,
            engine="athena",
            elapsed_ms=int((execution.get("Statistics") or {}).get("TotalExecutionTimeInMillis", 0)),
        )

    def _rows(self, execution_id: str, wanted: int) -> tuple[list[ResultColumn], list[list[Any]]]:
        columns: list[ResultColumn] = []
        rows: list[list[Any]] = []
        token: str | None = None
        header = True
        while len(rows) < wanted:
            request: dict[str, Any] = {
                "QueryExecutionId": execution_id,
                "MaxResults": min(PAGE_ROWS, wanted - len(rows) + int(header)),
            }
            if token:
                request["NextToken"] = token
            try:
                page = self.client.get_query_results(**request)
            except ClientError as exc:
                if aws.error_code(exc) == "InvalidRequestException":  # the result file expired
                    raise NotFound(f"the result of query {execution_id!r} is no longer kept") from exc
                raise _unavailable(aws.error_code(exc)) from exc
            except BotoCoreError as exc:
                raise _unavailable(type(exc).__name__) from exc
            result = page["ResultSet"]
            if not columns:
                info = result["ResultSetMetadata"]["ColumnInfo"]
                columns = [ResultColumn(str(c["Name"]), str(c["Type"]).lower()) for c in info]
            data = result.get("Rows") or []
            if header and data:
                data = data[1:]  # a SELECT's first row names its columns
                header = False
            rows += [_values(row, columns) for row in data]
            token = page.get("NextToken")
            if not token:
                break
        return columns, rows[:wanted]


def start_query(client: Any, sql: str, workgroup: str, database: str) -> str:
    """StartQueryExecution in ``workgroup`` over ``database``; Athena's execution id."""
    try:
        answer = client.start_query_execution(
            QueryString=sql, WorkGroup=workgroup, QueryExecutionContext={"Database": database}
        )
    except ClientError as exc:
        # Athena refuses some statements at once (InvalidRequestException naming the
        # problem); a throttle or its own failure is not the user's.
        if aws.error_code(exc) == "InvalidRequestException":
            raise InvalidSql(_message(exc)) from exc
        raise _unavailable(aws.error_code(exc)) from exc
    except BotoCoreError as exc:
        raise _unavailable(type(exc).__name__) from exc
    return str(answer["QueryExecutionId"])


def query_execution(client: Any, execution_id: str) -> Mapping[str, Any]:
    """GetQueryExecution's ``QueryExecution``; an id Athena does not know is not_found."""
    try:
        answer = client.get_query_execution(QueryExecutionId=execution_id)
    except ClientError as exc:
        if aws.error_code(exc) == "InvalidRequestException":
            raise NotFound(f"no query with id {execution_id!r}") from exc
        raise _unavailable(aws.error_code(exc)) from exc
    except BotoCoreError as exc:
        raise _unavailable(type(exc).__name__) from exc
    execution: Mapping[str, Any] = answer["QueryExecution"]
    return execution


def _values(row: Mapping[str, Any], columns: list[ResultColumn]) -> list[Any]:
    return [
        _value(cell.get("VarCharValue"), column.type)
        for cell, column in zip(row.get("Data") or [], columns, strict=True)
    ]


def _value(text: str | None, sql_type: str) -> Any:
    if text is None:
        return None
    if sql_type in _INTEGER_TYPES:
        return int(text)
    if sql_type in _FLOAT_TYPES:
        return float(text)
    if sql_type == "boolean":
        return text == "true"
    if sql_type.startswith("timestamp"):
        # Athena's text (``2026-12-06 18:00:00.000``) in the one form the API writes times
        return cell(parse_timestamp(text))
    return text


def _failure(state: str, status: Mapping[str, Any]) -> Exception:
    """The domain error of a query that ended ``FAILED`` or ``CANCELLED``."""
    error = status.get("AthenaError") or {}
    reason = str(error.get("ErrorMessage") or status.get("StateChangeReason") or state.lower())
    if _BYTES_CUTOFF.search(reason) or _BYTES_CUTOFF.search(str(status.get("StateChangeReason", ""))):
        return QueryTooExpensive(f"the query would scan more than the work group allows: {reason}")
    if error.get("ErrorType") in TIMED_OUT_ERROR_TYPES:
        return QueryTooExpensive(f"the query ran over Athena's time limit: {reason}")
    if state == "FAILED" and error.get("ErrorCategory") == USER_ERROR_CATEGORY:
        return InvalidSql(reason)
    return _unavailable(reason)


def _message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message") or exc.response.get("Message") or exc)


def _unavailable(detail: str) -> ServiceUnavailable:
    return ServiceUnavailable(
        f"Athena cannot answer right now ({detail}); retry shortly", retry_after_seconds=5
    )


@dataclass
class AthenaStatements:
    """Statements the lake's maintenance runs (the erasure sweep's DELETE), waited for to the end."""

    workgroup: str
    database: str
    client: Any = field(default_factory=lambda: aws.client("athena"))
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def execute(self, sql: str, *, timeout_seconds: float) -> None:
        """Run ``sql`` to its end; raises when it fails or is still running after the timeout
        (it goes on running: the next run of the caller repeats it, which is safe for a DELETE)."""
        started = self.clock()
        execution_id = start_query(self.client, sql, self.workgroup, self.database)
        pause = FIRST_POLL_SECONDS
        while True:
            status = query_execution(self.client, execution_id)["Status"]
            if status["State"] == "SUCCEEDED":
                return
            if status["State"] in _FINISHED:
                raise _failure(status["State"], status)
            if self.clock() - started > timeout_seconds:
                raise _unavailable(f"query {execution_id} still running after {timeout_seconds:.0f} s")
            self.sleep(pause)
            pause = min(pause * 2, LONGEST_POLL_SECONDS)
