"""theeye.aws.athena.AthenaEngine at the boto3 boundary (botocore's Stubber), answers shaped
as AWS's Athena API reference gives them (StartQueryExecution, GetQueryExecution, GetQueryResults)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from theeye.analytics.engine import ResultColumn, SqlResult, SqlRunning
from theeye.analytics.sql import check
from theeye.aws.athena import AthenaEngine, AthenaStatements
from theeye.errors import InvalidRequest, NotFound, ServiceUnavailable

EXECUTION = "c0ffee00-0000-4000-8000-000000000001"
SUBMITTED = datetime(2026, 12, 6, 18, 5, tzinfo=UTC)
SQL = "SELECT category, count(*) AS n FROM events GROUP BY 1"


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def athena() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.session.Session(
        aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1"
    ).client("athena")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def engine(client: Any, clock: FakeClock) -> AthenaEngine:
    return AthenaEngine(
        "theeye-analytics", "theeye", timedelta(seconds=300), client, clock=clock, sleep=clock.sleep
    )


def execution(state: str, **status: Any) -> dict[str, Any]:
    return {
        "QueryExecution": {
            "QueryExecutionId": EXECUTION,
            "Query": SQL,
            "StatementType": "DML",
            "WorkGroup": "theeye-analytics",
            "Status": {"State": state, "SubmissionDateTime": SUBMITTED, **status},
            "Statistics": {"TotalExecutionTimeInMillis": 1834, "DataScannedInBytes": 52_428_800},
        }
    }


def cell(value: str | None) -> dict[str, str]:
    return {} if value is None else {"VarCharValue": value}


def page(rows: list[list[str | None]], *, header: bool, token: str | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "ResultSet": {
            "Rows": ([{"Data": [cell("category"), cell("n")]}] if header else [])
            + [{"Data": [cell(v) for v in row]} for row in rows],
            "ResultSetMetadata": {
                "ColumnInfo": [
                    {"CatalogName": "hive", "Name": "category", "Type": "varchar", "Nullable": "UNKNOWN"},
                    {"CatalogName": "hive", "Name": "n", "Type": "bigint", "Nullable": "UNKNOWN"},
                ]
            },
        },
        "UpdateCount": 0,
    }
    if token:
        answer["NextToken"] = token
    return answer


def expect_start(stubber: Stubber) -> None:
    stubber.add_response(
        "start_query_execution",
        {"QueryExecutionId": EXECUTION},
        {
            "QueryString": check(SQL).athena,  # what runs is rebuilt from the checked parse
            "WorkGroup": "theeye-analytics",
            "QueryExecutionContext": {"Database": "theeye"},
        },
    )


def test_a_finished_query_answers_its_rows_typed_with_as_of_the_submission_minus_the_delay(
    athena: Any,
) -> None:
    client, stubber = athena
    clock = FakeClock()
    expect_start(stubber)
    stubber.add_response("get_query_execution", execution("RUNNING"), {"QueryExecutionId": EXECUTION})
    stubber.add_response("get_query_execution", execution("SUCCEEDED"), {"QueryExecutionId": EXECUTION})
    stubber.add_response(
        "get_query_results",
        page([["page interaction", "1204"], [None, "3"]], header=True),
        {"QueryExecutionId": EXECUTION, "MaxResults": 12},
    )
    answer = engine(client, clock).run(SQL, max_rows=10)
    assert answer == SqlResult(
        columns=(ResultColumn("category", "varchar"), ResultColumn("n", "bigint")),
        rows=[["page interaction", 1204], [None, 3]],
        truncated=False,
        as_of=SUBMITTED - timedelta(seconds=300),
        engine="athena",
        elapsed_ms=1834,
    )


def test_rows_are_read_page_by_page_up_to_one_more_than_asked_which_says_truncated(athena: Any) -> None:
    client, stubber = athena
    expect_start(stubber)
    stubber.add_response("get_query_execution", execution("SUCCEEDED"), {"QueryExecutionId": EXECUTION})
    stubber.add_response(
        "get_query_results",
        page([["a", "1"]], header=True, token="t1"),
        {"QueryExecutionId": EXECUTION, "MaxResults": 4},
    )
    stubber.add_response(
        "get_query_results",
        page([["b", "2"], ["c", "3"]], header=False, token="t2"),
        {"QueryExecutionId": EXECUTION, "MaxResults": 2, "NextToken": "t1"},
    )
    answer = engine(client, FakeClock()).run(SQL, max_rows=2)
    assert isinstance(answer, SqlResult)
    assert (answer.rows, answer.truncated) == ([["a", 1], ["b", 2]], True)


def test_a_query_still_running_after_20_seconds_answers_its_id_then_its_result(athena: Any) -> None:
    client, stubber = athena
    clock = FakeClock()
    expect_start(stubber)
    for _ in range(14):  # polls after 0, 0.2, 0.6, 1.4, 3, then every 2 s to 20 s
        stubber.add_response("get_query_execution", execution("RUNNING"), {"QueryExecutionId": EXECUTION})
    running = engine(client, clock).run(SQL, max_rows=5)
    assert running == SqlRunning(f"{EXECUTION}.5")
    assert clock.now == pytest.approx(20.0)
    # Later GET /sql/{query_id}: still running, then the result with the POST's max_rows
    stubber.add_response("get_query_execution", execution("RUNNING"), {"QueryExecutionId": EXECUTION})
    assert engine(client, clock).result(running.query_id) == running
    stubber.add_response("get_query_execution", execution("SUCCEEDED"), {"QueryExecutionId": EXECUTION})
    stubber.add_response(
        "get_query_results", page([], header=True), {"QueryExecutionId": EXECUTION, "MaxResults": 7}
    )
    done = engine(client, clock).result(running.query_id)
    assert isinstance(done, SqlResult) and done.rows == []


def test_a_query_the_bytes_scanned_cutoff_cancelled_is_too_expensive(athena: Any) -> None:
    client, stubber = athena
    expect_start(stubber)
    stubber.add_response(
        "get_query_execution",
        execution("CANCELLED", StateChangeReason="Query cancelled! -- Bytes scanned limit was exceeded"),
        {"QueryExecutionId": EXECUTION},
    )
    with pytest.raises(InvalidRequest) as refused:
        engine(client, FakeClock()).run(SQL, max_rows=10)
    assert refused.value.code == "query_too_expensive" and refused.value.status == 400


def test_a_user_error_is_invalid_sql_with_athenas_message(athena: Any) -> None:
    client, stubber = athena
    expect_start(stubber)
    message = "COLUMN_NOT_FOUND: line 1:8: Column 'nope' cannot be resolved"
    stubber.add_response(
        "get_query_execution",
        execution(
            "FAILED",
            StateChangeReason=message,
            AthenaError={"ErrorCategory": 2, "ErrorType": 1006, "Retryable": False, "ErrorMessage": message},
        ),
        {"QueryExecutionId": EXECUTION},
    )
    with pytest.raises(InvalidRequest) as refused:
        engine(client, FakeClock()).run(SQL, max_rows=10)
    assert (refused.value.code, refused.value.message) == ("invalid_sql", message)


def test_a_statement_athena_refuses_at_once_is_invalid_sql(athena: Any) -> None:
    client, stubber = athena
    stubber.add_client_error(
        "start_query_execution",
        service_error_code="InvalidRequestException",
        service_message="line 1:8: Function 'approx_set' not registered",
        http_status_code=400,
    )
    with pytest.raises(InvalidRequest) as refused:
        engine(client, FakeClock()).run(SQL, max_rows=10)
    assert refused.value.code == "invalid_sql" and "not registered" in refused.value.message


def test_a_statement_the_check_refuses_never_reaches_athena(athena: Any) -> None:
    client, _stubber = athena  # no response queued: any call to Athena fails the test
    for refused_statement in ("SELEC 1", "DROP TABLE events", "SELECT * FROM information_schema.tables"):
        with pytest.raises(InvalidRequest) as refused:
            engine(client, FakeClock()).run(refused_statement, max_rows=10)
        assert refused.value.code == "invalid_sql"


def test_athenas_own_failures_and_throttles_are_503(athena: Any) -> None:
    client, stubber = athena
    stubber.add_client_error(
        "start_query_execution", service_error_code="TooManyRequestsException", http_status_code=400
    )
    with pytest.raises(ServiceUnavailable):
        engine(client, FakeClock()).run(SQL, max_rows=10)
    expect_start(stubber)
    stubber.add_response(
        "get_query_execution",
        execution("FAILED", AthenaError={"ErrorCategory": 1, "ErrorType": 100, "Retryable": True}),
        {"QueryExecutionId": EXECUTION},
    )
    with pytest.raises(ServiceUnavailable):
        engine(client, FakeClock()).run(SQL, max_rows=10)


@pytest.mark.parametrize("query_id", ["nope", f"{EXECUTION}", f"{EXECUTION}.0", f"../{EXECUTION}.5"])
def test_an_id_this_engine_did_not_hand_out_is_not_found(athena: Any, query_id: str) -> None:
    client, _ = athena
    with pytest.raises(NotFound):
        engine(client, FakeClock()).result(query_id)


def test_the_sweeps_statements_run_to_their_end(athena: Any) -> None:
    client, stubber = athena
    clock = FakeClock()
    delete = "DELETE FROM events WHERE session_id IN ('s-1')"
    stubber.add_response(
        "start_query_execution",
        {"QueryExecutionId": EXECUTION},
        {"QueryString": delete, "WorkGroup": "maintenance", "QueryExecutionContext": {"Database": "theeye"}},
    )
    stubber.add_response("get_query_execution", execution("QUEUED"), {"QueryExecutionId": EXECUTION})
    stubber.add_response("get_query_execution", execution("SUCCEEDED"), {"QueryExecutionId": EXECUTION})
    AthenaStatements("maintenance", "theeye", client, clock=clock, sleep=clock.sleep).execute(
        delete, timeout_seconds=60
    )
