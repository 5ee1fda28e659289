"""SQLite adapter of ``Intake``: the messages and their ingest counts in one transaction.

The queue and the ledger share the file, so a request's events are queued and counted
together or not at all: no crash between two commits can leave the ledger short of what the
queue holds (the gap ``theeye.intake.QueueThenCount`` must live with), and a request costs one
durable commit instead of two.
"""

from __future__ import annotations

from dataclasses import dataclass

from theeye.errors import QueueUnavailable, TheEyeError
from theeye.intake import intake_tally
from theeye.messages import QueueMessage
from theeye.sqlite.db import retryable
from theeye.sqlite.ledger import add_intake
from theeye.sqlite.queue import SqliteQueue


@dataclass
class SqliteIntake:
    queue: SqliteQueue

    def accept(self, messages: list[QueueMessage]) -> None:
        """Queue and count every message in one commit, or raise ``QueueUnavailable`` (none taken)."""
        if not messages:
            return
        tallies = [intake_tally(m) for m in messages]
        try:
            with self.queue.db.write(retryable("queue")) as connection:
                self.queue.insert(connection, messages)
                add_intake(connection, tallies)
        except TheEyeError:
            raise QueueUnavailable([]) from None
