"""``POST /v1/batch`` against ``POST /events``: the same events, events/s into the embedded backend.

    .venv/bin/python -m bench.segment [--events 20000] [--rounds 3]

Starts `make run`'s stack (embedded backend, fresh data directory). Each of ``--rounds`` rounds
sends ``--events`` events through ``POST /events`` and then as many through ``POST /v1/batch``,
each as ``bench.local_load`` sends its batches (``local_load.batches``: 100 events per request
from 8 senders on keep-alive connections, then until the ledger shows nothing queued), so the
two routes alternate on the same stack and file. Every event of a round is new.

The events are ``local_load.event``'s; on ``/v1/batch`` each is the ``track`` message that the
contract's mapping turns into it - ``anonymousId`` the session, ``event`` the name,
``properties`` the data with its ``category``, a ``messageId`` and the library ``context`` that
``segment-analytics-python`` adds - in a batch with ``sentAt``, sent with HTTP Basic as the
libraries send it. The stored event then also holds ``data.segment``, as every ``/v1/*`` event
does. Per route: accepted/s, stored/s end to end, request p50/p99 and body bytes per request,
per round and their medians; the load average before and after each round.
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from segment.analytics.version import VERSION

from bench.common import load_average, stamp
from bench.local_latency import start
from bench.local_load import PER_REQUEST, POST_EVENTS, SENDERS, Route, batches, event
from theeye_local.launcher import INGEST_KEY

EVENTS = 20_000
ROUNDS = 3
LIBRARY = {"name": "analytics-python", "version": VERSION}  # the context the library adds


def message(n: int, total: int) -> dict[str, Any]:
    """Event ``n`` of ``total`` as the Segment ``track`` message that maps to it."""
    e = event(n, total)
    return {
        "type": "track",
        "messageId": f"bench-segment-{n:08d}",
        "anonymousId": e["session_id"],
        "event": e["name"],
        "properties": {**e["data"], "category": e["category"]},
        "timestamp": e["timestamp"],
        "context": {"library": LIBRARY},
        "integrations": {},
    }


def batch_body(numbers: list[int], total: int) -> bytes:
    sent_at = datetime.now(UTC).isoformat()
    return json.dumps({"batch": [message(n, total) for n in numbers], "sentAt": sent_at}).encode()


BASIC = base64.b64encode(f"{INGEST_KEY}:".encode()).decode()
ROUTES = {
    "POST /events": POST_EVENTS,
    "POST /v1/batch": Route("/v1/batch", batch_body, {"Authorization": f"Basic {BASIC}"}, 200),
}


def body_bytes(route: Route, total: int) -> int:
    """The bytes of one request of ``PER_REQUEST`` events on ``route``."""
    return len(route.body(list(range(PER_REQUEST)), total))


def measure(events: int = EVENTS, rounds: int = ROUNDS) -> dict[str, Any]:
    total = events * rounds * len(ROUTES)
    runs: dict[str, list[dict[str, Any]]] = {label: [] for label in ROUTES}
    with tempfile.TemporaryDirectory(prefix="theeye-bench-segment-") as scratch:
        stack, _ = start(Path(scratch), 1)
        try:
            first = 0
            for _ in range(rounds):
                for label, route in ROUTES.items():
                    before = load_average()
                    figures = batches(stack.port, first, events, total, route)
                    runs[label].append({**figures, "load_before": before, "load_after": load_average()})
                    first += events
        finally:
            stack.stop()
    routes = {
        label: {
            "path": route.path,
            "body_bytes": body_bytes(route, total),
            "rounds": runs[label],
            "accepted_per_s": statistics.median(r["accepted_per_s"] for r in runs[label]),
            "stored_per_s": statistics.median(r["stored_per_s"] for r in runs[label]),
            "p50_ms": statistics.median(r["p50_ms"] for r in runs[label]),
            "p99_ms": statistics.median(r["p99_ms"] for r in runs[label]),
            "exactly_once": all(r["exactly_once"] and r["balanced"] for r in runs[label]),
        }
        for label, route in ROUTES.items()
    }
    command = "python -m bench.segment"
    command += f" --events {events}" if events != EVENTS else ""
    command += f" --rounds {rounds}" if rounds != ROUNDS else ""
    return stamp(
        command,
        {
            "backend": "embedded",
            "events": events,
            "rounds": rounds,
            "senders": SENDERS,
            "per_request": PER_REQUEST,
            "routes": routes,
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=EVENTS)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    options = parser.parse_args()
    print(json.dumps(measure(options.events, options.rounds), indent=2))


if __name__ == "__main__":
    main()
