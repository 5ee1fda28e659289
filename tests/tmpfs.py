"""A small RAM file system the tests fill, make read-only and free again: a real full disk.

Mounting needs root (CI runs the suite as root); elsewhere the tests that need it are skipped,
saying why. The file system is always unmounted when the test ends, whatever it did.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

FILL_CHUNK = 1024 * 1024


@contextlib.contextmanager
def mounted_tmpfs(directory: Path, size_mebibytes: int) -> Iterator[Path]:
    """``directory`` as a tmpfs of ``size_mebibytes``, for the length of the block."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs to fill needs root (CI runs the suite as root)")
    directory.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mebibytes}m,mode=0700", "tmpfs", str(directory)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield directory
    finally:
        # lazily: a process of the test that still holds a file open must not keep it mounted
        subprocess.run(["umount", "--lazy", str(directory)], check=True)


def fill(filler: Path) -> int:
    """Write ``filler`` until the file system refuses (ENOSPC); the bytes it took."""
    written = 0
    block = b"\xff" * FILL_CHUNK
    with filler.open("wb", buffering=0) as out:
        size = len(block)
        while size:
            try:
                written += out.write(block[:size]) or 0
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                size //= 2  # the last free pages, a smaller write at a time
    return written


def remount(directory: Path, mode: str) -> None:
    """``mode`` is ``ro`` or ``rw``."""
    subprocess.run(["mount", "-o", f"remount,{mode}", str(directory)], check=True)
