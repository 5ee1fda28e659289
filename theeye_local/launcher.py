"""``python -m theeye_local`` started as a subprocess, as a user starts it with ``make run``.

The end-to-end tests, the benchmarks and the chaos and fuzz tools all start the stack through
:class:`LocalStack`: on a free port, with fixed keys, a state file, a log file and a data
directory in a working directory of their own, ready once ``GET /health`` answers 200 (within
a generous deadline), stopped with SIGTERM. The stack runs in a session of its own, so
:meth:`LocalStack.kill` takes down every one of its processes (the front, the pollers, every
worker) at once.
"""

from __future__ import annotations

import contextlib
import http.client
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
from typing import Any, Final

ROOT: Final = Path(__file__).resolve().parent.parent
INGEST_KEY: Final = "eye_launched-ingest-key-000000000000000001"
QUERY_KEY: Final = "eye_launched-query-key-0000000000000000001"
ADMIN_KEY: Final = "eye_launched-admin-key-0000000000000000001"
# On a loaded machine the stack is slower, not wrong: it gets this long to answer /health 200,
# and this long to stop after SIGTERM (moto's pollers finish a batch first).
READY_DEADLINE_SECONDS: Final = 180.0  # a moto stack took 52 s with both cores busy
STOP_GRACE_SECONDS: Final = 120.0
# The variables of this process a clean shell keeps. Others stay out: a variable named like one
# of a function's environment variables overrides the template (``POWERTOOLS_SERVICE_NAME``
# would rename every function).
CLEAN_SHELL: Final = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV")


class LaunchError(RuntimeError):
    """The stack exited before it was ready, or was not ready in time; the message ends with
    the tail of its log."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def clean_shell() -> dict[str, str]:
    """This process's variables that a clean shell keeps (``CLEAN_SHELL``)."""
    return {name: os.environ[name] for name in CLEAN_SHELL if name in os.environ}


@dataclass
class LocalStack:
    """One stack in ``workdir``: ``local.json`` (its state), ``stack.log`` (its output, kept
    across restarts) and ``data/`` (the embedded backend's file), on one port.

    ``shell`` is the environment it starts from (a clean shell unless given), ``environment``
    what is set on top of it (``THEEYE_BACKEND``, ``THEEYE_FAULTS``...). :meth:`start` may be
    called again after :meth:`stop` or :meth:`kill`: the same port, keys and data directory.
    """

    workdir: Path
    environment: Mapping[str, str] = field(default_factory=dict)
    shell: Mapping[str, str] = field(default_factory=clean_shell)
    ingest_key: str = INGEST_KEY
    query_key: str = QUERY_KEY
    admin_key: str = ADMIN_KEY
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    state: dict[str, Any] = field(default_factory=dict)
    health_answers: list[tuple[int, bytes]] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def state_file(self) -> Path:
        return self.workdir / "local.json"

    @property
    def log_file(self) -> Path:
        return self.workdir / "stack.log"

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"

    @property
    def pid(self) -> int:
        if self.process is None:
            raise LaunchError("the stack was never started")
        return self.process.pid

    def start(self, deadline_seconds: float = READY_DEADLINE_SECONDS, **variables: str) -> float:
        """Start the stack (``variables`` set for this start only) and wait until ``/health``
        answers 200; the seconds that took. Every answer before it is kept in ``health_answers``,
        the parsed state file in ``state``. Raises :class:`LaunchError` (the stack stopped)."""
        env = {
            **self.shell,
            "THEEYE_PORT": str(self.port),
            "THEEYE_INGEST_KEY": self.ingest_key,
            "THEEYE_QUERY_KEY": self.query_key,
            "THEEYE_ADMIN_KEY": self.admin_key,
            "THEEYE_STATE_FILE": str(self.state_file),
            "THEEYE_DATA_DIR": str(self.data_dir),
            **self.environment,
            **variables,
        }
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.health_answers = []
        started = time.monotonic()
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "theeye_local"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        while time.monotonic() - started < deadline_seconds:
            if self.process.poll() is not None:
                raise LaunchError(
                    f"the local stack exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            answer = self.health()
            if answer is None:
                time.sleep(0.05)  # not listening yet
                continue
            self.health_answers.append(answer)
            if answer[0] == 200:
                self.state = json.loads(self.state_file.read_text())
                return time.monotonic() - started
            time.sleep(0.1)
        self.stop()
        raise LaunchError(f"/health was not 200 within {deadline_seconds:.0f} s:\n{self.log_tail()}")

    def health(self) -> tuple[int, bytes] | None:
        """``GET /health``'s status and body, or None while nothing answers."""
        try:
            with urllib.request.urlopen(f"{self.base_url}/health", timeout=2) as answer:  # noqa: S310 - http://127.0.0.1
                return int(answer.status), bytes(answer.read())
        except urllib.error.HTTPError as error:
            return int(error.code), bytes(error.read())
        except (OSError, http.client.HTTPException):
            return None

    def stop(self, grace_seconds: float = STOP_GRACE_SECONDS) -> int:
        """SIGTERM, then the exit code (SIGKILL if it has not stopped within ``grace_seconds``)."""
        process = self.process
        if process is None:
            raise LaunchError("the stack was never started")
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(grace_seconds)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return process.returncode

    def kill(self) -> None:
        """``kill -9`` of every process of the stack at once."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        if self.process is not None:
            self.process.wait()

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_file.exists():
            return ""
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
