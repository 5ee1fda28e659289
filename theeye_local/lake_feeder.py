"""The local feeder: the embedded store's change log -> the local lake, exactly once.

One thread of the stack reads the changes after the position the lake last applied
(``theeye.sqlite.changes``), applies them as one batch (``LocalLake.apply``: one manifest, with
the new position in it), then forgets them from the log. The position lives in the manifest, so
a crash anywhere re-applies at most the batch it was applying, which changes nothing twice
(upserts are idempotent by event id, deletes by nature).

Freshness: the log is read every ``IDLE_SECONDS`` while there is nothing to do and at once
again after a full batch, so a burst is applied in batches of ``BATCH`` without pause; an idle
lake's ``as_of`` is moved on every ``HEARTBEAT_SECONDS``. Both are far below the 10 s that
``POST /sql`` promises for an event stored or erased.

Tidying: a burst leaves several small files per day (merged by the lake only past a threshold,
to keep writing cheap while changes flow); once nothing was fed for ``TIDY_AFTER_SECONDS`` the
feeder merges each day's small files into one, the layout statements read fastest.

The lake is rebuilt from the ``events`` table when it does not continue this store: fed from
another file (``lake_source`` differs: the store was started anew), or missing changes the log
no longer has (the lake directory was deleted, or the file predates the log).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Final

from theeye.analytics.local_lake import LocalLake
from theeye.clock import utc_now
from theeye.ports import LOWEST_POSITION
from theeye.sqlite.changes import SqliteChangeLog

LOG = logging.getLogger("theeye_local")

BATCH: Final = 5000
IDLE_SECONDS: Final = 0.25
HEARTBEAT_SECONDS: Final = 1.0
ERROR_BACKOFF_SECONDS: Final = 1.0
TIDY_AFTER_SECONDS: Final = 10.0


class LakeFeeder:
    def __init__(
        self,
        log: SqliteChangeLog,
        lake: LocalLake,
        *,
        batch: int = BATCH,
        idle_seconds: float = IDLE_SECONDS,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
        tidy_after_seconds: float = TIDY_AFTER_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.log = log
        self.lake = lake
        self.batch = batch
        self.idle_seconds = idle_seconds
        self.heartbeat_seconds = heartbeat_seconds
        self.tidy_after_seconds = tidy_after_seconds
        self.clock = clock
        self._fed_at = clock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="lake-feeder", daemon=True)
        self._thread.start()

    def stop(self, timeout_seconds: float = 30.0) -> None:
        """Finish the batch in hand, then stop."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_seconds)
        self.lake.close()

    def step(self) -> bool:
        """Apply what the log holds after the lake's position (at most one batch); whether more
        may be waiting."""
        started = utc_now()
        source = self.log.source()
        checkpoint = self.lake.checkpoint()
        if checkpoint.get("source") != source or not self.log.complete_after(int(checkpoint["position"])):
            self.rebuild(source)
            return True
        position = int(checkpoint["position"])
        batch = self.log.after(position, self.batch)
        if batch.reached == position:
            if self.clock() - self._fed_at >= self.tidy_after_seconds and self.lake.untidy():
                self.lake.apply([], as_of=started, tidy=True)
            elif (started - self.lake.manifest().as_of).total_seconds() >= self.heartbeat_seconds:
                self.lake.apply([], as_of=started)
            return False
        # A full batch may stop short of changes committed before ``started``: as_of stays.
        as_of: datetime | None = None if batch.full else started
        self.lake.apply(batch.changes, checkpoint={"source": source, "position": batch.reached}, as_of=as_of)
        self.log.prune(batch.reached)
        self._fed_at = self.clock()
        return batch.full

    def rebuild(self, source: str) -> None:
        """Empty the lake and fill it with every stored event, then continue from the log's end."""
        LOG.info("local lake: rebuilding it from the store (%s)", self.lake.directory)
        started = utc_now()
        top = self.log.last()  # changes after it are applied by the usual path
        self.lake.reset()
        after = LOWEST_POSITION
        while True:
            upserts, after = self.log.events_after(after, self.batch, top)
            if not upserts:
                break
            self.lake.apply(upserts)
        self.lake.apply([], checkpoint={"source": source, "position": top}, as_of=started)
        self.log.prune(top)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                more = self.step()
            except Exception:
                if not self._failing:
                    LOG.exception(
                        "local lake: feeding failed; trying again every %.0f s", ERROR_BACKOFF_SECONDS
                    )
                self._failing = True
                self._stop.wait(ERROR_BACKOFF_SECONDS)
                continue
            if self._failing:
                LOG.info("local lake: feeding again")
                self._failing = False
            if not more:
                self._stop.wait(self.idle_seconds)
