"""The processor's own cost per event: CPU time with AWS answered in memory, and write units.

    .venv/bin/python bench/processor_cost.py [--repeats 20]

CPU: a batch of 10 messages x 100 valid events (the three briefing types, mixed) is processed
by ``processor.logic.process_message`` against in-memory stores, ``--repeats`` times; the
median process time per event is reported (our code only: no network, no serialisation by
boto3). Write units: the DynamoDB item sizes of an event, its index entry and its guard,
computed with DynamoDB's size rules (attribute name bytes + value bytes), rounded up to 1 KB
per write, as billed on demand.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "functions"), str(ROOT)]

from processor.logic import Processor, Rules, process_message
from tests.unit.fakes import MemoryCounters, MemoryErrorStore, MemoryEventStore
from theeye.aws.events import event_item, guard_item
from theeye.events import Event, validate_event
from theeye.messages import Origin, QueuedEvent, QueueMessage
from theeye.records import EventRecord
from theeye.schemas import SchemaRegistry

BRIEFING = json.loads((ROOT / "events" / "briefing_events.json").read_text())


def batch(messages: int = 10, per_message: int = 100) -> list[str]:
    bodies = []
    for m in range(messages):
        origin = Origin("bench-app", "key-bench", "2026-11-23T10:00:00.000000Z", f"req-{m}")
        queued = []
        for i in range(per_message):
            raw = dict(
                BRIEFING[i % 3],
                session_id=f"session-{m}",
                timestamp=f"2026-11-23T09:{i % 60:02d}:00.{i:06d}Z",
            )
            event = validate_event(raw, "bench-app")
            assert isinstance(event, Event)
            queued.append(QueuedEvent(i, event))
        bodies.append(QueueMessage(origin, queued).to_body())
    return bodies


def cpu_per_event(repeats: int) -> float:
    schemas = SchemaRegistry.from_directory(ROOT / "schemas")
    schemas.compile_all()
    bodies = batch()
    events = sum(len(QueueMessage.from_body(b).events) for b in bodies)
    samples = []
    for _ in range(repeats):
        processor = Processor(
            events=MemoryEventStore(),
            errors=MemoryErrorStore(),
            ledger=MemoryCounters(),
            schemas=schemas,
            rules=Rules(),
        )
        started = time.process_time()
        for body in bodies:
            outcome = process_message(body, processor)
            assert outcome.stored == 100
        samples.append((time.process_time() - started) / events)
        processor.executor.shutdown()  # type: ignore[attr-defined]
    return statistics.median(samples)


def item_bytes(item: dict[str, Any]) -> int:
    """DynamoDB's item size: for each attribute, its name's bytes plus its value's."""
    size = 0
    for name, value in item.items():
        size += len(name.encode())
        if "S" in value:
            size += len(value["S"].encode())
        elif "N" in value:
            size += math.ceil(len(value["N"].lstrip("-").replace(".", "")) / 2) + 1
    return size


def write_units() -> list[tuple[str, int, int]]:
    raw = dict(BRIEFING[2], session_id="e6fa79ca-d142-4046-a134-5134f16a0b5e")
    event = validate_event(raw, "bench-app")
    assert isinstance(event, Event)
    record = EventRecord(event, "bench-app", "2026-11-23T10:00:00.000000Z", "req#0", event.content_hash())
    stored = event_item(record, 16, "2026-11-23T10:00:01.000000Z")
    guard = guard_item(record)
    rows = [
        ("event item (table)", item_bytes(stored)),
        ("ByCategory entry (projection ALL)", item_bytes(stored)),
        ("guard item", item_bytes(guard)),
    ]
    return [(what, size, math.ceil(size / 1024)) for what, size in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    cpu = cpu_per_event(args.repeats)
    print(
        f"machine: {platform.machine()}, Python {platform.python_version()}, {len(__import__('os').sched_getaffinity(0))} cores"
    )
    print(f"processor CPU per valid event (median of {args.repeats} batches of 1,000): {cpu * 1e6:.1f} us")
    total = 0
    for what, size, units in write_units():
        total += units
        print(f"  {what:36} {size:5d} bytes  {units} WRU")
    print(f"write units per stored event (form interaction/submit): {total}")


if __name__ == "__main__":
    main()
