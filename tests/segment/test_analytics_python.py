"""Segment's own Python library (``segment-analytics-python``, pinned in requirements-dev.txt)
against the local stack's ``/v1/*`` routes: only the host changes.

Sync mode posts each call as a batch of one and raises on failure; background mode batches in a
thread, retries, and reports a failure to ``on_error``. Every request the library makes is seen
on the wire through a response hook of its HTTP session (status, Content-Encoding, messages).
"""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from segment.analytics import Client
from segment.analytics import request as segment_request
from segment.analytics.request import APIError

from tests.e2e.ledger import settled
from tests.e2e.local_stack import LocalStackHandle
from tests.e2e.test_pipeline import session_events
from tests.segment.expect import Call, calls, check, faults

pytestmark = pytest.mark.e2e

# Segment's Python names for the message fields a call takes
KEYWORDS = {
    "anonymousId": "anonymous_id",
    "userId": "user_id",
    "groupId": "group_id",
    "previousId": "previous_id",
    "messageId": "message_id",
}


@dataclass(frozen=True)
class Exchange:
    url: str
    status: int
    encoding: str
    messages: list[dict[str, Any]]


@pytest.fixture
def wire() -> Iterator[list[Exchange]]:
    """The library's requests and their answers, as they went over HTTP."""
    seen: list[Exchange] = []

    def hook(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        request = response.request
        raw = request.body if isinstance(request.body, bytes) else str(request.body).encode()
        encoding = request.headers.get("Content-Encoding", "identity")
        body = json.loads(gzip.decompress(raw) if encoding == "gzip" else raw)
        seen.append(Exchange(str(request.url), response.status_code, encoding, body["batch"]))

    hooks = segment_request._session.hooks["response"]
    hooks.append(hook)
    yield seen
    hooks.remove(hook)


def send(client: Client, call: Call, **extra: Any) -> dict[str, Any]:
    """One call of the library; the message as it built it."""
    keywords = {KEYWORDS.get(key, key): value for key, value in {**call.message, **extra}.items()}
    queued, message = getattr(client, call.method)(**keywords)
    assert queued
    return dict(message)


def identities() -> tuple[str, str]:
    return str(uuid.uuid4()), f"user-{uuid.uuid4().hex[:12]}"


@pytest.mark.parametrize("compressed", [False, True], ids=["identity", "gzip"])
def test_sync_mode_sends_every_type_and_each_is_stored_with_the_mapping(
    local_stack: LocalStackHandle, wire: list[Exchange], compressed: bool
) -> None:
    session, user = identities()
    client = Client(local_stack.ingest_key, host=local_stack.base_url, sync_mode=True, gzip=compressed)
    sent = [(call, send(client, call)) for call in calls(session, user)]

    assert [(x.url, x.status, x.encoding, len(x.messages)) for x in wire] == [
        (f"{local_stack.base_url}/v1/batch", 200, "gzip" if compressed else "identity", 1)
    ] * len(sent)
    stored = {e["event_id"]: e for e in session_events(local_stack, session, len(sent), limit=1000)}
    assert len(stored) == len(sent)
    for call, message in sent:
        check(stored[message["messageId"]], call, message, session)


@pytest.mark.parametrize("compressed", [False, True], ids=["identity", "gzip"])
def test_background_mode_batches_hundreds_of_calls_and_every_one_is_stored_once(
    local_stack: LocalStackHandle, wire: list[Exchange], compressed: bool
) -> None:
    session, user = identities()
    failures: list[Any] = []
    client = Client(
        local_stack.ingest_key,
        host=local_stack.base_url,
        gzip=compressed,
        upload_size=100,
        upload_interval=0.2,
        on_error=lambda error, batch: failures.append((error, len(batch))),
    )
    kinds = calls(session, user)
    sent = [(call, send(client, call)) for _ in range(40) for call in kinds]  # 320 messages
    client.flush()
    client.shutdown()

    assert failures == []
    assert all(x.status == 200 and x.url.endswith("/v1/batch") for x in wire)
    assert {x.encoding for x in wire} == {"gzip" if compressed else "identity"}
    assert max(len(x.messages) for x in wire) > 1  # batched, not one request per call
    assert sum(len(x.messages) for x in wire) == len(sent)
    stored = {e["event_id"]: e for e in session_events(local_stack, session, len(sent), limit=1000)}
    assert len(stored) == len(sent)
    for call, message in sent:
        check(stored[message["messageId"]], call, message, session)


def test_a_wrong_key_is_a_failure_the_library_reports_in_both_modes(
    local_stack: LocalStackHandle, wire: list[Exchange]
) -> None:
    session, user = identities()
    track = calls(session, user)[0]
    wrong = "eye_not-a-key-of-this-stack-000000000001"

    with pytest.raises(APIError) as raised:
        send(Client(wrong, host=local_stack.base_url, sync_mode=True), track)
    assert raised.value.status == 401

    failures: list[tuple[Any, int]] = []
    client = Client(
        wrong,
        host=local_stack.base_url,
        max_retries=2,
        on_error=lambda e, batch: failures.append((e, len(batch))),
    )
    send(client, track)
    client.flush()
    client.shutdown()
    assert [(type(e), e.status, n) for e, n in failures] == [(APIError, 401, 1)]
    assert [x.status for x in wire] == [401, 401]  # a 401 is not retried
    # a message of the same session with the right key, processed after them: only it is stored
    later = send(Client(local_stack.ingest_key, host=local_stack.base_url, sync_mode=True), track)
    assert [e["event_id"] for e in session_events(local_stack, session, 1, limit=1000)] == [
        later["messageId"]
    ]


def test_the_same_message_id_sent_again_is_stored_once(local_stack: LocalStackHandle) -> None:
    session, user = identities()
    client = Client(local_stack.ingest_key, host=local_stack.base_url, sync_mode=True)
    message_id = f"retry-{uuid.uuid4()}"
    first = calls(session, user)[0]
    sent = [send(client, first, messageId=message_id) for _ in range(3)]
    later = send(client, calls(session, user)[2])  # stored after the retries were processed

    stored = session_events(local_stack, session, 2, limit=1000)
    assert sorted(e["event_id"] for e in stored) == sorted([message_id, later["messageId"]])
    check(next(e for e in stored if e["event_id"] == message_id), first, sent[0], session)


def test_retries_after_lost_answers_store_each_message_once(
    faulty_stack: LocalStackHandle, wire: list[Exchange]
) -> None:
    """Half the intake's calls fail, half of those after the queue write: the library retries
    (503 with Retry-After), and a batch queued twice is still stored once."""
    session, user = identities()
    failures: list[Any] = []
    client = Client(
        faulty_stack.ingest_key,
        host=faulty_stack.base_url,
        upload_size=8,
        upload_interval=0.05,
        max_retries=20,
        on_error=lambda error, batch: failures.append((error, len(batch))),
    )
    kinds = calls(session, user)
    sent: list[tuple[Call, dict[str, Any]]] = []
    # the stack is shared: only this test's faults and duplicates count
    earlier, duplicates = len(faults(faulty_stack)), settled(faulty_stack)["duplicates"]
    # Until a lost answer was retried: each round is one batch of 8, and a round sees none with
    # a chance of about 3/4 (faults are drawn at random), so 100 rounds make missing one
    # impossible in practice (a few rounds suffice on average).
    for _ in range(100):
        sent += [(call, send(client, call)) for call in kinds]
        client.flush()
        if "after" in faults(faulty_stack)[earlier:]:
            break
    client.shutdown()

    assert failures == []
    assert "after" in faults(faulty_stack)[earlier:], faulty_stack.log_tail()
    assert {x.status for x in wire} == {200, 503}
    stored = session_events(faulty_stack, session, len(sent), limit=1000)
    assert sorted(e["event_id"] for e in stored) == sorted(m["messageId"] for _, m in sent)
    by_id = {e["event_id"]: e for e in stored}
    for call, message in sent:
        check(by_id[message["messageId"]], call, message, session)
    ledger = settled(faulty_stack)
    assert ledger["duplicates"] > duplicates and ledger["balanced"]
