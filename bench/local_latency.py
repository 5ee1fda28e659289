"""Measure the local stack: time to ready, and POST /events latency.

    python bench/local_latency.py [--starts 3] [--requests 300]

Starts ``python -m theeye_local`` on a free port ``--starts`` times and reports the median
seconds from process start to the first ``200`` from ``GET /health``. On the last start it
sends ``--requests`` sequential ``POST /events`` with 1 event, then as many with 100 events,
over one keep-alive connection (after a warm-up of 20 requests each, not counted), and reports
p50/p99 of the client-side round trip. The stack's own log goes to a temporary file.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import statistics
import tempfile
import time
from pathlib import Path

from theeye_local.launcher import INGEST_KEY, LocalStack

WARM_UP = 20


def start(
    scratch: Path, number: int, backend: str = "embedded", **environment: str
) -> tuple[LocalStack, float]:
    """A fresh stack in ``scratch/stack-<number>`` (this shell's variables reach it, as with
    ``make run``), ready; it and the seconds until /health answered 200."""
    stack = LocalStack(
        scratch / f"stack-{number}",
        {"THEEYE_BACKEND": backend, "THEEYE_FRESH": "1", **environment},
        shell=os.environ,
    )
    return stack, stack.start()


def events(request_number: int, count: int) -> bytes:
    return json.dumps(
        [
            {
                "session_id": f"bench-{request_number}",
                "category": "bench",
                "name": "tick",
                "data": {"n": n, "note": "x" * 64},
                "timestamp": "2021-01-01T09:15:27.243860Z",
            }
            for n in range(count)
        ]
    ).encode()


def latencies(port: int, per_request: int, requests: int) -> list[float]:
    """Milliseconds of each of ``requests`` sequential POSTs (after the warm-up)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {INGEST_KEY}", "Content-Type": "application/json"}
    measured: list[float] = []
    for number in range(WARM_UP + requests):
        body = events(number, per_request)
        started = time.perf_counter()
        connection.request("POST", "/events", body=body, headers=headers)
        answer = connection.getresponse()
        answer.read()
        elapsed = (time.perf_counter() - started) * 1000
        if answer.status != 202:
            raise SystemExit(f"POST /events answered {answer.status}")
        if number >= WARM_UP:
            measured.append(elapsed)
    connection.close()
    return measured


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest value with at least ``fraction`` of them at or below."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--requests", type=int, default=300)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="theeye-bench-") as scratch:
        ready: list[float] = []
        for number in range(1, options.starts + 1):
            stack, seconds = start(Path(scratch), number)
            ready.append(seconds)
            print(f"start {number}: /health 200 after {seconds:.2f} s", flush=True)
            if number < options.starts:
                stack.stop()
        try:
            results = {size: latencies(stack.port, size, options.requests) for size in (1, 100)}
        finally:
            stack.stop()
    print(f"\nready (median of {len(ready)}): {statistics.median(ready):.2f} s")
    for size, values in results.items():
        print(
            f"POST /events, {size:>3} event(s), {len(values)} sequential requests: "
            f"p50 {percentile(values, 0.50):.1f} ms, p99 {percentile(values, 0.99):.1f} ms"
        )


if __name__ == "__main__":
    main()
