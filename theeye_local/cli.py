"""``python -m theeye_local``: start the stack, print the banner, serve until SIGINT/SIGTERM.

Both signals raise :class:`StopRequested` in the main thread - wherever start-up has got to -
and the ``finally`` stops whatever is running, so Ctrl-C during start-up is as clean as after
it, and the process exits 0. A failure to start exits 1 with one readable line.

Python runs signal handlers in the main thread only, and only when that thread executes
bytecode; the kernel may hand the signal to any of the stack's many threads. So once running,
the main thread sleeps in ``select`` on the signal wakeup fd, which every signal writes to
whichever thread received it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import socket
import sys
from types import FrameType

from theeye_local.local_keys import ADMIN_APPLICATION, INGEST_APPLICATION, QUERY_APPLICATION
from theeye_local.pool import WorkerStartError
from theeye_local.settings import LocalSettings, SettingsError
from theeye_local.stack import LocalStack
from theeye_local.template import TemplateError

LOG = logging.getLogger("theeye_local")


class StopRequested(BaseException):
    """SIGINT or SIGTERM arrived (a BaseException so no ``except Exception`` swallows it)."""


def main() -> int:
    try:
        settings = LocalSettings.from_environ(os.environ)
    except SettingsError as exc:
        print(f"theeye-local: {exc}", file=sys.stderr)
        return 1
    _configure_logging(settings.log_level)
    stack = LocalStack(settings)
    previous = {sig: signal.signal(sig, _request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    code = 0
    try:
        stack.start()
        _print_banner(stack)
        _sleep_until_signalled()
    except StopRequested:
        LOG.info("stopping")
    except (TemplateError, SettingsError, WorkerStartError, ImportError, ValueError, OSError) as exc:
        LOG.error("cannot start: %s", exc)
        code = 1
    finally:
        for sig in previous:
            signal.signal(sig, _already_stopping)
        stack.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    LOG.info("stopped")
    return code


def _sleep_until_signalled() -> None:
    """Block until a signal handler raises (see the module docstring for why not Event.wait)."""
    reader, writer = socket.socketpair()
    for end in (reader, writer):
        end.setblocking(False)
    previous = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    try:
        while True:
            select.select([reader], [], [], 1.0)
            with contextlib.suppress(BlockingIOError):
                reader.recv(512)
    finally:
        signal.set_wakeup_fd(previous)
        reader.close()
        writer.close()


def _request_stop(signum: int, frame: FrameType | None) -> None:
    raise StopRequested(signal.Signals(signum).name)


def _already_stopping(signum: int, frame: FrameType | None) -> None:
    LOG.info("%s: already stopping", signal.Signals(signum).name)


class TerminalFormatter(logging.Formatter):
    """``12:00:03 POST /events -> 202 (3.1 ms)``; a level word only where it matters
    (``12:00:04 WARNING ...``). The functions' warnings read the same (theeye_local.function_logs)."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        level = "" if record.levelno == logging.INFO else f"{record.levelname} "
        return f"{self.formatTime(record, '%H:%M:%S')} {level}{text}"


def _configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(TerminalFormatter("%(message)s"))
    LOG.addHandler(handler)
    LOG.setLevel(level)
    LOG.propagate = False


def _print_banner(stack: LocalStack) -> None:
    state = stack.state
    lines = [
        "",
        "The Eye - local stack ready",
        f"  API          {state['api_url']}",
        f"  ingest key   {state['ingest_key']}   (scope ingest, application {INGEST_APPLICATION})",
        f"  query key    {state['query_key']}   (scope query, application {QUERY_APPLICATION})",
        f"  admin key    {state['admin_key']}   (scope admin, application {ADMIN_APPLICATION})",
        *(
            [
                f"  backend      embedded: {state['database']}",
                "               (kept across restarts; THEEYE_FRESH=1 starts empty, THEEYE_BACKEND=moto for moto)",
            ]
            if state["backend"] == "embedded"
            else [
                f"  backend      moto (in memory, gone on exit) {state['aws_endpoint']}   region {state['region']}"
            ]
        ),
        f"  state        {stack.settings.state_path}",
        f"  logs         {stack.settings.logs_path}/<function>.jsonl   (read: theeye --local logs)",
        *(["               THEEYE_LOG=json: copied here as well"] if stack.settings.log_json else []),
        "Ctrl-C to stop.",
        "",
    ]
    print("\n".join(lines), flush=True)
