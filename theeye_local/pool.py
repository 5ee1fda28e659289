"""A pool of worker processes per function: Lambda's concurrency and timeout, locally.

Each worker serves one invocation at a time, as a Lambda execution environment does. A worker
that overruns the function's ``Timeout`` is killed and replaced (Lambda discards the sandbox
too), and so is one whose process died; both are errors for the caller.
"""

from __future__ import annotations

import itertools
import json
import logging
import multiprocessing
import queue
import threading
import time
import uuid
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, Final

from theeye_local.worker import ERROR, INIT, RESULT, WorkerConfig, run_worker

LOG = logging.getLogger("theeye_local")

INIT_TIMEOUT_SECONDS: Final = 60.0  # generous: the first run compiles every module to bytecode
STOP_GRACE_SECONDS: Final = 3.0


class WorkerStartError(RuntimeError):
    """A worker process died or hung before its handler was imported."""


@dataclass(frozen=True)
class Outcome:
    """What one invocation produced: a result (JSON text) or an error in Lambda's shape."""

    request_id: str
    payload: str | None = None
    error: dict[str, Any] | None = None
    timed_out: bool = False
    throttled: bool = False  # no worker became free in time; the function never ran

    @property
    def ok(self) -> bool:
        return self.payload is not None

    def describe(self) -> str:
        if self.error is None:
            return "ok"
        return f"{self.error.get('errorType')}: {self.error.get('errorMessage')}"


@dataclass
class _Worker:
    process: BaseProcess
    connection: Connection


class WorkerPool:
    """``size`` worker processes of one function, started with the ``spawn`` method."""

    def __init__(self, config: WorkerConfig, size: int, timeout_seconds: int) -> None:
        if size < 1:
            raise ValueError(f"{config.function_id}: a pool needs at least one worker")
        self.config = config
        self.size = size
        self.timeout_seconds = timeout_seconds
        self._context = multiprocessing.get_context("spawn")
        # Last in, first out: the most recently used worker is the warmest (Lambda also
        # prefers a warm execution environment), so a trickle of requests never pays for
        # first-use costs of every worker in turn.
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._starting: list[_Worker] = []
        self._workers: dict[int, _Worker] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._numbers = itertools.count(1)
        self.init_errors: list[dict[str, Any]] = []

    @property
    def function_id(self) -> str:
        return self.config.function_id

    def launch(self) -> None:
        """Start every worker process without waiting for them (pools launch side by side)."""
        self._starting = [self._spawn() for _ in range(self.size)]

    def wait_ready(self) -> None:
        """Wait until every launched worker has imported its handler (Lambda's init phase)."""
        for worker in self._starting:
            self._await_init(worker)
            self._idle.put(worker)
        self._starting = []

    def invoke(self, event: Any, *, wait_seconds: float | None = None) -> Outcome:
        """Run the handler on ``event`` in a free worker; wait at most ``wait_seconds`` for one."""
        request_id = str(uuid.uuid4())
        try:
            worker = self._idle.get(timeout=wait_seconds)
        except queue.Empty:
            return Outcome(
                request_id,
                error={"errorType": "TooManyRequestsException", "errorMessage": "no free worker"},
                throttled=True,
            )
        deadline_ms = int(time.time() * 1000) + self.timeout_seconds * 1000
        request = {
            "event": event,
            "request_id": request_id,
            "deadline_ms": deadline_ms,
            "trace_id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Sampled=0",
        }
        try:
            worker.connection.send_bytes(json.dumps(request).encode("utf-8"))
            if not worker.connection.poll(self.timeout_seconds):
                self._discard(worker, "timed out")
                message = f"Task timed out after {self.timeout_seconds:.2f} seconds"
                return Outcome(
                    request_id,
                    error={"errorType": "Sandbox.Timedout", "errorMessage": message},
                    timed_out=True,
                )
            frame = worker.connection.recv_bytes()
        except (EOFError, OSError):
            worker.process.join(0.5)
            self._discard(worker, f"exited with status {worker.process.exitcode}")
            message = f"Runtime exited with error: exit status {worker.process.exitcode}"
            return Outcome(request_id, error={"errorType": "Runtime.ExitError", "errorMessage": message})
        self._idle.put(worker)
        tag, body = frame[:1], frame[1:].decode("utf-8")
        if tag == RESULT:
            return Outcome(request_id, payload=body)
        if tag == ERROR:
            return Outcome(request_id, error=json.loads(body))
        return Outcome(
            request_id, error={"errorType": "Runtime.InvalidFrame", "errorMessage": repr(frame[:40])}
        )

    def stop(self) -> None:
        """Close every worker's pipe (they exit on EOF); kill those that do not exit in time."""
        self._stopping.set()
        with self._lock:
            workers = list(self._workers.values())
        for worker in workers:
            worker.connection.close()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for worker in workers:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(1.0)

    # -- internals ------------------------------------------------------------------------

    def _spawn(self) -> _Worker:
        parent_end, child_end = self._context.Pipe(duplex=True)
        process = self._context.Process(
            target=run_worker,
            args=(child_end, self.config),
            name=f"{self.function_id}-{next(self._numbers)}",
            daemon=True,
        )
        process.start()
        child_end.close()
        worker = _Worker(process, parent_end)
        with self._lock:
            self._workers[id(worker)] = worker
        return worker

    def _await_init(self, worker: _Worker) -> None:
        try:
            if not worker.connection.poll(INIT_TIMEOUT_SECONDS):
                raise WorkerStartError(
                    f"{worker.process.name}: handler import took over {INIT_TIMEOUT_SECONDS:.0f} s"
                )
            frame = worker.connection.recv_bytes()
        except (EOFError, OSError):
            worker.process.join(1.0)
            raise WorkerStartError(
                f"{worker.process.name} exited during init (status {worker.process.exitcode})"
            ) from None
        if frame[:1] != INIT:
            raise WorkerStartError(f"{worker.process.name}: unexpected first frame {frame[:40]!r}")
        report = json.loads(frame[1:])
        if report["ok"]:
            LOG.debug("%s ready (init %.0f ms)", worker.process.name, report["init_ms"])
        else:
            self.init_errors.append(report["error"])
            LOG.error(
                "%s cannot load %s: %s: %s (every invocation will fail until this is fixed and the stack restarted)",
                worker.process.name,
                self.config.handler,
                report["error"]["errorType"],
                report["error"]["errorMessage"],
            )

    def _discard(self, worker: _Worker, why: str) -> None:
        """Kill a worker and start its replacement in the background."""
        LOG.warning("%s %s; replacing it", worker.process.name, why)
        worker.process.kill()
        worker.process.join(1.0)
        worker.connection.close()
        with self._lock:
            self._workers.pop(id(worker), None)
        if not self._stopping.is_set():
            threading.Thread(target=self._replace, name=f"replace-{worker.process.name}", daemon=True).start()

    def _replace(self) -> None:
        try:
            worker = self._spawn()
            self._await_init(worker)
        except (WorkerStartError, OSError) as exc:
            LOG.error("%s: could not replace a worker: %s", self.function_id, exc)
            return
        if self._stopping.is_set():
            worker.connection.close()
            return
        self._idle.put(worker)
