"""The ledger counts what reached the queue exactly once, whichever step of ingest dies.

Ingest's path is: parse and check the request, pack it into messages, queue them, count what
they carry, answer ``202``. A worker killed between any two of those steps (``Killed``, a
``BaseException`` as a ``kill -9`` is to the code) gets no answer out; the application sends
the same request again, which is a new request. After the processor has handled the queue,
every event is stored exactly once and the books balance: nothing counted as queued that is
not, nothing queued that is not counted (the processor counts the intake of every message it
handles unless ingest did). Run against every backend.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from ingest.logic import ingest
from processor import logic
from theeye.aws.queue import SqsQueue
from theeye.intake import QueueThenCount
from theeye.ledger import ledger_status
from theeye.messages import Origin
from theeye.ports import Backend, Intake
from theeye.schemas import SchemaRegistry
from theeye.sqlite import intake as sqlite_intake
from theeye.sqlite.intake import SqliteIntake
from theeye.sqlite.queue import SqliteQueue
from theeye_local.memory import MemoryQueue

SCHEMAS = Path(__file__).parents[2] / "schemas"
EVENTS = [
    {
        "event_id": f"kill-{i}",
        "session_id": "s-kill",
        "category": "page interaction",
        "name": "pageview",
        "data": {"host": "www.example.com", "path": f"/{i}"},
        "timestamp": f"2026-11-23T09:{i:02d}:00Z",
    }
    for i in range(12)
]


class Killed(BaseException):
    """The worker died here: nothing after this point ran."""


def die(*_: Any, **__: Any) -> None:
    raise Killed


class Around:
    """Wraps one collaborator of the intake: dies before or after one of its methods."""

    def __init__(self, inner: Any, method: str, when: str) -> None:
        self.inner, self.method, self.when = inner, method, when

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.inner, name)
        if name != self.method:
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            if self.when == "before":
                raise Killed
            attribute(*args, **kwargs)
            raise Killed

        return call


def killed_intake(backend: Backend, step: str, monkeypatch: pytest.MonkeyPatch) -> Intake:
    intake = backend.intake()
    if isinstance(intake, QueueThenCount):
        if step == "before queueing":
            return QueueThenCount(Around(intake.queue, "send", "before"), intake.ledger)
        if step == "after queueing, before counting":
            return QueueThenCount(Around(intake.queue, "send", "after"), intake.ledger)
        return QueueThenCount(intake.queue, Around(intake.ledger, "count_intake", "after"))
    assert isinstance(intake, SqliteIntake)
    if step == "before queueing":
        monkeypatch.setattr(intake.queue, "insert", die)
    elif step == "after queueing, before counting":  # inside the one transaction
        monkeypatch.setattr(sqlite_intake, "add_intake", die)
    else:
        return Around(intake, "accept", "after")
    return intake


def bodies(backend: Backend) -> list[str]:
    """Every message waiting in the events queue, taken out of it."""
    queue = backend.queue()
    if isinstance(queue, MemoryQueue):
        taken, queue.bodies = queue.bodies, []
        return taken
    if isinstance(queue, SqliteQueue):
        received = queue.receive(max_messages=100, visibility_timeout=600)
        return [r.body for r in received]
    assert isinstance(queue, SqsQueue)
    found = []
    while got := queue.client.receive_message(QueueUrl=queue.queue_url, MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        found += [m["Body"] for m in got]
    return found


def send(intake: Intake) -> None:
    origin = Origin("app-kill", "key-kill", "2026-11-23T10:00:00.000000Z", f"req-{uuid.uuid4()}")
    ingest(json.dumps(EVENTS).encode(), origin=origin, intake=intake)


STEPS = ("before queueing", "after queueing, before counting", "after counting, before answering")


@pytest.mark.parametrize("step", STEPS)
def test_a_retry_after_a_worker_died_at_any_step_balances(
    backend: Backend, step: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patched, pytest.raises(Killed):
        send(killed_intake(backend, step, patched))
    send(backend.intake())  # the application's retry: no 202 came back

    counters = backend.counters()
    schemas = SchemaRegistry.from_directory(SCHEMAS)
    processor = logic.Processor(
        backend.event_store(), backend.error_store(), counters, schemas, logic.Rules()
    )
    outcomes = [logic.process_message(body, processor) for body in bodies(backend)]
    logic.commit(processor, outcomes)

    status = ledger_status(
        counters.totals(), {"messages": 0, "in_flight": 0}, {"messages": 0, "in_flight": 0}
    )
    # SQLite queues and counts in one transaction: a death inside it leaves nothing queued.
    one_transaction = isinstance(backend.intake(), SqliteIntake)
    reached_queue = step == STEPS[2] or (step == STEPS[1] and not one_transaction)
    assert (status["stored"], status["duplicates"]) == (len(EVENTS), len(EVENTS) if reached_queue else 0)
    assert status["accepted"] == len(EVENTS) * (2 if reached_queue else 1)
    assert (status["queued"], status["balanced"]) == (0, True), status
