"""The lake's erasure sweep (functions/sweep) and the erasure notes it reads (theeye.aws.erasure).

The sweep's use case runs with in-memory collaborators; the notes' DynamoDB adapters run against
botocore's Stubber (paging, failures) and moto in process (the note an erasure writes, read back).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import sqlglot
from botocore.stub import Stubber
from moto import mock_aws
from sqlglot import exp

from sweep import logic
from theeye.analytics.table import TABLE
from theeye.aws.erasure import (
    ERASURE_NOTE_DAYS,
    DynamoEraser,
    DynamoErasureLog,
    erasure_note_pk,
)
from theeye.errors import RetryableStoreError, ServiceUnavailable
from theeye_local.resources import create_resources

NOW = datetime(2026, 12, 6, 18, 5, tzinfo=UTC)
COUNTERS = "theeye-counters"


class Notes:
    """The erasure log: the sessions erased lately, as of the instant asked."""

    def __init__(self, sessions: list[str]) -> None:
        self.sessions = sessions
        self.asked: list[datetime] = []

    def erased_since(self, now: datetime) -> list[str]:
        self.asked.append(now)
        return list(self.sessions)


class Athena:
    """Statements run, with the timeout each was given; fails the statements listed in ``failing``."""

    def __init__(self, failing: tuple[int, ...] = ()) -> None:
        self.run: list[tuple[str, float]] = []
        self.failing = failing

    def execute(self, sql: str, *, timeout_seconds: float) -> None:
        self.run.append((sql, timeout_seconds))
        if len(self.run) - 1 in self.failing:
            raise ServiceUnavailable("Athena cannot answer right now (FAILED); retry shortly")


def sessions_in(sql: str) -> list[str]:
    """The session ids a DELETE names, as Athena's dialect parses its text."""
    statement = sqlglot.parse_one(sql, read="trino")
    assert isinstance(statement, exp.Delete), sql
    assert statement.this.name == TABLE
    (among,) = statement.find_all(exp.In)
    assert among.this.name == "session_id"
    return [literal.this for literal in among.expressions if isinstance(literal, exp.Literal)]


# -- which sessions, and the statement's text -----------------------------------------------


def test_the_sessions_erased_lately_are_deleted_from_the_lake_in_one_statement() -> None:
    notes, athena = Notes(["s-1", "s-2"]), Athena()
    assert logic.sweep(notes, athena, NOW, lambda: 600.0) == 2
    assert notes.asked == [NOW]
    assert [sql for sql, _ in athena.run] == ["DELETE FROM events WHERE session_id IN ('s-1', 's-2')"]


def test_nothing_erased_lately_runs_nothing() -> None:
    athena = Athena()
    assert logic.sweep(Notes([]), athena, NOW, lambda: 600.0) == 0
    assert athena.run == []


def test_a_quote_in_a_session_id_stays_inside_its_one_literal() -> None:
    tricky = ["o'brien", "x') OR ('1'='1", "back\\slash", "ünï"]
    sql = logic.delete_statement(tricky)
    assert sessions_in(sql) == tricky


def test_more_sessions_than_one_statement_holds_go_in_several_each_session_once() -> None:
    erased = [f"s-{n}" for n in range(2 * logic.SESSIONS_PER_STATEMENT + 1)]
    athena = Athena()
    assert logic.sweep(Notes(erased), athena, NOW, lambda: 600.0) == len(erased)
    named = [sessions_in(sql) for sql, _ in athena.run]
    assert [len(chunk) for chunk in named] == [logic.SESSIONS_PER_STATEMENT] * 2 + [1]
    assert [s for chunk in named for s in chunk] == erased
    assert max(len(sql.encode()) for sql, _ in athena.run) < 256 * 1024  # Athena's query length


def test_each_statement_may_run_until_shortly_before_the_function_must_end() -> None:
    left = iter([100.0, 5.0])
    athena = Athena()
    erased = [f"s-{n}" for n in range(logic.SESSIONS_PER_STATEMENT + 1)]
    logic.sweep(Notes(erased), athena, NOW, lambda: next(left))
    assert [timeout for _, timeout in athena.run] == [90.0, 1]


def test_a_failed_statement_fails_the_run_and_the_next_run_deletes_again() -> None:
    # Given two statements' worth of sessions, the first of which Athena fails
    erased = [f"s-{n}" for n in range(logic.SESSIONS_PER_STATEMENT + 1)]
    athena = Athena(failing=(0,))
    # When the sweep runs, then it fails (Lambda reports the error; the next hour sweeps again)
    with pytest.raises(ServiceUnavailable):
        logic.sweep(Notes(erased), athena, NOW, lambda: 600.0)
    assert len(athena.run) == 1
    # and the next run deletes every one of them (a DELETE repeated is harmless)
    again = Athena()
    assert logic.sweep(Notes(erased), again, NOW, lambda: 600.0) == len(erased)
    assert [s for sql, _ in again.run for s in sessions_in(sql)] == erased


# -- the notes, read page by page -------------------------------------------------------------


@pytest.fixture
def dynamodb() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.session.Session(
        aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1"
    ).client("dynamodb")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def notes_query(day: datetime, start: dict[str, Any] | None = None) -> dict[str, Any]:
    request: dict[str, Any] = {
        "TableName": COUNTERS,
        "KeyConditionExpression": "#pk = :pk",
        "ExpressionAttributeNames": {"#pk": "pk"},
        "ExpressionAttributeValues": {":pk": {"S": erasure_note_pk(day.date())}},
        "ProjectionExpression": "sk",
    }
    if start:
        request["ExclusiveStartKey"] = start
    return request


def notes_page(*sessions: str, more: dict[str, Any] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"Items": [{"sk": {"S": s}} for s in sessions], "Count": len(sessions)}
    if more:
        answer["LastEvaluatedKey"] = more
    return answer


def test_the_log_reads_every_page_of_each_day_oldest_day_first_each_session_once(
    dynamodb: tuple[Any, Stubber],
) -> None:
    client, stubber = dynamodb
    yesterday = NOW - timedelta(days=1)
    more = {"pk": {"S": erasure_note_pk(yesterday.date())}, "sk": {"S": "s-2"}}
    stubber.add_response("query", notes_page("s-1", "s-2", more=more), notes_query(yesterday))
    stubber.add_response("query", notes_page("s-3"), notes_query(yesterday, more))
    stubber.add_response("query", notes_page("s-2", "s-4"), notes_query(NOW))  # erased again today
    assert ERASURE_NOTE_DAYS == 2
    assert DynamoErasureLog(client, COUNTERS).erased_since(NOW) == ["s-1", "s-2", "s-3", "s-4"]


def test_a_log_that_cannot_be_read_is_a_retryable_failure(dynamodb: tuple[Any, Stubber]) -> None:
    client, stubber = dynamodb
    stubber.add_client_error("query", "ProvisionedThroughputExceededException", "Slow down.")
    with pytest.raises(RetryableStoreError, match="ProvisionedThroughputExceededException"):
        DynamoErasureLog(client, COUNTERS).erased_since(NOW)


# -- the note an erasure writes ---------------------------------------------------------------


def test_an_erasure_notes_its_session_under_its_day_until_the_sweep_no_longer_reads_that_day(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("theeye.aws.erasure.utc_now", lambda: NOW)
    with mock_aws():
        session = boto3.session.Session("k", "s", region_name="us-east-1")
        refs = create_resources(session)
        client = session.client("dynamodb")
        eraser = DynamoEraser(client, refs["EventsTable"], refs["ErrorsTable"], refs["CountersTable"])
        # When a session (even one with nothing stored) is erased
        erased = eraser.erase("s-1")
        assert (erased.events_erased, erased.errors_redacted) == (0, 0)
        # Then its note is under today's key, says when, and expires after the sweep's last read of it
        key = {"pk": {"S": erasure_note_pk(NOW.date())}, "sk": {"S": "s-1"}}
        note = client.get_item(TableName=refs["CountersTable"], Key=key)["Item"]
        assert note["erased_at"] == {"S": "2026-12-06T18:05:00.000000Z"}
        expires = datetime.fromtimestamp(int(note["expires_at"]["N"]), UTC)
        assert expires == NOW + timedelta(days=ERASURE_NOTE_DAYS + 1)
        # and the sweep's log finds it today and on the next days it reads, not after
        log = DynamoErasureLog(client, refs["CountersTable"])
        for later in range(ERASURE_NOTE_DAYS):
            assert log.erased_since(NOW + timedelta(days=later)) == ["s-1"]
        assert log.erased_since(NOW + timedelta(days=ERASURE_NOTE_DAYS)) == []
