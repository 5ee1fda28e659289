"""The processor through its real handler, per event, on the embedded (SQLite) backend and on moto.

    .venv/bin/python -m bench.processor_handler [--rounds 10] [--backend embedded --backend moto]

Each round posts 10 requests of 100 new events through the ingest function's handler (not
timed), receives the queued messages as the SQS event source does (a batch of the template's
``ProcessorBatchSize``), and times one invocation of ``processor.handler.lambda_handler`` on
that SQS event: Powertools' ``BatchProcessor``, message parsing, schema validation, the event
and guard writes, the batch's ledger commit, the log lines and metrics. The ledger must show
every event of the round stored. One round runs first untimed (schemas, clients, first
connections: what the cold start bench measures).

Per event, the median over rounds of: CPU time of this process (``time.process_time``, every
thread: SQLite's engine on the embedded backend, moto's emulation on moto) and wall time
(``time.perf_counter``: on SQLite, its commits' fsyncs too); and the bytes the handler wrote
(its log lines and EMF metrics, what CloudWatch Logs ingests).
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from typing import Any

from bench import stacks
from bench.common import median, stamp

PER_REQUEST = 100


def one_round(stack: stacks.Stack, output: stacks.Output, tag: str, batch_size: int) -> dict[str, float]:
    """Queue ``batch_size`` requests of new events, then time the processor on their messages."""
    for request in range(batch_size):
        stack.post(stacks.briefing_events(request * PER_REQUEST, PER_REQUEST, tag), str(uuid.uuid4()))
    messages: list[dict[str, Any]] = []
    while len(messages) < batch_size:
        got = stack.receive(batch_size - len(messages))
        assert got, f"{stack.name}: the queue holds {len(messages)} of {batch_size} messages"
        messages += got
    event = stack.sqs_event(messages)
    before = stack.totals()
    output.take()  # the ingest function's lines are not the processor's
    cpu, wall = time.process_time(), time.perf_counter()
    stack.process(event)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    written = len(output.take().encode())
    stored = stack.totals()["stored"] - before.get("stored", 0)
    assert stored == batch_size * PER_REQUEST, f"{stack.name}: stored {stored} of {batch_size * PER_REQUEST}"
    stack.delete(messages)
    return {"cpu_s": cpu, "wall_s": wall, "events": stored, "log_bytes": written}


def measure_backend(name: str, rounds: int, batch_size: int) -> dict[str, Any]:
    with stacks.STACKS[name]() as stack, stacks.Output() as output:
        one_round(stack, output, f"warm-{uuid.uuid4().hex[:6]}", batch_size)
        samples = [
            one_round(stack, output, f"r{n}-{uuid.uuid4().hex[:6]}", batch_size) for n in range(rounds)
        ]
    return {
        "events_per_invocation": samples[0]["events"],
        "cpu_us_per_event": median([s["cpu_s"] / s["events"] for s in samples]) * 1e6,
        "wall_us_per_event": median([s["wall_s"] / s["events"] for s in samples]) * 1e6,
        "invocation_ms": median([s["wall_s"] for s in samples]) * 1000,
        "log_bytes_per_event": median([s["log_bytes"] / s["events"] for s in samples]),
    }


def measure(rounds: int, backends: tuple[str, ...] = ("embedded", "moto")) -> dict[str, Any]:
    batch_size = int(stacks.template_default("ProcessorBatchSize"))
    command = f"python -m bench.processor_handler --rounds {rounds}"
    if set(backends) != set(stacks.STACKS):
        command += "".join(f" --backend {b}" for b in backends)
    return stamp(
        command,
        {
            "rounds": rounds,
            "messages_per_invocation": batch_size,
            "events_per_message": PER_REQUEST,
            "backends": {name: measure_backend(name, rounds, batch_size) for name in backends},
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--backend", action="append", choices=tuple(stacks.STACKS))
    args = parser.parse_args()
    print(json.dumps(measure(args.rounds, tuple(args.backend or stacks.STACKS)), indent=2))


if __name__ == "__main__":
    main()
