"""SQLite adapter of ``StoreHealth``: whether the database file can take writes now.

Two checks, each cheap and real:

* **Room.** A file the size of ``ROOM_BYTES`` is allocated in the database's directory and
  dropped at once (an unnamed temporary file: nothing is left behind). A full disk refuses it
  (``ENOSPC``), a read-only file system too (``EROFS``). Asking SQLite to write would not do:
  a small commit is written into pages its write-ahead log has already allocated, so it
  succeeds on a full disk while the next large insert, or the checkpoint that grows the file,
  fails.
* **The write lock.** Taken as every write takes it, and given back with nothing written
  (``Database.write_lock_problem``): a lock held by another connection past the wait, or a
  database file SQLite cannot write, is the answer.

The answer is for this moment and for any process: nothing is recorded, so a disk freed is a
healthy store at the next check.
"""

from __future__ import annotations

import errno
import os
import tempfile
from dataclasses import dataclass
from typing import Final

from theeye.events import MAX_BODY_BYTES
from theeye.sqlite.db import Database

# The room the largest request needs end to end: its 1 MiB body queued, stored again as events
# with their index entries, and each copied once more when a checkpoint moves it into the file.
ROOM_BYTES: Final = 4 * MAX_BODY_BYTES
# Every write of The Eye holds the lock for milliseconds; a writer gives up after the busy
# timeout (10 s). A lock held for a whole second already stalls every write.
LOCK_WAIT_SECONDS: Final = 1.0


@dataclass(frozen=True)
class SqliteStoreHealth:
    db: Database
    room_bytes: int = ROOM_BYTES
    lock_wait_seconds: float = LOCK_WAIT_SECONDS

    def write_problem(self) -> str | None:
        # Room first: a read-only file system is named as such, not as a file SQLite cannot open.
        return self._room_problem() or self.db.write_lock_problem(self.lock_wait_seconds)

    def _room_problem(self) -> str | None:
        directory = self.db.path.parent
        try:
            directory.mkdir(parents=True, exist_ok=True)  # as the database's first connection does
            with tempfile.TemporaryFile(dir=directory) as probe:
                _allocate(probe.fileno(), self.room_bytes)
        except OSError as exc:
            return _no_room(exc, self.room_bytes)
        return None


def _allocate(descriptor: int, size: int) -> None:
    """Reserve ``size`` bytes of the file system for the file (blocks it really owns)."""
    if hasattr(os, "posix_fallocate"):
        os.posix_fallocate(descriptor, 0, size)
        return
    chunk = b"\0" * MAX_BODY_BYTES  # where fallocate is missing (macOS): write the bytes
    for _ in range(0, size, len(chunk)):
        os.write(descriptor, chunk)
    os.fsync(descriptor)


def _no_room(exc: OSError, size: int) -> str:
    mebibytes = f"{size / (1024 * 1024):g} MiB"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"the disk holding the data directory is full (no room for {mebibytes} more)"
    if exc.errno == errno.EROFS:
        return "the data directory is on a read-only file system"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "the data directory cannot be written (permission denied)"
    return f"the data directory cannot be written ({exc.strerror or exc})"
