"""Chaos through the local stack (`make check`): faults while a client sends a steady stream.

    .venv/bin/python tools/chaos.py [--events 3000]

The stack runs with ``THEEYE_FAULTS`` so that 5 % of DynamoDB writes are throttled and 5 % of
SQS sends fail at ingest; while ``theeye_client.Client`` sends events (a tenth of them sent a
second time with the same id, as a retrying application would), a processor worker process is
killed mid-batch every few seconds. Afterwards: every accepted event is stored once, recorded
as an error, or dead-lettered; none is stored twice; the ledger balances. Counts are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "client")]

from theeye_client import Client, QueryClient

from bench.local_latency import INGEST_KEY, QUERY_KEY, start, stop

FAULTS = "dynamodb.PutItem=0.05,dynamodb.TransactWriteItems=0.05,sqs.SendMessage=0.05"
BRIEFING = json.loads((ROOT / "events" / "briefing_events.json").read_text())


def processor_workers(stack_pid: int) -> list[int]:
    """Pids of the stack's processor worker processes (workers are named after their function)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "comm").read_text().strip() == "Processor":
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def drain(query: QueryClient, seconds: float = 600) -> None:
    """Wait until the ledger shows nothing queued and the queue is empty."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ledger: Any = query.status()
        if ledger["queued"] == 0 or (ledger["queue"]["messages"] + ledger["queue"]["in_flight"] == 0):
            time.sleep(2)
            ledger = query.status()
            if ledger["queue"]["messages"] + ledger["queue"]["in_flight"] == 0:
                return
        time.sleep(1)


def run(events: int) -> dict[str, Any]:
    os.environ["THEEYE_FAULTS"] = FAULTS
    with tempfile.TemporaryDirectory() as scratch:
        process, port, _ = start(Path(scratch), 1)
        endpoint = f"http://127.0.0.1:{port}"
        kills = 0
        stop_killing = threading.Event()

        def killer() -> None:
            nonlocal kills
            while kills < 5 and not stop_killing.wait(4.0):
                workers = processor_workers(process.pid)
                if workers:
                    os.kill(workers[0], signal.SIGKILL)
                    kills += 1

        threading.Thread(target=killer, daemon=True).start()
        run_id = uuid.uuid4().hex[:8]
        sessions = [f"chaos-{run_id}-{n}" for n in range(20)]
        sent: set[str] = set()
        failures: list[str] = []
        client = Client(
            api_key=INGEST_KEY,
            endpoint=endpoint,
            on_error=lambda exc, batch: failures.append(repr(exc)[:200]),
        )
        try:
            for n in range(events):
                template = BRIEFING[n % 3]
                data = dict(template["data"])
                if n % 17 == 0:
                    data.pop("path")  # a schema violation
                event_id = f"{run_id}-{n}"
                fields = {
                    "session_id": sessions[n % 20],
                    "category": template["category"],
                    "name": template["name"],
                }
                stamp = datetime.now(UTC)
                client.track(**fields, data=data, event_id=event_id, timestamp=stamp)
                if n % 10 == 0:  # the application retries: same id, same content
                    client.track(**fields, data=data, event_id=event_id, timestamp=stamp)
                sent.add(event_id)
                if n % 200 == 0:
                    time.sleep(0.2)  # a steady stream, not one burst
            client.flush(timeout=120)
        finally:
            client.close()
        query = QueryClient(api_key=QUERY_KEY, endpoint=endpoint)
        drain(query)
        stop_killing.set()
        # A message whose last delivery died with its process sits in the DLQ uncounted (the
        # ledger shows it as queued): redrive the DLQ, as an operator would, and drain again.
        redriven = json.loads(
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "theeye_cli",
                    "--state",
                    str(Path(scratch) / "local-1.json"),
                    "--json",
                    "dlq",
                    "redrive",
                ],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            or "{}"
        )
        drain(query)
        stored: dict[str, int] = {}
        for session in sessions:
            for event in query.session_events(session):
                stored[event["event_id"]] = stored.get(event["event_id"], 0) + 1
        errored = {e["event_id"] for e in query.errors() if e["event_id"]}
        ledger = query.status()
        stop(process)
    return {
        "events": events,
        "sent_twice": len(range(0, events, 10)),
        "faults": FAULTS,
        "processor_kills": kills,
        "redriven": redriven,
        "client_failures": len(failures),
        "stored": len(stored),
        "stored_twice": sum(1 for n in stored.values() if n > 1),
        "errors_recorded": len(errored & sent),
        "missing": len(sent - set(stored) - errored),
        "ledger": dict(ledger),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000)
    result = run(parser.parse_args().events)
    print(json.dumps(result, indent=2))
    ledger = result["ledger"]
    ok = (
        result["stored_twice"] == 0
        and ledger["balanced"]
        and result["missing"] == 0
        and result["client_failures"] == 0
    )
    print("chaos run:", "nothing lost, nothing doubled" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
