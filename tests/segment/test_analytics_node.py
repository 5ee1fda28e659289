"""Segment's own Node library (``@segment/analytics-node``, locked in ``node/package-lock.json``)
against the local stack's ``/v1/*`` routes: only the host changes.

``node/send.mjs`` makes the calls through the library and reports, per call, the library's
callback (the message it built, or its error) and, per request, what went over HTTP. The library
sends identity bodies; ``gzip`` plugs in an HTTP client (the library's ``httpClient`` option)
that compresses them.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.ledger import settled
from tests.e2e.local_stack import LocalStackHandle
from tests.e2e.test_pipeline import session_events
from tests.segment.expect import Call, calls, check, faults

pytestmark = pytest.mark.e2e
NODE_TIMEOUT_SECONDS = 180


def run(harness: Path, stack: LocalStackHandle, sends: list[dict[str, Any]], **job: Any) -> dict[str, Any]:
    """Make the calls with the library; its report."""
    job = {"host": stack.base_url, "writeKey": stack.ingest_key, "calls": sends, **job}
    done = subprocess.run(
        ["node", str(harness)],
        input=json.dumps(job).encode(),
        capture_output=True,
        timeout=NODE_TIMEOUT_SECONDS,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def of(kinds: list[Call], **extra: Any) -> list[dict[str, Any]]:
    return [{"method": call.method, "message": {**call.message, **extra}} for call in kinds]


def identities() -> tuple[str, str]:
    return str(uuid.uuid4()), f"user-{uuid.uuid4().hex[:12]}"


def assert_stored(
    stack: LocalStackHandle, session: str, kinds: list[Call], results: list[dict[str, Any]]
) -> None:
    assert [r["error"] for r in results] == [None] * len(kinds)
    stored = session_events(stack, session, len(kinds), limit=1000)
    assert sorted(e["event_id"] for e in stored) == sorted(r["messageId"] for r in results)
    by_id = {e["event_id"]: e for e in stored}
    for call, result in zip(kinds, results, strict=True):
        check(by_id[result["messageId"]], call, result["event"], session)


@pytest.mark.parametrize("compressed", [False, True], ids=["identity", "gzip"])
def test_every_type_one_request_each_is_stored_with_the_mapping(
    node_harness: Path, local_stack: LocalStackHandle, compressed: bool
) -> None:
    session, user = identities()
    kinds = calls(session, user)
    report = run(node_harness, local_stack, of(kinds), gzip=compressed, flushAt=1)

    encoding = "gzip" if compressed else "identity"
    assert report["requests"] == [
        {"url": f"{local_stack.base_url}/v1/batch", "encoding": encoding, "messages": 1, "status": 200}
    ] * len(kinds)
    assert report["errors"] == []
    assert_stored(local_stack, session, kinds, report["results"])


@pytest.mark.parametrize("compressed", [False, True], ids=["identity", "gzip"])
def test_batches_of_many_calls_are_stored_once_each(
    node_harness: Path, local_stack: LocalStackHandle, compressed: bool
) -> None:
    session, user = identities()
    kinds = calls(session, user) * 40  # 320 messages
    report = run(node_harness, local_stack, of(kinds), gzip=compressed, flushAt=50)

    assert report["errors"] == []
    assert {r["status"] for r in report["requests"]} == {200}
    assert max(r["messages"] for r in report["requests"]) > 1
    assert sum(r["messages"] for r in report["requests"]) == len(kinds)
    assert_stored(local_stack, session, kinds, report["results"])


def test_a_wrong_key_is_a_failure_the_library_reports(
    node_harness: Path, local_stack: LocalStackHandle
) -> None:
    session, user = identities()
    track = calls(session, user)[:1]
    report = run(
        node_harness,
        local_stack,
        of(track),
        writeKey="eye_not-a-key-of-this-stack-000000000001",
        maxRetries=3,
    )

    [result] = report["results"]
    assert "401" in str(result["error"])
    assert [r["status"] for r in report["requests"]] == [401]  # a 4xx is not retried
    later = run(node_harness, local_stack, of(track))["results"]
    assert [e["event_id"] for e in session_events(local_stack, session, 1, limit=1000)] == [
        later[0]["messageId"]
    ]


def test_the_same_message_id_sent_again_is_stored_once(
    node_harness: Path, local_stack: LocalStackHandle
) -> None:
    session, user = identities()
    message_id = f"retry-{uuid.uuid4()}"
    first = calls(session, user)[:1]
    reports = [run(node_harness, local_stack, of(first, messageId=message_id)) for _ in range(2)]
    later = run(node_harness, local_stack, of(calls(session, user)[2:3]))["results"][0]

    assert [r["results"][0]["messageId"] for r in reports] == [message_id] * 2
    stored = session_events(local_stack, session, 2, limit=1000)
    assert sorted(e["event_id"] for e in stored) == sorted([message_id, later["messageId"]])
    check(
        next(e for e in stored if e["event_id"] == message_id),
        first[0],
        reports[0]["results"][0]["event"],
        session,
    )


def test_retries_after_lost_answers_store_each_message_once(
    node_harness: Path, faulty_stack: LocalStackHandle
) -> None:
    """Half the intake's calls fail, half of those after the queue write: the library retries
    the 503s, and a batch queued twice is still stored once."""
    session, user = identities()
    kinds: list[Call] = []
    results: list[dict[str, Any]] = []
    statuses: set[int] = set()
    # the stack is shared: only this test's faults and duplicates count
    earlier, duplicates = len(faults(faulty_stack)), settled(faulty_stack)["duplicates"]
    for _ in range(12):  # until a lost answer was retried: each round is one batch of 8
        batch = calls(session, user)
        report = run(node_harness, faulty_stack, of(batch), flushAt=len(batch), maxRetries=20)
        kinds += batch
        results += report["results"]
        statuses |= {r["status"] for r in report["requests"]}
        if "after" in faults(faulty_stack)[earlier:]:
            break

    assert "after" in faults(faulty_stack)[earlier:], faulty_stack.log_tail()
    assert statuses == {200, 503}
    assert_stored(faulty_stack, session, kinds, results)
    ledger = settled(faulty_stack)
    assert ledger["duplicates"] > duplicates and ledger["balanced"]
