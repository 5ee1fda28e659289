"""Measure how many events/s one ``theeye_client.Client`` pushes into the local stack.

    python bench/client_throughput.py [--events 20000] [--batch-size 100] [--stored]
    python bench/client_throughput.py --endpoint http://127.0.0.1:3000 --ingest-key K --query-key Q

Starts ``python -m theeye_local`` on a free port (unless ``--endpoint`` names a running stack),
then tracks ``--events`` events from one thread as fast as ``track`` returns, with one
``Client`` (its defaults, but for ``--batch-size``), and reports:

* track: events/s of the ``track`` calls alone (validation, stamping, queueing);
* accepted: events/s from the first ``track`` until ``flush()`` returned, i.e. every event
  answered ``202`` by the API;
* stored (``--stored``): events/s from the first ``track`` until all of them are stored (the
  asynchronous processor included), checked every ``--poll-interval`` s (so to within that), at
  most ``--store-timeout`` s; from ``GET /status`` where the stack serves it, else by reading
  the sessions back (those reads compete with the pipeline: a lower bound).
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
import uuid
from pathlib import Path

from theeye_client import Client, NotFound, QueryClient

from theeye_local.launcher import INGEST_KEY, QUERY_KEY, LocalStack


def measure(options: argparse.Namespace, url: str, ingest_key: str, query_key: str) -> None:
    run = uuid.uuid4().hex[:12]
    sessions = [f"bench-client-{run}-{n}" for n in range(options.sessions)]
    problems: list[str] = []
    eye = Client(
        ingest_key,
        url,
        batch_size=options.batch_size,
        max_queue_size=max(10_000, options.events),
        on_error=lambda exc, events: problems.append(f"{len(events)} events: {exc}"),
    )
    baseline = ledger_stored(url, query_key) if options.stored else None
    started = time.perf_counter()
    for n in range(options.events):
        eye.track(sessions[n % len(sessions)], "bench", "client tick", {"n": n, "note": "x" * 64})
    tracked = time.perf_counter()
    stats = eye.flush(timeout=600)
    accepted = time.perf_counter()
    eye.close()
    print(f"python {platform.python_version()}, {os.cpu_count()} CPU(s), {platform.machine()}")
    print(f"events: {options.events}, batch_size: {options.batch_size}, sessions: {len(sessions)}")
    print(f"client stats: {stats}")
    for problem in problems[:5]:
        print(f"  on_error: {problem}")
    print(f"track:    {options.events / (tracked - started):10.0f} events/s ({tracked - started:.2f} s)")
    print(f"accepted: {stats.sent / (accepted - started):10.0f} events/s ({accepted - started:.2f} s)")
    if not options.stored:
        return
    reader = QueryClient(query_key, url)
    counts = dict.fromkeys(sessions, 0)
    deadline = time.monotonic() + options.store_timeout
    while sum(counts.values()) < stats.sent and time.monotonic() < deadline:
        time.sleep(options.poll_interval)
        if baseline is not None:  # the ledger: one cheap request
            counts[sessions[0]] = reader.status()["stored"] - baseline
        else:  # reading the sessions back competes with the pipeline: skip the complete ones
            for session in sessions:
                if counts[session] < options.events // len(sessions):
                    counts[session] = sum(1 for _ in reader.session_events(session, page_size=1000))
        print(f"  {time.perf_counter() - started:6.1f} s: {sum(counts.values())} stored", flush=True)
    stored_at = time.perf_counter()
    stored = sum(counts.values())
    print(
        f"stored:   {stored / (stored_at - started):10.0f} events/s ({stored} in {stored_at - started:.2f} s)"
    )


def ledger_stored(url: str, query_key: str) -> int | None:
    """``stored`` from ``GET /status``, or None where the stack does not serve it yet."""
    try:
        return QueryClient(query_key, url, max_retries=0).status()["stored"]
    except NotFound:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--stored", action="store_true", help="also wait until every event is stored")
    parser.add_argument("--store-timeout", type=float, default=300.0)
    parser.add_argument("--poll-interval", type=float, default=10.0, help="seconds between storage checks")
    parser.add_argument("--endpoint", help="a running stack (default: start one)")
    parser.add_argument("--ingest-key", default=INGEST_KEY)
    parser.add_argument("--query-key", default=QUERY_KEY)
    options = parser.parse_args()
    if options.endpoint:
        measure(options, options.endpoint, options.ingest_key, options.query_key)
        return
    with tempfile.TemporaryDirectory(prefix="theeye-bench-") as scratch:
        stack = LocalStack(Path(scratch), shell=os.environ)
        stack.start()
        try:
            measure(options, stack.base_url, stack.ingest_key, stack.query_key)
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
