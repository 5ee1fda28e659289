"""End-to-end throughput and ingest latency through the local stack (what `make run` serves).

    .venv/bin/python -m bench.throughput [--events 2000]

For 1, 8 and 32 concurrent senders, each posting requests of 1 and of 100 events over keep-alive
connections, it reports accepted events/s (until every request was answered), stored events/s
(from the first request until the ledger at GET /status shows nothing queued) and the p50/p99
round trip of POST /events. Every run checks the ledger balances afterwards: nothing lost.
"""

from __future__ import annotations

import argparse
import http.client
import json
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from bench.common import ROOT, machine, median, percentile
from bench.local_latency import INGEST_KEY, QUERY_KEY, start, stop

BRIEFING = json.loads((ROOT / "events" / "briefing_events.json").read_text())


def status(port: int) -> dict[str, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/status", headers={"Authorization": f"Bearer {QUERY_KEY}"})
    body = json.loads(connection.getresponse().read())
    connection.close()
    return dict(body)


def run(port: int, senders: int, per_request: int, events: int) -> dict[str, Any]:
    requests_total = max(senders, events // per_request)
    latencies: list[float] = []
    lock = threading.Lock()
    before = status(port)
    run_id = uuid.uuid4().hex[:8]

    def sender(number: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine: list[float] = []
        for r in range(number, requests_total, senders):
            body = json.dumps(
                [
                    dict(BRIEFING[i % 3], session_id=f"{run_id}-{r % 97}", event_id=f"{run_id}-{r}-{i}")
                    for i in range(per_request)
                ]
            )
            began = time.perf_counter()
            connection.request(
                "POST",
                "/events",
                body=body,
                headers={"Authorization": f"Bearer {INGEST_KEY}", "Content-Type": "application/json"},
            )
            answer = connection.getresponse()
            answer.read()
            mine.append(time.perf_counter() - began)
            assert answer.status == 202, answer.status
        connection.close()
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    threads = [threading.Thread(target=sender, args=(n,)) for n in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    accepted_at = time.perf_counter()
    sent = requests_total * per_request
    while True:
        now = status(port)
        if now["accepted"] - before["accepted"] == sent and now["queued"] == 0:
            break
        if time.perf_counter() - started > 900:
            raise SystemExit("the queue did not drain within 15 minutes")
        time.sleep(0.25)
    stored_at = time.perf_counter()
    return {
        "senders": senders,
        "per_request": per_request,
        "events": sent,
        "accepted_per_s": sent / (accepted_at - started),
        "stored_per_s": sent / (stored_at - started),
        "p50_ms": median(latencies) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "balanced": now["balanced"],
        "stored": now["stored"] - before["stored"],
    }


def measure(events: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        process, port, _ = start(Path(scratch), 1)
        try:
            rows = [
                run(port, senders, per_request, events if per_request > 1 else max(200, events // 5))
                for per_request in (1, 100)
                for senders in (1, 8, 32)
            ]
        finally:
            stop(process)
    return {"machine": machine(), "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    print(json.dumps(measure(parser.parse_args().events), indent=2))


if __name__ == "__main__":
    main()
