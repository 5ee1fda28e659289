"""Query latency on the local stack, and what each query costs in DynamoDB requests and reads.

    .venv/bin/python -m bench.query_latency [--category-events 100000] [--session-events 1000] [--runs 20]

Seeds the local stack's tables directly (BatchWriteItem of the items the processor would
write: events, guards and the category registry), so the query side can be measured on a
large day without waiting for the pipeline: one session with ``--session-events`` events,
and one category holding ``--category-events`` events on one day, spread over its shards.
Then each query runs ``--runs`` times over HTTP (median and p95 of the round trip), and once
in-process against the same embedded AWS with every DynamoDB call counted: requests, items
evaluated and read units (0.5 RRU per 4 KB evaluated per Query page, eventually consistent).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

from bench.cost import item_bytes
from bench.local_latency import start
from theeye.aws import layout
from theeye.aws.events import event_item, guard_item
from theeye.events import Event
from theeye.records import EventRecord
from theeye_local.launcher import QUERY_KEY

DAY = "2024-06-01"
CATEGORY = "page interaction"
SESSION = "bench-session-0001"


def seed(
    dynamodb: Any, table: str, counters: str, shards: int, category_events: int, session_events: int
) -> float:
    """Write the items; returns the average event item size in bytes."""
    items: list[dict[str, Any]] = []
    sizes: list[int] = []
    for n in range(category_events + session_events):
        in_session = n >= category_events
        seconds = (n * 86_399) // max(category_events, 1) if not in_session else n - category_events
        stamp = (
            f"{DAY}T{seconds // 3600 % 24:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}.{n % 10**6:06d}Z"
        )
        event = Event(
            event_id=f"bench-{n:07d}",
            session_id=SESSION if in_session else f"visitor-{n % 5000}",
            category=CATEGORY if not in_session else "form interaction",
            name="pageview" if n % 10 else "cta click",
            data={"host": "www.example.com", "path": f"/articles/{n % 977}"},
            timestamp=stamp,
        )
        record = EventRecord(event, "bench-app", stamp, f"bench#{n}", event.content_hash())
        item = event_item(record, shards, stamp)
        sizes.append(item_bytes(item))
        items += [item, guard_item(record)]
    batches = [items[i : i + 25] for i in range(0, len(items), 25)]

    def write(chunk: list[dict[str, Any]]) -> None:
        pending = {table: [{"PutRequest": {"Item": i}} for i in chunk]}
        while pending:
            pending = dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(write, batches))
    dynamodb.update_item(
        TableName=counters,
        Key={"pk": {"S": layout.CATEGORY_REGISTRY_PK}, "sk": {"S": DAY}},
        UpdateExpression="ADD #n :n",
        ExpressionAttributeNames={"#n": "names"},
        ExpressionAttributeValues={":n": {"SS": [CATEGORY, "form interaction"]}},
    )
    return statistics.mean(sizes)


QUERIES: dict[str, str] = {
    "session, first page of 100": f"/sessions/{SESSION}/events?limit=100",
    "session, all 1,000 (10 pages)": f"/sessions/{SESSION}/events?limit=100",
    "category + day, first page of 100": f"/events?category={CATEGORY.replace(' ', '%20')}&from={DAY}&to=2024-06-02&limit=100",
    "category + name + day, page of 100": f"/events?category={CATEGORY.replace(' ', '%20')}&name=cta%20click&from={DAY}&to=2024-06-02&limit=100",
    "category + 1 hour, page of 100": f"/events?category={CATEGORY.replace(' ', '%20')}&from={DAY}T12:00:00Z&to={DAY}T13:00:00Z&limit=100",
    "day only (every category), page of 100": f"/events?from={DAY}&to=2024-06-02&limit=100",
}


def http_get(port: int, path: str) -> dict[str, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {QUERY_KEY}"}
    )
    with urllib.request.urlopen(request, timeout=600) as answer:
        return dict(json.loads(answer.read()))


def run_query(port: int, label: str) -> tuple[float, int]:
    """Seconds for the query (all pages for the walking one) and items returned."""
    path = QUERIES[label]
    started = time.perf_counter()
    body = http_get(port, path)
    items = len(body["items"])
    if "all 1,000" in label:
        while body["next_cursor"]:
            body = http_get(port, f"{path}&cursor={body['next_cursor']}")
            items += len(body["items"])
    return time.perf_counter() - started, items


class Meter:
    """Counts DynamoDB calls and the read units they would bill."""

    def __init__(self, item_size: float) -> None:
        self.item_size = item_size
        self.requests = 0
        self.evaluated = 0
        self.read_units = 0.0

    def after_call(self, http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        self.requests += 1
        if model.name == "Query":
            scanned = int(parsed.get("ScannedCount", 0))
            self.evaluated += scanned
            self.read_units += max(1, math.ceil(scanned * self.item_size / 4096)) * 0.5
        elif model.name == "GetItem":
            self.read_units += 0.5


def metered(endpoint: str, state: dict[str, Any], label: str, item_size: float) -> Meter:
    """Run one query's logic in-process against the stack's AWS and count what it costs."""
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "EVENTS_TABLE": state["tables"]["EventsTable"],
            "COUNTERS_TABLE": state["tables"]["CountersTable"],
        }
    )
    from query import logic
    from theeye import aws
    from theeye.aws.backend import AwsBackend
    from theeye.config import Settings

    meter = Meter(item_size)
    aws.client("dynamodb").meta.events.register("after-call.dynamodb", meter.after_call)
    settings = Settings(
        events_table=state["tables"]["EventsTable"],
        errors_table=state["tables"]["ErrorsTable"],
        counters_table=state["tables"]["CountersTable"],
        index_shards=16,
    )
    queries = logic.EventQueries(AwsBackend(settings).event_reader())
    params = dict(p.split("=", 1) for p in QUERIES[label].split("?", 1)[1].split("&"))
    params = {k: v.replace("%20", " ") for k, v in params.items()}
    session = SESSION if label.startswith("session") else None
    after = None
    while True:
        page = queries.list(
            session_id=session,
            category=params.get("category"),
            name=params.get("name"),
            start=datetime.fromisoformat(params["from"].replace("Z", "+00:00")).replace(tzinfo=UTC)
            if "from" in params
            else None,
            end=datetime.fromisoformat(params["to"].replace("Z", "+00:00")).replace(tzinfo=UTC)
            if "to" in params
            else None,
            limit=int(params["limit"]),
            order="asc",
            after=after,
            now=datetime.now(UTC),
        )
        if "all 1,000" not in label or page.position is None:
            return meter
        after = page.position


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--category-events", type=int, default=100_000)
    parser.add_argument("--session-events", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument(
        "--no-http",
        action="store_true",
        help="skip the HTTP round trips (moto answers an index query by scanning the whole table, "
        "so at 100,000 events a fan-out of 16 index queries outlasts the function's 10 s timeout)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        stack, _ = start(Path(scratch), 1, "moto")
        port, state = stack.port, stack.state
        try:
            dynamodb = boto3.client(
                "dynamodb",
                endpoint_url=state["aws_endpoint"],
                region_name="us-east-1",
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
            began = time.perf_counter()
            size = seed(
                dynamodb,
                state["tables"]["EventsTable"],
                state["tables"]["CountersTable"],
                16,
                args.category_events,
                args.session_events,
            )
            print(
                f"seeded {args.category_events + args.session_events} events ({size:.0f} B each) in {time.perf_counter() - began:.0f} s"
            )
            print(
                f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; runs: {args.runs}"
            )
            print(
                "| query | items | HTTP p50 ms | HTTP p95 ms | in-process ms | DynamoDB requests | items evaluated | read units |"
            )
            print("| --- | --- | --- | --- | --- | --- | --- | --- |")
            for label in QUERIES:
                p50 = p95 = float("nan")
                items = 0
                if not args.no_http:
                    run_query(port, label)  # warm-up
                    timings = []
                    for _ in range(args.runs):
                        seconds, items = run_query(port, label)
                        timings.append(seconds * 1000)
                    timings.sort()
                    p50 = statistics.median(timings)
                    p95 = timings[min(len(timings) - 1, math.ceil(0.95 * len(timings)) - 1)]
                began = time.perf_counter()
                meter = metered(state["aws_endpoint"], state, label, size)
                in_process = (time.perf_counter() - began) * 1000
                print(
                    f"| {label} | {items or '-'} | {p50:.1f} | {p95:.1f} | {in_process:.0f} | "
                    f"{meter.requests} | {meter.evaluated} | {meter.read_units:.1f} |"
                )
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
