"""The local stack with its data directory on a disk that fills up, and is freed again.

While the disk is full, ingest answers 503 (nothing accepted) and ``GET /health`` answers
``503 degraded`` saying why; once space is back, ``/health`` is 200 again and every event that
was accepted - messages the processor was holding when the disk filled included - is stored
within 30 s, with the ledger balanced.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.local_stack import (
    LocalStackHandle,
    start_stack,
    stop_stack,
)
from tests.support import OUTCOME_DEADLINE_SECONDS
from tests.tmpfs import fill, mounted_tmpfs

TMPFS_MEBIBYTES = 48
EVENTS_PER_REQUEST = 20
STORED_AFTER_SPACE_RETURNS_SECONDS = 30.0  # the contract's bound, not a guess at speed


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    with mounted_tmpfs(tmp_path / "disk", TMPFS_MEBIBYTES) as mounted:
        yield mounted


@pytest.fixture
def stack(tmp_path: Path, disk: Path) -> Iterator[LocalStackHandle]:
    workdir = tmp_path / "stack"
    workdir.mkdir()
    handle = start_stack(workdir, THEEYE_DATA_DIR=str(disk / "data"))
    yield handle
    stop_stack(handle)


class Sender:
    """Posts batches of events in a loop and remembers what each answer was."""

    def __init__(self, stack: LocalStackHandle) -> None:
        self.stack = stack
        self.session = str(uuid.uuid4())
        self.accepted = 0
        self.statuses: list[int] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        number = 0
        while not self.stop.is_set():
            batch = [self.event(number * EVENTS_PER_REQUEST + i) for i in range(EVENTS_PER_REQUEST)]
            answer = self.stack.request(
                "POST", "/events", body=batch, headers={"Authorization": f"Bearer {self.stack.ingest_key}"}
            )
            self.statuses.append(answer.status)
            if answer.status == 202:
                self.accepted += len(answer.json()["event_ids"])
            number += 1

    def event(self, number: int) -> dict[str, Any]:
        return {
            "session_id": self.session,
            "category": "page interaction",
            "name": "pageview",
            "data": {"host": "www.example.com", "path": "/" + "p" * 2000},
            "timestamp": "2021-01-01T09:15:27Z",
            "event_id": f"disk-{number}",
        }


def wait_until(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"{what} not within {seconds:.0f} s"
        time.sleep(0.2)


def test_a_full_disk_is_degraded_loses_nothing_and_every_event_is_stored_once_space_returns(
    stack: LocalStackHandle, disk: Path
) -> None:
    query = {"Authorization": f"Bearer {stack.query_key}"}

    def status() -> dict[str, Any]:
        answer = stack.request("GET", "/status", headers=query)
        assert answer.status == 200, answer.body
        return dict(answer.json())

    # Given events flowing in, some stored and some on their way
    sender = Sender(stack)
    sender.thread.start()
    wait_until(lambda: status()["stored"] > 0, OUTCOME_DEADLINE_SECONDS, "a first stored event")

    # When the disk fills up
    filler = disk / "filler"
    fill(filler)

    # Then ingest refuses (nothing accepted) and /health says why
    wait_until(lambda: 503 in sender.statuses[-5:], OUTCOME_DEADLINE_SECONDS, "an ingest 503")
    sender.stop.set()
    sender.thread.join(OUTCOME_DEADLINE_SECONDS)
    health = stack.request("GET", "/health")
    assert health.status == 503
    assert health.json() == {
        "status": "degraded",
        "reason": "the disk holding the data directory is full (no room for 4 MiB more)",
    }
    assert sender.accepted > 0

    # When the space is freed
    filler.unlink()
    freed = time.monotonic()

    # Then /health is ok again, and every accepted event is stored within 30 s, the books balanced
    wait_until(
        lambda: stack.request("GET", "/health").status == 200,
        STORED_AFTER_SPACE_RETURNS_SECONDS,
        "/health 200",
    )

    def all_stored() -> bool:
        ledger = status()
        return ledger["stored"] == ledger["accepted"] == sender.accepted and ledger["queued"] == 0

    remaining = STORED_AFTER_SPACE_RETURNS_SECONDS - (time.monotonic() - freed)
    wait_until(all_stored, remaining, f"every one of {sender.accepted} accepted events stored")
    ledger = status()
    assert ledger["balanced"] and ledger["dead_lettered"] == 0 and ledger["duplicates"] == 0
    assert ledger["queue"] == {"messages": 0, "in_flight": 0}
