"""The operators' CLI against moto in-process: tables and queues built from template.yaml.

``cli`` yields a :class:`Cli`: a :class:`theeye_cli.target.Target` on the mocked session
(there is no endpoint URL under ``mock_aws``, so the target is injected rather than read from
a state file), ``run(*argv)`` to call ``theeye`` in-process, and helpers that put data where
the pipeline would (errors, ledger counts, dead letters).
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from theeye import aws
from theeye.aws.counters import DynamoCounters
from theeye.aws.errors import DynamoErrorStore
from theeye.clock import format_timestamp
from theeye.events import Event
from theeye.ledger import message_key
from theeye.messages import Origin, QueuedEvent, QueueMessage, Rejection
from theeye.records import ErrorRecord, derive_error_id
from theeye_cli.__main__ import main
from theeye_cli.target import Target
from theeye_local.resources import create_resources

TEMPLATE_INDEX_SHARDS = 16  # the template's default IndexShards, what the processor writes with


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@dataclass
class Cli:
    target: Target
    refs: dict[str, str]
    session: boto3.session.Session

    def run(self, *argv: str) -> Result:
        out, err = io.StringIO(), io.StringIO()
        code = main(list(argv), target=self.target, out=out, err=err)
        return Result(code, out.getvalue(), err.getvalue())

    @property
    def sqs(self) -> Any:
        return self.session.client("sqs")

    @property
    def ledger(self) -> DynamoCounters:
        return DynamoCounters(self.target.counters_table, client=self.session.client("dynamodb"))

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
        store = DynamoErrorStore(self.target.errors_table, 30, client=self.session.client("dynamodb"))
        store.put(
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

    def dead_letter(self, events: int = 2, *, counted: bool = True, body: str | None = None) -> str:
        """A message in the DLQ; ``counted``: ingest accepted its events and the processor
        counted it as dead-lettered, as the pipeline does before SQS moves it."""
        body = body if body is not None else self.message_body(events)
        if counted:
            self.ledger.count_ingest(events, {})
            self.ledger.count_dead_letter(message_key(body), events)
        self.sqs.send_message(QueueUrl=self.target.dlq_url, MessageBody=body)
        return body

    def bodies(self, queue_url: str) -> list[str]:
        """Every body in a queue, visible or not yet (received once each, left in place)."""
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


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
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
        yield Cli(target, refs, session)
        aws.client.cache_clear()
