"""Starting and stopping ``python -m theeye_local`` as a subprocess, and talking HTTP to it.

Plain ``urllib``: the end-to-end tests use nothing a user of the API would not have.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
INGEST_KEY = "eye_e2e-ingest-key-0000000000000000000001"
QUERY_KEY = "eye_e2e-query-key-00000000000000000000001"
ADMIN_KEY = "eye_e2e-admin-key-00000000000000000000001"
# a stack on moto took 52 s to become ready with both cores busy: allow well over three times that
READY_TIMEOUT_SECONDS = 180.0
# On a loaded machine the stack is slower, not wrong: a socket waits this long before a request
# counts as hung (a poll for an outcome waits tests.support.OUTCOME_DEADLINE_SECONDS).
REQUEST_TIMEOUT_SECONDS = 120.0
BACKENDS = ("embedded", "moto")
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV")


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class LocalStackHandle:
    base_url: str
    ingest_key: str
    query_key: str
    state: dict[str, Any]
    state_file: Path
    process: subprocess.Popen[bytes]
    log_file: Path
    health_answers: list[tuple[int, bytes]] = field(default_factory=list)

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = REQUEST_TIMEOUT_SECONDS,
    ) -> Response:
        """One HTTP request; ``body`` that is not bytes is sent as JSON. Errors are responses too."""
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        all_headers = {"Content-Type": "application/json"} if data is not None else {}
        all_headers.update(headers or {})
        request = urllib.request.Request(self.base_url + path, data=data, method=method, headers=all_headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                return Response(answer.status, dict(answer.headers.items()), answer.read())
        except urllib.error.HTTPError as error:
            return Response(error.code, dict(error.headers.items()), error.read())

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_stack(workdir: Path, **environment: str) -> LocalStackHandle:
    """Start ``python -m theeye_local`` and wait until ``/health`` is 200 (or fail with its log).

    The stack runs in a session of its own (its workers too), so :func:`kill_stack` can kill
    every process of it at once. Its data lives in ``workdir / "data"`` unless
    ``THEEYE_DATA_DIR`` is given.
    """
    port = free_port()
    state_file = workdir / "local.json"
    log_file = workdir / "stack.log"
    # A clean shell: variables named like a function's environment variables override the
    # template (POWERTOOLS_SERVICE_NAME from the test session would rename every function).
    env = {
        **{name: os.environ[name] for name in INHERITED if name in os.environ},
        "THEEYE_PORT": str(port),
        "THEEYE_INGEST_KEY": INGEST_KEY,
        "THEEYE_QUERY_KEY": QUERY_KEY,
        "THEEYE_ADMIN_KEY": ADMIN_KEY,
        "THEEYE_STATE_FILE": str(state_file),
        "THEEYE_DATA_DIR": str(workdir / "data"),
        **environment,
    }
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "theeye_local"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    stack = LocalStackHandle(
        base_url=f"http://127.0.0.1:{port}",
        ingest_key=INGEST_KEY,
        query_key=QUERY_KEY,
        state={},
        state_file=state_file,
        process=process,
        log_file=log_file,
    )
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the local stack exited with {process.returncode}:\n{stack.log_tail()}")
        try:
            answer = stack.request("GET", "/health", timeout=2)
        except OSError:
            time.sleep(0.05)  # not listening yet
            continue
        stack.health_answers.append((answer.status, answer.body))
        if answer.status == 200:
            stack.state = json.loads(state_file.read_text())
            return stack
        time.sleep(0.1)
    stop_stack(stack)
    pytest.fail(f"/health was not 200 within {READY_TIMEOUT_SECONDS:.0f} s:\n{stack.log_tail()}")


def stop_stack(stack: LocalStackHandle, timeout: float = 15.0) -> int:
    """SIGTERM, then the exit code (SIGKILL if it does not stop within ``timeout``)."""
    if stack.process.poll() is None:
        stack.process.send_signal(signal.SIGTERM)
        try:
            stack.process.wait(timeout)
        except subprocess.TimeoutExpired:
            stack.process.kill()
            stack.process.wait()
    return stack.process.returncode


def kill_stack(stack: LocalStackHandle) -> None:
    """``kill -9`` of every process of the stack (the front, the pollers, every worker) at once."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(stack.process.pid, signal.SIGKILL)
    stack.process.wait()
