"""Chaos through the local stack (`make check`): faults, kills and a restart under a steady stream.

    .venv/bin/python tools/chaos.py [--events 3000] [--seed N] [--write-doc]

The stack runs on the embedded backend with ``THEEYE_FAULTS`` at the ports (theeye_local.faults:
a share of the stores', the ledger's and the intake's calls fail as the adapters fail once
their own retries are spent, and a share of messages fails on every delivery) until
``THEEYE_FAULTS_UNTIL``. While ``theeye_client.Client`` sends a steady stream (a tenth of the
events a second time with the same id and content, one in 17 a schema violation), processor
and ingest worker processes are killed with ``kill -9`` at random moments, and once the whole
stack (its process group); it is started again on the same data directory and the stream goes
on. Batches the client gave up on meanwhile are sent again, as an application with an outbox
would. After the fault window: drain, ``theeye dlq redrive``, drain again.

It passes when nothing is lost, nothing is stored twice, the ledger balances, and the failure
paths really ran: redeliveries, dead letters, a redrive, ingest 503s retried by the client,
kills of each kind. ``--write-doc`` rewrites the section of docs/RELIABILITY.md between
``<!-- chaos:begin -->`` and ``<!-- chaos:end -->`` from the run (default parameters only).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from theeye_client import Client, QueryClient
from theeye_client.errors import DeliveryError, DeliveryFailed

from theeye_local.faults import FIRED as FIRED_TAG
from theeye_local.faults import UNTIL_VARIABLE, parse
from theeye_local.function_logs import logs_dir
from theeye_local.launcher import INGEST_KEY, QUERY_KEY, LocalStack

ROOT = Path(__file__).resolve().parents[1]

DOC = ROOT / "docs" / "RELIABILITY.md"
BEGIN = "<!-- chaos:begin -->"
END = "<!-- chaos:end -->"
RESULTS_TAG = "<!-- chaos:results "
BRIEFING = json.loads((ROOT / "events" / "briefing_events.json").read_text())
SESSIONS = 20
VIOLATION_EVERY = 17  # one event in 17 lacks a required field (a schema violation)
REPEAT_EVERY = 10  # one event in 10 is sent again with the same id and content...
REPEAT_LAG = 37  # ...37 events later (another batch, as a retrying application would)
FAULTS = ",".join(
    (
        "event_store.put_all=0.05",
        "event_store.put_all=sticky:0.06",
        "error_store.put_all=0.02",
        "counters.commit_batch=0.05",
        "intake.accept=0.05",
        "dead_letter_queue.send_body=0.1",
    )
)
# What each fault of a spec reaches in our code (the doc lists it for the faults of the run).
REACHES = {
    "event_store.put_all": "the message fails alone (`processor.batch`: partial batch response) and is"
    " delivered again; after a write that went through, the redelivery finds its own events",
    "event_store.put_all=sticky": "the same messages fail on every delivery: after"
    " `processing_attempts` the processor counts them dead-lettered and moves them to the DLQ itself;"
    " `theeye dlq redrive` brings them back once the window is over",
    "error_store.put_all": "the message fails alone and is delivered again; its error records are"
    " idempotent (deterministic ids)",
    "counters.commit_batch": "`logic.commit` fails: every processed message of the batch is reported"
    " failed and counted on its redelivery, its writes found; after a commit that went through, the"
    " per-message markers make the recount add nothing",
    "intake.accept": "ingest answers `503` + `Retry-After` and the client retries; after a commit that"
    " went through, the retried events are dropped as duplicates by the processor",
    "dead_letter_queue.send_body": "the processor's own dead-letter step fails after counting: the next"
    " delivery does it again (counted once), and the queue's redrive policy is the last resort",
}
WORKER_NAMES = {"processor": "Processor", "ingest": "Ingest"}  # /proc/<pid>/comm of the workers


@dataclass(frozen=True)
class Params:
    """What a run does; the defaults are what ``make check`` runs and what the doc states."""

    events: int = 3000
    send_seconds: float = 60.0  # the stream is spread over this long
    fault_seconds: float = 90.0  # faults fire from the first start for this long
    faults: str = FAULTS
    processor_kills: int = 4
    ingest_kills: int = 4
    stack_kills: int = 1
    down_seconds: float = 4.0  # the killed stack stays down this long before its restart
    client_retries: int = 3  # the client's max_retries: a batch gives up during the outage
    client_batch: int = 20


# -- the stack ------------------------------------------------------------------------------


def children(parent: int, comm: str) -> list[int]:
    """Pids of ``parent``'s child processes named ``comm`` (workers are named after their
    function); never a process of another stack on this machine."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            name = (entry / "comm").read_text().strip()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and name == comm:
            found.append(int(entry.name))
    return found


def processor_workers(stack_pid: int) -> list[int]:
    """Pids of the stack's processor worker processes."""
    return children(stack_pid, WORKER_NAMES["processor"])


@dataclass
class Stack:
    """The launched stack (``theeye_local.launcher``), and whether it is up to take events."""

    local: LocalStack
    starts: int = 0
    up: threading.Event = field(default_factory=threading.Event)

    @property
    def data_dir(self) -> Path:
        return self.local.data_dir

    @property
    def state_file(self) -> Path:
        return self.local.state_file

    @property
    def endpoint(self) -> str:
        return self.local.base_url

    def logs(self) -> list[Path]:
        """The terminal of every start, then the functions' JSON logs (metrics, warnings)."""
        return [self.local.log_file, *sorted(logs_dir(self.local.state_file).glob("*.jsonl"))]

    def launch(self) -> float:
        """Start (the first time on a fresh data directory, then on the same one); seconds to ready."""
        self.starts += 1
        seconds = self.local.start(THEEYE_FRESH="1" if self.starts == 1 else "0")
        self.up.set()
        return seconds

    def kill(self) -> None:
        """``kill -9`` of the stack's process group: the stack and every worker at once."""
        self.up.clear()
        self.local.kill()

    def workers(self, kind: str) -> list[int]:
        return children(self.local.pid, WORKER_NAMES[kind]) if self.local.process is not None else []

    def stop(self) -> None:
        if self.local.process is not None:
            self.local.stop()


def chaos_plan(params: Params, rng: random.Random) -> list[tuple[float, str]]:
    """(seconds after the stream starts, what to kill), in order: worker kills anywhere in the
    stream, the stack's in its middle."""
    moments = [
        (rng.uniform(0.08, 0.92) * params.send_seconds, "processor") for _ in range(params.processor_kills)
    ]
    moments += [(rng.uniform(0.08, 0.92) * params.send_seconds, "ingest") for _ in range(params.ingest_kills)]
    moments += [(rng.uniform(0.35, 0.6) * params.send_seconds, "stack") for _ in range(params.stack_kills)]
    return sorted(moments)


@dataclass
class Chaos:
    """Runs the kill plan in a thread; counts what it did."""

    stack: Stack
    params: Params
    plan: list[tuple[float, str]]
    rng: random.Random
    kills: Counter[str] = field(default_factory=Counter)
    restarts: list[float] = field(default_factory=list)  # seconds to ready after each restart
    done: threading.Event = field(default_factory=threading.Event)
    failure: list[str] = field(default_factory=list)

    def run(self, started: float) -> None:
        try:
            for moment, kind in self.plan:
                time.sleep(max(0.0, started + moment - time.monotonic()))
                if kind == "stack":
                    self.stack.kill()
                    self.kills["stack"] += 1
                    time.sleep(self.params.down_seconds)
                    self.restarts.append(self.stack.launch())
                else:
                    self._kill_worker(kind)
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - reported by the main thread (a failed check)
            self.failure.append(repr(exc))
        finally:
            self.done.set()

    def _kill_worker(self, kind: str) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            workers = self.stack.workers(kind)
            if workers:
                try:
                    os.kill(self.rng.choice(workers), signal.SIGKILL)
                except ProcessLookupError:
                    continue
                self.kills[kind] += 1
                return
            time.sleep(0.2)  # being replaced: try again


# -- the stream -----------------------------------------------------------------------------


@dataclass
class Outbox:
    """What the client gave up on, kept to be sent again (an application's outbox)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    waiting: list[dict[str, Any]] = field(default_factory=list)
    batches: int = 0
    resent: int = 0
    refused: list[str] = field(default_factory=list)  # anything but "gave up": a failure

    def on_error(self, exc: DeliveryError, events: list[dict[str, Any]]) -> None:
        with self.lock:
            if isinstance(exc, DeliveryFailed):
                self.batches += 1
                self.waiting.extend(events)
            else:
                self.refused.append(f"{type(exc).__name__}: {exc}"[:300])

    def resend(self, client: Client) -> int:
        with self.lock:
            events, self.waiting = self.waiting, []
        for event in events:
            client.track(
                event["session_id"],
                event["category"],
                event["name"],
                event["data"],
                timestamp=event["timestamp"],
                event_id=event["event_id"],
            )
        self.resent += len(events)
        return len(events)


def event_fields(run_id: str, n: int) -> dict[str, Any]:
    template = BRIEFING[n % 3]
    data = json.loads(json.dumps(template["data"]))
    if n % VIOLATION_EVERY == 0:
        data.pop("path")  # required by every briefing schema
    return {
        "session_id": f"chaos-{run_id}-{n % SESSIONS}",
        "category": template["category"],
        "name": template["name"],
        "data": data,
        "event_id": f"{run_id}-{n}",
    }


def stream(params: Params, client: Client, stack: Stack, outbox: Outbox, run_id: str) -> dict[str, int]:
    """Send ``params.events`` events spread over ``send_seconds``; a tenth again later."""
    started = time.monotonic()
    pace = params.send_seconds / max(1, params.events)
    repeats: list[tuple[int, dict[str, Any]]] = []
    copies = 0
    last_outbox = started
    for n in range(params.events):
        time.sleep(max(0.0, started + n * pace - time.monotonic()))
        event = {**event_fields(run_id, n), "timestamp": datetime.now(UTC)}
        client.track(**event)
        copies += 1
        if n % REPEAT_EVERY == 0:
            repeats.append((n + REPEAT_LAG, event))
        while repeats and repeats[0][0] <= n:
            client.track(**repeats.pop(0)[1])
            copies += 1
        if stack.up.is_set() and time.monotonic() - last_outbox > 1:
            outbox.resend(client)
            last_outbox = time.monotonic()
    for _, event in repeats:
        client.track(**event)
        copies += 1
    return {"copies": copies, "sent_twice": len(range(0, params.events, REPEAT_EVERY))}


def settle(client: Client, stack: Stack, outbox: Outbox, chaos: Chaos, seconds: float = 300) -> bool:
    """Wait for the kills to end, then until every event is accepted (the outbox emptied)."""
    deadline = time.monotonic() + seconds
    chaos.done.wait(max(0.0, deadline - time.monotonic()))
    while time.monotonic() < deadline:
        stack.up.wait(max(0.0, deadline - time.monotonic()))
        stats = client.flush(timeout=max(1.0, deadline - time.monotonic()))
        if stats.pending == 0 and outbox.resend(client) == 0:
            return True
    return False


# -- reading the outcome --------------------------------------------------------------------


def status(query: QueryClient) -> dict[str, Any]:
    """``GET /status`` as the API answers it (the client's ``Status`` type lists fewer keys)."""
    return dict(query.status())


def drain(query: QueryClient, seconds: float = 300) -> bool:
    """Wait until the events queue is empty (nothing waiting, nothing in flight) for 2 s."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        queue = status(query)["queue"]
        if queue["messages"] + queue["in_flight"] == 0:
            time.sleep(2)
            queue = status(query)["queue"]
            if queue["messages"] + queue["in_flight"] == 0:
                return True
        time.sleep(1)
    return False


def ledger_totals(stack: Stack) -> Mapping[str, int]:
    """The ledger's raw counters (``dead_lettered_messages`` is not in ``GET /status``)."""
    from theeye.sqlite.backend import SqliteBackend

    backend = SqliteBackend(stack.data_dir / "theeye.db")
    try:
        return dict(backend.counters().totals())
    finally:
        backend.db.close()


def redrive(stack: Stack) -> dict[str, Any]:
    """``theeye dlq redrive`` as an operator runs it."""
    command = [
        sys.executable,
        "-m",
        "theeye_cli",
        "--state",
        str(stack.state_file),
        "--json",
        "dlq",
        "redrive",
    ]
    answer = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(answer.stdout or "{}")
    return result


POLLER_PARTIAL = re.compile(r"ProcessorFunction: (\d+) of (\d+) messages to retry")
POLLER_FAILED = re.compile(r"ProcessorFunction: batch of (\d+) failed \((.*)\); retrying")
HTTP_LINE = re.compile(r"POST /events -> (\d{3}) ")
FIRED = re.compile(re.escape(FIRED_TAG) + r" (\S+) (share|sticky) (before|after|every attempt)")
RELEASED = re.compile(r"(\d+) message\(s\) received by a stack that stopped")


def read_logs(paths: list[Path]) -> dict[str, Any]:
    """What the stack's log says happened: the poller's retries, the HTTP answers, the metrics."""
    partial = failed = released = ingest_503 = replaced = 0
    statuses: Counter[str] = Counter()
    fired: dict[str, Counter[str]] = {}
    metrics: Counter[str] = Counter()
    for path in paths:
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if "_aws" in record:
                    for definition in record["_aws"].get("CloudWatchMetrics", []):
                        for metric in definition.get("Metrics", []):
                            values = record.get(metric["Name"], [])
                            metrics[metric["Name"]] += int(
                                sum(values if isinstance(values, list) else [values])
                            )
                elif (
                    record.get("service") == "ingest"
                    and record.get("message") == "request failed"
                    and record.get("code") == "service_unavailable"
                ):
                    ingest_503 += 1
                continue
            if match := FIRED.search(line):
                kind = f"{match[1]}={match[2]}"
                fired.setdefault(kind, Counter())[match[3]] += 1
            elif match := POLLER_PARTIAL.search(line):
                partial += int(match[1])
            elif match := POLLER_FAILED.search(line):
                failed += int(match[1])
            elif match := HTTP_LINE.search(line):
                statuses[match[1]] += 1
            elif match := RELEASED.search(line):
                released += int(match[1])
            elif "; replacing it" in line:
                replaced += 1
    return {
        "redelivered_after_partial_failure": partial,
        "redelivered_after_failed_invocation": failed,
        "faults_fired": {kind: dict(sorted(whens.items())) for kind, whens in sorted(fired.items())},
        "post_events_statuses": dict(sorted(statuses.items())),
        "ingest_503_queue_unavailable": ingest_503,
        "released_at_restart": released,
        "workers_replaced": replaced,
        "messages_failed_metric": metrics["MessagesFailed"],
        "dead_lettered_by_processor": metrics["MessagesDeadLettered"],
    }


def stored_and_errors(query: QueryClient, run_id: str) -> tuple[Counter[str], set[str]]:
    stored: Counter[str] = Counter()
    for number in range(SESSIONS):
        for event in query.session_events(f"chaos-{run_id}-{number}"):
            stored[event["event_id"]] += 1
    errored = {e["event_id"] for e in query.errors() if e["event_id"]}
    return stored, errored


def machine() -> dict[str, Any]:
    return {
        "arch": platform.machine(),
        "cores": os.cpu_count() or 0,
        "python": platform.python_version(),
        "system": platform.system(),
    }


@dataclass
class Collected:
    """What a run saw, before it is turned into figures (``outcome_of``)."""

    chaos: Chaos
    outbox: Outbox
    first_start: float = 0.0
    sent: dict[str, int] = field(default_factory=dict)
    settled: bool = False
    retried_copies: int = 0
    drained_before: bool = False
    totals: Mapping[str, int] = field(default_factory=dict)
    before: dict[str, Any] = field(default_factory=dict)
    moved: dict[str, Any] = field(default_factory=dict)
    drained_after: bool = False
    stored: Counter[str] = field(default_factory=Counter)
    errored: set[str] = field(default_factory=set)
    ledger: dict[str, Any] = field(default_factory=dict)
    logs: dict[str, Any] = field(default_factory=dict)


def run(params: Params, seed: int, command: str, *, keep: bool = False) -> dict[str, Any]:
    parse(params.faults)  # a bad spec fails here, before any stack starts
    rng = random.Random(seed)
    run_id = f"{rng.getrandbits(32):08x}"
    began = time.monotonic()
    scratch = tempfile.mkdtemp(prefix="theeye-chaos-")  # removed when the run passes
    passed = False
    try:
        until = time.time() + params.fault_seconds
        environment = {"THEEYE_FAULTS": params.faults, UNTIL_VARIABLE: f"{until:.0f}"}
        stack = Stack(
            LocalStack(Path(scratch), {"THEEYE_BACKEND": "embedded", **environment}, shell=os.environ)
        )
        seen = Collected(Chaos(stack, params, chaos_plan(params, rng), rng), Outbox())
        try:
            seen.first_start = stack.launch()
            client = Client(
                api_key=INGEST_KEY,
                endpoint=stack.endpoint,
                max_retries=params.client_retries,
                batch_size=params.client_batch,
                on_error=seen.outbox.on_error,
            )
            threading.Thread(
                target=seen.chaos.run, args=(time.monotonic(),), name="chaos", daemon=True
            ).start()
            try:
                seen.sent = stream(params, client, stack, seen.outbox, run_id)
                seen.settled = settle(client, stack, seen.outbox, seen.chaos)
                seen.retried_copies = client.flush(timeout=30).retried
            finally:
                client.close(timeout=30)
            query = QueryClient(api_key=QUERY_KEY, endpoint=stack.endpoint)
            time.sleep(max(0.0, until - time.time()))  # faults end; whatever is queued goes through
            seen.drained_before = drain(query)
            seen.totals = ledger_totals(stack)
            seen.before = status(query)
            seen.moved = redrive(stack)
            seen.drained_after = drain(query)
            seen.stored, seen.errored = stored_and_errors(query, run_id)
            seen.ledger = status(query)
            seen.logs = read_logs(stack.logs())
        finally:
            stack.stop()
        results = outcome_of(params, seed, command, time.monotonic() - began, run_id, seen)
        passed = bool(results["passed"])
        return results
    finally:
        if passed and not keep:
            shutil.rmtree(scratch, ignore_errors=True)
        else:
            print(f"chaos: the stack's logs and data are in {scratch}", file=sys.stderr)


def outcome_of(
    params: Params, seed: int, command: str, seconds: float, run_id: str, seen: Collected
) -> dict[str, Any]:
    """The results of a run: every figure the checks and the doc use."""
    chaos, outbox, stored, errored, before, ledger = (
        seen.chaos,
        seen.outbox,
        seen.stored,
        seen.errored,
        seen.before,
        seen.ledger,
    )
    ids = {f"{run_id}-{n}" for n in range(params.events)}
    violations = {f"{run_id}-{n}" for n in range(0, params.events, VIOLATION_EVERY)}
    results: dict[str, Any] = {
        "command": command,
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": machine(),
        "params": asdict(params),
        "seed": seed,
        "duration_seconds": round(seconds),
        "first_start_seconds": round(seen.first_start, 1),
        "restart_seconds": [round(s, 1) for s in chaos.restarts],
        "kills": {kind: chaos.kills[kind] for kind in ("processor", "ingest", "stack")},
        "chaos_failure": chaos.failure,
        "client": {
            "events": params.events,
            "sent_twice": seen.sent["sent_twice"],
            "copies_tracked": seen.sent["copies"] + outbox.resent,
            "retried_copies": seen.retried_copies,
            "gave_up_batches": outbox.batches,
            "resent_from_outbox": outbox.resent,
            "refused": outbox.refused,
            "settled": seen.settled,
        },
        "logs": seen.logs,
        "before_redrive": {
            "drained": seen.drained_before,
            "dead_lettered_messages": int(seen.totals.get("dead_lettered_messages", 0)),
            "dead_lettered_events": before["dead_lettered"],
            "dlq_messages": before["dead_letter_queue"]["messages"],
        },
        "redrive": {
            "moved": int(seen.moved.get("moved", 0)),
            "events_requeued": int(seen.moved.get("events_requeued", 0)),
        },
        "outcome": {
            "drained": seen.drained_after,
            "stored": len(set(stored) & ids),
            "stored_twice": sum(1 for n in stored.values() if n > 1),
            "violations_sent": len(violations),
            "errors_recorded": len(errored & ids),
            "violations_stored": len(violations & set(stored)),
            "missing": len(ids - set(stored) - errored),
        },
        "ledger": {
            "accepted": ledger["accepted"],
            "stored": ledger["stored"],
            "duplicates": ledger["duplicates"],
            "invalid": sum(ledger["invalid"].values()),
            "queued": ledger["queued"],
            "dead_lettered": ledger["dead_lettered"],
            "balanced": ledger["balanced"],
            "dlq_messages": ledger["dead_letter_queue"]["messages"],
        },
    }
    results["checks"] = checks(results)
    results["passed"] = all(results["checks"].values())
    return results


def checks(results: Mapping[str, Any]) -> dict[str, bool]:
    """Every claim of the run, true or false."""
    params, kills, client = results["params"], results["kills"], results["client"]
    logs, before, outcome, ledger = (
        results["logs"],
        results["before_redrive"],
        results["outcome"],
        results["ledger"],
    )
    return {
        "nothing lost": outcome["missing"] == 0 and client["settled"] and not client["refused"],
        "nothing stored twice": outcome["stored_twice"] == 0,
        "every violation recorded, none stored": outcome["errors_recorded"] == outcome["violations_sent"]
        and outcome["violations_stored"] == 0,
        "ledger balanced, nothing queued or dead-lettered at the end": ledger["balanced"]
        and ledger["queued"] == 0
        and ledger["dead_lettered"] == 0
        and ledger["dlq_messages"] == 0
        and outcome["drained"],
        "ledger accepted = stored + duplicates + invalid": ledger["accepted"]
        == ledger["stored"] + ledger["duplicates"] + ledger["invalid"],
        "messages redelivered": logs["redelivered_after_partial_failure"]
        + logs["redelivered_after_failed_invocation"]
        > 0,
        "messages dead-lettered": before["dead_lettered_messages"] > 0 and before["dlq_messages"] > 0,
        "dead letters redriven": results["redrive"]["moved"] > 0,
        "ingest 503s retried by the client": logs["ingest_503_queue_unavailable"] > 0
        and client["retried_copies"] > 0,
        "every kill done": not results["chaos_failure"]
        and kills
        == {
            "processor": params["processor_kills"],
            "ingest": params["ingest_kills"],
            "stack": params["stack_kills"],
        }
        and all(kills.values()),
    }


# -- the doc --------------------------------------------------------------------------------


def _n(value: int | float) -> str:
    return f"{value:,}"


def render(results: Mapping[str, Any]) -> str:
    """The doc section, markers included: a pure function of ``results``."""
    p, m, k, c = results["params"], results["machine"], results["kills"], results["client"]
    logs, before, r, o, led = (
        results["logs"],
        results["before_redrive"],
        results["redrive"],
        results["outcome"],
        results["ledger"],
    )
    statuses = ", ".join(f"{n} x {s}" for s, n in logs["post_events_statuses"].items())
    faults = "`, `".join(p["faults"].split(","))
    verdict = "passed" if results["passed"] else "FAILED"
    failed = [name for name, ok in results["checks"].items() if not ok]
    lines = [
        BEGIN,
        "Chaos through the local stack (`make check` runs `$(PY) tools/chaos.py` with the defaults"
        " stated here; this section is written by `tools/chaos.py --write-doc` from its run, never by"
        " hand). On the embedded backend, `THEEYE_FAULTS` fails calls of the ports the handlers get"
        " from `theeye.wiring`, as the adapters fail once their own retries are spent"
        " (`theeye_local.faults`): `RetryableStoreError` from the stores and the ledger,"
        " `QueueUnavailable` from the intake and the dead-letter queue; a share of the calls"
        " independently (half before the write, half after it, as a lost answer), and a share of the"
        " messages on every delivery (`sticky:`, a hash of the message's event ids) until"
        " `THEEYE_FAULTS_UNTIL`, so that they really reach the dead-letter queue. Meanwhile worker"
        " processes and the whole stack are killed with `kill -9`.",
        "",
        f"* **Run**: `{results['command']}` on {results['date']}; {m['system']} {m['arch']},"
        f" {m['cores']} cores, Python {m['python']}; seed {results['seed']}; {results['duration_seconds']} s"
        f" (stack ready in {results['first_start_seconds']} s, again in"
        f" {', '.join(f'{s} s' for s in results['restart_seconds']) or '-'} after its kill).",
        f"* **Parameters** (the tool's defaults): {_n(p['events'])} events from `theeye_client.Client`"
        f" (batches of {p['client_batch']}, `max_retries={p['client_retries']}`) spread over"
        f" {p['send_seconds']:g} s, one in {REPEAT_EVERY} sent again {REPEAT_LAG} events later with the"
        f" same id and content, one in {VIOLATION_EVERY} a schema violation; faults `{faults}` for the"
        f" first {p['fault_seconds']:g} s; `kill -9` of {p['processor_kills']} processor and"
        f" {p['ingest_kills']} ingest worker processes at random moments and {p['stack_kills']} of the"
        f" whole stack (its process group), restarted after {p['down_seconds']:g} s on the same data"
        " directory; then drain, `theeye dlq redrive`, drain.",
        "* **What each fault reaches**:",
        *(
            f"  * `{fault}`, {count}: {reach}"
            for fault, count, reach in reaches(p["faults"], logs["faults_fired"])
        ),
        "* A message whose last processing attempt dies with its process is counted dead-lettered by"
        " the delivery after it, before it is moved; only when every one of those deliveries fails to"
        " count does the queue's own redrive move it uncounted, and the ledger then shows it as queued"
        " (`balanced: false`) until `theeye dlq redrive` brings it back.",
        "",
        "| what the run did | figure |",
        "| --- | --- |",
        f"| kills: processor workers / ingest workers / whole stack | {k['processor']} / {k['ingest']} / {k['stack']} |",
        f"| `POST /events` answers | {statuses} |",
        f"| of which `503` from the intake (`QueueUnavailable`), retried by the client | {logs['ingest_503_queue_unavailable']} |",
        f"| event copies the client sent again after a failed attempt | {_n(c['retried_copies'])} |",
        f"| batches given up by the client during the outage, re-sent from the outbox (events) | {c['gave_up_batches']} ({_n(c['resent_from_outbox'])}) |",
        f"| messages put back after a partial batch failure / a failed invocation | {_n(logs['redelivered_after_partial_failure'])} / {_n(logs['redelivered_after_failed_invocation'])} |",
        f"| in-flight messages released at the restart | {logs['released_at_restart']} |",
        f"| dead-lettered before the redrive: messages (ledger) / events / DLQ depth | {before['dead_lettered_messages']} / {_n(before['dead_lettered_events'])} / {before['dlq_messages']} |",
        f"| redriven: messages / events back to queued | {r['moved']} / {_n(r['events_requeued'])} |",
        f"| events stored (once each) / stored twice / missing | {_n(o['stored'])} / {o['stored_twice']} / {o['missing']} |",
        f"| schema violations sent / recorded as errors / stored | {o['violations_sent']} / {o['errors_recorded']} / {o['violations_stored']} |",
        f"| ledger: accepted = stored + duplicates + invalid + queued + dead-lettered | {_n(led['accepted'])} = {_n(led['stored'])} + {_n(led['duplicates'])} + {_n(led['invalid'])} + {led['queued']} + {led['dead_lettered']} ({'balanced' if led['balanced'] else 'NOT BALANCED'}) |",
        "",
        f"Verdict: {verdict}"
        + (f" ({', '.join(failed)} did not hold)." if failed else f" ({'; '.join(results['checks'])})."),
        "",
        RESULTS_TAG + json.dumps(results, sort_keys=True) + " -->",
        END,
    ]
    return "\n".join(lines)


def reaches(spec: str, fired: Mapping[str, Mapping[str, int]]) -> Iterator[tuple[str, str, str]]:
    """Each fault of ``spec``, how often it fired in the run, and what it reaches in our code."""
    for fault in spec.split(","):
        target, _, share = fault.partition("=")
        sticky = share.startswith("sticky:")
        whens = fired.get(f"{target}={'sticky' if sticky else 'share'}", {})
        total = sum(whens.values())
        count = "fired once" if total == 1 else f"fired {total} times"
        if whens and not sticky:
            count += " (" + ", ".join(f"{n} {when}" for when, n in whens.items()) + ")"
        reach = REACHES.get(f"{target}=sticky" if sticky else target, "not described by tools/chaos.py")
        yield fault, count, reach


def section(text: str) -> tuple[int, int]:
    """Where the generated section is in ``text`` (markers included)."""
    start = text.index(BEGIN)
    return start, text.index(END, start) + len(END)


def results_in(text: str) -> dict[str, Any]:
    """The results a doc's section was rendered from."""
    start, end = section(text)
    block = text[start:end]
    tag = block.index(RESULTS_TAG) + len(RESULTS_TAG)
    loaded: dict[str, Any] = json.loads(block[tag : block.index(" -->", tag)])
    return loaded


def write_doc(results: Mapping[str, Any], path: Path = DOC) -> None:
    text = path.read_text(encoding="utf-8")
    start, end = section(text)
    path.write_text(text[:start] + render(results) + text[end:], encoding="utf-8")


def _lines(results: Mapping[str, Any]) -> Iterator[str]:
    for name, ok in results["checks"].items():
        yield f"  {'ok  ' if ok else 'FAIL'} {name}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    defaults = Params()
    parser.add_argument("--events", type=int, default=defaults.events)
    parser.add_argument("--send-seconds", type=float, default=defaults.send_seconds)
    parser.add_argument("--fault-seconds", type=float, default=defaults.fault_seconds)
    parser.add_argument("--faults", default=defaults.faults, help="THEEYE_FAULTS of the run")
    parser.add_argument("--seed", type=int, default=None, help="default: a random one (printed)")
    parser.add_argument(
        "--keep", action="store_true", help="keep the stack's logs and data (kept anyway on failure)"
    )
    parser.add_argument("--write-doc", action="store_true", help=f"rewrite the chaos section of {DOC.name}")
    arguments = sys.argv[1:] if argv is None else argv
    options = parser.parse_args(arguments)
    params = Params(
        events=options.events,
        send_seconds=options.send_seconds,
        fault_seconds=options.fault_seconds,
        faults=options.faults,
    )
    if options.write_doc and params != defaults:
        parser.error("--write-doc states what `make check` runs: only with the default parameters")
    seed = options.seed if options.seed is not None else random.SystemRandom().randrange(2**31)
    command = shlex.join([".venv/bin/python", "tools/chaos.py", *arguments])
    results = run(params, seed, command, keep=options.keep)
    print(json.dumps(results, indent=2))
    print("\n".join(_lines(results)))
    print("chaos run:", "passed" if results["passed"] else "FAILED")
    if options.write_doc and results["passed"]:
        write_doc(results)
        print(f"wrote the chaos section of {DOC.relative_to(ROOT)}")
    elif options.write_doc:
        print(f"{DOC.relative_to(ROOT)} left as it was: the run failed")
    return 0 if results["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
