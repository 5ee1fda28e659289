"""The embedded backend of the local stack: the template's queue, dead-letter queue and tables
in one SQLite file that every process of the stack shares.

Names still come from the template (``theeye_local.resources.name_resources``): the functions
get the environment they get on AWS, with ``STORAGE_BACKEND=sqlite`` and ``DATABASE_PATH``
added, so ``theeye.wiring`` builds ``theeye.sqlite.backend.SqliteBackend`` in each worker. The
queue's ``VisibilityTimeout`` and its ``RedrivePolicy`` (``maxReceiveCount``) are read from
the template too, and the stack's pollers receive through ``theeye_local.sqlite_sqs.SqliteSqs``
with them. The local lake that ``POST /sql`` reads is a folder beside the file
(``LAKE_DIRECTORY``), fed from the file's change log by ``theeye_local.lake_feeder``.

No function needs AWS here; their AWS endpoint is a closed local port, so a call to AWS that
slipped in would fail at once instead of leaving 127.0.0.1.
"""

from __future__ import annotations

import fcntl
import logging
import shutil
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

from theeye.analytics.local_lake import LAKE_FOLDER, LocalLake
from theeye.sqlite.backend import SqliteBackend
from theeye.sqlite.changes import SqliteChangeLog
from theeye.sqlite.queue import SqliteQueue
from theeye_local.intrinsics import Resolver
from theeye_local.lake_feeder import LakeFeeder
from theeye_local.lambdas import SqsSource
from theeye_local.resources import EMBEDDED_QUEUE_SCHEME
from theeye_local.sqlite_sqs import SqliteSqs
from theeye_local.template import TemplateError

LOG = logging.getLogger("theeye_local")

# The discard port: nothing listens there, so a connection is refused at once.
UNREACHABLE_AWS_ENDPOINT: Final = "http://127.0.0.1:9"
SQLITE_FILES: Final = ("", "-wal", "-shm", "-journal")  # what THEEYE_FRESH deletes (and the lake)
SWEEP_INTERVAL_SECONDS: Final = 300.0
DEFAULT_VISIBILITY_TIMEOUT: Final = 30  # SQS's default
DEFAULT_MAX_RECEIVE_COUNT: Final = 5  # theeye.config.Settings' default


@dataclass(frozen=True)
class QueuePlan:
    """The template's event-source queue and where it redrives to, as the embedded queue runs it."""

    queue_url: str
    dlq_url: str | None
    visibility_timeout: int
    max_receive_count: int

    @classmethod
    def of(cls, sources: list[SqsSource], resolver: Resolver) -> QueuePlan | None:
        urls = sorted({source.queue_url for source in sources})
        if not urls:
            return None
        if len(urls) > 1:
            raise TemplateError(f"the embedded backend has one queue; the template polls {', '.join(urls)}")
        source = next(s for s in sources if s.queue_url == urls[0])
        properties = resolver.resolve(resolver.template.properties(source.queue_id))
        redrive = properties.get("RedrivePolicy") or {}
        dlq_url = None
        if redrive:
            dlq_name = str(redrive["deadLetterTargetArn"]).rsplit(":", 1)[-1]
            dlq_url = EMBEDDED_QUEUE_SCHEME + dlq_name
        return cls(
            queue_url=urls[0],
            dlq_url=dlq_url,
            visibility_timeout=int(properties.get("VisibilityTimeout", DEFAULT_VISIBILITY_TIMEOUT)),
            max_receive_count=int(redrive.get("maxReceiveCount", DEFAULT_MAX_RECEIVE_COUNT)),
        )


@dataclass
class EmbeddedStore:
    """The stack's own handle on the SQLite file: keys, the pollers' queues and the sweep."""

    path: Path
    plan: QueuePlan | None
    backend: SqliteBackend = field(init=False)
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _sweeper: threading.Thread | None = field(default=None, repr=False)
    _lock: IO[bytes] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.backend = SqliteBackend(
            self.path,
            max_receive_count=self.plan.max_receive_count if self.plan else DEFAULT_MAX_RECEIVE_COUNT,
        )

    @classmethod
    def open(cls, path: Path, plan: QueuePlan | None, *, fresh: bool) -> EmbeddedStore:
        """Open (creating it and its directory when new) the file at ``path``; ``fresh`` empties it first.

        One stack per data directory: the stack holds an exclusive lock on ``<file>.lock`` while
        it runs (the kernel drops it when the process dies, ``kill -9`` included). Holding it,
        the stack knows that messages received and not deleted belong to a stack that died,
        and makes them visible again at once instead of after their visibility timeout.
        """
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        lock = _lock(path.with_name(path.name + ".lock"))
        if fresh:
            for suffix in SQLITE_FILES:
                path.with_name(path.name + suffix).unlink(missing_ok=True)
            shutil.rmtree(path.with_name(LAKE_FOLDER), ignore_errors=True)
            LOG.info("THEEYE_FRESH: started from an empty store")
        store = cls(path, plan)
        store._lock = lock
        store.backend.db.connection()  # the schema, now: a broken file fails the start, not a request
        released = store.backend.queue().release_in_flight()
        if released:
            LOG.info(
                "%d message(s) received by a stack that stopped without deleting them: visible again",
                released,
            )
        return store

    @property
    def lake_directory(self) -> Path:
        return self.path.with_name(LAKE_FOLDER)

    def environment(self) -> dict[str, str]:
        """What every function's environment gets on the embedded backend (the query function
        reads the lake at ``LAKE_DIRECTORY``)."""
        variables = {
            "STORAGE_BACKEND": "sqlite",
            "DATABASE_PATH": str(self.path),
            "LAKE_DIRECTORY": str(self.lake_directory),
        }
        if self.plan is not None:
            variables["MAX_RECEIVE_COUNT"] = str(self.plan.max_receive_count)
        return variables

    def sqs(self) -> SqliteSqs:
        """The SQS calls of the stack's pollers, answered from this file's queues."""
        if self.plan is None:
            raise TemplateError("the template has no SQS event source to poll")
        queues: dict[str, SqliteQueue] = {self.plan.queue_url: self.backend.queue()}
        if self.plan.dlq_url:
            queues[self.plan.dlq_url] = self.backend.dead_letter_queue()
        return SqliteSqs(queues, visibility_timeout=self.plan.visibility_timeout)

    def lake_feeder(self) -> LakeFeeder:
        """The feeder of the lake at ``lake_directory`` from this file's change log (not started)."""
        return LakeFeeder(SqliteChangeLog(self.backend.db), LocalLake(self.lake_directory))

    def start_sweeping(self, interval_seconds: float = SWEEP_INTERVAL_SECONDS) -> None:
        """Delete expired rows now and every ``interval_seconds`` (DynamoDB's TTL, locally)."""
        self._sweeper = threading.Thread(
            target=self._sweep, args=(interval_seconds,), name="sweep", daemon=True
        )
        self._sweeper.start()

    def state(self) -> dict[str, Any]:
        plan = self.plan
        return {
            "database": str(self.path),
            "data_dir": str(self.path.parent),
            "lake_directory": str(self.lake_directory),
            "max_receive_count": plan.max_receive_count if plan else None,
            "visibility_timeout": plan.visibility_timeout if plan else None,
        }

    def close(self) -> None:
        self._stop.set()
        if self._sweeper is not None:
            self._sweeper.join(5)
        self.backend.db.close()
        if self._lock is not None:
            self._lock.close()  # and with it the lock

    def _sweep(self, interval_seconds: float) -> None:
        while not self._stop.is_set():
            try:
                removed = self.backend.sweep()
            except Exception:
                LOG.exception("retention sweep failed; trying again in %.0f s", interval_seconds)
            else:
                if any(removed.values()):
                    LOG.info("retention sweep: %s", _counts(removed))
            self._stop.wait(interval_seconds)


def _counts(removed: Mapping[str, int]) -> str:
    return ", ".join(f"{count} {table}" for table, count in removed.items() if count)


def _lock(path: Path) -> IO[bytes]:
    handle = path.open("ab")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise OSError(
            f"another local stack uses {path.parent} (it holds {path.name}); stop it, or give this one"
            " its own THEEYE_DATA_DIR"
        ) from None
    return handle
