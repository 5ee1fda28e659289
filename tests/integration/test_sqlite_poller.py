"""The local poll loop on the embedded backend: the same ``SqsPoller`` that serves moto feeds
the real processor handler SQS-shaped events from the SQLite queue, deletes what succeeded,
retries what failed and lets the queue dead-letter a message after ``maxReceiveCount``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ingest.handler import dependencies as ingest_dependencies
from ingest.handler import lambda_handler as ingest_handler
from processor.handler import dependencies as processor_dependencies
from processor.handler import lambda_handler as processor_handler
from tests.support import LambdaContext, eventually
from theeye import wiring
from theeye.config import get_settings
from theeye.keys import new_api_key
from theeye.sqlite.backend import SqliteBackend
from theeye_local.lambdas import SqsSource
from theeye_local.poller import InFlight, SqsPoller
from theeye_local.pool import Outcome
from theeye_local.sqlite_sqs import SqliteSqs

ROOT = Path(__file__).parents[2]
SAMPLE_INGEST_KEY = "eye_sample-ingest-key-for-tests-and-sam-local-0001"
QUEUE_URL = "sqlite://EventsQueue"
SOURCE = SqsSource(
    function_id="ProcessorFunction",
    queue_id="EventsQueue",
    queue_url=QUEUE_URL,
    queue_arn="arn:aws:sqs:us-east-1:000000000000:EventsQueue",
    batch_size=10,
    batching_window_seconds=0,
    report_batch_item_failures=True,
    maximum_concurrency=None,
)


class Unreadable:
    """A message body that is not The Eye's: the processor can never handle it."""

    def to_body(self) -> str:
        return "not a message of The Eye"


def _clear() -> None:
    get_settings.cache_clear()
    wiring.reset()
    ingest_dependencies.cache_clear()
    processor_dependencies.cache_clear()


@pytest.fixture
def backend(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[SqliteBackend]:
    monkeypatch.setenv("SCHEMAS_DIR", str(ROOT / "schemas"))
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "TheEye")
    monkeypatch.setenv("STORAGE_BACKEND", "sqlite")
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "theeye.db"))
    monkeypatch.setenv("MAX_RECEIVE_COUNT", "2")
    _clear()
    chosen = wiring.backend()
    assert isinstance(chosen, SqliteBackend)
    yield chosen
    _clear()


def invoke(event: dict[str, Any]) -> Outcome:
    return Outcome(request_id="local", payload=json.dumps(processor_handler(event, LambdaContext())))


def test_pollers_store_the_briefing_and_dead_letter_a_poison_message(backend: SqliteBackend) -> None:
    # Given the briefing accepted by the ingest handler and one unreadable message in the queue
    backend.keys().put(new_api_key("sample-app", ["ingest"], raw_key=SAMPLE_INGEST_KEY)[1])
    request = json.loads((ROOT / "events" / "apigw_post_events_batch.json").read_text())
    request["body"] = (ROOT / "events" / "briefing_events.json").read_text()
    accepted = ingest_handler(request, LambdaContext())
    assert accepted["statusCode"] == 202
    ids = json.loads(accepted["body"])["event_ids"]
    backend.queue().send([Unreadable()])  # type: ignore[list-item]

    # When two pollers run the real processor over the SQLite queue
    sqs = SqliteSqs({QUEUE_URL: backend.queue()}, visibility_timeout=30)
    claims = InFlight()
    pollers = [
        SqsPoller(
            SOURCE, sqs, invoke, region="us-east-1", retry_delay_seconds=0, in_flight=claims, name=f"p{n}"
        )
        for n in range(2)
    ]
    for poller in pollers:
        poller.start()
    try:
        eventually(
            "the poison message dead-lettered", lambda: backend.dead_letter_queue().depth()["messages"] == 1
        )
        eventually("an empty queue", lambda: backend.queue().depth() == {"messages": 0, "in_flight": 0})
    finally:
        for poller in pollers:
            poller.request_stop()
        for poller in pollers:
            poller.join(10)

    # Then every event is stored once, the poison message is dead-lettered, the ledger says so
    for event_id in ids:
        assert backend.event_reader().get(event_id) is not None
    totals = backend.counters().totals()
    assert (totals["accepted"], totals["stored"], totals["dead_lettered_messages"]) == (len(ids), len(ids), 1)
