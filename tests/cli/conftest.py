"""The operators' CLI on both local backends: moto in-process, and the embedded SQLite file.

``cli`` yields a :class:`Cli` once per backend (test ids ``[moto]`` and ``[embedded]``):

* ``MotoCli``: a :class:`theeye_cli.target.Target` on the mocked session, tables and queues built
  from template.yaml (there is no endpoint URL under ``mock_aws``, so the target is injected
  rather than read from a state file);
* ``EmbeddedCli``: the target ``local_target()`` reads from a state file as the local stack
  writes it for its embedded backend, on a fresh SQLite file in ``tmp_path``; every socket
  connection fails during the test, so a command that reached for the network fails it.

Both give ``run(*argv)`` to call ``theeye`` in-process, and helpers that put data where the
pipeline would (errors, ledger counts, dead letters) through the backend's own adapters, on a
handle of their own. A test that only makes sense on AWS is marked ``@moto_only``.
"""

from __future__ import annotations

import io
import json
import os
import socket
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import boto3
import pytest
from moto import mock_aws

from theeye import aws
from theeye.aws.counters import DynamoCounters
from theeye.aws.errors import DynamoErrorStore
from theeye.aws.keys import DynamoKeyStore
from theeye.clock import format_timestamp
from theeye.events import Event
from theeye.ledger import IntakeTally, message_key
from theeye.messages import Origin, QueuedEvent, QueueMessage, Rejection
from theeye.ports import Counters, ErrorStore, KeyStore
from theeye.records import ErrorRecord, derive_error_id
from theeye.sqlite.backend import SqliteBackend
from theeye.sqlite.db import unavailable
from theeye.sqlite.queue import SqliteQueue
from theeye_cli.__main__ import main
from theeye_cli.target import Target, local_target
from theeye_local.resources import create_resources
from theeye_local.sqlite_sqs import SqliteSqs

TEMPLATE_INDEX_SHARDS = 16  # the template's default IndexShards, what the processor writes with
EMBEDDED_QUEUE_URL = "sqlite://theeye-local-EventsQueue"
EMBEDDED_DLQ_URL = "sqlite://theeye-local-DeadLetterQueue"
EMBEDDED_TABLES = {
    "EventsTable": "theeye-local-EventsTable",
    "ErrorsTable": "theeye-local-ErrorsTable",
    "ApiKeysTable": "theeye-local-ApiKeysTable",
    "CountersTable": "theeye-local-CountersTable",
}

# A test that needs AWS itself (DynamoDB calls, CloudFormation, a message-move task).
moto_only = pytest.mark.parametrize("cli", ["moto"], indirect=True)


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def message_body(events: int, *, rejections: int = 0) -> str:
    """A queue message as ingest writes it, with ``events`` events and ``rejections`` rejections."""
    origin = Origin("shop", "key-0123456789abcdef", format_timestamp(datetime.now(UTC)), uuid.uuid4().hex)
    message = QueueMessage(origin)
    for index in range(events):
        event = Event(
            event_id=f"ev-{uuid.uuid4().hex[:12]}",
            session_id="s-1",
            category="page interaction",
            name="pageview",
            data={"host": "www.example.com", "path": "/"},
            timestamp="2021-01-01T09:15:27.243860Z",
        )
        message.events.append(QueuedEvent(index, event))
    message.rejections += [
        Rejection(events + n, "invalid_envelope", [{"field": "name", "message": "is required"}], {})
        for n in range(rejections)
    ]
    return message.to_body()


class Cli(ABC):
    """A target, and what the pipeline leaves on its backend (each subclass: one backend)."""

    kind: ClassVar[str]
    target: Target

    def run(self, *argv: str) -> Result:
        out, err = io.StringIO(), io.StringIO()
        code = main(list(argv), target=self.target, out=out, err=err)
        return Result(code, out.getvalue(), err.getvalue())

    # -- the backend, as the pipeline (another process) sees it -------------------------------

    @property
    @abstractmethod
    def sqs(self) -> Any:
        """An SQS client of the target's queues, not the target's own."""

    @property
    @abstractmethod
    def ledger(self) -> Counters: ...

    @abstractmethod
    def error_store(self) -> ErrorStore: ...

    @abstractmethod
    def enqueue(self, queue_url: str, body: str) -> None:
        """Put a message in a queue, as ingest (or SQS's redrive policy) does."""

    @abstractmethod
    def bodies(self, queue_url: str) -> list[str]:
        """Every body in a queue, visible or not yet, left in place."""

    @abstractmethod
    def depth(self, queue_url: str) -> tuple[int, int]:
        """Messages visible (or delayed) and in flight."""

    @abstractmethod
    def stored_keys(self) -> list[dict[str, Any]]:
        """What the keys table holds, item by item, as plain values."""

    @abstractmethod
    def key_store(self) -> KeyStore:
        """The keys table as the functions see it (a fresh adapter, nothing cached)."""

    # -- data as the pipeline leaves it ---------------------------------------------------------

    def record_error(
        self,
        error_type: str,
        *,
        application_id: str = "shop",
        source: str = "processor",
        age: timedelta = timedelta(minutes=5),
        details: list[dict[str, str]] | None = None,
        payload: Any = None,
    ) -> str:
        received = format_timestamp(datetime.now(UTC) - age)
        error_id = derive_error_id(error_type, received, uuid.uuid4().hex)
        self.error_store().put(
            ErrorRecord(
                error_id=error_id,
                type=error_type,
                source=source,
                application_id=application_id,
                received_at=received,
                event_id=f"ev-{uuid.uuid4().hex[:8]}" if source == "processor" else None,
                details=details or [{"field": "data.path", "message": "is required"}],
                payload=payload if payload is not None else {"name": "pageview", "data": {}},
                key_id="key-0123456789abcdef",
                request_id="req-1",
            )
        )
        return error_id

    def message_body(self, events: int, *, rejections: int = 0) -> str:
        return message_body(events, rejections=rejections)

    def dead_letter(self, events: int = 2, *, counted: bool = True, body: str | None = None) -> str:
        """A message in the DLQ; ``counted``: ingest accepted its events and the processor
        counted it as dead-lettered, as the pipeline does before the queue moves it."""
        body = body if body is not None else self.message_body(events)
        if counted:
            self.ledger.count_intake([IntakeTally(message_key(body), events, {})])
            self.ledger.count_dead_letter(message_key(body), events)
        self.enqueue(self.target.dlq_url, body)
        return body


@dataclass
class MotoCli(Cli):
    target: Target
    refs: dict[str, str]
    session: boto3.session.Session
    kind: ClassVar[str] = "moto"

    @property
    def sqs(self) -> Any:
        return self.session.client("sqs")

    @property
    def ledger(self) -> DynamoCounters:
        return DynamoCounters(self.target.counters_table, client=self.session.client("dynamodb"))

    def error_store(self) -> DynamoErrorStore:
        return DynamoErrorStore(self.target.errors_table, 30, client=self.session.client("dynamodb"))

    def enqueue(self, queue_url: str, body: str) -> None:
        self.sqs.send_message(QueueUrl=queue_url, MessageBody=body)

    def bodies(self, queue_url: str) -> list[str]:
        found: list[dict[str, Any]] = []
        while True:
            got = self.sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=30, WaitTimeSeconds=0
            ).get("Messages", [])
            if not got:
                break
            found += got
        for message in found:
            self.sqs.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        return sorted(str(m["Body"]) for m in found)

    def depth(self, queue_url: str) -> tuple[int, int]:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]), int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )

    def stored_keys(self) -> list[dict[str, Any]]:
        items = self.session.client("dynamodb").scan(TableName=self.target.keys_table)["Items"]
        return [{name: next(iter(value.values())) for name, value in item.items()} for item in items]

    def key_store(self) -> KeyStore:
        return DynamoKeyStore(self.target.keys_table)


@dataclass
class EmbeddedCli(Cli):
    """The target of a state file naming an embedded stack's SQLite file; ``pipeline`` is a
    backend of its own on that file, as a worker of the stack would open it."""

    target: Target
    pipeline: SqliteBackend
    state_file: Path
    kind: ClassVar[str] = "embedded"

    @property
    def sqs(self) -> SqliteSqs:
        return SqliteSqs(
            {
                self.target.queue_url: self.pipeline.queue(),
                self.target.dlq_url: self.pipeline.dead_letter_queue(),
            },
            visibility_timeout=30,
        )

    @property
    def ledger(self) -> Counters:
        return self.pipeline.counters()

    def error_store(self) -> ErrorStore:
        return self.pipeline.error_store()

    def enqueue(self, queue_url: str, body: str) -> None:
        self._queue(queue_url).send_body(body)

    def bodies(self, queue_url: str) -> list[str]:
        table = self._queue(queue_url).table  # read as it is, receiving nothing
        rows = self.pipeline.db.read(unavailable("test"), f"SELECT body FROM {table}")  # noqa: S608
        return sorted(str(row["body"]) for row in rows)

    def depth(self, queue_url: str) -> tuple[int, int]:
        depth = self._queue(queue_url).depth()
        return depth["messages"], depth["in_flight"]

    def stored_keys(self) -> list[dict[str, Any]]:
        return [dict(row) for row in self.pipeline.db.read(unavailable("test"), "SELECT * FROM api_keys")]

    def key_store(self) -> KeyStore:
        return SqliteBackend(self.pipeline.db.path).keys()

    def _queue(self, queue_url: str) -> SqliteQueue:
        if queue_url == self.target.dlq_url:
            return self.pipeline.dead_letter_queue()
        assert queue_url == self.target.queue_url, queue_url
        return self.pipeline.queue()


def state_of(refs: dict[str, str], **extra: Any) -> dict[str, Any]:
    """What ``make run`` writes to local.json, for these resources."""
    return {
        "tables": {k: refs[k] for k in ("EventsTable", "ErrorsTable", "ApiKeysTable", "CountersTable")},
        "queues": {k: refs[k] for k in ("EventsQueue", "DeadLetterQueue")},
        "queue_url": refs["EventsQueue"],
        "dlq_url": refs["DeadLetterQueue"],
        "region": "us-east-1",
        **extra,
    }


def embedded_state(database: Path, **extra: Any) -> dict[str, Any]:
    """What the local stack writes to local.json on its embedded backend."""
    return {
        "backend": "embedded",
        "database": str(database),
        "data_dir": str(database.parent),
        "tables": dict(EMBEDDED_TABLES),
        "queues": {"EventsQueue": EMBEDDED_QUEUE_URL, "DeadLetterQueue": EMBEDDED_DLQ_URL},
        "queue_url": EMBEDDED_QUEUE_URL,
        "dlq_url": EMBEDDED_DLQ_URL,
        "max_receive_count": 5,
        "visibility_timeout": 180,
        "error_retention_days": 30,
        "api_url": "http://127.0.0.1:9",
        "region": "us-east-1",
        "ingest_key": "eye_local-ingest",
        "query_key": "eye_local-query",
        **extra,
    }


def make_embedded_stack(directory: Path, **extra: Any) -> tuple[Path, SqliteBackend]:
    """A fresh SQLite file with its schema (as the stack opens it before writing its state) and
    the state file naming it, written by this (running) process."""
    database = directory / "data" / "theeye.db"
    backend = SqliteBackend(database)
    backend.db.connection()
    state_file = directory / "local.json"
    state_file.write_text(json.dumps(embedded_state(database, **{"pid": os.getpid(), **extra})))
    return state_file, backend


def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every connection (and name lookup) fails: an embedded command must never open one."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"a network connection was attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture(params=["moto", "embedded"])
def cli(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Cli]:
    if request.param == "embedded":
        state_file, pipeline = make_embedded_stack(tmp_path)
        no_network(monkeypatch)
        yield EmbeddedCli(local_target(state_file), pipeline, state_file)
        pipeline.db.close()
        return
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        aws.client.cache_clear()  # the domain's cached clients must not outlive one mock
        session = boto3.session.Session(region_name="us-east-1")
        refs = create_resources(session)
        target = Target.from_state(state_of(refs), session=session, endpoint_url=None)
        yield MotoCli(target, refs, session)
        aws.client.cache_clear()
