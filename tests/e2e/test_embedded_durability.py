"""The embedded backend keeps its data: across a clean restart, and across ``kill -9`` of every
process of the stack in the middle of a load. ``THEEYE_FRESH=1`` starts empty."""

from __future__ import annotations

import http.client
import threading
import urllib.error
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.e2e.ledger import settled, status
from tests.e2e.local_stack import LocalStackHandle, kill_stack, start_stack, stop_stack
from tests.support import eventually

pytestmark = pytest.mark.e2e

SENDERS = 6
EVENTS_PER_REQUEST = 20


def event(session: str, n: int) -> dict[str, Any]:
    return {
        "session_id": session,
        "category": "page interaction",
        "name": "pageview",
        "data": {"host": "www.example.com", "path": f"/{n}"},
        "timestamp": f"2021-01-01T09:{n // 60 % 60:02d}:{n % 60:02d}.{n:06d}",
    }


def session_ids(stack: LocalStackHandle, session: str) -> list[str]:
    """Every stored event id of the session, walking all pages."""
    ids: list[str] = []
    cursor: str | None = None
    while True:
        path = f"/sessions/{quote(session)}/events?limit=1000" + (
            f"&cursor={quote(cursor)}" if cursor else ""
        )
        page = stack.request("GET", path, headers={"X-Api-Key": stack.query_key}).json()
        ids += [item["event_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids


def test_a_restart_keeps_every_event_error_key_and_count_and_fresh_starts_empty(tmp_path: Path) -> None:
    stack = start_stack(tmp_path)
    session = f"restart-{uuid.uuid4()}"
    sent = [event(session, n) for n in range(5)]
    bad = {**event(session, 99), "data": {"host": 42}}  # a schema violation: an error, not an event
    answer = stack.request("POST", "/events", body=[*sent, bad], headers={"X-Api-Key": stack.ingest_key})
    assert answer.status == 202, answer.body
    before = settled(stack)
    stored = session_ids(stack, session)
    errors = stack.request("GET", "/errors?limit=10", headers={"X-Api-Key": stack.query_key}).json()["items"]
    assert len(stored) == 5 and [e["type"] for e in errors] == ["schema_violation"]
    assert stop_stack(stack) == 0

    again = start_stack(tmp_path)  # same data directory, same fixed keys
    try:
        assert session_ids(again, session) == stored
        assert status(again) == before
        kept = again.request("GET", "/errors?limit=10", headers={"X-Api-Key": again.query_key}).json()[
            "items"
        ]
        assert kept == errors
    finally:
        assert stop_stack(again) == 0

    fresh = start_stack(tmp_path, THEEYE_FRESH="1")
    try:
        assert session_ids(fresh, session) == []
        assert status(fresh)["accepted"] == 0
    finally:
        stop_stack(fresh)


def test_kill_9_of_the_whole_stack_under_load_loses_nothing_accepted_and_stores_nothing_twice(
    tmp_path: Path,
) -> None:
    stack = start_stack(tmp_path)
    run = uuid.uuid4().hex[:8]
    accepted: dict[str, set[str]] = {f"kill-{run}-{n}": set() for n in range(SENDERS)}
    stop = threading.Event()

    def sender(session: str) -> None:
        n = 0
        while not stop.is_set():
            batch = [event(session, n + i) for i in range(EVENTS_PER_REQUEST)]
            n += EVENTS_PER_REQUEST
            try:
                answer = stack.request(
                    "POST", "/events", body=batch, headers={"X-Api-Key": stack.ingest_key}, timeout=30
                )
            except (OSError, urllib.error.URLError, http.client.HTTPException):
                return  # the stack is gone (a reset, or an answer cut off): this request's fate is unknown, and that is allowed
            if answer.status == 202:
                accepted[session].update(answer.json()["event_ids"])

    threads = [threading.Thread(target=sender, args=(session,)) for session in accepted]
    for thread in threads:
        thread.start()
    try:  # kill once a good number was accepted, with the pipeline busy
        eventually("1000 accepted events", lambda: sum(map(len, accepted.values())) >= 1000, interval=0.05)
    finally:
        kill_stack(stack)
        stop.set()
        for thread in threads:
            thread.join(60)
    total_accepted = sum(map(len, accepted.values()))
    assert total_accepted >= 1000, stack.log_tail()

    again = start_stack(tmp_path)
    try:
        ledger = settled(again)
        stored_total = 0
        for session, ids in accepted.items():
            stored = session_ids(again, session)
            assert len(stored) == len(set(stored)), f"{session}: an event stored twice"
            assert ids <= set(stored), f"{session}: {len(ids - set(stored))} accepted events lost"
            stored_total += len(stored)
        assert ledger["balanced"], ledger
        assert ledger["stored"] == stored_total
        assert ledger["accepted"] == ledger["stored"] + ledger["duplicates"]
        assert ledger["accepted"] >= total_accepted
    finally:
        assert stop_stack(again) == 0
