"""The local stack under load, on both backends side by side (what `make run` serves).

    .venv/bin/python -m bench.local_load [--seconds 20] [--backend embedded --backend moto]

For each backend, from a fresh data directory:

* ready: seconds from process start to the first ``200`` from ``GET /health`` (median of 3);
* single-event ``POST /events`` with ``wrk`` (unique events, keep-alive) at 1, 8 and 32
  connections for ``--seconds`` each: requests/s, p50/p99, non-202 answers; then until the
  ledger shows nothing queued, and whether it balances;
* batches of 100 events from 8 senders (``--batch-events`` events, 40,000 on the embedded
  backend): accepted/s and stored/s end to end (until nothing is queued), exactly once;
* queries over ``--query-events`` events of one category (the embedded backend: 100,000,
  seeded through the API in batches of 100): category page, category + name page, one-hour
  range, session timeline, hourly stats - p50/p95 of 50 sequential requests after a warm-up -
  and walking 20,000 events in pages of 1,000;
* bytes on disk per stored event (embedded: the SQLite file and its WAL after a checkpoint).

``wrk`` must be installed (Debian: ``apt-get install wrk``); the load generator runs on the
same cores as the stack.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from bench.common import percentile, stamp
from bench.local_latency import start
from theeye_local.launcher import INGEST_KEY, QUERY_KEY

CONNECTIONS = (1, 8, 32)
SENDERS = 8
PER_REQUEST = 100
DAY = "2026-11-30"
CATEGORY = "bench load"
NAMES = ("pageview", "click", "scroll", "submit")
SESSIONS = 1000
QUERY_SAMPLES = 50
WALK_EVENTS = 20_000
WALK_PAGE = 1000
GET_ATTEMPTS = 5
IDLE_GRACE_SECONDS = 5.0  # an empty queue for this long: whatever the ledger says is final
DEFAULTS = {"embedded": {"batch": 40_000, "query": 100_000}, "moto": {"batch": 2_000, "query": 2_000}}

WRK_SCRIPT = """
local run = "x"
local counter = 0

local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("id", threads)
end
init = function(args)
  run = args[1]
end
request = function()
  counter = counter + 1
  local body = string.format(
    '{"session_id":"wrk-%s-%d-%d","category":"wrk","name":"tick",' ..
    '"data":{"n":%d,"note":"single event from wrk"},"timestamp":"2026-11-30T09:15:27.%06dZ"}',
    run, id, counter % 97, counter, counter % 1000000)
  return wrk.format("POST", "/events", {
    ["Authorization"] = "Bearer __KEY__",
    ["Content-Type"] = "application/json"}, body)
end
"""


# -- HTTP helpers ---------------------------------------------------------------------------------


def get(port: int, path: str, connection: http.client.HTTPConnection | None = None) -> Any:
    """GET as the query key; a 5xx is retried (moto answers some under load), then fatal."""
    for attempt in range(1, GET_ATTEMPTS + 1):
        own = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        own.request("GET", path, headers={"Authorization": f"Bearer {QUERY_KEY}"})
        answer = own.getresponse()
        body = answer.read()
        if connection is None:
            own.close()
        if answer.status == 200:
            return json.loads(body)
        if answer.status < 500 or attempt == GET_ATTEMPTS:
            raise SystemExit(f"GET {path} answered {answer.status}: {body[:300]!r}")
        time.sleep(1)
    raise AssertionError("unreachable")


def settle(port: int, since: float, timeout: float = 1800) -> tuple[dict[str, Any], float]:
    """The ledger once the queue is empty and nothing is in flight (or, failing that, nothing is
    queued), and the seconds from ``since`` until then. An empty queue with events still
    "queued" is a ledger that does not balance: reported as such, not waited on."""
    empty_since: float | None = None
    while True:
        now = get(port, "/status")
        idle = now["queue"]["messages"] == 0 and now["queue"]["in_flight"] == 0
        if idle and now["queued"] == 0:
            return now, time.perf_counter() - since
        if idle:
            empty_since = empty_since or time.perf_counter()
            if time.perf_counter() - empty_since > IDLE_GRACE_SECONDS:
                return now, empty_since - since
        else:
            empty_since = None
        if time.perf_counter() - since > timeout:
            raise SystemExit(f"the queue did not drain within {timeout:.0f} s: {now}")
        time.sleep(0.1)


# -- single events with wrk ----------------------------------------------------------------------


def wrk(port: int, connections: int, seconds: int, scratch: Path) -> dict[str, Any]:
    script = scratch / "events.lua"
    script.write_text(WRK_SCRIPT.replace("__KEY__", INGEST_KEY))
    before = get(port, "/status")
    began = time.perf_counter()
    done = subprocess.run(
        [
            "wrk",
            f"-t{min(2, connections)}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "--timeout",
            "30s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
            "--",
            uuid.uuid4().hex[:8],
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    ledger, drained = settle(port, began)
    out = done.stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    accepted = ledger["accepted"] - before["accepted"]
    return {
        "connections": connections,
        "seconds": seconds,
        "requests": requests,
        "requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50_ms": _latency(out, "50%"),
        "p99_ms": _latency(out, "99%"),
        "non_202": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": socket_errors.group(1).strip() if socket_errors else "",
        "accepted": accepted,
        "stored": ledger["stored"] - before["stored"],
        "drained_s": drained,
        "balanced": ledger["balanced"],
    }


def _latency(out: str, label: str) -> float:
    match = re.search(rf"^\s+{re.escape(label)}\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
    if not match:
        raise SystemExit(f"no {label} latency in wrk's output:\n{out}")
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


# -- batches of 100 ------------------------------------------------------------------------------


def event(n: int, total: int) -> dict[str, Any]:
    """Event ``n`` of ``total``: one category, four names, spread evenly over one day."""
    micros = n * 86_400_000_000 // max(total, 1)
    seconds, micro = divmod(micros, 1_000_000)
    hours, rest = divmod(seconds, 3600)
    return {
        "session_id": f"bench-session-{n % SESSIONS}",
        "category": CATEGORY,
        "name": NAMES[n % len(NAMES)],
        "data": {"n": n, "path": f"/page/{n % 50}", "note": "batch event"},
        "timestamp": f"{DAY}T{hours:02d}:{rest // 60:02d}:{rest % 60:02d}.{micro:06d}Z",
    }


@dataclass(frozen=True)
class Route:
    """Where a batch of events goes: the path, its body for events ``numbers`` of ``total``, the
    headers beside the ingest key, and the status that accepts it."""

    path: str
    body: Callable[[list[int], int], bytes]
    headers: dict[str, str]
    accepted: int


def events_body(numbers: list[int], total: int) -> bytes:
    return json.dumps([event(n, total) for n in numbers]).encode()


POST_EVENTS = Route("/events", events_body, {"Authorization": f"Bearer {INGEST_KEY}"}, 202)


def batches(port: int, first: int, count: int, total: int, route: Route = POST_EVENTS) -> dict[str, Any]:
    """Post events ``first..first+count`` in batches of 100 from 8 senders (to ``route``); until
    stored."""
    requests = [
        list(range(start, min(start + PER_REQUEST, first + count)))
        for start in range(first, first + count, PER_REQUEST)
    ]
    latencies: list[float] = []
    lock = threading.Lock()
    before = get(port, "/status")

    def sender(number: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        mine: list[float] = []
        for numbers in requests[number::SENDERS]:
            body = route.body(numbers, total)
            began = time.perf_counter()
            connection.request(
                "POST", route.path, body=body, headers={**route.headers, "Content-Type": "application/json"}
            )
            answer = connection.getresponse()
            answer.read()
            mine.append(time.perf_counter() - began)
            if answer.status != route.accepted:
                raise SystemExit(f"POST {route.path} answered {answer.status}")
        connection.close()
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    threads = [threading.Thread(target=sender, args=(n,)) for n in range(SENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    accepted_s = time.perf_counter() - started
    ledger, stored_s = settle(port, started)
    stored = ledger["stored"] - before["stored"]
    return {
        "senders": SENDERS,
        "per_request": PER_REQUEST,
        "events": count,
        "accepted_per_s": count / accepted_s,
        "stored_per_s": count / stored_s,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "stored": stored,
        "dead_lettered": ledger["dead_lettered"] - before["dead_lettered"],
        "dead_letter_queue": ledger["dead_letter_queue"]["messages"],
        "exactly_once": stored == count and ledger["duplicates"] == before["duplicates"],
        "balanced": ledger["balanced"],
    }


# -- queries -------------------------------------------------------------------------------------


def sample(
    port: int,
    path: str,
    connection: http.client.HTTPConnection,
    samples: int = QUERY_SAMPLES,
    warm_up: int = 5,
) -> list[float]:
    """Milliseconds of ``samples`` sequential GETs of ``path`` on one keep-alive connection,
    after ``warm_up`` untimed ones (the round trip as a client sees it)."""
    for _ in range(warm_up):
        get(port, path, connection)
    timings = []
    for _ in range(samples):
        began = time.perf_counter()
        get(port, path, connection)
        timings.append((time.perf_counter() - began) * 1000)
    return timings


def queries(port: int, total: int) -> dict[str, Any]:
    window = {"from": f"{DAY}T00:00:00Z", "to": f"{DAY}T23:59:59.999999Z"}
    paths = {
        "category page (100)": "/events?" + urlencode({"category": CATEGORY, **window, "limit": 100}),
        "category + name page (100)": "/events?"
        + urlencode({"category": CATEGORY, "name": NAMES[1], **window, "limit": 100}),
        "one-hour range (100)": "/events?"
        + urlencode({"from": f"{DAY}T12:00:00Z", "to": f"{DAY}T13:00:00Z", "limit": 100}),
        "session timeline (100)": f"/sessions/{quote('bench-session-7')}/events?limit=100",
        "hourly stats, one day": "/stats/events?" + urlencode({**window, "interval": "hour"}),
    }
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    results: dict[str, Any] = {}
    for label, path in paths.items():
        samples = sample(port, path, connection)
        results[label] = {"p50_ms": statistics.median(samples), "p95_ms": percentile(samples, 0.95)}
    walked, cursor = 0, None
    wanted = min(WALK_EVENTS, total)
    began = time.perf_counter()
    while walked < wanted:
        params = {
            "category": CATEGORY,
            **window,
            "limit": WALK_PAGE,
            **({"cursor": cursor} if cursor else {}),
        }
        page = get(port, "/events?" + urlencode(params), connection)
        walked += len(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    walk_s = time.perf_counter() - began
    connection.close()
    return {
        "events": total,
        "latency": results,
        "walk": {"events": walked, "page": WALK_PAGE, "seconds": walk_s},
    }


def disk_bytes(database: Path) -> int:
    """The SQLite file after a WAL checkpoint (every page written back; the WAL truncated)."""
    with sqlite3.connect(database, timeout=30) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return sum(p.stat().st_size for p in database.parent.glob(database.name + "*") if p.is_file())


# -- one backend ---------------------------------------------------------------------------------


def measure_backend(backend: str, seconds: int, batch_events: int, query_events: int) -> dict[str, Any]:
    """Every measurement of one backend; a failure keeps what was measured before it and says
    what failed (``failed``), with the stack's log kept at ``log``."""
    result: dict[str, Any] = {"backend": backend, "single": [], "failed": None}
    with tempfile.TemporaryDirectory(prefix=f"theeye-load-{backend}-") as scratch_name:
        scratch = Path(scratch_name)
        ready = []
        for number in (1, 2):
            stack, took = start(scratch, number, backend)
            ready.append(took)
            stack.stop()
        stack, took = start(scratch, 3, backend)
        port = stack.port
        ready.append(took)
        result["ready_s"] = statistics.median(ready)
        try:
            for connections in CONNECTIONS:
                result["single"].append(wrk(port, connections, seconds, scratch))
            result["batch"] = batches(port, 0, batch_events, query_events)
            if query_events > batch_events:
                batches(port, batch_events, query_events - batch_events, query_events)
            result["query"] = queries(port, query_events)
            status = get(port, "/status")
            result["stored_total"] = int(status["stored"])
        except SystemExit as failure:
            result["failed"] = str(failure)
            kept = Path(tempfile.gettempdir()) / f"theeye-bench-{backend}-stack.log"
            shutil.copy(stack.log_file, kept)
            result["log"] = str(kept)
        finally:
            state = stack.state
            stack.stop()
        database = Path(state["database"]) if state.get("database") else None
        size = disk_bytes(database) if database else None
    result["disk_bytes"] = size
    stored = result.get("stored_total")
    result["bytes_per_event"] = size / stored if size and stored else None
    return result


def measure(
    seconds: int = 20,
    backends: tuple[str, ...] = ("embedded", "moto"),
    sizes: dict[str, dict[str, int]] | None = None,
) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk (Debian/Ubuntu) or brew install wrk")
    sizes = sizes or DEFAULTS
    return stamp(
        command(seconds, backends, sizes),
        {
            "seconds": seconds,
            "backends": {
                backend: measure_backend(backend, seconds, sizes[backend]["batch"], sizes[backend]["query"])
                for backend in backends
            },
        },
    )


def command(seconds: int, backends: tuple[str, ...], sizes: dict[str, dict[str, int]]) -> str:
    """The command line that measures what these arguments do (defaults left out)."""
    words = [f"python -m bench.local_load --seconds {seconds}"]
    if set(backends) != set(DEFAULTS):
        words += [f"--backend {b}" for b in backends]
    for backend in backends:
        if sizes[backend] != DEFAULTS[backend]:
            words.append(f"--batch-events {sizes[backend]['batch']} --query-events {sizes[backend]['query']}")
    return " ".join(words)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--backend", action="append", choices=("embedded", "moto"))
    parser.add_argument("--batch-events", type=int)
    parser.add_argument("--query-events", type=int)
    options = parser.parse_args()
    backends = tuple(options.backend or ("embedded", "moto"))
    sizes = {
        backend: {
            "batch": options.batch_events or DEFAULTS[backend]["batch"],
            "query": options.query_events or DEFAULTS[backend]["query"],
        }
        for backend in backends
    }
    print(json.dumps(measure(options.seconds, backends, sizes), indent=2))


if __name__ == "__main__":
    main()
