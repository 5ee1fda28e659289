"""Run a command on a machine kept busy: ``make test-loaded`` runs ``make test`` this way.

    .venv/bin/python tools/loaded.py [--burners 2] -- make test

Before the command starts, ``--burners`` processes (one per core by default) spin without
pause, so the command competes for every core as it would on a machine shared with other
work. The burners are stopped when the command ends, whatever its outcome, on Ctrl-C and on
SIGTERM; each also dies with this process if it is killed outright (``PR_SET_PDEATHSIG``).
The command's exit code is this script's exit code.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from types import FrameType

# A busy loop that exits when its parent is gone, even if the parent was killed with SIGKILL.
BURNER = """
import ctypes, os, signal, sys
ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
if os.getppid() != int(sys.argv[1]):
    sys.exit(0)  # the parent ended before the line above
while True:
    pass
"""
BURNER_NAME = "theeye-load-burner"


def start_burners(count: int) -> list[subprocess.Popen[bytes]]:
    return [
        subprocess.Popen(
            [sys.executable, "-c", BURNER, str(os.getpid()), BURNER_NAME],
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches the command, and this script stops them
        )
        for _ in range(count)
    ]


def stop_burners(burners: Sequence[subprocess.Popen[bytes]]) -> None:
    for burner in burners:
        if burner.poll() is None:
            burner.kill()
    for burner in burners:
        burner.wait()


def stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--burners",
        type=int,
        default=os.cpu_count() or 2,
        help="busy processes to run alongside (default: one per core)",
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command, after --")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("name a command after --")
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    burners = start_burners(args.burners)
    pids = " ".join(str(b.pid) for b in burners)
    print(f"loaded: {len(burners)} busy processes ({pids}) while running: {' '.join(command)}", flush=True)
    started = time.monotonic()
    process = subprocess.Popen(command)
    try:
        while process.returncode is None:
            # on Ctrl-C the command has it too: let it clean up and end
            with contextlib.suppress(KeyboardInterrupt):
                process.wait()
    finally:
        if process.poll() is None:  # this script was told to stop: so is the command
            process.terminate()
            process.wait()
        stop_burners(burners)
        elapsed = time.monotonic() - started
        print(
            f"loaded: exit {process.returncode} after {elapsed:.0f} s; busy processes {pids} stopped",
            flush=True,
        )
    code = process.returncode
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())
