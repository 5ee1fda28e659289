"""Our own CPU per event: every AWS call answered by an in-memory stand-in, so only our code
(handler, validation, packing, serialisation, logging) is timed.

    .venv/bin/python -m bench.cpu [--repeats 7]

* ingest: the real ``lambda_handler`` (Powertools resolver, auth cache hit, envelope checks,
  packing, JSON, the INFO log line and metrics) for 1-event and 100-event requests;
* processor: ``process_message`` over a batch of 10 messages x 100 events;
* query: the real ``lambda_handler`` answering ``GET /events?session_id=`` with a page of 100.

Each figure is the median over ``--repeats`` rounds of CPU time (``time.process_time``).
Handler output (logs, metrics) goes to /dev/null, as it would to CloudWatch.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "TheEye")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from bench.common import ROOT, machine, median
from tests.unit.fakes import MemoryBackend
from theeye import wiring
from theeye.keys import new_api_key
from theeye.ports import Page, View, Window

BRIEFING = json.loads((ROOT / "events" / "briefing_events.json").read_text())
KEY, RECORD = new_api_key("bench", ["ingest", "query"])


class Context:
    function_name = "bench"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_group_name = "/aws/lambda/bench"
    log_stream_name = "s"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


class CannedEvents:
    """An event reader that answers every question with one page of 100 stored items (and a
    position, so the handler signs a next cursor), turned into views as the DynamoDB reader does."""

    def __init__(self) -> None:
        from theeye.views import event_view

        self.items = [
            {
                "sk": f"2021-01-01T09:15:27.{i:06d}Z#ev-{i}",
                "event_id": f"ev-{i}",
                "application_id": "bench",
                "session_id": "s-1",
                "category": "page interaction",
                "name": "pageview",
                "data": json.dumps({"host": "www.example.com", "path": f"/{i}"}),
                "timestamp": f"2021-01-01T09:15:27.{i:06d}Z",
                "received_at": "2021-01-01T09:15:28.000000Z",
            }
            for i in range(100)
        ]
        self.view = event_view

    def page(self) -> Page:
        return Page([self.view(i) for i in self.items], self.items[-1]["sk"], 1)

    def by_session(self, session_id: str, window: Window, **_: Any) -> Page:
        return self.page()

    def by_category(self, category: str, window: Window, **_: Any) -> Page:
        return self.page()

    def by_range(self, window: Window, **_: Any) -> Page:
        return self.page()

    def get(self, event_id: str) -> View | None:
        return None


class BenchBackend(MemoryBackend):
    """AWS answered in memory: the in-memory backend, holding the bench key, whose event
    reader serves the canned page above."""

    def __init__(self) -> None:
        super().__init__()
        self.key_store.put(RECORD)
        self.canned = CannedEvents()

    def event_reader(self) -> CannedEvents:  # type: ignore[override]
        return self.canned


def cpu_of(call: Callable[[], Any], rounds: int, per_round: int) -> float:
    samples = []
    sink = io.StringIO()
    for _ in range(rounds):
        with contextlib.redirect_stdout(sink):
            started = time.process_time()
            for _ in range(per_round):
                call()
            samples.append((time.process_time() - started) / per_round)
        sink.seek(0)
        sink.truncate()
    return median(samples)


def ingest(rounds: int) -> dict[str, float]:
    from ingest import handler

    handler.dependencies.cache_clear()
    request = json.loads((ROOT / "events" / "apigw_post_events_single.json").read_text())
    request["headers"]["x-api-key"] = KEY
    results = {}
    for count in (1, 100):
        events = [dict(BRIEFING[i % 3], session_id=f"s-{i}") for i in range(count)]
        request["body"] = json.dumps(events[0] if count == 1 else events)
        answer = handler.lambda_handler(request, Context())
        assert answer["statusCode"] == 202, answer
        per_request = cpu_of(
            lambda: handler.lambda_handler(request, Context()), rounds, 200 if count == 1 else 20
        )
        results[f"ingest, {count}-event request"] = per_request / count
    return results


def processor(rounds: int) -> dict[str, float]:
    from bench.processor_cost import batch
    from processor.logic import Processor, Rules, process_message
    from tests.unit.fakes import MemoryCounters, MemoryErrorStore, MemoryEventStore
    from theeye.schemas import SchemaRegistry

    schemas = SchemaRegistry.from_directory(ROOT / "schemas")
    schemas.compile_all()
    bodies = batch()

    def run() -> None:
        p = Processor(
            MemoryEventStore(),
            MemoryErrorStore(),
            MemoryCounters(),
            schemas,
            Rules(),
        )
        for body in bodies:
            process_message(body, p)

    return {"processor, batch of 10 x 100": cpu_of(run, rounds, 1) / 1000}


def query(rounds: int) -> dict[str, float]:
    from query import handler

    handler.dependencies.cache_clear()
    request = json.loads((ROOT / "events" / "apigw_get_health.json").read_text())
    request["rawPath"] = request["requestContext"]["http"]["path"] = "/events"
    request["headers"]["authorization"] = f"Bearer {KEY}"
    request["queryStringParameters"] = {"session_id": "s-1", "limit": "100"}
    answer = handler.lambda_handler(request, Context())
    assert answer["statusCode"] == 200, answer
    assert json.loads(answer["body"])["next_cursor"], answer
    return {
        "query, page of 100": cpu_of(lambda: handler.lambda_handler(request, Context()), rounds, 20) / 100
    }


def measure(rounds: int) -> dict[str, Any]:
    from ingest import handler as ingest_handler
    from query import handler as query_handler

    wiring.install(BenchBackend())
    try:
        per_event = {**ingest(rounds), **processor(rounds), **query(rounds)}
    finally:  # put the production wiring back for whatever runs next in this process
        wiring.install(None)
        ingest_handler.dependencies.cache_clear()
        query_handler.dependencies.cache_clear()
    return {
        "machine": machine(),
        "rounds": rounds,
        "cpu_us_per_event": {k: v * 1e6 for k, v in per_event.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    print(json.dumps(measure(parser.parse_args().repeats), indent=2))


if __name__ == "__main__":
    main()
