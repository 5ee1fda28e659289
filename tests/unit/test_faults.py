"""theeye_local.faults: the chaos runs' faults fail the ports as their adapters fail, every
backend; sticky faults fail the same messages on every delivery until the window ends; an AWS
call fault fails every attempt of the call it chose."""

from __future__ import annotations

import random
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import ClientError

from theeye import ports, wiring
from theeye.config import get_settings
from theeye.errors import QueueUnavailable, RetryableStoreError
from theeye.events import Event
from theeye.ledger import MessageTally
from theeye.messages import Origin, QueuedEvent, QueueMessage
from theeye.records import EventRecord
from theeye_local import faults, worker
from theeye_local.faults import (
    PORT_FAULTS,
    Fault,
    FaultPlan,
    FaultSpecError,
    FaultyBackend,
    Injector,
    from_environ,
    parse,
)
from theeye_local.memory import MemoryBackend

ORIGIN = Origin(
    application_id="app", key_id="key-1", received_at="2026-01-01T00:00:00.000000Z", request_id="r1"
)


def event(event_id: str) -> Event:
    return Event.from_dict(
        {
            "event_id": event_id,
            "session_id": "s",
            "category": "page interaction",
            "name": "pageview",
            "data": {"host": "h", "path": "/"},
            "timestamp": "2026-01-01T00:00:00.000000Z",
        }
    )


def record(event_id: str) -> EventRecord:
    e = event(event_id)
    return EventRecord(e, "app", ORIGIN.received_at, f"r1#{event_id}", e.content_hash())


def message(*event_ids: str) -> QueueMessage:
    return QueueMessage(ORIGIN, [QueuedEvent(n, event(i)) for n, i in enumerate(event_ids)])


class Draws(random.Random):
    """A random source that answers the draws given, in order."""

    def __init__(self, *draws: float) -> None:
        super().__init__(0)
        self.draws = list(draws)

    def random(self) -> float:
        return self.draws.pop(0)


def faulty(
    spec: str, *draws: float, until: float | None = None, now: float = 0.0
) -> tuple[Any, MemoryBackend]:
    inner = MemoryBackend()
    plan = parse(spec, until)
    injector = Injector(plan, rng=Draws(*draws), clock=lambda: now)
    return FaultyBackend(lambda: inner, plan, injector), inner


# -- the spec ---------------------------------------------------------------------------------


def test_a_spec_names_port_methods_with_a_share_or_a_sticky_share() -> None:
    plan = parse(
        "event_store.put_all=0.05, event_store.put_all=sticky:0.04,intake.accept=1,dynamodb.PutItem=0.1"
    )

    assert plan.faults == (
        Fault("event_store.put_all", 0.05),
        Fault("event_store.put_all", 0.04, sticky=True),
        Fault("intake.accept", 1.0),
        Fault("dynamodb.PutItem", 0.1),
    )
    assert parse("").faults == ()


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("event_store", "is not <target>=<share>"),
        ("event_store.put_all", "is not <target>=<share>"),
        ("events.put_all=0.1", "no port 'events'"),
        ("event_store.put_many=0.1", "event_store has no write method 'put_many' (it has: put, put_all)"),
        ("event_reader.get=0.1", "no port 'event_reader'"),
        ("counters.commit_batch=1.5", "the share must be a number from 0 to 1"),
        ("counters.commit_batch=lots", "not 'lots'"),
        ("counters.commit_batch=sticky:x", "not 'x'"),
        ("dynamodb.PutItem=sticky:0.1", "AWS call faults have no sticky kind"),
        ("dynamodb.PutItems=0.1", "dynamodb has no operation 'PutItems'"),
        ("sqs.SendMessages=0.1", "sqs has no operation 'SendMessages'"),
        ("intake.accept=0.1,intake.accept=0.2", "intake.accept is given twice"),
    ],
)
def test_a_bad_spec_is_refused_saying_what_is_wrong(spec: str, says: str) -> None:
    with pytest.raises(FaultSpecError, match="THEEYE_FAULTS") as refused:
        parse(spec)

    assert says in str(refused.value)


def test_the_window_comes_from_theeye_faults_until() -> None:
    plan = from_environ({"THEEYE_FAULTS": "intake.accept=0.5", "THEEYE_FAULTS_UNTIL": "1700000000"})

    assert plan.until == 1700000000.0
    assert plan.active(1699999999.0) and not plan.active(1700000000.0)
    assert from_environ({}).faults == () and from_environ({}).active()
    with pytest.raises(FaultSpecError, match="THEEYE_FAULTS_UNTIL='soon' is not a unix time"):
        from_environ({"THEEYE_FAULTS_UNTIL": "soon"})


def test_every_faultable_method_is_a_method_of_the_port_the_backend_builds() -> None:
    for port, (_, methods) in PORT_FAULTS.items():
        built = typing.get_type_hints(getattr(ports.Backend, port))["return"]
        for method in methods:
            assert callable(getattr(built, method, None)), (
                f"{port}.{method} is not a method of {built.__name__}"
            )


# -- port faults ------------------------------------------------------------------------------


def test_an_independent_fault_fails_before_the_write_or_after_it() -> None:
    backend, inner = faulty("event_store.put_all=0.5", 0.1, 0.2, 0.1, 0.9, 0.7)
    store = backend.event_store()

    with pytest.raises(RetryableStoreError, match=r"event_store\.put_all failed"):
        store.put_all([record("a")])  # drawn 0.1 < 0.5: fails; 0.2 < 0.5: before the write
    assert inner.events.guards == {}
    with pytest.raises(RetryableStoreError):
        store.put_all([record("b")])  # fails; 0.9: after the write (a lost answer)
    assert set(inner.events.guards) == {"b"}
    assert [o.value for o in store.put_all([record("c")])] == ["stored"]  # 0.7: no fault
    assert store.put(record("d")).value == "stored"  # put is not named: never fails


def test_the_queue_ports_fail_with_queue_unavailable_naming_what_was_taken() -> None:
    backend, inner = faulty("intake.accept=1,dead_letter_queue.send_body=1", 0.0, 0.1, 0.0, 0.9, 0.0, 0.1)
    intake = backend.intake()

    with pytest.raises(QueueUnavailable) as before:
        intake.accept([message("a")])
    assert before.value.delivered == [] and inner.queue().bodies == []
    taken = [message("b")]
    with pytest.raises(QueueUnavailable) as after:
        intake.accept(taken)
    assert after.value.delivered == taken and len(inner.queue().bodies) == 1
    with pytest.raises(QueueUnavailable):
        backend.dead_letter_queue().send_body("body")
    assert inner.dead_letter_queue().bodies == []


def test_other_ports_and_methods_pass_through_unchanged() -> None:
    backend, inner = faulty("counters.commit_batch=1")

    assert backend.keys() is inner.keys()
    assert backend.counters().totals() == inner.counters().totals()
    assert backend.cursor_secret() == inner.cursor_secret()


def test_a_sticky_fault_fails_the_same_messages_on_every_delivery_in_every_process() -> None:
    plan = parse("event_store.put_all=sticky:0.3")
    messages = [[record(f"m{n}-a"), record(f"m{n}-b")] for n in range(400)]

    def failing(backend: Any) -> set[int]:
        store, failed = backend.event_store(), set()
        for n, records in enumerate(messages):
            try:
                store.put_all(records)
            except RetryableStoreError:
                failed.add(n)
        return failed

    first = failing(FaultyBackend(MemoryBackend, plan))
    again = failing(FaultyBackend(MemoryBackend, plan))  # another process, another delivery

    assert first == again
    assert 80 < len(first) < 160  # about 30 %


def test_no_fault_fires_after_the_window() -> None:
    backend, _ = faulty("event_store.put_all=1,event_store.put_all=sticky:1", until=100.0, now=100.0)

    assert [o.value for o in backend.event_store().put_all([record("a")])] == ["stored"]


def test_a_sticky_fault_on_a_batch_fails_it_when_any_of_its_messages_is_chosen() -> None:
    keys = [f"k{n}" for n in range(100)]
    chosen = next(k for k in keys if faults.sticky_chosen("counters.commit_batch", k, 0.5))
    spared = next(k for k in keys if not faults.sticky_chosen("counters.commit_batch", k, 0.5))
    backend, _ = faulty("counters.commit_batch=sticky:0.5")
    empty = MessageTally(0, 0, {}, {})

    backend.counters().commit_batch([(spared, empty)])
    with pytest.raises(RetryableStoreError):
        backend.counters().commit_batch([(spared, empty), (chosen, empty)])


# -- installation in a function process ---------------------------------------------------------


@pytest.fixture
def sqlite_function(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, str]]:
    environ = {"STORAGE_BACKEND": "sqlite", "DATABASE_PATH": str(tmp_path / "theeye.db")}
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    wiring.reset()
    yield environ
    wiring.install(None)
    wiring.reset()
    get_settings.cache_clear()


def test_installed_port_faults_reach_the_adapters_the_handlers_get_from_the_wiring(
    sqlite_function: dict[str, str],
) -> None:
    faults.install(parse("event_store.put_all=sticky:1"), sqlite_function)

    store = wiring.backend().event_store()
    with pytest.raises(RetryableStoreError, match="injected by THEEYE_FAULTS"):
        store.put_all([record("a")])
    assert wiring.backend().queue().depth() == {"messages": 0, "in_flight": 0}  # the real SQLite backend


def test_a_worker_with_a_bad_spec_reports_it_as_its_init_error(sqlite_function: dict[str, str]) -> None:
    error = worker._install_faults({"THEEYE_FAULTS": "event_store.put_many=0.1"})

    assert error is not None and error["errorType"] == "Runtime.InvalidFaultSpec"
    assert "event_store has no write method 'put_many'" in error["errorMessage"]
    assert worker._install_faults({"THEEYE_FAULTS": "event_store.put_all=0.1"}) is None


def test_aws_call_faults_are_refused_on_the_embedded_backend(sqlite_function: dict[str, str]) -> None:
    with pytest.raises(FaultSpecError, match="need THEEYE_BACKEND=moto"):
        faults.install(parse("dynamodb.PutItem=0.1"), sqlite_function)


# -- AWS call faults ----------------------------------------------------------------------------


def test_an_aws_call_fault_fails_every_attempt_of_the_calls_it_chose(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("botocore.endpoint.time.sleep", lambda _seconds: None)  # no backoff waits
    client = boto3.session.Session(
        aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1"
    ).client(
        "dynamodb",
        endpoint_url="http://127.0.0.1:9",
        config=Config(retries={"mode": "standard", "max_attempts": 3}),
    )
    fault = parse("dynamodb.GetItem=0.5").faults[0]
    hook = faults._AwsCallFault(fault, FaultPlan((fault,)), "ProvisionedThroughputExceededException", 400)
    hook.rng = Draws(0.1, 0.9)  # the first call is chosen, the second is not
    attempts: list[int] = []

    def count(**_: Any) -> None:
        attempts.append(1)

    def answer(request: Any, **_: Any) -> AWSResponse:  # stands in for DynamoDB: no socket
        return AWSResponse(
            request.url, 200, {"Content-Type": "application/x-amz-json-1.0"}, faults._Raw(b"{}")
        )

    events = client.meta.events
    events.register("before-call.dynamodb.GetItem", hook.before_call)
    events.register("before-send.dynamodb.GetItem", count)
    events.register("before-send.dynamodb.GetItem", hook.before_send)
    events.register("before-send.dynamodb.GetItem", answer)

    with pytest.raises(ClientError, match="ProvisionedThroughputExceededException"):
        client.get_item(TableName="t", Key={"pk": {"S": "a"}})
    # Every attempt of the chosen call failed (botocore's max_attempts counts the retries).
    assert len(attempts) == 1 + 3
    assert "Item" not in client.get_item(TableName="t", Key={"pk": {"S": "a"}})
    assert len(attempts) == 5  # the next call was not chosen: one attempt, answered
