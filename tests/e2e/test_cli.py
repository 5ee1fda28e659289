"""The operators' CLI, installed, as a subprocess against the running local stack.

Every command runs as an operator types it: ``theeye --local --state <state file> ...``.
The revocation check runs last and reuses the wait: a key is revoked on both backends' stacks
at the start of the module (fixture ``revocations``), the other tests run meanwhile, and the
last test of each backend polls until every ingest worker refuses it (each caches a key for at
most 60 s).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.local_stack import BACKENDS, INHERITED, LocalStackHandle
from tests.support import eventually
from theeye.clock import format_timestamp
from theeye.events import Event
from theeye.ledger import BALANCE, IntakeTally, message_key
from theeye.messages import Origin, QueuedEvent, QueueMessage
from theeye_cli.target import Target, local_target

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("local_stack", BACKENDS, indirect=True)]
BRIEFING = json.loads((Path(__file__).parents[2] / "events" / "briefing_events.json").read_text())
CLI_TIMEOUT_SECONDS = 60


def theeye_executable() -> str:
    """The ``theeye`` that ``pip install -e .`` put next to this interpreter."""
    beside = Path(sys.executable).with_name("theeye")
    found = str(beside) if beside.exists() else shutil.which("theeye")
    if not found:
        pytest.fail("theeye is not installed: run 'make test' or 'pip install --no-deps -e .'")
    return found


def theeye(stack: LocalStackHandle, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {name: os.environ[name] for name in INHERITED if name in os.environ}
    return subprocess.run(
        [theeye_executable(), "--local", "--state", str(stack.state_file), *args],
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_SECONDS,
        env=environment,
        check=False,
    )


def theeye_json(stack: LocalStackHandle, *args: str, expect: int = 0) -> Any:
    done = theeye(stack, "--json", *args)
    assert done.returncode == expect, done.stderr
    return json.loads(done.stdout)


def post(stack: LocalStackHandle, key: str, events: Any) -> Any:
    return stack.request("POST", "/events", body=events, headers={"Authorization": f"Bearer {key}"})


def operator(stack: LocalStackHandle) -> Target:
    """What the CLI talks to for ``--local``: the stack's backend, moto or embedded."""
    return local_target(stack.state_file)


def revoke(stack: LocalStackHandle) -> dict[str, Any]:
    """A key made with ``theeye keys create``, used once (202), then revoked; when it was revoked."""
    created = theeye_json(
        stack, "keys", "create", "--app", "cli-e2e", "--scope", "ingest", "--description", "e2e"
    )
    event = {**BRIEFING[0], "session_id": f"cli-key-{uuid.uuid4()}"}
    accepted = post(stack, created["key"], event)
    assert accepted.status == 202, accepted.body
    revoked_view = theeye_json(stack, "keys", "revoke", created["key_id"])
    return {**created, "revoked": revoked_view, "revoked_at": time.monotonic()}


@pytest.fixture(scope="module")
def revocations(embedded_stack: LocalStackHandle, moto_stack: LocalStackHandle) -> dict[str, dict[str, Any]]:
    """A key revoked on each backend's stack when the module starts (by base URL): both waits run
    while the module's other tests do."""
    return {stack.base_url: revoke(stack) for stack in (embedded_stack, moto_stack)}


@pytest.fixture(scope="module")
def revoked(local_stack: LocalStackHandle, revocations: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The key revoked on this test's stack."""
    return revocations[local_stack.base_url]


def test_keys_create_list_and_revoke(local_stack: LocalStackHandle, revoked: dict[str, Any]) -> None:
    assert revoked["revoked"]["revoked_at"]
    listed = {k["key_id"]: k for k in theeye_json(local_stack, "keys", "list")}
    assert listed[revoked["key_id"]]["application_id"] == "cli-e2e"
    assert listed[revoked["key_id"]]["revoked_at"] == revoked["revoked"]["revoked_at"]
    last_used = listed[revoked["key_id"]]["last_used_at"]  # the request it sent before its revocation
    assert last_used is not None and revoked["created_at"] <= last_used <= revoked["revoked"]["revoked_at"]
    assert {"local-app", "local-console"} <= {k["application_id"] for k in listed.values()}

    table = theeye(local_stack, "keys", "list")
    assert table.returncode == 0
    assert revoked["key_id"] in table.stdout and last_used in table.stdout
    assert revoked["key"] not in table.stdout

    unknown = theeye(local_stack, "keys", "revoke", "key-0000000000000000")
    assert unknown.returncode == 1
    assert unknown.stderr == "theeye: no API key with id key-0000000000000000\n"


def dead_letter(stack: LocalStackHandle) -> tuple[str, str]:
    """A message in the DLQ, accounted for as the pipeline does it.

    Over HTTP nothing makes the processor fail a valid message, so the test does what ingest and
    the processor would have done: count the event as accepted, count the message as
    dead-lettered, and put it in the DLQ. Returns the body and the event id.
    """
    session = f"cli-dlq-{uuid.uuid4()}"
    event = Event(
        event_id=f"{session}-1",
        session_id=session,
        category=BRIEFING[0]["category"],
        name=BRIEFING[0]["name"],
        data=BRIEFING[0]["data"],
        timestamp="2021-01-01T09:15:27.243860Z",
    )
    origin = Origin("local-app", "key-e2e", format_timestamp(datetime.now(UTC)), session)
    body = QueueMessage(origin, events=[QueuedEvent(0, event)]).to_body()
    target = operator(stack)
    ledger = target.backend().counters()
    ledger.count_intake([IntakeTally(message_key(body), 1, {})])
    ledger.count_dead_letter(message_key(body), 1)
    target.client("sqs").send_message(QueueUrl=stack.state["dlq_url"], MessageBody=body)
    return body, event.event_id


def test_dead_letters_show_in_stats_and_peek_and_leave_with_redrive(local_stack: LocalStackHandle) -> None:
    _, event_id = dead_letter(local_stack)

    stats = theeye_json(local_stack, "dlq", "stats")
    assert stats["messages"] >= 1
    assert stats["oldest_age_seconds"] is not None and stats["oldest_age_is"] in ("exact", "at least")
    assert "messages:" in theeye(local_stack, "dlq", "stats").stdout

    peeked = theeye_json(local_stack, "dlq", "peek", "-n", "100")
    mine = [m for m in peeked if event_id in m["event_ids"]]
    assert len(mine) == 1 and mine[0]["events"] == 1
    assert event_id in theeye(local_stack, "dlq", "peek", "-n", "100").stdout
    assert theeye_json(local_stack, "dlq", "stats")["messages"] >= 1  # peeking consumed nothing

    moved = theeye_json(local_stack, "dlq", "redrive")
    assert moved["method"] == "copy"  # moto has no message-move task
    assert moved["moved"] >= 1 and moved["ledger_corrected"] >= 1
    assert not any(event_id in m["event_ids"] for m in theeye_json(local_stack, "dlq", "peek", "-n", "100"))

    def stored() -> bool:
        answer = local_stack.request(
            "GET", f"/events/{event_id}", headers={"Authorization": f"Bearer {local_stack.query_key}"}
        )
        return answer.status == 200

    assert eventually("the redriven event stored", stored, interval=0.5)


def test_after_a_mixed_load_status_balances_and_errors_are_listed(local_stack: LocalStackHandle) -> None:
    before = json.loads(theeye(local_stack, "--json", "status").stdout)
    session = f"cli-mixed-{uuid.uuid4()}"
    pageview, cta, _submit = ({**e, "session_id": session} for e in BRIEFING)
    valid = [{**pageview, "event_id": f"{session}-{n}"} for n in range(5)]
    invalid = {**cta, "event_id": f"{session}-bad", "data": {"host": "www.example.com", "path": "/"}}
    future = {
        **pageview,
        "event_id": f"{session}-future",
        "timestamp": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
    }
    not_an_event = {"session_id": session}
    answer = post(local_stack, local_stack.ingest_key, [*valid, invalid, future, not_an_event])
    assert answer.status == 202 and answer.json()["accepted"] == 7, answer.body
    assert post(local_stack, local_stack.ingest_key, valid[0]).status == 202  # a duplicate

    def settled() -> dict[str, Any] | None:
        done = theeye(local_stack, "--json", "status")
        view = json.loads(done.stdout)
        caught_up = view["stored"] >= before["stored"] + 5 and view["queued"] == 0
        return view if caught_up and done.returncode == 0 else None

    after = eventually("theeye status to show a settled ledger", settled, interval=0.5)
    assert after["balanced"] is True
    assert after["accepted"] - before["accepted"] >= 8
    assert after["duplicates"] - before["duplicates"] >= 1
    assert after["invalid"]["schema_violation"] - before["invalid"]["schema_violation"] >= 1
    assert after["invalid"]["future_timestamp"] - before["invalid"]["future_timestamp"] >= 1
    assert after["rejected"]["invalid_envelope"] - before["rejected"]["invalid_envelope"] >= 1

    table = theeye(local_stack, "status")
    assert table.returncode == 0, table.stdout
    assert f"BALANCED: {BALANCE}" in table.stdout

    def listed() -> set[str]:
        errors = theeye_json(
            local_stack, "errors", "list", "--app", "local-app", "--since", "1h", "--limit", "500"
        )
        return {e["event_id"] for e in errors if e["event_id"]} & {invalid["event_id"], future["event_id"]}

    assert eventually("both errors in theeye errors list", lambda: len(listed()) == 2, interval=0.5)
    schema = theeye_json(local_stack, "errors", "list", "--type", "schema_violation", "--since", "1h")
    bad = next(e for e in schema if e["event_id"] == invalid["event_id"])
    shown = theeye_json(local_stack, "errors", "show", bad["error_id"])
    assert shown["details"] == [{"field": "data.element", "message": "is required"}]
    assert shown["payload"]["event_id"] == invalid["event_id"]
    stats = theeye_json(local_stack, "errors", "stats", "--since", "1h")
    assert stats["by_type"]["schema_violation"] >= 1 and stats["by_type"]["invalid_envelope"] >= 1


def test_a_revoked_key_is_refused_within_60_seconds(
    local_stack: LocalStackHandle, revoked: dict[str, Any]
) -> None:
    """Polled every 2 s. The one worker that accepted the key cached it before the revocation,
    so 60 s after it no worker may accept it: every answer from then on must be 401."""
    event = {**BRIEFING[0], "session_id": f"cli-revoked-{uuid.uuid4()}"}
    answers: list[tuple[float, int]] = []
    while sum(1 for t, _ in answers if t > 61) < 3:
        elapsed = time.monotonic() - revoked["revoked_at"]
        answer = post(local_stack, revoked["key"], event)
        assert answer.status in (202, 401), answer.body
        if answer.status == 401:
            assert answer.json()["error"]["code"] == "unauthorized"
        answers.append((elapsed, answer.status))
        time.sleep(2)
    late = [status for t, status in answers if t > 60]
    assert len(late) >= 3, answers
    assert set(late) == {401}, f"accepted more than 60 s after its revocation: {answers}"
