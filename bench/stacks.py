"""The functions in this process on one backend, configured as template.yaml configures them,
for the benches that go through the real handlers (``bench.cost``, ``bench.processor_handler``).

* ``embedded``: the SQLite backend on a fresh file (``make run``'s default); the queue is
  received through ``theeye_local.sqlite_sqs``, as the local poll loop receives it;
* ``moto``: the AWS backend against moto in this process (``mock_aws``), the tables and queues
  created from template.yaml.

A stack sets the environment the template gives the ingest and processor functions, clears
every cached setting, client and dependency on the way in and on the way out (so two stacks
can follow each other in one process), and holds an ingest key. ``Output`` collects what the
handlers write - Powertools' log lines and EMF metrics, what CloudWatch Logs would ingest.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "TheEye")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from bench.common import ROOT
from theeye_local.embedded import UNREACHABLE_AWS_ENDPOINT

REGION = "us-east-1"
ACCOUNT = "123456789012"
FUNCTIONS = ("IngestFunction", "ProcessorFunction")
POST_EVENTS = json.loads((ROOT / "events" / "apigw_post_events_batch.json").read_text())


class Context:
    """The Lambda context the handlers read (name, memory, request id, time left)."""

    function_name = "bench"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:bench"
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_group_name = "/aws/lambda/bench"
    log_stream_name = "s"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


class Output:
    """Everything the handlers write while entered: the logger's stream and stdout (metrics)."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()
        self._stdout = contextlib.redirect_stdout(self.buffer)
        self._previous: Any = None

    def __enter__(self) -> Output:
        from theeye.observability import logger

        self._previous = logger.registered_handler.setStream(self.buffer)  # type: ignore[attr-defined]
        self._stdout.__enter__()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType | None
    ) -> None:
        from theeye.observability import logger

        self._stdout.__exit__(kind, value, trace)
        logger.registered_handler.setStream(self._previous)  # type: ignore[attr-defined]

    def take(self) -> str:
        """What was written since the last ``take``."""
        text = self.buffer.getvalue()
        self.buffer.seek(0)
        self.buffer.truncate()
        return text


@dataclass
class Stack:
    """The ingest and processor handlers on one backend, and the queue between them."""

    name: str
    ingest_key: str
    sqs: Any  # receive_message / delete_message_batch, as boto3's SQS client answers them
    queue_url: str
    queue_arn: str
    refs: dict[str, str]

    def post(self, events: list[dict[str, Any]], request_id: str) -> dict[str, Any]:
        """``POST /events`` with ``events`` through the ingest function's real handler."""
        from ingest import handler

        request = json.loads(json.dumps(POST_EVENTS))
        request["headers"]["authorization"] = f"Bearer {self.ingest_key}"
        request["requestContext"]["requestId"] = request_id
        request["body"] = json.dumps(events)
        answer: dict[str, Any] = handler.lambda_handler(request, Context())
        assert answer["statusCode"] == 202, answer
        return answer

    def receive(self, count: int) -> list[dict[str, Any]]:
        """Up to ``count`` messages, as the SQS event source receives them."""
        got = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=count, AttributeNames=["All"]
        )
        return list(got.get("Messages", []))

    def delete(self, messages: list[dict[str, Any]]) -> None:
        """What the event source does after a batch without failures."""
        self.sqs.delete_message_batch(
            QueueUrl=self.queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )

    def sqs_event(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        """The event Lambda's SQS event source hands the processor for ``messages``."""
        return {"Records": [self._record(m) for m in messages]}

    def process(self, event: dict[str, Any]) -> dict[str, Any]:
        """The processor function's real handler on ``event``; it must fail no message."""
        from processor import handler

        response: dict[str, Any] = dict(handler.lambda_handler(event, Context()))
        assert not response.get("batchItemFailures"), response
        return response

    def totals(self) -> dict[str, int]:
        """The ledger, added up: what the backend says was accepted, stored, ..."""
        from theeye import wiring

        return dict(wiring.backend().counters().totals())

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        body = message["Body"]
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": body,
            "attributes": dict(message.get("Attributes", {})),
            "messageAttributes": {},
            "md5OfBody": message.get("MD5OfBody")
            or hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": REGION,
        }


def _forget_cached() -> None:
    """Every cache that holds settings, clients or collaborators: a new container, as it were."""
    from ingest import handler as ingest_handler
    from processor import handler as processor_handler
    from query import handler as query_handler
    from theeye import aws, wiring
    from theeye.config import get_settings

    wiring.install(None)
    for cached in (
        get_settings,
        aws.client,
        ingest_handler.dependencies,
        processor_handler.dependencies,
        query_handler.dependencies,
    ):
        cached.cache_clear()
    wiring.reset()


@contextlib.contextmanager
def environment(variables: dict[str, str], drop: tuple[str, ...] = ()) -> Iterator[None]:
    """``variables`` set (``drop`` unset) while entered, every cache forgotten on the way in and out."""
    saved = dict(os.environ)
    for name in drop:
        os.environ.pop(name, None)
    os.environ.update(variables)
    _forget_cached()
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
        _forget_cached()


def _functions_environment(refs: dict[str, str]) -> dict[str, str]:
    """What template.yaml gives the ingest and processor functions, resolved against ``refs``."""
    from theeye_local.lambdas import function_environment

    merged: dict[str, str] = {}
    for function_id in FUNCTIONS:
        merged.update(function_environment(function_id, refs))
    return merged


def _issue_key() -> str:
    from theeye import wiring
    from theeye.keys import new_api_key

    raw, record = new_api_key("bench", ["ingest"])
    wiring.backend().keys().put(record)
    return raw


@contextlib.contextmanager
def embedded() -> Iterator[Stack]:
    """The SQLite backend on a fresh file in a scratch directory."""
    from theeye import wiring
    from theeye.sqlite.backend import SqliteBackend
    from theeye_local.resources import name_resources
    from theeye_local.sqlite_sqs import SqliteSqs

    refs = name_resources()
    with tempfile.TemporaryDirectory(prefix="theeye-bench-") as scratch:
        variables = {
            **_functions_environment(refs),
            "STORAGE_BACKEND": "sqlite",
            "DATABASE_PATH": str(Path(scratch) / "theeye.db"),
            "AWS_ENDPOINT_URL": UNREACHABLE_AWS_ENDPOINT,
        }
        with environment(variables):
            backend = wiring.backend()
            assert isinstance(backend, SqliteBackend), backend
            queue_url = refs["EventsQueue"]
            yield Stack(
                name="embedded",
                ingest_key=_issue_key(),
                sqs=SqliteSqs({queue_url: backend.queue()}, visibility_timeout=30),
                queue_url=queue_url,
                queue_arn=f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue_url.rsplit('/', 1)[-1]}",
                refs=refs,
            )
            backend.db.close()


@contextlib.contextmanager
def moto() -> Iterator[Stack]:
    """The AWS backend on moto in this process, the template's resources created in it."""
    import boto3
    from moto import mock_aws

    from theeye import aws
    from theeye_local.resources import create_resources

    credentials = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }
    with environment(credentials, drop=("AWS_ENDPOINT_URL",)), mock_aws():
        refs = create_resources(boto3.session.Session(region_name=REGION))
        with environment(_functions_environment(refs)):
            sqs = aws.client("sqs")
            queue_url = refs["EventsQueue"]
            arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
            yield Stack(
                name="moto",
                ingest_key=_issue_key(),
                sqs=sqs,
                queue_url=queue_url,
                queue_arn=arn["Attributes"]["QueueArn"],
                refs=refs,
            )


class MemorySqs:
    """SQS's receive and batch delete over the in-memory backend's queue (``theeye_local.memory``)."""

    def __init__(self, bodies: list[str]) -> None:
        self.bodies = bodies
        self.received = 0

    def receive_message(self, *, MaxNumberOfMessages: int = 1, **_: Any) -> dict[str, Any]:
        taken = self.bodies[:MaxNumberOfMessages]
        del self.bodies[:MaxNumberOfMessages]
        messages = []
        for body in taken:
            self.received += 1
            messages.append(
                {
                    "MessageId": f"m-{self.received}",
                    "ReceiptHandle": f"r-{self.received}",
                    "Body": body,
                    "Attributes": {"ApproximateReceiveCount": "1"},
                }
            )
        return {"Messages": messages} if messages else {}

    def delete_message_batch(self, **_: Any) -> dict[str, Any]:
        return {"Successful": [], "Failed": []}


@contextlib.contextmanager
def in_memory(backend: Any) -> Iterator[Stack]:
    """The handlers on ``backend``, an in-memory backend (``theeye_local.memory.MemoryBackend``):
    every AWS call answered in memory, so only our own code runs."""
    from theeye import wiring
    from theeye_local.resources import name_resources

    refs = name_resources()
    with environment({**_functions_environment(refs), "AWS_ENDPOINT_URL": UNREACHABLE_AWS_ENDPOINT}):
        wiring.install(backend)
        name = refs["EventsQueue"].rsplit("/", 1)[-1]
        yield Stack(
            name="memory",
            ingest_key=_issue_key(),
            sqs=MemorySqs(backend.queue().bodies),
            queue_url=refs["EventsQueue"],
            queue_arn=f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}",
            refs=refs,
        )


STACKS = {"embedded": embedded, "moto": moto}


def template_default(parameter: str) -> Any:
    """The default of one of template.yaml's parameters (what a plain deploy gets)."""
    from theeye_local.template import load_template

    return load_template().parameters[parameter]["Default"]


def briefing_events(first: int, count: int, tag: str) -> list[dict[str, Any]]:
    """Events ``first..first+count`` of the three briefing types in turn, 50 sessions, one a
    second; a ``tag`` makes them new events (their ids derive from their content)."""
    briefing = json.loads((ROOT / "events" / "briefing_events.json").read_text())
    return [
        dict(
            briefing[n % 3],
            session_id=f"visitor-{tag}-{n % 50}" if tag else f"visitor-{n % 50}",
            timestamp=f"2026-11-23T09:{n // 60 % 60:02d}:{n % 60:02d}.{n:06d}Z",
        )
        for n in range(first, first + count)
    ]
