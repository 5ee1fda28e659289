"""Our own CPU per event: every AWS call answered by an in-memory stand-in, so only our code
(handler, validation, packing, serialisation, logging) is timed.

    .venv/bin/python -m bench.cpu [--repeats 7]

* ingest: the real ``lambda_handler`` (Powertools resolver, auth cache hit, envelope checks,
  packing, JSON, the INFO log line and metrics) for 1-event and 100-event requests, and for
  100-event requests whose events carry a context: the user agents of
  tests/fixtures/user_agents.json in turn (each parsed once, then answered by the cache, as a
  warm container answers the few hundred agents that make most traffic), the referrers of
  tests/fixtures/referrers.json, addresses, pages with and without a campaign; what enrichment
  adds to an event is the difference of the two 100-event figures;
* processor: the real ``lambda_handler`` on an SQS event of 10 messages x 100 events, the
  messages queued by the ingest handler (``bench.processor_handler``'s round, on the
  in-memory backend): BatchProcessor, parsing, validation, writes, the ledger commit, logs;
* query: the real ``lambda_handler`` answering ``GET /events?session_id=`` with a page of 100.

Each figure is the median over ``--repeats`` rounds of CPU time (``time.process_time``).
Handler output (logs, metrics) goes to a buffer, as it would to CloudWatch.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

from bench import processor_handler, stacks
from bench.common import ROOT, median, stamp
from bench.stacks import Context
from theeye.keys import new_api_key
from theeye.ports import Page, View, Window
from theeye_local.memory import MemoryBackend

BRIEFING = json.loads((ROOT / "events" / "briefing_events.json").read_text())
KEY, RECORD = new_api_key("bench", ["ingest", "query"])
INGEST_SINGLE = "ingest, 1-event request"
INGEST_BATCH = "ingest, 100-event request"
PROCESSOR = "processor, SQS batch of 10 x 100 (handler)"
QUERY = "query, page of 100"
INGEST_CONTEXT = "ingest, 100-event request with a context"
ENRICHMENT = "event context added to an ingested event"
FIXTURES = ROOT / "tests" / "fixtures"


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


def cpu_of(call: Callable[[], Any], rounds: int, per_round: int, output: stacks.Output) -> float:
    samples = []
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(per_round):
            call()
        samples.append((time.process_time() - started) / per_round)
        output.take()
    return median(samples)


def ingest(rounds: int, output: stacks.Output) -> dict[str, float]:
    from ingest import handler

    request = json.loads((ROOT / "events" / "apigw_post_events_single.json").read_text())
    request["headers"]["x-api-key"] = KEY
    results = {}
    for count, label in ((1, INGEST_SINGLE), (100, INGEST_BATCH)):
        events = [dict(BRIEFING[i % 3], session_id=f"s-{i}") for i in range(count)]
        request["body"] = json.dumps(events[0] if count == 1 else events)
        answer = handler.lambda_handler(request, Context())
        assert answer["statusCode"] == 202, answer
        per_request = cpu_of(
            lambda: handler.lambda_handler(request, Context()), rounds, 200 if count == 1 else 20, output
        )
        results[label] = per_request / count
    request["body"] = json.dumps(with_context(100))
    for _ in range(2):  # every agent of the mix parsed and cached, as in a warm container
        answer = handler.lambda_handler(request, Context())
        assert answer["statusCode"] == 202, answer
    results[INGEST_CONTEXT] = (
        cpu_of(lambda: handler.lambda_handler(request, Context()), rounds, 20, output) / 100
    )
    results[ENRICHMENT] = results[INGEST_CONTEXT] - results[INGEST_BATCH]
    return results


def with_context(count: int) -> list[dict[str, Any]]:
    """``count`` events as a browser sends them: each with the next agent, referrer and address of
    the fixtures, every other page with a campaign."""
    agents = [
        case["user_agent"] for case in json.loads((FIXTURES / "user_agents.json").read_text())["user_agents"]
    ]
    referrers = json.loads((FIXTURES / "referrers.json").read_text())
    addresses = json.loads((FIXTURES / "addresses.json").read_text())["addresses"]
    page = referrers["page_url"]
    return [
        dict(
            BRIEFING[i % 3],
            session_id=f"s-{i}",
            context={
                "user_agent": agents[i % len(agents)],
                "ip": addresses[i % len(addresses)]["ip"],
                "page": {
                    "url": f"{page}?utm_source=news&utm_medium=email" if i % 2 else page,
                    "referrer": referrers["referrers"][i % len(referrers["referrers"])]["referrer"],
                    "title": "Pricing",
                },
                "locale": "en-GB",
                "timezone": "Europe/London",
                "screen": {"width": 1920, "height": 1080},
            },
        )
        for i in range(count)
    ]


def processor(stack: stacks.Stack, rounds: int, output: stacks.Output) -> dict[str, float]:
    """The processor's handler on fresh messages each round, as ``bench.processor_handler`` runs it."""
    del stack.sqs.bodies[:]  # what the ingest rounds queued is not this bench's batch
    batch_size = int(stacks.template_default("ProcessorBatchSize"))
    processor_handler.one_round(stack, output, "cpu-warm", batch_size)
    samples = [processor_handler.one_round(stack, output, f"cpu-{n}", batch_size) for n in range(rounds)]
    return {PROCESSOR: median([s["cpu_s"] / s["events"] for s in samples])}


def query(rounds: int, output: stacks.Output) -> dict[str, float]:
    from query import handler

    request = json.loads((ROOT / "events" / "apigw_get_health.json").read_text())
    request["rawPath"] = request["requestContext"]["http"]["path"] = "/events"
    request["headers"]["authorization"] = f"Bearer {KEY}"
    request["queryStringParameters"] = {"session_id": "s-1", "limit": "100"}
    answer = handler.lambda_handler(request, Context())
    assert answer["statusCode"] == 200, answer
    assert json.loads(answer["body"])["next_cursor"], answer
    return {QUERY: cpu_of(lambda: handler.lambda_handler(request, Context()), rounds, 20, output) / 100}


def measure(rounds: int) -> dict[str, Any]:
    with stacks.in_memory(BenchBackend()) as stack, stacks.Output() as output:
        per_event = {
            **ingest(rounds, output),
            **processor(stack, rounds, output),
            **query(rounds, output),
        }
    return stamp(
        f"python -m bench.cpu --repeats {rounds}",
        {"rounds": rounds, "cpu_us_per_event": {k: v * 1e6 for k, v in per_event.items()}},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    print(json.dumps(measure(parser.parse_args().repeats), indent=2))


if __name__ == "__main__":
    main()
