"""``POST /sql`` on the local stack, both backends (docs/API.md, "SQL over every event"): exact
once the pipeline is idle, fresh within 10 s of ``GET /events`` returning an event, erased within
10 s of ``DELETE /sessions/{id}`` (rows, and every byte of the payloads under THEEYE_DATA_DIR);
and ``theeye sql`` against the running stack.

The 10 s waits are the contract's bound, not a speed measurement: each starts only once the
condition it follows is seen (the event returned by ``GET /events``, the erasure answered).
"""

from __future__ import annotations

import csv
import io
import json
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.ledger import settled
from tests.e2e.local_stack import BACKENDS, LocalStackHandle
from tests.e2e.test_cli import theeye
from tests.e2e.test_pipeline import iso, post
from tests.e2e.test_sessions_and_erasure import erase
from tests.support import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("local_stack", BACKENDS, indirect=True)]
CONTRACT_SECONDS = 10.0  # "Fresh" and "Erasure": locally within 10 seconds


def sql(stack: LocalStackHandle, statement: str, **body: Any) -> dict[str, Any]:
    answer = stack.request(
        "POST",
        "/sql",
        body={"sql": statement, **body},
        headers={"Authorization": f"Bearer {stack.query_key}"},
    )
    assert answer.status == 200, answer.body
    result: dict[str, Any] = answer.json()
    return result


def scalar(stack: LocalStackHandle, statement: str) -> Any:
    return sql(stack, statement)["rows"][0][0]


def quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def event(session: str, n: int, **data: Any) -> dict[str, Any]:
    start = datetime(2023, 3, 1, 8, tzinfo=UTC) + timedelta(days=uuid.uuid4().int % 300)
    return {
        "event_id": f"{session}-{n}",
        "session_id": session,
        "category": "shop",
        "name": "view",
        "data": {"n": n, **data},
        "timestamp": iso(start + timedelta(hours=5 * n)),
    }


def holding(data_dir: Path, secret: bytes) -> list[str]:
    """Every file under the data directory (the store, its write-ahead log, the lake) holding ``secret``."""
    return sorted(
        str(p.relative_to(data_dir)) for p in data_dir.rglob("*") if p.is_file() and secret in p.read_bytes()
    )


def test_the_table_counts_every_stored_event_once(local_stack: LocalStackHandle) -> None:
    session = f"sql-exact-{uuid.uuid4().hex[:8]}"
    batch = [event(session, n) for n in range(8)]
    post(local_stack, batch)
    post(local_stack, batch[:3])  # the same events sent again: duplicates, no new rows
    post(local_stack, batch[5])

    def exact() -> tuple[int, dict[str, Any]] | None:
        ledger = settled(local_stack)
        ours = scalar(local_stack, f"SELECT count(*) FROM events WHERE session_id = {quoted(session)}")  # noqa: S608 - the test's own ids, quoted
        total = scalar(local_stack, "SELECT count(*) FROM events")
        return (
            (total, ledger) if ours == len(batch) and total == ledger["stored"] - ledger["erased"] else None
        )

    total, ledger = eventually("SELECT count(*) FROM events to equal stored - erased", exact)
    assert ledger["duplicates"] >= 4
    distinct = scalar(local_stack, "SELECT count(DISTINCT event_id) FROM events")
    assert distinct == total


def test_an_event_get_events_returns_is_in_sql_within_10_seconds(local_stack: LocalStackHandle) -> None:
    session = f"sql-fresh-{uuid.uuid4().hex[:8]}"
    (event_id,) = post(local_stack, event(session, 0))["event_ids"]

    def returned() -> bool:
        answer = local_stack.request(
            "GET", f"/events/{event_id}", headers={"Authorization": f"Bearer {local_stack.query_key}"}
        )
        return answer.status == 200

    eventually(f"GET /events/{event_id} to return the event", returned)
    # From here the contract's bound runs.
    found = eventually(
        f"{event_id} in /sql",
        lambda: sql(local_stack, f"SELECT event_id FROM events WHERE event_id = {quoted(event_id)}")["rows"],  # noqa: S608 - the test's own ids, quoted
        seconds=CONTRACT_SECONDS,
    )
    assert found == [[event_id]]


def test_an_erased_session_leaves_sql_and_every_file_within_10_seconds(local_stack: LocalStackHandle) -> None:
    secret = "erase-me-" + secrets.token_hex(16)
    gone, kept = f"sql-gone-{uuid.uuid4().hex[:8]}", f"sql-kept-{uuid.uuid4().hex[:8]}"
    post(
        local_stack,
        [event(gone, n, note=f"{secret}-{n}") for n in range(6)] + [event(kept, n) for n in range(3)],
    )
    rows_of = f"SELECT count(*) FROM events WHERE session_id IN ({quoted(gone)}, {quoted(kept)})"  # noqa: S608 - the test's own ids, quoted
    eventually("both sessions in /sql", lambda: scalar(local_stack, rows_of) == 9)
    assert any(name.startswith("lake/") for name in holding(local_stack.data_dir, secret.encode()))

    answer = erase(local_stack, gone)
    assert answer.status == 200, answer.body

    # From here the contract's bound runs.
    eventually(
        "the erased session's rows to leave /sql",
        lambda: scalar(local_stack, rows_of) == 3,
        seconds=CONTRACT_SECONDS,
    )
    eventually(
        "no file under THEEYE_DATA_DIR to hold the erased payloads",
        lambda: holding(local_stack.data_dir, secret.encode()) == [],
        seconds=CONTRACT_SECONDS,
    )
    assert (
        scalar(local_stack, f"SELECT count(*) FROM events WHERE data LIKE {quoted('%' + secret + '%')}") == 0  # noqa: S608 - the test's own ids, quoted
    )


def test_theeye_sql_prints_a_table_json_csv_and_reads_a_file(
    local_stack: LocalStackHandle, tmp_path: Path
) -> None:
    session = f"sql-cli-{uuid.uuid4().hex[:8]}"
    post(local_stack, [event(session, n) for n in range(3)])
    statement = f"SELECT name, count(*) AS n FROM events WHERE session_id = {quoted(session)} GROUP BY name"  # noqa: S608 - the test's own ids, quoted
    eventually("the session in /sql", lambda: sql(local_stack, statement)["rows"] == [["view", 3]])

    table = theeye(local_stack, "sql", statement)
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[:3] == ["name  n", "----  -", "view  3"]

    as_json = theeye(local_stack, "sql", statement, "--json")
    assert as_json.returncode == 0, as_json.stderr
    answer = json.loads(as_json.stdout)
    assert answer["rows"] == [["view", 3]] and answer["engine"] == "duckdb"

    as_csv = theeye(local_stack, "sql", statement, "--csv")
    assert as_csv.returncode == 0, as_csv.stderr
    assert list(csv.reader(io.StringIO(as_csv.stdout))) == [["name", "n"], ["view", "3"]]

    path = tmp_path / "question.sql"
    path.write_text(f"-- one session's events\n{statement}\n")
    from_file = theeye(local_stack, "sql", "-f", str(path), "--csv")
    assert (from_file.returncode, from_file.stdout) == (0, as_csv.stdout)

    refused = theeye(local_stack, "sql", "DELETE FROM events")
    assert refused.returncode == 1 and "invalid_sql" in refused.stderr
